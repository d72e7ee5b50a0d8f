// Cloud Audit Logs end to end under --auth required: an Admin Activity entry
// for a create and for a denied destroy (granted false, PERMISSION_DENIED),
// field by field; Data Access entries only with --data-access-logs; no
// plaintext, ciphertext or token anywhere in the file; and a sink that can't
// be written makes calls UNAVAILABLE, the next one without running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { createServer, KMS_AUDIENCE, type OpenEkmServer } from '../../src/server';
import { silentLogger } from '../../src/log';
import { TokenSigner } from '../../src/ekm-conformance/tokens';
import { tempDir, writeJwks } from '../ekm-server/helpers';
import { AUDIT_LOG_TYPE } from '../../src/api/audit';

const ISSUER = 'https://issuer.audit.test';
const ADMIN = 'admin@example.com';
const ALICE = 'alice@example.com';
const LOCATION = 'projects/audit-p/locations/us-east1';

type Entry = {
  logName: string; severity: string; timestamp: string; resource: { type: string; labels: Record<string, string> };
  protoPayload: {
    '@type': string; serviceName: string; methodName: string; resourceName: string; authenticationInfo: { principalEmail?: string };
    authorizationInfo: { resource: string; permission: string; granted: boolean }[]; requestMetadata: { callerIp?: string }; status: { code: number; message?: string };
  };
};

async function start(dir: string, auditLog: string, dataAccessLogs: boolean, signer: TokenSigner, dataDir?: string): Promise<OpenEkmServer> {
  return createServer({
    ...(dataDir ? { dataDir } : { inMemory: true }), logger: silentLogger, schedulerIntervalMs: 0, auditLog, dataAccessLogs,
    auth: { mode: 'required', trustedIssuers: [{ issuer: ISSUER, jwks: writeJwks(dir, signer) }], admins: [`user:${ADMIN}`] },
  });
}

function caller(server: OpenEkmServer, signer: TokenSigner) {
  const client = new KeyManagementServiceClient({ apiEndpoint: '127.0.0.1', port: server.grpcPort, sslCreds: grpc.credentials.createInsecure() });
  const as = async <T = Record<string, unknown>>(email: string, method: string, request: object): Promise<T> => {
    const headers = { authorization: `Bearer ${signer.token({ email, audience: KMS_AUDIENCE })}` };
    const fn = (client as unknown as Record<string, (r: object, o: object) => Promise<unknown[]>>)[method];
    // No retries: an UNAVAILABLE answer is what these tests look at.
    return (await fn.call(client, request, { otherArgs: { headers }, retry: null }))[0] as T;
  };
  return { client, as };
}

const entries = (file: string): Entry[] => fs.readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Entry);

