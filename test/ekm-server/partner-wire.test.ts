// The EKM speaks as partner EKMs do (docs/ekm-protocol.md, 2026-12
// corrections): error bodies are a bare google.rpc.Status with a BadRequest
// naming the field, request bodies are read leniently (snake_case, null as
// absent, unknown fields ignored), and policies name the pseudo-reasons
// KAJ_UNAVAILABLE and KAJ_UNKNOWN.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CALLER, startReferenceEkm, withReason } from './helpers';

const REASON_FIELD = 'additionalContext.accessReasonContext.reason';

void test('errors are a bare google.rpc.Status whose BadRequest names the request field', async () => {
  const ekm = await startReferenceEkm();
  try {
    await ekm.admin.call('createCryptoSpace', { name: 's', policy: { callers: [CALLER], reasons: { default: ['CUSTOMER_INITIATED_ACCESS'] } } });
    const key = (await ekm.admin.call<{ path: string }>('createKey', { cryptoSpace: 's', algorithm: 'EXTERNAL_SYMMETRIC_ENCRYPTION' })).path;
    const bad = await ekm.client.request('POST', `/${key}:wrap`, { token: ekm.token(), body: withReason({ plaintext: 'not base64!' }) });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body, {
      code: 3,
      message: 'plaintext is not valid base64.',
      details: [{ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field: 'plaintext', description: 'plaintext is not valid base64.' }] }],
    });
    const denied = await ekm.client.request('POST', `/${key}:wrap`, { token: ekm.token(), body: withReason({ plaintext: 'AAEC' }, 'THIRD_PARTY_DATA_REQUEST') });
    assert.equal(denied.status, 403);
    assert.equal(denied.body.code, 7);
    assert.equal(denied.body.details[0].fieldViolations[0].field, REASON_FIELD);
    const missing = await ekm.client.request('POST', `/${key}:frob`, { token: ekm.token(), body: {} });
    assert.deepEqual(Object.keys(missing.body).sort(), ['code', 'message']);
    assert.equal(missing.body.code, 5);
    const method = await ekm.client.request('GET', `/${key}:wrap`, { token: ekm.token() });
    assert.equal(method.status, 405);
    assert.equal(method.body.code, 12);
  } finally {
    await ekm.close();
  }
});

void test('bodies are read leniently: snake_case at any depth, null as absent, unknown fields ignored', async () => {
  const ekm = await startReferenceEkm();
  try {
    await ekm.admin.call('createCryptoSpace', { name: 's', policy: { callers: [CALLER], reasons: { default: ['CUSTOMER_INITIATED_ACCESS'] } } });
    const key = (await ekm.admin.call<{ path: string }>('createKey', { cryptoSpace: 's', algorithm: 'EXTERNAL_SYMMETRIC_ENCRYPTION' })).path;
    const context = { full_resource_name: '//cloudkms.googleapis.com/p', access_reason_context: { reason: 'CUSTOMER_INITIATED_ACCESS' }, is_key_health_check: false };
    const wrapped = await ekm.client.request('POST', `/${key}:wrap`, {
      token: ekm.token(),
      body: { plaintext: 'AAEC', additional_authenticated_data: 'YWFk', additional_context: context, key_uri_prefix: null, something_new: { x: 1 } },
    });
    assert.equal(wrapped.status, 200, wrapped.text);
    const blob = wrapped.body.wrappedBlob as string;
    const unwrapped = await ekm.client.request('POST', `/${key}:unwrap`, {
      token: ekm.token(),
      body: { wrapped_blob: blob, additionalAuthenticatedData: 'YWFk', additional_context: context, allowed_cache_duration: null },
    });
    assert.equal(unwrapped.status, 200, unwrapped.text);
    assert.equal(unwrapped.body.plaintext, 'AAEC');
    // Both forms of one name: the lowerCamelCase one is read.
    const both = await ekm.client.request('POST', `/${key}:unwrap`, {
      token: ekm.token(),
      body: { wrappedBlob: blob, wrapped_blob: 'AAAA', additionalAuthenticatedData: 'YWFk', additionalContext: context },
    });
    assert.equal(both.status, 200, both.text);
    // null where a value is required is absent: the field is named.
    const none = await ekm.client.request('POST', `/${key}:wrap`, { token: ekm.token(), body: { plaintext: null, additional_context: context } });
    assert.equal(none.status, 400);
    assert.equal(none.body.details[0].fieldViolations[0].field, 'plaintext');
    const proto = await ekm.client.request('POST', `/${key}:wrap`, { token: ekm.token(), raw: `{"__proto__": {"plaintext": "AAEC"}, "additional_context": ${JSON.stringify(context)}}` });
    assert.equal(proto.status, 400, 'a __proto__ member is ignored, not inherited');
  } finally {
    await ekm.close();
  }
});

void test('KAJ_UNAVAILABLE allows a missing reason, KAJ_UNKNOWN a reason the EKM does not know, per operation', async () => {
  const ekm = await startReferenceEkm();
  try {
    await ekm.admin.call('createCryptoSpace', {
      name: 's', policy: { callers: [CALLER], reasons: { default: ['CUSTOMER_INITIATED_ACCESS'], wrap: ['CUSTOMER_INITIATED_ACCESS', 'KAJ_UNAVAILABLE'], unwrap: ['KAJ_UNKNOWN'] } },
    });
    const key = (await ekm.admin.call<{ path: string }>('createKey', { cryptoSpace: 's', algorithm: 'EXTERNAL_SYMMETRIC_ENCRYPTION' })).path;
    const call = async (op: string, body: Record<string, unknown>, reason: unknown) => {
      const res = await ekm.client.request('POST', `/${key}:${op}`, { token: ekm.token(), body: withReason(body, reason as string) });
      return res.status;
    };
    assert.equal(await call('wrap', { plaintext: 'AAEC' }, null), 200, 'missing reason: KAJ_UNAVAILABLE');
    assert.equal(await call('wrap', { plaintext: 'AAEC' }, 'REASON_UNSPECIFIED'), 200, 'REASON_UNSPECIFIED is missing');
    assert.equal(await call('wrap', { plaintext: 'AAEC' }, 'NO_SUCH_REASON'), 403, 'unknown is not unavailable');
    const blob = (await ekm.client.request('POST', `/${key}:wrap`, { token: ekm.token(), body: withReason({ plaintext: 'AAEC' }) })).body.wrappedBlob;
    assert.equal(await call('unwrap', { wrappedBlob: blob }, 'NO_SUCH_REASON'), 200, 'unknown reason: KAJ_UNKNOWN');
    assert.equal(await call('unwrap', { wrappedBlob: blob }, 99), 200, 'a number above 11 is unknown too');
    assert.equal(await call('unwrap', { wrappedBlob: blob }, null), 403, 'unavailable is not unknown');
    assert.equal(await call('unwrap', { wrappedBlob: blob }, 'CUSTOMER_INITIATED_ACCESS'), 403, 'the list is the whole rule');
  } finally {
    await ekm.close();
  }
});
