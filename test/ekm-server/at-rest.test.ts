// Key material at rest: sealed under the EKM's own root key with the key path
// as context, never in plaintext in the SQLite files; kept across restarts;
// erased on destroy; and a start with the wrong root key fails at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDecipheriv } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { RootKey, loadOrCreateRootKeyFile } from '../../src/crypto/root-key';
import { CALLER, startReferenceEkm, tempDir, withReason, type ReferenceEkm } from './helpers';

async function wrapWith(ekm: ReferenceEkm, key: string, plaintext: Buffer, aad = Buffer.alloc(0)): Promise<Buffer> {
  const res = await ekm.client.request('POST', `/${key}:wrap`, {
    token: ekm.token(), body: withReason({ plaintext: plaintext.toString('base64'), additionalAuthenticatedData: aad.toString('base64') }),
  });
  assert.equal(res.status, 200, res.text);
  return Buffer.from(res.body.wrappedBlob as string, 'base64');
}

/** Everything SQLite has on disk for the store: the database, WAL and shared memory files. */
function storeBytes(dataDir: string): Buffer {
  return Buffer.concat(
    fs.readdirSync(dataDir).filter((f) => f.startsWith('ekm.sqlite')).map((f) => fs.readFileSync(path.join(dataDir, f))),
  );
}

void test('material is sealed at rest, opens under the root key, and is the key the blobs use', async () => {
  const ekm = await startReferenceEkm();
  try {
    await ekm.admin.call('createCryptoSpace', { name: 'rest', policy: { callers: [CALLER] } });
    const key = (await ekm.admin.call<{ path: string }>('createKey', { cryptoSpace: 'rest', algorithm: 'EXTERNAL_SYMMETRIC_ENCRYPTION' })).path;
    await ekm.admin.call('createKey', { cryptoSpace: 'rest', algorithm: 'EC_SIGN_P256_SHA256', keyId: 'signer' });
    const plaintext = Buffer.from('at-rest plaintext marker 0123456789');
    const blob = await wrapWith(ekm, key, plaintext);

    const db = new Database(path.join(ekm.dataDir, 'ekm.sqlite'), { readonly: true });
    const rows = db.prepare('SELECT path, material FROM keys').all() as Array<{ path: string; material: Buffer }>;
    db.close();
    const root = loadOrCreateRootKeyFile(path.join(ekm.dataDir, 'root.key'));
    const onDisk = storeBytes(ekm.dataDir);
    for (const row of rows) {
      const material = root.open(row.material, row.path);
      assert.equal(onDisk.indexOf(material), -1, `${row.path}'s material is in the SQLite files in plaintext`);
      assert.throws(() => root.open(row.material, `${row.path}-elsewhere`), 'the key path is the sealing context');
    }
    // The sealed row really is the wrapping key: the blob opens with it (layout of src/ekm-server/wrap.ts).
    const aesKey = root.open(rows.find((r) => r.path === key)!.material, key);
    const pathBytes = Buffer.from(key);
    const aad = Buffer.concat([Buffer.from('openekm-ekm/wrap/v1\0'), Buffer.from([0, 0, 0, pathBytes.length]), pathBytes]);
    const decipher = createDecipheriv('aes-256-gcm', aesKey, blob.subarray(1, 13));
    decipher.setAAD(aad);
    decipher.setAuthTag(blob.subarray(blob.length - 16));
    assert.deepEqual(Buffer.concat([decipher.update(blob.subarray(13, blob.length - 16)), decipher.final()]), plaintext);
    assert.equal(onDisk.indexOf(plaintext), -1);
    assert.equal(fs.statSync(path.join(ekm.dataDir, 'root.key')).mode & 0o777, 0o600);
  } finally {
    await ekm.close();
  }
});

void test('keys survive a restart; destroy erases the material; the wrong root key cannot start', async () => {
  const dataDir = tempDir();
  const first = await startReferenceEkm({ dataDir });
  await first.admin.call('createCryptoSpace', { name: 'keep', policy: { callers: [CALLER] } });
  const kept = (await first.admin.call<{ path: string }>('createKey', { cryptoSpace: 'keep', algorithm: 'EXTERNAL_SYMMETRIC_ENCRYPTION' })).path;
  const gone = (await first.admin.call<{ path: string }>('createKey', { cryptoSpace: 'keep', algorithm: 'EXTERNAL_SYMMETRIC_ENCRYPTION' })).path;
  const blob = await wrapWith(first, kept, Buffer.from('kept across restarts'), Buffer.from('aad'));
  await first.admin.call('destroyKey', { path: gone });
  await first.close();

  const db = new Database(path.join(dataDir, 'ekm.sqlite'), { readonly: true });
  assert.equal((db.prepare('SELECT material FROM keys WHERE path = ?').get(gone) as { material: Buffer | null }).material, null);
  db.close();

  await assert.rejects(startReferenceEkm({ dataDir, rootKey: RootKey.generate() }), /root key does not match/);

  const second = await startReferenceEkm({ dataDir });
  try {
    const res = await second.client.request('POST', `/${kept}:unwrap`, {
      token: second.token(), body: withReason({ wrappedBlob: blob.toString('base64'), additionalAuthenticatedData: Buffer.from('aad').toString('base64') }),
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(Buffer.from(res.body.plaintext as string, 'base64').toString(), 'kept across restarts');
    const destroyed = await second.admin.call<{ state: string }>('getKey', { path: gone });
    assert.equal(destroyed.state, 'DESTROYED');
  } finally {
    await second.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
