// External keys end to end, through the official clients: a reference EKM
// over real TLS that trusts the KMS's JWKS, a Service Directory endpoint for
// it, an EkmConnection pinning its certificate, EXTERNAL_VPC and EXTERNAL
// keys, double wrapping, and the failures every caller sees as
// FAILED_PRECONDITION with a PreconditionFailure.
import '../helpers/env';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { EkmServiceClient } from '@google-cloud/kms';
import { Code } from '../../src/errors';
import { decodeMessage, messageType } from '../../src/proto/registry';
import { serviceIdentityEmail } from '../../src/services/ekm-client';
import { directoryClients, type DirectoryClients } from '../service-directory/clients';
import { TokenSigner } from '../ekm-server/conformance/tokens';
import { HOSTNAME, type ReferenceEkm, startReferenceEkm, writeJwks } from '../ekm-server/helpers';
import { type Harness, rejectsWithCode, startKms, tempDir } from '../helpers/kms';

const PROJECT = 'external-project';
const PARENT = `projects/${PROJECT}/locations/us-east1`;
const SERVICE = `${PARENT}/namespaces/ekm/services/replicas`;
const CONNECTION = `${PARENT}/ekmConnections/conn`;
const REASON_HEADER = 'x-openekm-access-reason';
const EKM_POLICY = {
  callers: [serviceIdentityEmail(PROJECT)],
  reasons: { default: ['CUSTOMER_INITIATED_ACCESS'], destroyKey: ['GOOGLE_INITIATED_SYSTEM_OPERATION'] },
};

/** The PreconditionFailure violations of a gRPC error. */
function violations(err: unknown): { type: string; subject: string; description: string }[] {
  const bin = (err as { metadata: grpc.Metadata }).metadata.get('grpc-status-details-bin')[0] as Buffer;
  const status = decodeMessage(messageType('google.rpc.Status'), bin) as { details?: { value: Buffer }[] };
  return (status.details ?? []).flatMap(
    (d) => (decodeMessage(messageType('google.rpc.PreconditionFailure'), d.value) as { violations: never[] }).violations,
  );
}

async function failsWith(promise: Promise<unknown>, type: string): Promise<{ subject: string; description: string }> {
  const err = await rejectsWithCode(promise, Code.FAILED_PRECONDITION);
  const found = violations(err).find((v) => v.type === type);
  assert.ok(found, `expected a ${type} violation, got ${JSON.stringify(violations(err))}: ${err.message}`);
  return found;
}

/** The EKM calls the KMS has made, by method, from its metrics. */
async function ekmCalls(kms: Harness, method: string): Promise<number> {
  let total = 0;
  for (const line of (await kms.server.metricsText()).split('\n')) {
    if (line.startsWith('ekm_external_requests_total{') && line.includes(`method="${method}"`)) total += Number(line.split(' ').pop());
  }
  return total;
}