void test('Admin Activity entries field by field, a denial recorded, Data Access only when asked; nothing secret in the file', async () => {
  const dir = tempDir('openekm-audit-');
  const signer = TokenSigner.generate(ISSUER, 'ES256');
  const file = path.join(dir, 'audit.jsonl');
  const server = await start(dir, file, false, signer);
  const { client, as } = caller(server, signer);
  try {
    const ring = (await as<{ name: string }>(ADMIN, 'createKeyRing', { parent: LOCATION, keyRingId: 'ring', keyRing: {} })).name;
    const key = (await as<{ name: string }>(ADMIN, 'createCryptoKey', { parent: ring, cryptoKeyId: 'k', cryptoKey: { purpose: 'ENCRYPT_DECRYPT' } })).name;
    const secret = Buffer.from('audit-secret-plaintext');
    const enc = await as<{ ciphertext: Uint8Array }>(ADMIN, 'encrypt', { name: key, plaintext: secret });
    await assert.rejects(as(ALICE, 'destroyCryptoKeyVersion', { name: `${key}/cryptoKeyVersions/1` }), { code: grpc.status.PERMISSION_DENIED });

    const logged = entries(file);
    assert.deepEqual(logged.map((e) => e.protoPayload.methodName), ['CreateKeyRing', 'CreateCryptoKey', 'DestroyCryptoKeyVersion'], 'no Data Access entry for Encrypt without --data-access-logs');
    const [created, , denied] = logged;
    assert.equal(created.logName, 'projects/audit-p/logs/cloudaudit.googleapis.com%2Factivity');
    assert.equal(created.severity, 'NOTICE');
    assert.ok(!Number.isNaN(Date.parse(created.timestamp)));
    assert.deepEqual(created.resource, { type: 'audited_resource', labels: { service: 'cloudkms.googleapis.com', project_id: 'audit-p' } });
    assert.equal(created.protoPayload['@type'], AUDIT_LOG_TYPE);
    assert.equal(created.protoPayload.serviceName, 'cloudkms.googleapis.com');
    assert.equal(created.protoPayload.resourceName, LOCATION);
    assert.deepEqual(created.protoPayload.authenticationInfo, { principalEmail: ADMIN });
    assert.deepEqual(created.protoPayload.authorizationInfo, [{ resource: LOCATION, permission: 'cloudkms.keyRings.create', granted: true }]);
    assert.equal(created.protoPayload.requestMetadata.callerIp, '127.0.0.1');
    assert.deepEqual(created.protoPayload.status, { code: 0 });
    assert.equal(denied.severity, 'ERROR');
    assert.equal(denied.protoPayload.authenticationInfo.principalEmail, ALICE);
    assert.deepEqual(denied.protoPayload.authorizationInfo, [{ resource: `${key}/cryptoKeyVersions/1`, permission: 'cloudkms.cryptoKeyVersions.destroy', granted: false }]);
    assert.equal(denied.protoPayload.status.code, grpc.status.PERMISSION_DENIED);
    assert.deepEqual(denied.resource, { type: 'cloudkms_cryptokeyversion', labels: { project_id: 'audit-p', location: 'us-east1', key_ring_id: 'ring', crypto_key_id: 'k', crypto_key_version_id: '1' } });

    const text = fs.readFileSync(file, 'utf8');
    for (const needle of [secret.toString(), secret.toString('base64'), Buffer.from(enc.ciphertext).toString('base64'), 'eyJ']) {
      assert.ok(!text.includes(needle), `the audit log holds ${needle.slice(0, 12)}...`);
    }
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  } finally {
    await client.close();
    await server.close();
  }

  // The same calls with --data-access-logs: Encrypt is a Data Access entry.
  const file2 = path.join(dir, 'audit2.jsonl');
  const server2 = await start(dir, file2, true, signer);
  const second = caller(server2, signer);
  try {
    const ring = (await second.as<{ name: string }>(ADMIN, 'createKeyRing', { parent: LOCATION, keyRingId: 'ring', keyRing: {} })).name;
    const key = (await second.as<{ name: string }>(ADMIN, 'createCryptoKey', { parent: ring, cryptoKeyId: 'k', cryptoKey: { purpose: 'ENCRYPT_DECRYPT' } })).name;
    await second.as(ADMIN, 'encrypt', { name: key, plaintext: Buffer.from('x') });
    await second.as(ADMIN, 'getCryptoKey', { name: key });
    const [encrypt, get] = entries(file2).slice(2);
    assert.equal(encrypt.protoPayload.methodName, 'Encrypt');
    assert.equal(encrypt.logName, 'projects/audit-p/logs/cloudaudit.googleapis.com%2Fdata_access');
    assert.equal(encrypt.severity, 'INFO');
    assert.deepEqual(encrypt.protoPayload.authorizationInfo, [{ resource: key, permission: 'cloudkms.cryptoKeyVersions.useToEncrypt', granted: true }]);
    assert.equal(get.protoPayload.methodName, 'GetCryptoKey');
    assert.equal(get.logName, 'projects/audit-p/logs/cloudaudit.googleapis.com%2Fdata_access');
  } finally {
    await second.client.close();
    await server2.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

void test('an audit log that can not be written: the call is UNAVAILABLE, and the next one does not run', { skip: !fs.existsSync('/dev/full') && 'no /dev/full here' }, async () => {
  const dir = tempDir('openekm-audit-full-');
  const signer = TokenSigner.generate(ISSUER, 'ES256');
  const dataDir = path.join(dir, 'data');
  const server = await start(dir, '/dev/full', false, signer, dataDir);
  const { client, as } = caller(server, signer);
  try {
    await assert.rejects(as(ADMIN, 'createKeyRing', { parent: LOCATION, keyRingId: 'first', keyRing: {} }), (err: { code: number; details: string }) =>
      err.code === grpc.status.UNAVAILABLE && /audit log could not be written/.test(err.details));
    await assert.rejects(as(ADMIN, 'createKeyRing', { parent: LOCATION, keyRingId: 'second', keyRing: {} }), (err: { code: number; details: string }) =>
      err.code === grpc.status.UNAVAILABLE && /the call was not run/.test(err.details));
  } finally {
    await client.close();
    await server.close();
  }
  const again = await start(dir, path.join(dir, 'ok.jsonl'), false, signer, dataDir);
  const later = caller(again, signer);
  try {
    const [rings] = await later.client.listKeyRings({ parent: LOCATION }, { otherArgs: { headers: { authorization: `Bearer ${signer.token({ email: ADMIN, audience: KMS_AUDIENCE })}` } } });
    assert.deepEqual(rings.map((r) => r.name?.split('/').pop()), ['first'], 'the second call never ran');
  } finally {
    await later.client.close();
    await again.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
