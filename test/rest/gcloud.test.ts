// gcloud, unchanged, against the REST port: every `gcloud kms` command a
// developer reaches for first, with outputs checked (resource fields, file
// contents, signatures verified with node:crypto), not only exit codes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Gcloud, gcloudSkip, startGcloud } from '../helpers/gcloud';
import { type Harness, startKms, tempDir } from '../helpers/kms';

const PROJECT = 'gcloud-project';
const LOC = 'us-east1';
const RING = 'ring-a';
const RING_NAME = `projects/${PROJECT}/locations/${LOC}/keyRings/${RING}`;
const at = ['--location', LOC, '--keyring', RING];

type Resource = Record<string, unknown> & { name: string };

describe('gcloud kms against the REST port', { skip: gcloudSkip() }, () => {
  let kms: Harness;
  let gcloud: Gcloud;
  let dir: string;
  const file = (name: string) => path.join(dir, name);

  before(async () => {
    kms = await startKms();
    dir = tempDir('openekm-gcloud-files-');
    gcloud = startGcloud({ cloudkms: kms.server.addresses.rest }, PROJECT, dir);
  });
  after(async () => {
    gcloud?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    await kms?.close();
  });

  // gcloud has `kms locations list` only (no describe, in GA, beta or alpha);
  // GetLocation's mixin route is read here the way gcloud's client would.
  test('locations list; GetLocation on its mixin route', async () => {
    const locations = await gcloud.json<Resource[]>(['kms', 'locations', 'list']);
    const ids = locations.map((l) => l.locationId);
    assert.ok(ids.includes('us-east1') && ids.includes('global') && ids.includes('europe'), ids.join(','));
    const listed = locations.find((l) => l.locationId === LOC)!;
    assert.equal(listed.name, `projects/${PROJECT}/locations/${LOC}`);
    assert.equal((listed.metadata as Record<string, unknown>)['@type'], 'type.googleapis.com/google.cloud.kms.v1.LocationMetadata');
    const response = await fetch(`${kms.server.addresses.rest}/v1/projects/${PROJECT}/locations/${LOC}?alt=json`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), listed);
  });

  test('keyrings create, list, describe', async () => {
    await gcloud.run(['kms', 'keyrings', 'create', RING, '--location', LOC]);
    await gcloud.run(['kms', 'keyrings', 'create', 'ring-b', '--location', LOC]);
    const rings = await gcloud.json<Resource[]>(['kms', 'keyrings', 'list', '--location', LOC]);
    assert.deepEqual(rings.map((r) => r.name).sort(), [RING_NAME, `projects/${PROJECT}/locations/${LOC}/keyRings/ring-b`]);
    const ring = await gcloud.resource<Resource>(['kms', 'keyrings', 'describe', RING, '--location', LOC]);
    assert.equal(ring.name, RING_NAME);
    assert.match(String(ring.createTime), /^2030-01-01T00:00:00/);
    const stderr = await gcloud.fails(['kms', 'keyrings', 'create', RING, '--location', LOC]);
    assert.match(stderr, /ALREADY_EXISTS|already exists/i);
  });

  test('keys create: symmetric with a rotation schedule, signing, decryption, MAC, raw', async () => {
    const sym = await gcloud.resource<Resource>([
      'kms', 'keys', 'create', 'sym', ...at, '--purpose', 'encryption',
      '--rotation-period', '30d', '--next-rotation-time', '2030-02-01T00:00:00Z', '--labels', 'team=payments',
    ]);
    assert.equal(sym.name, `${RING_NAME}/cryptoKeys/sym`);
    assert.equal(sym.purpose, 'ENCRYPT_DECRYPT');
    assert.equal(sym.rotationPeriod, '2592000s');
    assert.equal(sym.nextRotationTime, '2030-02-01T00:00:00Z');
    assert.deepEqual(sym.labels, { team: 'payments' });
    assert.equal((sym.primary as Resource).name, `${RING_NAME}/cryptoKeys/sym/cryptoKeyVersions/1`);
    assert.equal((sym.primary as Resource).state, 'ENABLED');

    const signer = await gcloud.resource<Resource>([
      'kms', 'keys', 'create', 'signer', ...at, '--purpose', 'asymmetric-signing', '--default-algorithm', 'ec-sign-p256-sha256',
    ]);
    assert.equal(signer.purpose, 'ASYMMETRIC_SIGN');
    assert.equal((signer.versionTemplate as Resource).algorithm, 'EC_SIGN_P256_SHA256');
    const decrypter = await gcloud.resource<Resource>([
      'kms', 'keys', 'create', 'decrypter', ...at, '--purpose', 'asymmetric-encryption',
      '--default-algorithm', 'rsa-decrypt-oaep-2048-sha256',
    ]);
    assert.equal(decrypter.purpose, 'ASYMMETRIC_DECRYPT');
    const mac = await gcloud.resource<Resource>([
      'kms', 'keys', 'create', 'mac', ...at, '--purpose', 'mac', '--default-algorithm', 'hmac-sha256',
    ]);
    assert.equal(mac.purpose, 'MAC');
    const raw = await gcloud.resource<Resource>([
      'kms', 'keys', 'create', 'raw', ...at, '--purpose', 'raw-encryption', '--default-algorithm', 'aes-256-gcm',
    ]);
    assert.equal(raw.purpose, 'RAW_ENCRYPT_DECRYPT');
    assert.equal((raw.versionTemplate as Resource).algorithm, 'AES_256_GCM');
    const rawCbc = await gcloud.resource<Resource>([
      'kms', 'keys', 'create', 'raw-cbc', ...at, '--purpose', 'raw-encryption', '--default-algorithm', 'aes-256-cbc',
    ]);
    assert.equal((rawCbc.versionTemplate as Resource).algorithm, 'AES_256_CBC');
  });

  test('keys list, describe, update labels and primary version', async () => {
    const keys = await gcloud.json<Resource[]>(['kms', 'keys', 'list', '--location', LOC, '--keyring', RING]);
    assert.deepEqual(keys.map((k) => k.name.split('/').pop()).sort(), ['decrypter', 'mac', 'raw', 'raw-cbc', 'signer', 'sym']);
    const described = await gcloud.resource<Resource>(['kms', 'keys', 'describe', 'sym', ...at]);
    assert.equal(described.rotationPeriod, '2592000s');

    const labelled = await gcloud.resource<Resource>(['kms', 'keys', 'update', 'sym', ...at, '--update-labels', 'env=prod']);
    assert.deepEqual(labelled.labels, { team: 'payments', env: 'prod' });
    const unlabelled = await gcloud.resource<Resource>(['kms', 'keys', 'update', 'sym', ...at, '--remove-labels', 'team']);
    assert.deepEqual(unlabelled.labels, { env: 'prod' });

    await gcloud.run(['kms', 'keys', 'versions', 'create', '--key', 'sym', ...at]);
    const promoted = await gcloud.resource<Resource>(['kms', 'keys', 'update', 'sym', ...at, '--primary-version', '2']);
    assert.equal((promoted.primary as Resource).name, `${RING_NAME}/cryptoKeys/sym/cryptoKeyVersions/2`);
    const back = await gcloud.resource<Resource>(['kms', 'keys', 'update', 'sym', ...at, '--primary-version', '1']);
    assert.equal((back.primary as Resource).name, `${RING_NAME}/cryptoKeys/sym/cryptoKeyVersions/1`);
  });

  test('versions create, list, describe, disable, enable, destroy, restore', async () => {
    const created = await gcloud.resource<Resource>(['kms', 'keys', 'versions', 'create', '--key', 'signer', ...at]);
    assert.equal(created.name, `${RING_NAME}/cryptoKeys/signer/cryptoKeyVersions/2`);
    assert.equal(created.algorithm, 'EC_SIGN_P256_SHA256');
    const versions = await gcloud.json<Resource[]>(['kms', 'keys', 'versions', 'list', '--key', 'signer', ...at]);
    assert.deepEqual(versions.map((v) => v.name.split('/').pop()), ['1', '2']);
    const v2 = ['2', '--key', 'signer', ...at];
    const described = await gcloud.resource<Resource>(['kms', 'keys', 'versions', 'describe', ...v2]);
    assert.equal(described.state, 'ENABLED');
    assert.equal(described.protectionLevel, 'SOFTWARE');

    assert.equal((await gcloud.resource<Resource>(['kms', 'keys', 'versions', 'disable', ...v2])).state, 'DISABLED');
    assert.equal((await gcloud.resource<Resource>(['kms', 'keys', 'versions', 'enable', ...v2])).state, 'ENABLED');
    const destroyed = await gcloud.resource<Resource>(['kms', 'keys', 'versions', 'destroy', ...v2]);
    assert.equal(destroyed.state, 'DESTROY_SCHEDULED');
    assert.equal(destroyed.destroyTime, '2030-01-31T00:00:00Z');
    const restored = await gcloud.resource<Resource>(['kms', 'keys', 'versions', 'restore', ...v2]);
    assert.equal(restored.state, 'DISABLED');
    assert.equal(restored.destroyTime, undefined);
  });

  test('encrypt and decrypt files, with additional authenticated data', async () => {
    const plaintext = crypto.randomBytes(3000);
    fs.writeFileSync(file('plain'), plaintext);
    fs.writeFileSync(file('aad'), 'order-42');
    const key = ['--key', 'sym', ...at];
    await gcloud.run(['kms', 'encrypt', ...key, '--plaintext-file', file('plain'), '--ciphertext-file', file('ct'),
      '--additional-authenticated-data-file', file('aad')]);
    const ciphertext = fs.readFileSync(file('ct'));
    assert.ok(ciphertext.length > plaintext.length && !ciphertext.includes(plaintext.subarray(0, 32)));
    await gcloud.run(['kms', 'decrypt', ...key, '--ciphertext-file', file('ct'), '--plaintext-file', file('back'),
      '--additional-authenticated-data-file', file('aad')]);
    assert.deepEqual(fs.readFileSync(file('back')), plaintext);

    fs.writeFileSync(file('other-aad'), 'order-43');
    const stderr = await gcloud.fails(['kms', 'decrypt', ...key, '--ciphertext-file', file('ct'),
      '--plaintext-file', file('nope'), '--additional-authenticated-data-file', file('other-aad')]);
    assert.match(stderr, /INVALID_ARGUMENT|Decryption failed/i);
  });

  test('asymmetric-sign, verified with node:crypto against get-public-key', async () => {
    const version = ['--version', '1', '--key', 'signer', ...at];
    await gcloud.run(['kms', 'keys', 'versions', 'get-public-key', '1', '--key', 'signer', ...at, '--output-file', file('pub.pem')]);
    const publicKey = crypto.createPublicKey(fs.readFileSync(file('pub.pem')));
    assert.equal(publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    const message = Buffer.from('release 1.2.3');
    fs.writeFileSync(file('message'), message);
    await gcloud.run(['kms', 'asymmetric-sign', ...version, '--digest-algorithm', 'sha256',
      '--input-file', file('message'), '--signature-file', file('sig')]);
    const signature = fs.readFileSync(file('sig'));
    assert.ok(crypto.verify('sha256', message, publicKey, signature));
    assert.ok(!crypto.verify('sha256', Buffer.from('release 1.2.4'), publicKey, signature));
  });

  test('asymmetric-decrypt of data encrypted with the public key', async () => {
    await gcloud.run(['kms', 'keys', 'versions', 'get-public-key', '1', '--key', 'decrypter', ...at, '--output-file', file('rsa.pem')]);
    const secret = Buffer.from('the vault combination');
    const ciphertext = crypto.publicEncrypt(
      { key: fs.readFileSync(file('rsa.pem')), padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      secret,
    );
    fs.writeFileSync(file('rsa-ct'), ciphertext);
    await gcloud.run(['kms', 'asymmetric-decrypt', '--version', '1', '--key', 'decrypter', ...at,
      '--ciphertext-file', file('rsa-ct'), '--plaintext-file', file('rsa-back')]);
    assert.deepEqual(fs.readFileSync(file('rsa-back')), secret);
  });

  test('mac-sign and mac-verify', async () => {
    const version = ['--version', '1', '--key', 'mac', ...at];
    fs.writeFileSync(file('data'), 'ledger entry 7');
    await gcloud.run(['kms', 'mac-sign', ...version, '--input-file', file('data'), '--signature-file', file('mac')]);
    assert.equal(fs.readFileSync(file('mac')).length, 32);
    // mac-verify prints the verdict, True or False.
    const ok = await gcloud.run(['kms', 'mac-verify', ...version, '--input-file', file('data'), '--signature-file', file('mac')]);
    assert.equal(ok.stdout.trim(), 'True');
    fs.writeFileSync(file('data2'), 'ledger entry 8');
    const bad = await gcloud.run(['kms', 'mac-verify', ...version, '--input-file', file('data2'), '--signature-file', file('mac')]);
    // success=false is a default value, which proto3 JSON leaves out: gcloud prints None.
    assert.match(bad.stdout.trim(), /^(False|None)$/);
  });

  // gcloud's raw-decrypt takes a 16-byte IV file only (AES-CBC and AES-CTR):
  // AES-GCM ciphertexts from raw-encrypt are opened with the official client.
  test('raw-encrypt and raw-decrypt: AES-CBC both ways, AES-GCM with the IV file gcloud writes', async () => {
    const cbc = ['--version', '1', '--key', 'raw-cbc', ...at];
    const plaintext = crypto.randomBytes(96);
    fs.writeFileSync(file('raw-plain'), plaintext);
    fs.writeFileSync(file('raw-iv'), crypto.randomBytes(16));
    await gcloud.run(['kms', 'raw-encrypt', ...cbc, '--plaintext-file', file('raw-plain'), '--ciphertext-file', file('raw-ct'),
      '--initialization-vector-file', file('raw-iv')]);
    assert.equal(fs.readFileSync(file('raw-ct')).length, 96);
    await gcloud.run(['kms', 'raw-decrypt', ...cbc, '--ciphertext-file', file('raw-ct'), '--plaintext-file', file('raw-back'),
      '--initialization-vector-file', file('raw-iv')]);
    assert.deepEqual(fs.readFileSync(file('raw-back')), plaintext);

    const gcm = ['--version', '1', '--key', 'raw', ...at];
    fs.writeFileSync(file('raw-aad'), 'header');
    const before = new Set(fs.readdirSync(dir));
    await gcloud.run(['kms', 'raw-encrypt', ...gcm, '--plaintext-file', file('raw-plain'), '--ciphertext-file', file('gcm-ct'),
      '--additional-authenticated-data-file', file('raw-aad')]);
    const ivFile = fs.readdirSync(dir).find((f) => !before.has(f) && f.includes('_vector_'));
    assert.ok(ivFile, 'gcloud wrote the server-made IV to a file');
    const iv = fs.readFileSync(file(ivFile));
    assert.equal(iv.length, 12);
    const [opened] = await kms.client.rawDecrypt({
      name: `${RING_NAME}/cryptoKeys/raw/cryptoKeyVersions/1`,
      ciphertext: fs.readFileSync(file('gcm-ct')),
      initializationVector: iv,
      additionalAuthenticatedData: Buffer.from('header'),
      tagLength: 16,
    });
    assert.deepEqual(Buffer.from(opened.plaintext as Uint8Array), plaintext);
  });
});