describe('external keys end to end', () => {
  let kms: Harness;
  let ekm: ReferenceEkm;
  let ekmService: EkmServiceClient;
  let directory: DirectoryClients;
  let trustDir: string;
  let ekmDataDir: string;
  let keyPath: string;
  let vpcKey: string;
  // A second signer the EKM trusts, standing in for the KMS when a test calls the EKM directly.
  const direct = TokenSigner.generate('https://direct.test/', 'ES256');

  const startEkm = () =>
    startReferenceEkm({
      dataDir: ekmDataDir,
      trustedIssuers: [
        { issuer: kms.server.issuer, jwks: path.join(trustDir, 'kms-jwks.json') },
        { issuer: direct.issuer, jwks: writeJwks(tempDir('openekm-direct-'), direct) },
      ],
      audiences: [`https://${HOSTNAME}`, 'https://127.0.0.1'],
    });

  /** Restarts the EKM (same data, same certificate) and points the Service Directory endpoint at its new port. */
  async function restartEkm(): Promise<void> {
    ekm = await startEkm();
    await directory.registration.updateEndpoint({
      endpoint: { name: `${SERVICE}/endpoints/a`, address: '127.0.0.1', port: ekm.server.port },
      updateMask: { paths: ['port'] },
    });
  }

  before(async () => {
    trustDir = tempDir('openekm-kms-trust-');
    ekmDataDir = tempDir('openekm-ekm-data-');
    // The EKM keeps its certificate in its data dir: a first start makes it,
    // so the KMS can trust it (EXTERNAL keys) before the EKM trusts the KMS.
    const first = await startReferenceEkm({ dataDir: ekmDataDir });
    const certificatePem = first.server.certificatePem;
    await first.close();
    kms = await startKms({ ekm: { extraCaPem: certificatePem, deadlineMs: 3000 } });
    fs.writeFileSync(path.join(trustDir, 'kms-jwks.json'), JSON.stringify(kms.server.jwks));
    ekm = await startEkm();

    await ekm.admin.call('createCryptoSpace', { name: 'kms', policy: EKM_POLICY });
    keyPath = (await ekm.admin.call<{ path: string }>('createKey', { cryptoSpace: 'kms', algorithm: 'EXTERNAL_SYMMETRIC_ENCRYPTION' })).path;

    directory = directoryClients(kms.server);
    await directory.registration.createNamespace({ parent: PARENT, namespaceId: 'ekm', namespace: {} });
    await directory.registration.createService({ parent: `${PARENT}/namespaces/ekm`, serviceId: 'replicas', service: {} });
    await directory.registration.createEndpoint({
      parent: SERVICE, endpointId: 'a', endpoint: { address: '127.0.0.1', port: ekm.server.port },
    });
    ekmService = new EkmServiceClient({ apiEndpoint: '127.0.0.1', port: kms.server.grpcPort, sslCreds: grpc.credentials.createInsecure() });
    await ekmService.createEkmConnection({
      parent: PARENT,
      ekmConnectionId: 'conn',
      ekmConnection: {
        serviceResolvers: [{
          serviceDirectoryService: SERVICE,
          hostname: HOSTNAME,
          serverCertificates: [{ rawDer: fs.readFileSync(ekm.server.certificateDerPath) }],
        }],
      },
    });
    await ekmService.updateEkmConfig({ ekmConfig: { name: `${PARENT}/ekmConfig`, defaultEkmConnection: CONNECTION }, updateMask: { paths: ['default_ekm_connection'] } });
    await kms.client.createKeyRing({ parent: PARENT, keyRingId: 'ring', keyRing: {} });
  });
  after(async () => {
    await ekmService?.close();
    await directory?.close();
    await kms?.close();
    await ekm?.close();
    fs.rmSync(trustDir, { recursive: true, force: true });
    fs.rmSync(ekmDataDir, { recursive: true, force: true });
  });

  test('VerifyConnectivity: resolution, pinned TLS, token and /info all work', async () => {
    const [answer] = await ekmService.verifyConnectivity({ name: CONNECTION });
    assert.deepEqual({ ...answer }, {});
  });

  test('an EXTERNAL_VPC key on the default connection: double-wrapped Encrypt and Decrypt, one EKM call each', async () => {
    const [key] = await kms.client.createCryptoKey({
      parent: `${PARENT}/keyRings/ring`,
      cryptoKeyId: 'vpc',
      cryptoKey: { purpose: 'ENCRYPT_DECRYPT', versionTemplate: { protectionLevel: 'EXTERNAL_VPC' } },
      skipInitialVersionCreation: true,
    });
    vpcKey = key.name!;
    assert.equal(key.cryptoKeyBackend, CONNECTION);
    assert.equal(key.versionTemplate?.algorithm, 'EXTERNAL_SYMMETRIC_ENCRYPTION');
    const [version] = await kms.client.createCryptoKeyVersion({
      parent: vpcKey,
      cryptoKeyVersion: { externalProtectionLevelOptions: { ekmConnectionKeyPath: keyPath } },
    });
    assert.equal(version.protectionLevel, 'EXTERNAL_VPC');
    assert.equal(version.externalProtectionLevelOptions?.ekmConnectionKeyPath, keyPath);
    await kms.client.updateCryptoKeyPrimaryVersion({ name: vpcKey, cryptoKeyVersionId: '1' });

    const plaintext = crypto.randomBytes(1000);
    const aad = Buffer.from('order 7');
    const wrapsBefore = await ekmCalls(kms, 'wrap');
    const [enc] = await kms.client.encrypt({ name: vpcKey, plaintext, additionalAuthenticatedData: aad });
    assert.equal(await ekmCalls(kms, 'wrap'), wrapsBefore + 1);
    assert.equal(enc.protectionLevel, 'EXTERNAL_VPC');
    const ciphertext = Buffer.from(enc.ciphertext as Uint8Array);
    assert.ok(!ciphertext.includes(plaintext.subarray(0, 16)));

    const unwrapsBefore = await ekmCalls(kms, 'unwrap');
    for (let i = 0; i < 3; i++) {
      const [dec] = await kms.client.decrypt({ name: vpcKey, ciphertext, additionalAuthenticatedData: aad });
      assert.deepEqual(Buffer.from(dec.plaintext as Uint8Array), plaintext);
    }
    assert.equal(await ekmCalls(kms, 'unwrap'), unwrapsBefore + 3, 'nothing the EKM returns is cached');

    // The EKM alone: unwrapping the blob gives the KMS's inner ciphertext, not the plaintext.
    const answer = await ekm.client.request('POST', `/${keyPath}:unwrap`, {
      token: direct.token({ email: serviceIdentityEmail(PROJECT), audience: `https://${HOSTNAME}` }),
      body: {
        wrappedBlob: ciphertext.subarray(5).toString('base64'),
        additionalAuthenticatedData: Buffer.from(`${vpcKey}/cryptoKeyVersions/1`).toString('base64'),
        additionalContext: { accessReasonContext: { reason: 'CUSTOMER_INITIATED_ACCESS' } },
      },
    });
    assert.equal(answer.status, 200, answer.text);
    const inner = Buffer.from(answer.body.plaintext as string, 'base64');
    assert.ok(inner.length > plaintext.length && !inner.includes(plaintext.subarray(0, 16)), 'the EKM sees only the inner ciphertext');
  });

  test('the KMS side alone can not decrypt: with the EKM down the call fails with UNREACHABLE_NETWORK', async () => {
    const [enc] = await kms.client.encrypt({ name: vpcKey, plaintext: Buffer.from('x') });
    await ekm.close();
    try {
      const v = await failsWith(kms.client.decrypt({ name: vpcKey, ciphertext: enc.ciphertext }), 'UNREACHABLE_NETWORK');
      assert.equal(v.subject, `${vpcKey}/cryptoKeyVersions/1`);
      assert.ok(v.description.length > 20);
    } finally {
      await restartEkm();
    }
    await kms.client.decrypt({ name: vpcKey, ciphertext: enc.ciphertext });
  });

  test('Key Access Justifications: the key policy is enforced before the EKM is called', async () => {
    const [key] = await kms.client.createCryptoKey({
      parent: `${PARENT}/keyRings/ring`,
      cryptoKeyId: 'kaj',
      cryptoKey: {
        purpose: 'ENCRYPT_DECRYPT',
        versionTemplate: { protectionLevel: 'EXTERNAL_VPC' },
        keyAccessJustificationsPolicy: { allowedAccessReasons: ['CUSTOMER_INITIATED_ACCESS'] } as never,
      },
      skipInitialVersionCreation: true,
    });
    await kms.client.createCryptoKeyVersion({ parent: key.name, cryptoKeyVersion: { externalProtectionLevelOptions: { ekmConnectionKeyPath: keyPath } } });
    await kms.client.updateCryptoKeyPrimaryVersion({ name: key.name, cryptoKeyVersionId: '1' });
    await kms.client.encrypt({ name: key.name, plaintext: Buffer.from('ok') });
    const wraps = await ekmCalls(kms, 'wrap');
    const meta = { otherArgs: { headers: { [REASON_HEADER]: 'THIRD_PARTY_DATA_REQUEST' } } };
    await failsWith(kms.client.encrypt({ name: key.name, plaintext: Buffer.from('no') }, meta as never), 'KEY_ACCESS_JUSTIFICATIONS_POLICY');
    assert.equal(await ekmCalls(kms, 'wrap'), wraps, 'the EKM was not called');
  });

  test('the EKM denies a reason its policy does not allow: FAILED_PRECONDITION, and the version is disabled', async () => {
    const [key] = await kms.client.createCryptoKey({
      parent: `${PARENT}/keyRings/ring`,
      cryptoKeyId: 'ekm-kaj',
      cryptoKey: { purpose: 'ENCRYPT_DECRYPT', versionTemplate: { protectionLevel: 'EXTERNAL_VPC' } },
      skipInitialVersionCreation: true,
    });
    await kms.client.createCryptoKeyVersion({ parent: key.name, cryptoKeyVersion: { externalProtectionLevelOptions: { ekmConnectionKeyPath: keyPath } } });
    await kms.client.updateCryptoKeyPrimaryVersion({ name: key.name, cryptoKeyVersionId: '1' });
    const meta = { otherArgs: { headers: { [REASON_HEADER]: 'GOOGLE_INITIATED_REVIEW' } } };
    const err = await rejectsWithCode(kms.client.encrypt({ name: key.name, plaintext: Buffer.from('no') }, meta as never), Code.FAILED_PRECONDITION);
    // As Cloud KMS reports it: the version's state first (now DISABLED), then the attempt with its domain.
    const [state, attempt] = violations(err);
    assert.equal(violations(err).length, 2);
    assert.equal(state.type, 'EXTERNAL_KEY_VERSION_STATE');
    assert.equal(state.subject, `${key.name}/cryptoKeyVersions/1`);
    assert.match(state.description, /is DISABLED/);
    assert.equal(attempt.type, 'EXTERNAL_PERMISSION_DENIED');
    assert.match(attempt.description, new RegExp(`^Permission was denied when accessing ${keyPath}`));
    assert.equal(err.message.replace(/^\d+ [A-Z_]+: /, ''), attempt.description);
    const [version] = await kms.client.getCryptoKeyVersion({ name: `${key.name}/cryptoKeyVersions/1` });
    assert.equal(version.state, 'DISABLED');
  });

  test('a tampered external ciphertext: INVALID_ARGUMENT with domain DECRYPTION_FAILED, over gRPC and REST', async () => {
    const [enc] = await kms.client.encrypt({ name: vpcKey, plaintext: Buffer.from('tamper with me') });
    const tampered = Buffer.from(enc.ciphertext as Uint8Array);
    tampered[tampered.length - 1] ^= 1;
    const err = await rejectsWithCode(kms.client.decrypt({ name: vpcKey, ciphertext: tampered }), Code.INVALID_ARGUMENT);
    const [state, attempt] = violations(err);
    assert.equal(state.type, 'EXTERNAL_KEY_VERSION_STATE');
    assert.match(state.description, /is ENABLED/);
    assert.equal(attempt.type, 'DECRYPTION_FAILED');
    assert.match(attempt.description, /^Decryption failed: .* could not unwrap with v0\/cryptospaces\/kms\/keys\//);

    const res = await fetch(`${kms.server.addresses.rest}/v1/${vpcKey}:decrypt`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ciphertext: tampered.toString('base64') }),
    });
    const body = await res.json() as { error: { code: number; status: string; details: Array<{ '@type': string; violations: Array<{ type: string }> }> } };
    assert.equal(res.status, 400);
    assert.equal(body.error.status, 'INVALID_ARGUMENT');
    const detail = body.error.details.find((d) => d['@type'] === 'type.googleapis.com/google.rpc.PreconditionFailure');
    assert.deepEqual(detail?.violations.map((v) => v.type), ['EXTERNAL_KEY_VERSION_STATE', 'DECRYPTION_FAILED']);
    const [version] = await kms.client.getCryptoKeyVersion({ name: `${vpcKey}/cryptoKeyVersions/1` });
    assert.equal(version.state, 'ENABLED', 'a decryption failure does not disable the version');
  });

  test('revoking the KMS at the EKM takes effect on the next call', async () => {
    const [enc] = await kms.client.encrypt({ name: vpcKey, plaintext: Buffer.from('before revocation') });
    await ekm.admin.call('setPolicy', { cryptoSpace: 'kms', policy: { callers: [], reasons: { default: ['CUSTOMER_INITIATED_ACCESS'] } } });
    try {
      await failsWith(kms.client.decrypt({ name: vpcKey, ciphertext: enc.ciphertext }), 'EXTERNAL_PERMISSION_DENIED');
    } finally {
      await ekm.admin.call('setPolicy', { cryptoSpace: 'kms', policy: EKM_POLICY });
    }
    const [version] = await kms.client.getCryptoKeyVersion({ name: `${vpcKey}/cryptoKeyVersions/1` });
    assert.equal(version.state, 'DISABLED', 'a PERMISSION_DENIED from the EKM disables the version');
    await kms.client.updateCryptoKeyVersion({ cryptoKeyVersion: { name: version.name, state: 'ENABLED' }, updateMask: { paths: ['state'] } });
    await kms.client.decrypt({ name: vpcKey, ciphertext: enc.ciphertext });
  });

  test('an EXTERNAL key by URI: TLS against the extra CA, double wrapping', async () => {
    const [key] = await kms.client.createCryptoKey({
      parent: `${PARENT}/keyRings/ring`,
      cryptoKeyId: 'uri',
      cryptoKey: { purpose: 'ENCRYPT_DECRYPT', versionTemplate: { protectionLevel: 'EXTERNAL' } },
      skipInitialVersionCreation: true,
    });
    const uri = `${ekm.server.url}/${keyPath}`;
    await kms.client.createCryptoKeyVersion({ parent: key.name, cryptoKeyVersion: { externalProtectionLevelOptions: { externalKeyUri: uri } } });
    await kms.client.updateCryptoKeyPrimaryVersion({ name: key.name, cryptoKeyVersionId: '1' });
    const [enc] = await kms.client.encrypt({ name: key.name, plaintext: Buffer.from('over the internet') });
    const [dec] = await kms.client.decrypt({ name: key.name, ciphertext: enc.ciphertext });
    assert.equal(Buffer.from(dec.plaintext as Uint8Array).toString(), 'over the internet');
  });

  test('UpdateCryptoKeyVersion re-points an external version: its next call goes to the new key', async () => {
    const [key] = await kms.client.createCryptoKey({
      parent: `${PARENT}/keyRings/ring`,
      cryptoKeyId: 'repointed',
      cryptoKey: { purpose: 'ENCRYPT_DECRYPT', versionTemplate: { protectionLevel: 'EXTERNAL' } },
      skipInitialVersionCreation: true,
    });
    const good = `${ekm.server.url}/${keyPath}`;
    const missing = `${ekm.server.url}/v0/keys/not-there`;
    const [v1] = await kms.client.createCryptoKeyVersion({ parent: key.name, cryptoKeyVersion: { externalProtectionLevelOptions: { externalKeyUri: missing } } });
    await kms.client.updateCryptoKeyPrimaryVersion({ name: key.name, cryptoKeyVersionId: '1' });
    await rejectsWithCode(kms.client.encrypt({ name: key.name, plaintext: Buffer.from('x') }), Code.FAILED_PRECONDITION);

    const [moved] = await kms.client.updateCryptoKeyVersion({
      cryptoKeyVersion: { name: v1.name, externalProtectionLevelOptions: { externalKeyUri: good } },
      updateMask: { paths: ['external_protection_level_options.external_key_uri'] },
    });
    assert.equal(moved.externalProtectionLevelOptions?.externalKeyUri, good);
    assert.equal(moved.state, 'ENABLED', 'a mask without state leaves the state alone');
    const [enc] = await kms.client.encrypt({ name: key.name, plaintext: Buffer.from('re-pointed') });
    const [dec] = await kms.client.decrypt({ name: key.name, ciphertext: enc.ciphertext });
    assert.equal(Buffer.from(dec.plaintext as Uint8Array).toString(), 're-pointed');

    // Cloud KMS's rules: a key path is not an EXTERNAL version's, a URI not an EXTERNAL_VPC version's, nor a software version's.
    const bad = (name: string, options: object, paths: string[]) =>
      rejectsWithCode(kms.client.updateCryptoKeyVersion({ cryptoKeyVersion: { name, externalProtectionLevelOptions: options }, updateMask: { paths } }), Code.INVALID_ARGUMENT);
    await bad(v1.name!, { ekmConnectionKeyPath: 'v0/x' }, ['external_protection_level_options.ekm_connection_key_path']);
    await bad(v1.name!, { externalKeyUri: 'http://plain.example/v0/k' }, ['external_protection_level_options.external_key_uri']);
    await bad(`${vpcKey}/cryptoKeyVersions/1`, { externalKeyUri: good }, ['external_protection_level_options.external_key_uri']);
    await bad(`${vpcKey}/cryptoKeyVersions/1`, { ekmConnectionKeyPath: '' }, ['external_protection_level_options.ekm_connection_key_path']);
    const [soft] = await kms.client.createCryptoKey({ parent: `${PARENT}/keyRings/ring`, cryptoKeyId: 'soft-repoint', cryptoKey: { purpose: 'ENCRYPT_DECRYPT' } });
    await bad(soft.primary!.name!, { externalKeyUri: good }, ['external_protection_level_options.external_key_uri']);

    // An EXTERNAL_VPC version on a MANUAL connection takes a new key path (here: the same key, spelled again).
    const [vpc] = await kms.client.updateCryptoKeyVersion({
      cryptoKeyVersion: { name: `${vpcKey}/cryptoKeyVersions/1`, externalProtectionLevelOptions: { ekmConnectionKeyPath: keyPath } },
      updateMask: { paths: ['externalProtectionLevelOptions.ekmConnectionKeyPath'] },
    });
    assert.equal(vpc.externalProtectionLevelOptions?.ekmConnectionKeyPath, keyPath);
  });

  test('a CLOUD_KMS connection: the EKM makes the material; destruction reaches the EKM', async () => {
    const coordinated = `${PARENT}/ekmConnections/coordinated`;
    await ekmService.createEkmConnection({
      parent: PARENT,
      ekmConnectionId: 'coordinated',
      ekmConnection: {
        serviceResolvers: [{
          serviceDirectoryService: SERVICE,
          hostname: HOSTNAME,
          serverCertificates: [{ rawDer: fs.readFileSync(ekm.server.certificateDerPath) }],
        }],
        keyManagementMode: 'CLOUD_KMS',
        cryptoSpacePath: 'v0/cryptospaces/kms',
      },
    });
    await ekmService.verifyConnectivity({ name: coordinated });
    const [key] = await kms.client.createCryptoKey({
      parent: `${PARENT}/keyRings/ring`,
      cryptoKeyId: 'coordinated',
      cryptoKey: { purpose: 'ENCRYPT_DECRYPT', versionTemplate: { protectionLevel: 'EXTERNAL_VPC' }, cryptoKeyBackend: coordinated },
    });
    const v1 = key.primary!;
    assert.match(v1.externalProtectionLevelOptions!.ekmConnectionKeyPath!, /^v0\/cryptospaces\/kms\/keys\//);
    const [enc] = await kms.client.encrypt({ name: key.name, plaintext: Buffer.from('coordinated') });
    const [dec] = await kms.client.decrypt({ name: key.name, ciphertext: enc.ciphertext });
    assert.equal(Buffer.from(dec.plaintext as Uint8Array).toString(), 'coordinated');

    // Signing keys on the same connection: the EKM signs, node:crypto verifies against GetPublicKey.
    const [signer] = await kms.client.createCryptoKey({
      parent: `${PARENT}/keyRings/ring`,
      cryptoKeyId: 'coordinated-signer',
      cryptoKey: {
        purpose: 'ASYMMETRIC_SIGN',
        versionTemplate: { protectionLevel: 'EXTERNAL_VPC', algorithm: 'EC_SIGN_P256_SHA256' },
        cryptoKeyBackend: coordinated,
      },
    });
    const signerVersion = `${signer.name}/cryptoKeyVersions/1`;
    const message = Buffer.from('release 9');
    const [signed] = await kms.client.asymmetricSign({ name: signerVersion, digest: { sha256: crypto.createHash('sha256').update(message).digest() } });
    const [pub] = await kms.client.getPublicKey({ name: signerVersion });
    assert.ok(crypto.verify('sha256', message, pub.pem!, Buffer.from(signed.signature as Uint8Array)));

    // Destroy version 1: once the schedule runs out the KMS destroys its half, then asks the EKM.
    await kms.client.destroyCryptoKeyVersion({ name: v1.name });
    kms.clock.advance(31 * 24 * 3600 * 1000);
    await kms.server.runScheduler();
    const [gone] = await kms.client.getCryptoKeyVersion({ name: v1.name });
    assert.equal(gone.state, 'DESTROYED');
    const external = await ekm.admin.call<{ state: string }>('getKey', { path: v1.externalProtectionLevelOptions!.ekmConnectionKeyPath });
    assert.equal(external.state, 'DESTROYED');
    assert.equal(gone.externalDestructionFailureReason, '');

    // When the EKM refuses, the version says so, with the cause, and the EKM's key is untouched.
    const [v2] = await kms.client.createCryptoKeyVersion({ parent: key.name, cryptoKeyVersion: {} });
    const v2Path = v2.externalProtectionLevelOptions!.ekmConnectionKeyPath!;
    await ekm.admin.call('setPolicy', { cryptoSpace: 'kms', policy: { ...EKM_POLICY, reasons: { default: ['CUSTOMER_INITIATED_ACCESS'] } } });
    try {
      await kms.client.destroyCryptoKeyVersion({ name: v2.name });
      kms.clock.advance(31 * 24 * 3600 * 1000);
      await kms.server.runScheduler();
    } finally {
      await ekm.admin.call('setPolicy', { cryptoSpace: 'kms', policy: EKM_POLICY });
    }
    const [failed] = await kms.client.getCryptoKeyVersion({ name: v2.name });
    assert.equal(failed.state, 'EXTERNAL_DESTRUCTION_FAILED');
    assert.ok(failed.externalDestructionFailureReason!.includes(v2Path), failed.externalDestructionFailureReason!);
    assert.match(failed.externalDestructionFailureReason!, /GOOGLE_INITIATED_SYSTEM_OPERATION|denied|permission/i);
    assert.equal((await ekm.admin.call<{ state: string }>('getKey', { path: v2Path })).state, 'ENABLED');
    await rejectsWithCode(kms.client.encrypt({ name: v2.name, plaintext: Buffer.from('x') }), Code.FAILED_PRECONDITION);
  });

  test('the REST port publishes the KMS JWKS, and the EKM and per-RPC metrics in Prometheus text', async () => {
    const jwks = await fetch(`${kms.server.addresses.rest}/openekm/v1/jwks.json`);
    assert.equal(jwks.status, 200);
    assert.deepEqual(await jwks.json(), kms.server.jwks);
    const metrics = await fetch(`${kms.server.addresses.rest}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await metrics.text();
    assert.match(text, /^# TYPE ekm_external_requests_total counter$/m);
    assert.match(text, /^ekm_external_requests_total\{[^}]*method="wrap"[^}]*final="true"[^}]*\} \d+$/m);
    assert.match(text, /ekm_external_request_duration_seconds_bucket\{/);
    assert.match(text, /status="CONNECTION"/, 'the EKM-down test left connection failures');
    // Per RPC, by method, canonical code and transport.
    assert.match(text, /^# TYPE kms_rpc_requests_total counter$/m);
    assert.match(text, /^kms_rpc_requests_total\{method="google\.cloud\.kms\.v1\.KeyManagementService\.Encrypt",code="OK",transport="grpc"\} \d+$/m);
    assert.match(text, /^kms_rpc_requests_total\{method="google\.cloud\.kms\.v1\.KeyManagementService\.Decrypt",code="INVALID_ARGUMENT",transport="rest"\} [1-9]\d*$/m);
    assert.match(text, /^kms_rpc_request_duration_seconds_count\{method="google\.cloud\.kms\.v1\.KeyManagementService\.Encrypt",transport="grpc"\} \d+$/m);
  });

  test('Cloud KMS rules for external keys', async () => {
    const ring = `${PARENT}/keyRings/ring`;
    await rejectsWithCode(kms.client.createCryptoKey({
      parent: ring, cryptoKeyId: 'needs-skip', cryptoKey: { purpose: 'ENCRYPT_DECRYPT', versionTemplate: { protectionLevel: 'EXTERNAL' } },
    }), Code.INVALID_ARGUMENT);
    await rejectsWithCode(kms.client.createCryptoKey({
      parent: ring, cryptoKeyId: 'bad-alg', skipInitialVersionCreation: true,
      cryptoKey: { purpose: 'ENCRYPT_DECRYPT', versionTemplate: { protectionLevel: 'EXTERNAL', algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION' } },
    }), Code.INVALID_ARGUMENT);
    await rejectsWithCode(kms.client.createCryptoKey({
      parent: ring, cryptoKeyId: 'bad-backend', skipInitialVersionCreation: true,
      cryptoKey: { purpose: 'ENCRYPT_DECRYPT', versionTemplate: { protectionLevel: 'EXTERNAL_VPC' }, cryptoKeyBackend: `${PARENT}/ekmConnections/absent` },
    }), Code.FAILED_PRECONDITION);
    await rejectsWithCode(kms.client.createCryptoKeyVersion({ parent: vpcKey, cryptoKeyVersion: {} }), Code.INVALID_ARGUMENT);
    await rejectsWithCode(kms.client.createCryptoKeyVersion({
      parent: vpcKey, cryptoKeyVersion: { externalProtectionLevelOptions: { externalKeyUri: 'https://x.test/k' } },
    }), Code.INVALID_ARGUMENT);
  });
});

