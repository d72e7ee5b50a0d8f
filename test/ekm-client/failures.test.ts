// Every way an EKM call fails reaches the KMS as FAILED_PRECONDITION with the
// right error domain, the key version as subject, an actionable description,
// and a data-access audit line without secrets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import type { KmsError } from '../../src/errors';
import { type EkmError, ekmErrorDomain, isEkmPermissionDenied } from '../../src/services/ekm-client/errors';
import { ServiceIdentity } from '../../src/services/ekm-client/identity';
import { EKM_PERMISSION_DENIED, type ExternalKeyTarget } from '../../src/services/ekm-client/types';
import {
  CALL, HOSTNAME, SPACE, assertEkmError, connectionRecord, countSamples, fakeEkm, refusingPort, silentServer, startFixture, stubLookup,
} from './helpers';

const vpc = (der: Buffer, keyPath: string, overrides = {}): ExternalKeyTarget => ({ kind: 'vpc', connection: connectionRecord(der, overrides), keyPath });

void test('the EKM stopped: UNREACHABLE_NETWORK after the bounded connection retries', async () => {
  const f = await startFixture();
  const client = f.client({ retryBackoffMs: 10 });
  const target = vpc(f.der, f.keys.wrap);
  try {
    await client.wrap(target, Buffer.from('x'), Buffer.alloc(0), CALL);
    await f.ekm.server.close();
    await assert.rejects(client.wrap(target, Buffer.from('x'), Buffer.alloc(0), CALL), (e) =>
      assertEkmError(e, 'UNREACHABLE_NETWORK', /^TCP connection to 127\.0\.0\.1:\d+ failed: connection refused\. .*\(3 attempts\)$/));
    const text = await client.metrics.prometheusText();
    assert.equal(countSamples(text, { method: 'wrap', status: 'CONNECTION', final: 'false' }), 2);
    assert.equal(countSamples(text, { method: 'wrap', status: 'CONNECTION', final: 'true', response_code: '0' }), 1);
    const line = f.logger.lines.at(-1)!;
    assert.equal(line.message, 'ekm data access error');
    assert.equal(line.fields?.domain, 'UNREACHABLE_NETWORK');
    assert.equal(line.fields?.resource, CALL.resourceName);
    assert.equal(line.fields?.attempts, 3);
  } finally {
    await f.close();
  }
});

void test('a server that accepts and never answers: TIMEOUT at the deadline', async () => {
  const f = await startFixture();
  const silent = await silentServer();
  try {
    const client = f.client({ deadlineMs: 300, endpoints: [{ address: '127.0.0.1', port: silent.port }] });
    const started = performance.now();
    await assert.rejects(client.wrap(vpc(f.der, f.keys.wrap), Buffer.from('x'), Buffer.alloc(0), CALL), (e) =>
      assertEkmError(e, 'TIMEOUT', /did not answer wrap within the 300 ms deadline/));
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 250 && elapsed < 2000, `gave up after ${elapsed} ms`);
    assert.equal(countSamples(await client.metrics.prometheusText(), { status: 'TIMEOUT', final: 'true' }), 1);
  } finally {
    await silent.close();
    await f.close();
  }
});

/** An EKM that completes TLS and reads requests but never answers them; counts what it got. */
async function muteEkm(): Promise<Awaited<ReturnType<typeof fakeEkm>> & { requests(): number }> {
  let requests = 0;
  const server = await fakeEkm((req) => {
    requests++;
    req.resume();
  });
  return { ...server, requests: () => requests };
}

void test('an EKM that completes TLS but never answers the request: TIMEOUT, not retried', async () => {
  const f = await startFixture();
  const mute = await muteEkm();
  try {
    const client = f.client({ deadlineMs: 300, endpoints: [{ address: '127.0.0.1', port: mute.port }] });
    await assert.rejects(client.wrap(vpc(mute.der, 'v0/k'), Buffer.from('x'), Buffer.alloc(0), CALL), (e) =>
      assertEkmError(e, 'TIMEOUT', /did not answer wrap within the 300 ms deadline/));
    assert.equal(mute.requests(), 1);
  } finally {
    await mute.close();
    await f.close();
  }
});

