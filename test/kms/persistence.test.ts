// What survives a restart: resources, key material (sealed under the root
// key), and schedules. And what never reaches the disk: raw key material.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { ManualClock } from '../../src/clock';
import { RootKey } from '../../src/crypto/root-key';
import { createServer } from '../../src/server';
import { LOCATION, startKms, tempDir } from '../helpers/kms';

const DAY = 24 * 3600 * 1000;

void test('restart with the same data dir: decrypt again, and a due destruction is carried out on start', async () => {
  const dataDir = tempDir();
  const clock = new ManualClock(Date.UTC(2031, 5, 1));
  let kms = await startKms({ dataDir, clock });
  const [ring] = await kms.client.createKeyRing({ parent: LOCATION, keyRingId: 'persist', keyRing: {} });
  const [key] = await kms.client.createCryptoKey({ parent: ring.name, cryptoKeyId: 'k', cryptoKey: { purpose: 'ENCRYPT_DECRYPT' } });
  const [ct] = await kms.client.encrypt({ name: key.name, plaintext: Buffer.from('survives restarts') });
  const [doomed] = await kms.client.createCryptoKeyVersion({ parent: key.name, cryptoKeyVersion: {} });
  await kms.client.destroyCryptoKeyVersion({ name: doomed.name });
  await kms.close();
  assert.equal(fs.statSync(path.join(dataDir, 'root.key')).mode & 0o777, 0o600);

  clock.advance(31 * DAY);
  kms = await startKms({ dataDir, clock });
  try {
    const [pt] = await kms.client.decrypt({ name: key.name, ciphertext: ct.ciphertext });
    assert.equal(Buffer.from(pt.plaintext as Uint8Array).toString(), 'survives restarts');
    const [v] = await kms.client.getCryptoKeyVersion({ name: doomed.name });
    assert.equal(v.state, 'DESTROYED');
  } finally {
    await kms.close();
  }
});

void test('a data dir refuses to open under another root key', async () => {
  const dataDir = tempDir();
  const kms = await startKms({ dataDir });
  await kms.close();
  await assert.rejects(createServer({ dataDir, rootKey: RootKey.generate().toBase64(), grpcPort: 0, schedulerIntervalMs: 0 }));
});

void test('the database never holds raw key material', async () => {
  const dataDir = tempDir();
  const rootKey = RootKey.generate();
  const kms = await startKms({ dataDir, rootKey: rootKey.toBase64() });
  const [ring] = await kms.client.createKeyRing({ parent: LOCATION, keyRingId: 'at-rest', keyRing: {} });
  const kinds = [
    { purpose: 'ENCRYPT_DECRYPT' },
    { purpose: 'MAC', versionTemplate: { algorithm: 'HMAC_SHA256' } },
    { purpose: 'RAW_ENCRYPT_DECRYPT', versionTemplate: { algorithm: 'AES_256_GCM' } },
    { purpose: 'ASYMMETRIC_SIGN', versionTemplate: { algorithm: 'EC_SIGN_P256_SHA256' } },
    { purpose: 'ASYMMETRIC_DECRYPT', versionTemplate: { algorithm: 'RSA_DECRYPT_OAEP_2048_SHA256' } },
  ] as const;
  for (const [i, cryptoKey] of kinds.entries()) {
    await kms.client.createCryptoKey({ parent: ring.name, cryptoKeyId: `k${i}`, cryptoKey });
  }
  await kms.close();

  const files = fs.readdirSync(dataDir).filter((f) => f.startsWith('kms.sqlite'));
  const bytes = Buffer.concat(files.map((f) => fs.readFileSync(path.join(dataDir, f))));
  const db = new Database(path.join(dataDir, 'kms.sqlite'), { readonly: true });
  const rows = db.prepare('SELECT version_name, sealed FROM key_material').all() as { version_name: string; sealed: Buffer }[];
  db.close();
  assert.equal(rows.length, kinds.length);
  for (const row of rows) {
    const raw = rootKey.open(row.sealed, row.version_name);
    assert.ok(raw.length >= 16);
    // Neither the whole material nor any 16-byte window of it is in the files.
    for (let at = 0; at + 16 <= raw.length; at += 8) {
      assert.equal(bytes.indexOf(raw.subarray(at, at + 16)), -1, `raw material of ${row.version_name} found on disk`);
    }
  }
  assert.equal(bytes.indexOf(Buffer.from(rootKey.toBase64())), -1);
});
