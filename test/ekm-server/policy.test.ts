// Authorization as a story: allow-lists and reason policies on a crypto space
// and per key, numeric reasons, allowMissingReason, and an operator revoking
// a caller or disabling a key, effective on the very next request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fullPolicy, decide, effectivePolicy, mayPerform, validatePolicy } from '../../src/ekm-server/policy';
import { Code, KmsError } from '../../src/errors';
import type { ReasonReading } from '../../src/ekm-server/json';
import { CALLER, STRANGER, startReferenceEkm, withReason } from './helpers';
import { statusName } from './conformance/session';

const known = (reason: string) => ({ kind: 'known', reason }) as ReasonReading;

void test('policy decisions follow the documented rules', () => {
  const space = fullPolicy(validatePolicy({ callers: ['Svc@Example.com'], reasons: { default: ['CUSTOMER_INITIATED_ACCESS'], unwrap: [] } }));
  assert.equal(decide(space, 'svc@example.com', 'wrap', known('CUSTOMER_INITIATED_ACCESS')), undefined);
  assert.equal(decide(space, 'other@example.com', 'wrap', known('CUSTOMER_INITIATED_ACCESS')), 'caller');
  assert.equal(decide(space, 'svc@example.com', 'wrap', known('GOOGLE_INITIATED_REVIEW')), 'reason');
  assert.equal(decide(space, 'svc@example.com', 'unwrap', known('CUSTOMER_INITIATED_ACCESS')), 'reason', 'an empty list allows nothing');
  assert.equal(decide(space, 'svc@example.com', 'wrap', { kind: 'missing' }), 'reason');
  assert.equal(decide(space, 'svc@example.com', 'wrap', { kind: 'unrecognized', raw: '"X"' }), 'reason');
  const open = fullPolicy({ callers: ['svc@example.com'], allowMissingReason: true });
  assert.equal(decide(open, 'svc@example.com', 'wrap', known('THIRD_PARTY_DATA_REQUEST')), undefined, 'no list: every known reason');
  assert.equal(decide(open, 'svc@example.com', 'wrap', { kind: 'missing' }), undefined);
  const key = effectivePolicy(space, { reasons: { unwrap: ['CUSTOMER_INITIATED_ACCESS'] } });
  assert.deepEqual(key.callers, ['svc@example.com'], 'fields the key does not set come from the space');
  assert.equal(decide(key, 'svc@example.com', 'unwrap', known('CUSTOMER_INITIATED_ACCESS')), undefined);
  assert.equal(mayPerform(space, 'svc@example.com', 'unwrap'), false);
  assert.equal(mayPerform(space, 'svc@example.com', 'wrap'), true);
  for (const bad of [[], { callers: ['not-an-email'] }, { reasons: { frob: [] } }, { reasons: { wrap: ['REASON_UNSPECIFIED'] } }, { allowMissingReason: 'yes' }, { extra: 1 }]) {
    assert.throws(() => validatePolicy(bad), (err: unknown) => err instanceof KmsError && err.code === Code.INVALID_ARGUMENT);
  }
});

void test('revoking a caller, overriding a key policy and disabling a key take effect on the next request', async () => {
  const ekm = await startReferenceEkm();
  try {
    await ekm.admin.call('createCryptoSpace', { name: 'story', policy: { callers: [CALLER, STRANGER], reasons: { default: ['CUSTOMER_INITIATED_ACCESS'] } } });
    const key = (await ekm.admin.call<{ path: string }>('createKey', { cryptoSpace: 'story', algorithm: 'EXTERNAL_SYMMETRIC_ENCRYPTION', keyId: 'k1' })).path;
    assert.equal(key, 'v0/cryptospaces/story/keys/k1');
    const wrap = (email = CALLER, reason: unknown = 'CUSTOMER_INITIATED_ACCESS') =>
      ekm.client.request('POST', `/${key}:wrap`, { token: ekm.token(email), body: withReason({ plaintext: 'AAEC' }, reason as string) });
    const status = async (p: ReturnType<typeof wrap>) => statusName((await p).body) ?? 'OK';

    assert.equal(await status(wrap()), 'OK');
    assert.equal(await status(wrap(CALLER, 5)), 'OK', 'reasons by enum number');
    assert.equal(await status(wrap(CALLER, 3)), 'PERMISSION_DENIED');
    assert.equal(await status(wrap(CALLER, null)), 'PERMISSION_DENIED');

    await ekm.admin.call('setPolicy', { cryptoSpace: 'story', policy: { callers: [CALLER], reasons: { default: ['CUSTOMER_INITIATED_ACCESS'] } } });
    assert.equal(await status(wrap(STRANGER)), 'PERMISSION_DENIED', 'revoked at once');
    assert.equal(await status(wrap(CALLER)), 'OK');

    await ekm.admin.call('setPolicy', { key, policy: { callers: [STRANGER], allowMissingReason: true } });
    assert.equal(await status(wrap(CALLER)), 'PERMISSION_DENIED', 'the key override replaces the callers');
    assert.equal(await status(wrap(STRANGER, null)), 'OK');
    const policy = await ekm.admin.call<{ effective: { reasons: unknown } }>('getPolicy', { key });
    assert.deepEqual(policy.effective.reasons, { default: ['CUSTOMER_INITIATED_ACCESS'] });
    await ekm.admin.call('setPolicy', { key, policy: null });
    assert.equal(await status(wrap(CALLER)), 'OK', 'back to the space policy');

    await ekm.admin.call('disableKey', { path: key });
    assert.equal(await status(wrap()), 'FAILED_PRECONDITION');
    await ekm.admin.call('enableKey', { path: key });
    assert.equal(await status(wrap()), 'OK');
    await ekm.admin.call('destroyKey', { path: key });
    assert.equal(await status(wrap()), 'FAILED_PRECONDITION');
    await assert.rejects(ekm.admin.call('enableKey', { path: key }), (err: KmsError) => err.code === Code.FAILED_PRECONDITION);
    await ekm.admin.call('destroyKey', { path: key });
  } finally {
    await ekm.close();
  }
});

void test('createKey: the same requestId with another algorithm is ALREADY_EXISTS; unknown algorithms are INVALID_ARGUMENT', async () => {
  const ekm = await startReferenceEkm();
  try {
    await ekm.admin.call('createCryptoSpace', { name: 'ids', policy: { callers: [CALLER] } });
    const create = (algorithm: unknown, requestId = 'same') =>
      ekm.client.request('POST', '/v0/cryptospaces/ids:createKey', { token: ekm.token(), body: withReason({ algorithm, requestId }) });
    const [a, b] = await Promise.all([create('EXTERNAL_SYMMETRIC_ENCRYPTION'), create(18)]);
    assert.equal(a.status, 200, a.text);
    assert.equal(b.body.keyPath, a.body.keyPath, 'concurrent requests with one requestId make one key');
    assert.equal(statusName((await create('EC_SIGN_P256_SHA256')).body), 'ALREADY_EXISTS');
    assert.equal(statusName((await create('GOOGLE_SYMMETRIC_ENCRYPTION', 'other')).body), 'INVALID_ARGUMENT');
    const keys = await ekm.admin.call<{ keys: unknown[] }>('listKeys', { cryptoSpace: 'ids' });
    assert.equal(keys.keys.length, 1);
    const missing = await ekm.client.request('POST', '/v0/cryptospaces/nope:createKey', { token: ekm.token(), body: withReason({ algorithm: 18 }) });
    assert.equal(statusName(missing.body), 'NOT_FOUND');
  } finally {
    await ekm.close();
  }
});
