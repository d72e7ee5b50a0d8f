// Round trips through the reference EKM over real TLS on loopback, by both
// routes: EXTERNAL_VPC (Service Directory stub, pinned certificate, the
// resolver's hostname) and EXTERNAL (key URI, the EKM's certificate as the
// extra CA, a DNS stub). The EKM accepts the KMS's token and audits its identity.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createVerify, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import type { ExternalKeyTarget } from '../../src/services/ekm-client/types';
import { CALL, PROJECT, VERSION, connectionRecord, countSamples, startFixture, type Fixture } from './helpers';

async function roundTrips(f: Fixture, target: (keyPath: string) => ExternalKeyTarget): Promise<void> {
  const client = f.client();
  const plaintext = randomBytes(32);
  const aad = Buffer.from('aad');
  const blob = await client.wrap(target(f.keys.wrap), plaintext, aad, CALL);
  assert.notDeepEqual(blob, plaintext);
  assert.deepEqual(await client.unwrap(target(f.keys.wrap), blob, aad, CALL), plaintext);
  assert.deepEqual(await client.unwrap(target(f.keys.wrap), await client.wrap(target(f.keys.wrap), Buffer.alloc(0), Buffer.alloc(0), CALL), Buffer.alloc(0), CALL), Buffer.alloc(0));

  const { pem, algorithm } = await client.getPublicKey(target(f.keys.sign), CALL);
  assert.equal(algorithm, 'EC_SIGN_P256_SHA256');
  const message = Buffer.from('signed by an external key');
  const digest = createHash('sha256').update(message).digest();
  const signature = await client.asymmetricSign(target(f.keys.sign), { digest: { sha256: digest } }, CALL);
  assert.ok(createVerify('sha256').update(message).verify(pem, signature), 'the signature verifies with the EKM public key');
  const audit = fs.readFileSync(f.ekm.server.auditLogPath!, 'utf8');
  assert.match(audit, new RegExp(`"caller":"${f.identity.email(PROJECT)}"`));
  assert.match(audit, /CUSTOMER_INITIATED_ACCESS/);
  assert.equal(f.logger.lines.length, 0, 'no EKM error, no audit line');
}

void test('EXTERNAL_VPC: wrap, unwrap, getPublicKey and asymmetricSign through a pinned EkmConnection', async () => {
  const f = await startFixture();
  try {
    const connection = connectionRecord(f.der);
    await roundTrips(f, (keyPath) => ({ kind: 'vpc', connection, keyPath }));
  } finally {
    await f.close();
  }
});

void test('EXTERNAL: the same through a key URI verified against the extra CA bundle', async () => {
  const f = await startFixture();
  try {
    await roundTrips(f, (keyPath) => ({ kind: 'uri', keyUri: f.uri(keyPath) }));
  } finally {
    await f.close();
  }
});

void test('connections are pooled, the request carries the KMS context, and metrics count each attempt', async () => {
  const f = await startFixture();
  try {
    const client = f.client();
    const target: ExternalKeyTarget = { kind: 'vpc', connection: connectionRecord(f.der), keyPath: f.keys.wrap };
    for (let i = 0; i < 5; i++) await client.wrap(target, Buffer.from('x'), Buffer.alloc(0), { ...CALL, isKeyHealthCheck: i === 0 });
    const text = await client.metrics.prometheusText();
    assert.match(text, /# TYPE ekm_external_requests_total counter/);
    assert.match(text, /# TYPE ekm_external_request_duration_seconds histogram/);
    const labels = { method: 'wrap', final: 'true', response_code: '200', status: 'OK', ekm_connection: connectionRecord(f.der).name };
    assert.equal(countSamples(text, labels), 5);
    assert.match(text, /ekm_external_request_duration_seconds_bucket\{le="\+Inf",method="wrap",final="true"\} 5/);
    assert.match(text, /ekm_external_request_duration_seconds_count\{method="wrap",final="true"\} 5/);
    const audit = fs.readFileSync(f.ekm.server.auditLogPath!, 'utf8');
    assert.ok(audit.includes(`"kmsResource":"${VERSION}"`), 'the EKM saw the key version as the resource');
    assert.equal(audit.split('\n').filter((l) => l.includes('"healthCheck":true')).length, 1, 'isKeyHealthCheck reached the EKM');
  } finally {
    await f.close();
  }
});

void test('the token is reused within its lifetime and names the project identity and the EKM audience', async () => {
  const f = await startFixture();
  try {
    const token = await f.identity.token(PROJECT, 'https://ekm.test', f.ekm.server.sha256Fingerprint);
    assert.equal(f.identity.token(PROJECT, 'https://ekm.test', f.ekm.server.sha256Fingerprint), token);
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as Record<string, unknown>;
    assert.equal(claims.aud, 'https://ekm.test');
    assert.equal(claims.email, f.identity.email(PROJECT));
    assert.equal(claims.sub, f.identity.email(PROJECT));
    assert.equal(claims.email_verified, true);
    assert.equal(claims.iss, f.identity.issuer);
  } finally {
    await f.close();
  }
});
