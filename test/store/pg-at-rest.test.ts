// Secrets at rest on PostgreSQL: a pg_dump of a KMS's schema holds no key
// material, no EKM signing key and no root key in the clear. The test opens
// every sealed blob with the root key (it has it; the database does not) and
// looks for what came out, as bytes, hex (bytea's text form) and base64, in
// the dump.
import '../helpers/env';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { RootKey } from '../../src/crypto/root-key';
import { SIGNING_KEY_SETTING } from '../../src/services/ekm-client/identity';
import { type Harness, LOCATION, startKms } from '../helpers/kms';
import { adminQuery, freshSchema, type PgSchema, PG_BASE_URL } from '../helpers/pg';

let schema: PgSchema;
let kms: Harness;
const rootKey = RootKey.generate();

before(async () => {
  schema = await freshSchema();
  kms = await startKms({ database: schema.url, rootKey: rootKey.toBase64() });
});
after(async () => {
  await kms?.close();
  await schema?.drop();
});

function forms(secret: Buffer): string[] {
  return [secret.toString('hex'), secret.toString('base64'), secret.toString('base64url'), secret.toString('latin1')];
}

test('a pg_dump holds no key material, signing key or root key in the clear', async () => {
  const c = kms.client;
  const ring = `${LOCATION}/keyRings/at-rest`;
  await c.createKeyRing({ parent: LOCATION, keyRingId: 'at-rest', keyRing: {} });
  const keys: [string, object][] = [
    ['aes', { purpose: 'ENCRYPT_DECRYPT' }],
    ['aes-hsm', { purpose: 'ENCRYPT_DECRYPT', versionTemplate: { protectionLevel: 'HSM', algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION' } }],
    ['ec', { purpose: 'ASYMMETRIC_SIGN', versionTemplate: { algorithm: 'EC_SIGN_P256_SHA256' } }],
    ['rsa', { purpose: 'ASYMMETRIC_DECRYPT', versionTemplate: { algorithm: 'RSA_DECRYPT_OAEP_2048_SHA256' } }],
    ['mac', { purpose: 'MAC', versionTemplate: { algorithm: 'HMAC_SHA256' } }],
  ];
  for (const [id, cryptoKey] of keys) await c.createCryptoKey({ parent: ring, cryptoKeyId: id, cryptoKey });
  const [job] = await c.createImportJob({ parent: ring, importJobId: 'job', importJob: { importMethod: 'RSA_OAEP_3072_SHA256', protectionLevel: 'SOFTWARE' } });
  for (let i = 0; i < 100; i++) {
    if ((await c.getImportJob({ name: job.name }))[0].state === 'ACTIVE') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await c.encrypt({ name: `${ring}/cryptoKeys/aes`, plaintext: Buffer.from('x') });

  const sealed = await adminQuery<{ version_name: string; sealed: Buffer }>(`SELECT version_name, sealed FROM ${schema.schema}.key_material`);
  assert.equal(sealed.length, keys.length + 1, 'one sealed blob per version and one for the import job');
  const secrets = sealed.map((row) => ({ what: row.version_name, plain: rootKey.open(row.sealed, row.version_name) }));
  const [signing] = await adminQuery<{ value: string }>(`SELECT value FROM ${schema.schema}.settings WHERE key = $1`, [SIGNING_KEY_SETTING]);
  assert.ok(signing, 'the EKM signing key is in the settings, sealed');
  const { sealedPkcs8 } = JSON.parse(signing.value) as { sealedPkcs8: string };
  secrets.push({ what: 'EKM signing key', plain: rootKey.open(Buffer.from(sealedPkcs8, 'base64'), 'openekm/ekm-client/signing-key/v1') });
  secrets.push({ what: 'root key', plain: Buffer.from(rootKey.toBase64(), 'base64') });

  const dump = execFileSync('pg_dump', ['--dbname', PG_BASE_URL, '--schema', schema.schema, '--data-only'], { maxBuffer: 64 << 20 }).toString('latin1');
  assert.ok(dump.includes('crypto_key_versions') && dump.length > 1000, 'the dump holds the schema\'s data');
  for (const { what, plain } of secrets) {
    assert.ok(plain.length >= 32, `${what}: opened`);
    for (const form of forms(plain)) assert.ok(!dump.includes(form), `${what} is in the dump in the clear`);
  }
});
