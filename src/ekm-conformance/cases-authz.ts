// Authorization cases: a caller not on the allow-list (a revoked caller),
// missing and unrecognized reasons, and one case for each (operation,
// reason) the target's policy denies. Every reason denial must be 403
// PERMISSION_DENIED with a field violation on the reason.
import { randomBytes } from 'node:crypto';
import type { EkmOperation } from '../protocol/ekm';
import { caseMaker, needCryptoSpace, skip, type ConformanceCase } from './case';
import { blobOf, expectError, expectFieldViolation, expectOk, secretPlaintext, wrapOk, type Session } from './session';
import type { ConformanceTarget, ReasonOperation } from './target';

const c = caseMaker('authz');
export const REASON_FIELD = 'additionalContext.accessReasonContext.reason';

type Request = [path: string, op: EkmOperation, body: Record<string, unknown>];

function signingKey(s: Session): string {
  return s.target.keys.signing?.[0]?.path ?? skip('the target lists no signing keys (--signing-key)');
}

/** A destroyKey target made for the purpose, so a faulty EKM cannot destroy a fixture key. */
async function scratchKey(s: Session): Promise<string> {
  const created = await s.call(needCryptoSpace(s), 'createKey', { algorithm: 'EXTERNAL_SYMMETRIC_ENCRYPTION', requestId: randomBytes(8).toString('hex') });
  expectOk(created, 'createKey');
  return created.body.keyPath as string;
}

/** A request of operation `op` that the allowed reason would pass. */
async function requestFor(s: Session, op: ReasonOperation): Promise<Request> {
  const { keys } = s.target;
  switch (op) {
    case 'wrap': return [keys.wrapA, 'wrap', { plaintext: secretPlaintext(s) }];
    case 'unwrap': return [keys.wrapA, 'unwrap', { wrappedBlob: await wrapOk(s, keys.wrapA, secretPlaintext(s)) }];
    case 'getPublicKey': return [signingKey(s), 'getPublicKey', {}];
    case 'asymmetricSign': return [signingKey(s), 'asymmetricSign', { data: Buffer.from('x').toString('base64') }];
    case 'createKey': return [needCryptoSpace(s), 'createKey', { algorithm: 'EXTERNAL_SYMMETRIC_ENCRYPTION', requestId: randomBytes(8).toString('hex') }];
    case 'destroyKey': return [await scratchKey(s), 'destroyKey', {}];
  }
}

async function expectReasonDenied(s: Session, [path, op, body]: Request, reason: unknown): Promise<void> {
  const res = await s.call(path, op, { ...body, additionalContext: s.context(reason as string | null) });
  expectError(res, 403, 'PERMISSION_DENIED');
  expectFieldViolation(res, REASON_FIELD);
}

function deniedReasonCases(target: ConformanceTarget): ConformanceCase[] {
  const pairs = Object.entries(target.deniedReasons ?? {})
    .flatMap(([op, reasons]) => [...new Set(reasons ?? [])].map((reason) => [op as ReasonOperation, reason] as const));
  if (pairs.length === 0) {
    return [c('denied-reason', 'each reason the policy denies is PERMISSION_DENIED', async () => skip('the target lists no denied reasons (--denied-reason)'))];
  }
  return pairs.map(([op, reason]) => c(`denied-reason.${op}.${reason}`, `${op} with the denied reason ${reason} is PERMISSION_DENIED`,
    async (s) => expectReasonDenied(s, await requestFor(s, op), reason)));
}

function revokedCallerCases(): ConformanceCase[] {
  return [
    c('revoked-caller.wrap', 'wrap by a caller not on the allow-list is PERMISSION_DENIED', async (s) => {
      const token = s.token({ email: s.target.deniedCallerEmail });
      expectError(await s.call(s.target.keys.wrapA, 'wrap', { plaintext: secretPlaintext(s) }, token), 403, 'PERMISSION_DENIED');
    }),
    c('revoked-caller.unwrap', 'unwrap by a caller not on the allow-list is PERMISSION_DENIED', async (s) => {
      const blob = blobOf(s, await s.call(s.target.keys.wrapA, 'wrap', { plaintext: secretPlaintext(s) }));
      const token = s.token({ email: s.target.deniedCallerEmail });
      expectError(await s.call(s.target.keys.wrapA, 'unwrap', { wrappedBlob: blob }, token), 403, 'PERMISSION_DENIED');
    }),
  ];
}

function reasonCases(): ConformanceCase[] {
  const wrap = (s: Session) => requestFor(s, 'wrap');
  const missingDenied = (s: Session) => {
    if (s.target.missingReasonDenied === false) skip('the target allows requests without a reason (missingReasonDenied false)');
  };
  return [
    c('missing-reason', 'wrap without accessReasonContext is PERMISSION_DENIED', async (s) => {
      missingDenied(s);
      await expectReasonDenied(s, await wrap(s), null);
    }),
    c('reason-unspecified', 'wrap with REASON_UNSPECIFIED is PERMISSION_DENIED', async (s) => {
      missingDenied(s);
      await expectReasonDenied(s, await wrap(s), 'REASON_UNSPECIFIED');
    }),
    c('unknown-reason', 'wrap with an unknown reason name is PERMISSION_DENIED', async (s) => expectReasonDenied(s, await wrap(s), 'NOT_A_REASON')),
    c('unknown-reason-number', 'wrap with an unknown reason number (99) is PERMISSION_DENIED', async (s) => expectReasonDenied(s, await wrap(s), 99)),
  ];
}

export function authzCases(target: ConformanceTarget): ConformanceCase[] {
  return [...revokedCallerCases(), ...reasonCases(), ...deniedReasonCases(target)];
}
