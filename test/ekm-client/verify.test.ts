// VerifyConnectivity names the stage that failed (resolution, TCP, TLS
// pinning, hostname, authentication, permissions), and the CLOUD_KMS control
// plane: createKey idempotent on requestId, destroyKey idempotent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { notFound } from '../../src/errors';
import { ServiceIdentity } from '../../src/services/ekm-client/identity';
import type { CallInfo } from '../../src/services/ekm-client/types';
import { CALL, CONNECTION, SPACE, SPACE_PATH, assertEkmError, connectionRecord, refusingPort, startFixture } from './helpers';

const PROBE: CallInfo = { project: CALL.project, resourceName: CONNECTION, reason: 'GOOGLE_INITIATED_SYSTEM_OPERATION', isKeyHealthCheck: true };
const expectStage = (domain: string, description: RegExp) => (e: unknown) => assertEkmError(e, domain, description, CONNECTION);

void test('verifyConnectivity succeeds for MANUAL and CLOUD_KMS connections', async () => {
  const f = await startFixture();
  try {
    const client = f.client();
    await client.verifyConnectivity(connectionRecord(f.der), PROBE);
    await client.verifyConnectivity(connectionRecord(f.der, { keyManagementMode: 'CLOUD_KMS', cryptoSpacePath: SPACE_PATH }), PROBE);
    assert.equal(f.logger.lines.length, 0);
  } finally {
    await f.close();
  }
});

void test('verifyConnectivity: each failing stage is named', async () => {
  const f = await startFixture();
  try {
    const good = connectionRecord(f.der);
    await assert.rejects(f.client({ endpoints: [] }).verifyConnectivity(good, PROBE),
      expectStage('DNS', /^Resolution failed: .* has no endpoints/));
    const throwing = f.client({ resolve: async () => { throw notFound('Service Directory service x was not found.'); } });
    await assert.rejects(throwing.verifyConnectivity(good, PROBE),
      expectStage('DNS', /^Resolution failed: Service Directory could not resolve .*was not found\./));
    await assert.rejects(f.client().verifyConnectivity({ ...good, serviceResolvers: [] }, PROBE),
      expectStage('DNS', /^Resolution failed: the EkmConnection .* has no service resolver/));
    const refused = f.client({ endpoints: [{ address: '127.0.0.1', port: await refusingPort() }], connectionRetries: 0 });
    await assert.rejects(refused.verifyConnectivity(good, PROBE), expectStage('UNREACHABLE_NETWORK', /^TCP connection to .* failed: connection refused/));
    await assert.rejects(f.client().verifyConnectivity(connectionRecord(f.der, { pins: [Buffer.from('x')] }), PROBE),
      expectStage('TLS_CERT', /^TLS pinning failed/));
    await assert.rejects(f.client().verifyConnectivity(connectionRecord(f.der, { hostname: 'wrong.test' }), PROBE),
      expectStage('TLS_CERT', /^Hostname check failed/));
    const stranger = f.client({ identity: ServiceIdentity.ephemeral() });
    await assert.rejects(stranger.verifyConnectivity(good, PROBE), expectStage('UNEXPECTED_ERROR', /^Authentication failed/));
  } finally {
    await f.close();
  }
});

void test('verifyConnectivity for CLOUD_KMS: missing crypto space permissions are named', async () => {
  const f = await startFixture();
  try {
    const client = f.client();
    const cloudKms = connectionRecord(f.der, { keyManagementMode: 'CLOUD_KMS', cryptoSpacePath: SPACE_PATH });
    await f.ekm.admin.call('setPolicy', { cryptoSpace: SPACE, policy: { callers: [f.identity.email(CALL.project)], reasons: { destroyKey: [], createKey: [] } } });
    await assert.rejects(client.verifyConnectivity(cloudKms, PROBE),
      expectStage('EXTERNAL_PERMISSION_DENIED', new RegExp(`^Permission check failed: .* does not grant ${f.identity.email(CALL.project)} createKey, destroyKey on crypto space ${SPACE_PATH}\\.`)));
    await f.ekm.admin.call('setPolicy', { cryptoSpace: SPACE, policy: { callers: [] } });
    await assert.rejects(client.verifyConnectivity(cloudKms, PROBE), expectStage('EXTERNAL_PERMISSION_DENIED', /wrap, unwrap, asymmetricSign, getPublicKey, createKey, destroyKey/));
    await assert.rejects(client.verifyConnectivity({ ...cloudKms, cryptoSpacePath: 'v0/cryptospaces/none' }, PROBE),
      expectStage('EXTERNAL_NOT_FOUND', /^v0\/cryptospaces\/none was not found: .* has no such key or crypto space/));
    const narrow = f.client({ cryptoSpacePermissions: [] });
    await narrow.verifyConnectivity(cloudKms, PROBE);
  } finally {
    await f.close();
  }
});

void test('createKey is idempotent on requestId; destroyKey erases the key and may be repeated', async () => {
  const f = await startFixture();
  try {
    const client = f.client();
    const connection = connectionRecord(f.der, { keyManagementMode: 'CLOUD_KMS', cryptoSpacePath: SPACE_PATH });
    const first = await client.createKey(connection, 'EXTERNAL_SYMMETRIC_ENCRYPTION', 'request-1', CALL);
    assert.match(first, new RegExp(`^${SPACE_PATH}/keys/`));
    assert.equal(await client.createKey(connection, 'EXTERNAL_SYMMETRIC_ENCRYPTION', 'request-1', CALL), first);
    const second = await client.createKey(connection, 'EXTERNAL_SYMMETRIC_ENCRYPTION', 'request-2', CALL);
    assert.notEqual(second, first);
    await assert.rejects(client.createKey(connection, 'EC_SIGN_P256_SHA256', 'request-1', CALL),
      (e) => assertEkmError(e, 'UNEXPECTED_ERROR', /HTTP 409 ALREADY_EXISTS/));

    const target = { kind: 'vpc' as const, connection, keyPath: first };
    const blob = await client.wrap(target, Buffer.from('coordinated'), Buffer.alloc(0), CALL);
    assert.deepEqual(await client.unwrap(target, blob, Buffer.alloc(0), CALL), Buffer.from('coordinated'));
    await client.destroyKey(target, CALL);
    await client.destroyKey(target, CALL);
    await assert.rejects(client.unwrap(target, blob, Buffer.alloc(0), CALL), (e) => assertEkmError(e, 'UNEXPECTED_ERROR', /HTTP 400 FAILED_PRECONDITION.*destroyed/));

    await assert.rejects(client.createKey({ ...connection, cryptoSpacePath: '' }, 'EXTERNAL_SYMMETRIC_ENCRYPTION', 'r', CALL),
      (e) => assertEkmError(e, 'EXTERNAL_NOT_FOUND', /has no crypto_space_path/));
  } finally {
    await f.close();
  }
});