void test('a KMS that shuts down with a call in flight: REQUEST_CANCELLED, not retried', async () => {
  const f = await startFixture();
  const mute = await muteEkm();
  try {
    const client = f.client({ deadlineMs: 5000, endpoints: [{ address: '127.0.0.1', port: mute.port }] });
    const call = client.wrap(vpc(mute.der, 'v0/k'), Buffer.from('x'), Buffer.alloc(0), CALL);
    while (mute.requests() === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    client.close();
    await assert.rejects(call, (e) => assertEkmError(e, 'REQUEST_CANCELLED', /^Request cancelled: the KMS ended wrap on v0\/k .* as it shut down/));
    assert.equal(mute.requests(), 1);
    assert.equal(countSamples(await client.metrics.prometheusText(), { status: 'CANCELLED', final: 'true' }), 1);
    // A call after the close is cancelled at once, without connecting.
    await assert.rejects(client.wrap(vpc(mute.der, 'v0/k'), Buffer.from('x'), Buffer.alloc(0), CALL), (e) => assertEkmError(e, 'REQUEST_CANCELLED'));
    assert.equal(mute.requests(), 1);
  } finally {
    await mute.close();
    await f.close();
  }
});

void test('a key URI whose host does not resolve: DNS', async () => {
  const f = await startFixture();
  try {
    const client = f.client({ lookup: stubLookup([]) });
    await assert.rejects(client.wrap({ kind: 'uri', keyUri: f.uri(f.keys.wrap) }, Buffer.from('x'), Buffer.alloc(0), CALL), (e) =>
      assertEkmError(e, 'DNS', new RegExp(`DNS resolution of ${HOSTNAME} failed: no such host\\.`)) &&
      !/ENOTFOUND|getaddrinfo/.test(JSON.stringify([(e as KmsError).message, (e as KmsError).details])));
    assert.equal(countSamples(await client.metrics.prometheusText(), { status: 'DNS', final: 'true' }), 1, 'DNS failures are not retried');
  } finally {
    await f.close();
  }
});

void test('TLS failures: pinned certificate mismatch, hostname mismatch, untrusted URI certificate', async () => {
  const f = await startFixture();
  try {
    const client = f.client();
    await assert.rejects(client.wrap(vpc(f.der, f.keys.wrap, { pins: [Buffer.from('some other certificate')] }), Buffer.from('x'), Buffer.alloc(0), CALL), (e) =>
      assertEkmError(e, 'TLS_CERT', /^TLS pinning failed: the certificate 127\.0\.0\.1:\d+ presented \(SHA-256 [0-9a-f]{64}\) is not one of the EkmConnection's pinned server_certificates/));
    await assert.rejects(client.wrap(vpc(f.der, f.keys.wrap, { hostname: 'other.test' }), Buffer.from('x'), Buffer.alloc(0), CALL), (e) =>
      assertEkmError(e, 'TLS_CERT', /^Hostname check failed: .* does not name other\.test/));
    assert.equal(countSamples(await client.metrics.prometheusText(), { status: 'TLS', final: 'true' }), 2, 'a TLS failure is not retried');

    const untrusting = f.client({ extraCaPem: undefined });
    await assert.rejects(untrusting.wrap({ kind: 'uri', keyUri: f.uri(f.keys.wrap) }, Buffer.from('x'), Buffer.alloc(0), CALL), (e) =>
      assertEkmError(e, 'TLS_CERT', /^TLS verification failed: .*not trusted \(it is self-signed\)/));
    const named = f.client({ lookup: stubLookup(['localhost.test']) });
    await assert.rejects(named.wrap({ kind: 'uri', keyUri: f.uri(f.keys.wrap, 'localhost.test') }, Buffer.from('x'), Buffer.alloc(0), CALL), (e) =>
      assertEkmError(e, 'TLS_CERT', /^Hostname check failed: .*localhost\.test/));
  } finally {
    await f.close();
  }
});

void test('the EKM revoked the caller: EXTERNAL_PERMISSION_DENIED, marked for disabling the version', async () => {
  const f = await startFixture();
  try {
    const client = f.client();
    await f.ekm.admin.call('setPolicy', { cryptoSpace: SPACE, policy: { callers: [] } });
    let caught: unknown;
    await assert.rejects(client.unwrap(vpc(f.der, f.keys.wrap), Buffer.alloc(40), Buffer.alloc(0), CALL), (e) => {
      caught = e;
      return assertEkmError(e, 'EXTERNAL_PERMISSION_DENIED', new RegExp(`^Permission was denied when accessing ${f.keys.wrap}: .* refused unwrap to ${f.identity.email(CALL.project)} \\(HTTP 403 PERMISSION_DENIED: ".+"\\)`));
    });
    assert.equal(isEkmPermissionDenied(caught), true);
    assert.equal((caught as EkmError).domain, EKM_PERMISSION_DENIED);
    assert.equal(countSamples(await client.metrics.prometheusText(), { status: 'HTTP_ERROR', response_code: '403', final: 'true' }), 1);
  } finally {
    await f.close();
  }
});

void test('EKM answers: unknown key, tampered blob, disabled key, untrusted token', async () => {
  const f = await startFixture();
  try {
    const client = f.client();
    const unknown = `v0/cryptospaces/${SPACE}/keys/nope`;
    await assert.rejects(client.wrap(vpc(f.der, unknown), Buffer.from('x'), Buffer.alloc(0), CALL), (e) =>
      assertEkmError(e, 'EXTERNAL_NOT_FOUND', new RegExp(`^${unknown} was not found: the EKM at 127\\.0\\.0\\.1:\\d+ has no such key or crypto space \\(HTTP 404 NOT_FOUND`)));

    const blob = await client.wrap(vpc(f.der, f.keys.wrap), Buffer.from('secret'), Buffer.from('aad'), CALL);
    blob[blob.length - 1] ^= 1;
    let tampered: unknown;
    await assert.rejects(client.unwrap(vpc(f.der, f.keys.wrap), blob, Buffer.from('aad'), CALL), (e) => {
      tampered = e;
      return assertEkmError(e, 'DECRYPTION_FAILED', /^Decryption failed: .*HTTP 400 INVALID_ARGUMENT.*do not belong to this key/);
    });
    assert.equal(isEkmPermissionDenied(tampered), false);

    await f.ekm.admin.call('disableKey', { path: f.keys.wrap });
    await assert.rejects(client.wrap(vpc(f.der, f.keys.wrap), Buffer.from('x'), Buffer.alloc(0), CALL), (e) =>
      assertEkmError(e, 'UNEXPECTED_ERROR', /^The external key manager refused wrap on .*HTTP 400 FAILED_PRECONDITION.*Enable the key at the EKM/));

    const stranger = f.client({ identity: ServiceIdentity.ephemeral({ issuer: 'https://someone-else.example/' }) });
    await assert.rejects(stranger.getPublicKey(vpc(f.der, f.keys.sign), CALL), (e) =>
      assertEkmError(e, 'UNEXPECTED_ERROR', /^Authentication failed: .*HTTP 401 UNAUTHENTICATED.*issuer https:\/\/someone-else\.example\/.*audience https:\/\/ekm\.test/));

    const lines = f.logger.lines.filter((l) => l.message === 'ekm data access error');
    assert.deepEqual(lines.map((l) => l.fields?.domain), ['EXTERNAL_NOT_FOUND', 'DECRYPTION_FAILED', 'UNEXPECTED_ERROR', 'UNEXPECTED_ERROR']);
    const logged = JSON.stringify(f.logger.lines);
    assert.ok(!logged.includes(blob.toString('base64')), 'no blob in the audit lines');
    assert.ok(!logged.includes(Buffer.from('secret').toString('base64')), 'no plaintext');
    assert.ok(!/eyJ[A-Za-z0-9_-]{10,}\./.test(logged), 'no token');
    assert.equal(ekmErrorDomain(new Error('x')), undefined);
  } finally {
    await f.close();
  }
});

void test('a malformed key URI and a connection without endpoints fail before any attempt', async () => {
  const f = await startFixture();
  try {
    const client = f.client({ endpoints: [] });
    await assert.rejects(client.wrap({ kind: 'uri', keyUri: 'http://ekm.test/v0/k' }, Buffer.from('x'), Buffer.alloc(0), CALL), (e) =>
      assertEkmError(e, 'EXTERNAL_KEY_URI_INVALID', /is not an https:\/\/host\[:port\]\/path URL/));
    await assert.rejects(client.wrap(vpc(f.der, f.keys.wrap), Buffer.from('x'), Buffer.alloc(0), CALL), (e) =>
      assertEkmError(e, 'DNS', /^Resolution failed: Service Directory service .* has no endpoints/));
    const refused = f.client({ endpoints: [{ address: '127.0.0.1', port: await refusingPort() }], connectionRetries: 0 });
    await assert.rejects(refused.destroyKey(vpc(f.der, f.keys.wrap), CALL), (e) => assertEkmError(e, 'UNREACHABLE_NETWORK', /connection refused/));
  } finally {
    await f.close();
  }
});
