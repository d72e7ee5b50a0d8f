// Audit log cases, for EKMs that write the reference EKM's format (one JSON
// object per line with requestId, caller, keyPath, operation, reason,
// decision, status, latencyMs; docs/ekm-server.md) and answer with an
// x-request-id header. They skip unless the target names its audit log file,
// and run last: the secrets case looks for everything the run sent.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { caseMaker, skip, type ConformanceCase } from './case';
import type { EkmResponse } from './client';
import { expectError, expectOk, expectPlaintext, secretPlaintext, wrapOk, type Session } from './session';

const c = caseMaker('audit');

function auditFile(s: Session): string {
  return s.target.auditLogFile ?? skip('the target names no audit log file (--audit-log)');
}

function lineFor(file: string, res: EkmResponse): Record<string, unknown> {
  const requestId = res.headers['x-request-id'];
  assert.ok(typeof requestId === 'string' && requestId.length > 0, 'the answer has no x-request-id header');
  const line = readFileSync(file, 'utf8').split('\n').find((l) => l.includes(requestId));
  assert.ok(line, `no audit line for request ${requestId}`);
  return JSON.parse(line) as Record<string, unknown>;
}

interface Expected {
  decision: string;
  status: string;
  caller: string | null;
}

function checkLine(s: Session, line: Record<string, unknown>, want: Expected): void {
  const field = (name: string, value: unknown) => assert.ok(line[name] === value, `audit ${name} is ${JSON.stringify(line[name])}, expected ${JSON.stringify(value)}`);
  field('decision', want.decision);
  field('status', want.status);
  field('caller', want.caller);
  field('operation', 'wrap');
  field('keyPath', s.target.keys.wrapA);
  field('reason', want.caller === null ? null : s.target.allowedReason);
  assert.ok(typeof line.time === 'string', 'audit time is not a string');
  assert.ok(typeof line.latencyMs === 'number', 'audit latencyMs is not a number');
}

function lineCase(id: string, name: string, send: (s: Session) => Promise<EkmResponse>, want: (s: Session) => Expected): ConformanceCase {
  return c(id, name, async (s) => {
    const file = auditFile(s);
    checkLine(s, lineFor(file, await send(s)), want(s));
  });
}

const wrap = (s: Session, token?: string | null) => s.call(s.target.keys.wrapA, 'wrap', { plaintext: secretPlaintext(s) }, token);

export function auditCases(): ConformanceCase[] {
  return [
    lineCase('allowed-line', 'an allowed wrap leaves an ALLOWED audit line', async (s) => {
      const res = await wrap(s);
      expectOk(res, 'wrap');
      return res;
    }, (s) => ({ decision: 'ALLOWED', status: 'OK', caller: s.target.callerEmail })),
    lineCase('denied-line', 'a wrap by a caller not on the allow-list leaves a DENIED audit line', async (s) => {
      const res = await wrap(s, s.token({ email: s.target.deniedCallerEmail }));
      expectError(res, 403, 'PERMISSION_DENIED');
      return res;
    }, (s) => ({ decision: 'DENIED', status: 'PERMISSION_DENIED', caller: s.target.deniedCallerEmail })),
    lineCase('unauthenticated-line', 'a wrap without a token leaves a DENIED UNAUTHENTICATED audit line', async (s) => {
      const res = await wrap(s, null);
      expectError(res, 401, 'UNAUTHENTICATED');
      return res;
    }, () => ({ decision: 'DENIED', status: 'UNAUTHENTICATED', caller: null })),
    c('no-secrets', 'the audit log holds no plaintext, blob or token sent in this run', async (s) => {
      const file = auditFile(s);
      const plaintext = secretPlaintext(s);
      const blob = await wrapOk(s, s.target.keys.wrapA, plaintext);
      expectPlaintext(await s.call(s.target.keys.wrapA, 'unwrap', { wrappedBlob: blob }), plaintext);
      const log = readFileSync(file, 'utf8');
      const leaked = [...s.secrets].filter((secret) => secret.length >= 8 && log.includes(secret));
      assert.ok(leaked.length === 0, `${leaked.length} of the ${s.secrets.size} secrets sent in this run are in the audit log`);
    }),
  ];
}
