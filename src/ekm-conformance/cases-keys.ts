// Key state cases (disabled, destroyed, unknown keys) and the control plane:
// createKey idempotent on requestId, destroyKey twice, callers not on the
// allow-list, checkCryptoSpacePermissions. The control-plane cases skip when
// the target names no crypto space.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { caseMaker, needCryptoSpace, type ConformanceCase } from './case';
import { describeAnswer, expectError, expectOk, secretPlaintext, wrapOk, type Session } from './session';

const k = caseMaker('key');
const c = caseMaker('control');
const SYMMETRIC = 'EXTERNAL_SYMMETRIC_ENCRYPTION';

const requestId = () => `conformance-${randomBytes(8).toString('hex')}`;
const algorithm = (s: Session) => s.target.createKeyAlgorithm ?? SYMMETRIC;

export function keyStateCases(): ConformanceCase[] {
  return [
    k('disabled', 'wrap with a disabled key is FAILED_PRECONDITION', async (s) => {
      expectError(await s.call(s.target.keys.disabled, 'wrap', { plaintext: secretPlaintext(s) }), 400, 'FAILED_PRECONDITION');
    }),
    k('destroyed', 'wrap with a destroyed key is FAILED_PRECONDITION', async (s) => {
      expectError(await s.call(s.target.keys.destroyed, 'wrap', { plaintext: secretPlaintext(s) }), 400, 'FAILED_PRECONDITION');
    }),
    k('unknown', 'wrap with a key that does not exist is NOT_FOUND', async (s) => {
      expectError(await s.call(s.target.keys.unknown, 'wrap', { plaintext: secretPlaintext(s) }), 404, 'NOT_FOUND');
    }),
  ];
}

async function createKey(s: Session, id = requestId(), alg = algorithm(s)): Promise<string> {
  const res = await s.call(needCryptoSpace(s), 'createKey', { algorithm: alg, requestId: id });
  expectOk(res, 'createKey');
  assert.ok(typeof res.body?.keyPath === 'string' && res.body.keyPath.length > 0, 'the createKey answer has no keyPath');
  return res.body.keyPath as string;
}

function lifecycleCases(): ConformanceCase[] {
  return [
    c('create-key', 'createKey makes a key that works', async (s) => {
      const key = await createKey(s);
      if (algorithm(s) === SYMMETRIC) await wrapOk(s, key, secretPlaintext(s));
      else expectOk(await s.call(key, 'getPublicKey'), 'getPublicKey');
    }),
    c('create-key-idempotent', 'createKey twice with the same requestId returns one key', async (s) => {
      const id = requestId();
      const first = await createKey(s, id);
      assert.ok(await createKey(s, id) === first, 'the second createKey answered another keyPath');
    }),
    c('destroy-key-twice', 'destroyKey twice succeeds, and the key is then FAILED_PRECONDITION', async (s) => {
      const key = await createKey(s, requestId(), SYMMETRIC);
      expectOk(await s.call(key, 'destroyKey'), 'first destroyKey');
      expectOk(await s.call(key, 'destroyKey'), 'second destroyKey');
      expectError(await s.call(key, 'wrap', { plaintext: secretPlaintext(s) }), 400, 'FAILED_PRECONDITION');
    }),
  ];
}

const ASKED = ['createKey', 'wrap', 'no.such.permission'];

function callerCases(): ConformanceCase[] {
  return [
    c('create-key-revoked-caller', 'createKey by a caller not on the allow-list is PERMISSION_DENIED', async (s) => {
      const token = s.token({ email: s.target.deniedCallerEmail });
      const res = await s.call(needCryptoSpace(s), 'createKey', { algorithm: algorithm(s), requestId: requestId() }, token);
      expectError(res, 403, 'PERMISSION_DENIED');
    }),
    c('check-permissions', 'checkCryptoSpacePermissions answers the subset the caller holds', async (s) => {
      const res = await s.call(needCryptoSpace(s), 'checkCryptoSpacePermissions', { permissions: ASKED });
      expectOk(res);
      const held: unknown = res.body?.permissions;
      assert.ok(Array.isArray(held) && held.every((p) => ASKED.includes(p)), `permissions should be a subset of ${ASKED.join(', ')}`);
      assert.ok(held.includes('createKey'), `createKey not granted: ${held.join(', ') || 'none'}`);
      assert.ok(!held.includes('no.such.permission'), 'an unknown permission was granted');
    }),
    c('check-permissions-revoked-caller', 'checkCryptoSpacePermissions grants nothing to a caller not on the allow-list', async (s) => {
      const token = s.token({ email: s.target.deniedCallerEmail });
      const res = await s.call(needCryptoSpace(s), 'checkCryptoSpacePermissions', { permissions: ASKED }, token);
      if (res.status !== 200) return expectError(res, 403, 'PERMISSION_DENIED');
      const held: unknown = res.body?.permissions ?? [];
      assert.ok(Array.isArray(held) && held.length === 0, `expected no permissions, got ${describeAnswer(res)}: ${String(held)}`);
    }),
  ];
}

export function controlPlaneCases(): ConformanceCase[] {
  return [...lifecycleCases(), ...callerCases()];
}
