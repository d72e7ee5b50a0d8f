// gcloud's EKM control-plane commands against the REST port:
// `kms ekm-connections create/describe/list/update` with a real certificate
// file, `kms ekm-config describe/update`, and `kms keys versions update
// --external-key-uri / --ekm-connection-key-path` (external versions
// re-pointed); outputs checked.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeCertificate } from '../helpers/certificates';
import { type Gcloud, gcloudSkip, startGcloud } from '../helpers/gcloud';
import { type Harness, startKms, tempDir } from '../helpers/kms';

const PROJECT = 'gcloud-ekm';
const LOC = 'us-east1';
const PARENT = `projects/${PROJECT}/locations/${LOC}`;
const SERVICE = `${PARENT}/namespaces/ekm/services/replicas`;

type Resource = Record<string, unknown> & { name: string };
type Resolver = { hostname: string; endpointFilter?: string; serverCertificates: Record<string, unknown>[] };

describe('gcloud kms ekm-connections and ekm-config against the REST port', { skip: gcloudSkip() }, () => {
  let kms: Harness;
  let gcloud: Gcloud;
  let dir: string;
  let der: Buffer;
  let der2: Buffer;

  before(async () => {
    kms = await startKms();
    dir = tempDir('openekm-gcloud-ekm-');
    gcloud = startGcloud({ cloudkms: kms.server.addresses.rest }, PROJECT, dir);
    der = await makeCertificate({ commonName: 'ekm.example.test', dnsNames: ['ekm.example.test'] });
    der2 = await makeCertificate({ commonName: 'ekm2.example.test', dnsNames: ['ekm2.example.test'] });
    fs.writeFileSync(path.join(dir, 'ekm.pem'), new X509Certificate(der).toString());
    fs.writeFileSync(path.join(dir, 'ekm2.pem'), new X509Certificate(der2).toString());
  });
  after(async () => {
    gcloud?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    await kms?.close();
  });

  test('ekm-connections create, describe, list', async () => {
    const created = await gcloud.resource<Resource>([
      'kms', 'ekm-connections', 'create', 'conn', '--location', LOC,
      '--service-directory-service', SERVICE, '--hostname', 'ekm.example.test',
      '--server-certificates-files', path.join(dir, 'ekm.pem'), '--endpoint-filter', 'port=443',
    ]);
    assert.equal(created.name, `${PARENT}/ekmConnections/conn`);
    const [resolver] = created.serviceResolvers as Resolver[];
    assert.equal(resolver.hostname, 'ekm.example.test');
    assert.equal(resolver.endpointFilter, 'port=443');
    assert.equal(resolver.serverCertificates[0].parsed, true);
    assert.equal(resolver.serverCertificates[0].sha256Fingerprint, createHash('sha256').update(der).digest('hex'));
    assert.deepEqual(Buffer.from(resolver.serverCertificates[0].rawDer as string, 'base64'), der);
    assert.equal(created.keyManagementMode, 'MANUAL');

    await gcloud.run([
      'kms', 'ekm-connections', 'create', 'coordinated', '--location', LOC,
      '--service-directory-service', SERVICE, '--hostname', 'ekm.example.test',
      '--server-certificates-files', path.join(dir, 'ekm.pem'),
      '--key-management-mode', 'cloud-kms', '--crypto-space-path', 'v0/cryptospaces/main',
    ]);
    const described = await gcloud.resource<Resource>(['kms', 'ekm-connections', 'describe', 'coordinated', '--location', LOC]);
    assert.equal(described.keyManagementMode, 'CLOUD_KMS');
    assert.equal(described.cryptoSpacePath, 'v0/cryptospaces/main');
    const listed = await gcloud.json<Resource[]>(['kms', 'ekm-connections', 'list', '--location', LOC]);
    assert.deepEqual(listed.map((c) => c.name).sort(), [`${PARENT}/ekmConnections/conn`, `${PARENT}/ekmConnections/coordinated`]);
  });

  test('ekm-connections update: hostname and certificates', async () => {
    const before = await gcloud.resource<Resource>(['kms', 'ekm-connections', 'describe', 'conn', '--location', LOC]);
    const updated = await gcloud.resource<Resource>([
      'kms', 'ekm-connections', 'update', 'conn', '--location', LOC,
      '--hostname', 'ekm2.example.test', '--server-certificates-files', `${path.join(dir, 'ekm.pem')},${path.join(dir, 'ekm2.pem')}`,
    ]);
    const [resolver] = updated.serviceResolvers as Resolver[];
    assert.equal(resolver.hostname, 'ekm2.example.test');
    assert.equal(resolver.serverCertificates.length, 2);
    assert.notEqual(updated.etag, before.etag);
  });

  test('ekm-config describe and update', async () => {
    const empty = await gcloud.resource<Resource>(['kms', 'ekm-config', 'describe', '--location', LOC]);
    assert.equal(empty.name, `${PARENT}/ekmConfig`);
    assert.equal(empty.defaultEkmConnection, undefined);
    const set = await gcloud.resource<Resource>([
      'kms', 'ekm-config', 'update', '--location', LOC, '--default-ekm-connection', `${PARENT}/ekmConnections/conn`,
    ]);
    assert.equal(set.defaultEkmConnection, `${PARENT}/ekmConnections/conn`);
    const again = await gcloud.resource<Resource>(['kms', 'ekm-config', 'describe', '--location', LOC]);
    assert.equal(again.defaultEkmConnection, `${PARENT}/ekmConnections/conn`);
    const stderr = await gcloud.fails(['kms', 'ekm-config', 'update', '--location', LOC, '--default-ekm-connection', `${PARENT}/ekmConnections/absent`]);
    assert.match(stderr, /NOT_FOUND/);
  });

  test('keys versions update --external-key-uri re-points an EXTERNAL version', async () => {
    const ring = `${PARENT}/keyRings/repoint`;
    await kms.client.createKeyRing({ parent: PARENT, keyRingId: 'repoint', keyRing: {} });
    const [key] = await kms.client.createCryptoKey({
      parent: ring, cryptoKeyId: 'ext', skipInitialVersionCreation: true,
      cryptoKey: { purpose: 'ENCRYPT_DECRYPT', versionTemplate: { protectionLevel: 'EXTERNAL' } },
    });
    await kms.client.createCryptoKeyVersion({
      parent: key.name, cryptoKeyVersion: { externalProtectionLevelOptions: { externalKeyUri: 'https://ekm.example.test/v0/keys/a' } },
    });
    const updated = await gcloud.resource<Resource & { externalProtectionLevelOptions?: { externalKeyUri?: string }; state?: string }>([
      'kms', 'keys', 'versions', 'update', '1', '--key', 'ext', '--keyring', 'repoint', '--location', LOC,
      '--external-key-uri', 'https://ekm.example.test/v0/keys/b',
    ]);
    assert.equal(updated.externalProtectionLevelOptions?.externalKeyUri, 'https://ekm.example.test/v0/keys/b');
    assert.equal(updated.state, 'ENABLED');
    const described = await gcloud.resource<typeof updated>(['kms', 'keys', 'versions', 'describe', '1', '--key', 'ext', '--keyring', 'repoint', '--location', LOC]);
    assert.equal(described.externalProtectionLevelOptions?.externalKeyUri, 'https://ekm.example.test/v0/keys/b');
    const stderr = await gcloud.fails([
      'kms', 'keys', 'versions', 'update', '1', '--key', 'ext', '--keyring', 'repoint', '--location', LOC, '--external-key-uri', 'http://plain.example.test/v0/k',
    ]);
    assert.match(stderr, /INVALID_ARGUMENT/);
  });

  test('keys versions update --ekm-connection-key-path re-points an EXTERNAL_VPC version on a MANUAL connection', async () => {
    const [key] = await kms.client.createCryptoKey({
      parent: `${PARENT}/keyRings/repoint`, cryptoKeyId: 'vpc', skipInitialVersionCreation: true,
      cryptoKey: { purpose: 'ENCRYPT_DECRYPT', cryptoKeyBackend: `${PARENT}/ekmConnections/conn`, versionTemplate: { protectionLevel: 'EXTERNAL_VPC' } },
    });
    await kms.client.createCryptoKeyVersion({ parent: key.name, cryptoKeyVersion: { externalProtectionLevelOptions: { ekmConnectionKeyPath: 'v0/keys/a' } } });
    const updated = await gcloud.resource<Resource & { externalProtectionLevelOptions?: { ekmConnectionKeyPath?: string } }>([
      'kms', 'keys', 'versions', 'update', '1', '--key', 'vpc', '--keyring', 'repoint', '--location', LOC, '--ekm-connection-key-path', 'v0/keys/b',
    ]);
    assert.equal(updated.externalProtectionLevelOptions?.ekmConnectionKeyPath, 'v0/keys/b');
    const stderr = await gcloud.fails([
      'kms', 'keys', 'versions', 'update', '1', '--key', 'vpc', '--keyring', 'repoint', '--location', LOC, '--ekm-connection-key-path', '/v0/keys/b',
    ]);
    assert.match(stderr, /INVALID_ARGUMENT/);
  });
});
