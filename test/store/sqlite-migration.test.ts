// A store made before a column was added opens: the column is added with its
// default, existing rows read as before, and the new field is written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../../src/store/sqlite';
import { SCHEMA_VERSION } from '../../src/store/schema';
import { tempDir } from '../helpers/kms';

const VERSION = 'projects/p/locations/us-east1/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1';

void test('a store without external_destruction_failure_reason gains it on open', async () => {
  const file = path.join(tempDir('openekm-migrate-'), 'kms.sqlite');
  // The crypto_key_versions table as the first release made it, with one row.
  const old = new Database(file);
  old.exec(`CREATE TABLE crypto_key_versions (
    name TEXT PRIMARY KEY, parent TEXT NOT NULL, version INTEGER NOT NULL, state TEXT NOT NULL,
    protection_level TEXT NOT NULL, algorithm TEXT NOT NULL, create_time INTEGER NOT NULL,
    generate_time INTEGER, destroy_time INTEGER, destroy_event_time INTEGER,
    external_key_uri TEXT NOT NULL, ekm_connection_key_path TEXT NOT NULL, revision INTEGER NOT NULL,
    UNIQUE (parent, version))`);
  old.prepare(`INSERT INTO crypto_key_versions VALUES (?, 'projects/p/locations/us-east1/keyRings/r/cryptoKeys/k', 1,
    'DESTROYED', 'EXTERNAL_VPC', 'EXTERNAL_SYMMETRIC_ENCRYPTION', 1, 1, NULL, 2, '', 'v0/cryptospaces/s/keys/a', 3)`).run(VERSION);
  old.close();

  const store = openSqliteStore(file);
  try {
    const v = await store.getCryptoKeyVersion(VERSION);
    assert.equal(v?.state, 'DESTROYED');
    assert.equal(v?.externalDestructionFailureReason, '');
    await store.updateCryptoKeyVersion({ ...v!, state: 'EXTERNAL_DESTRUCTION_FAILED', externalDestructionFailureReason: 'the EKM said no' });
    const failed = await store.getCryptoKeyVersion(VERSION);
    assert.equal(failed?.externalDestructionFailureReason, 'the EKM said no');
  } finally {
    await store.close();
  }
  // Opening again finds the column and adds nothing.
  const again = openSqliteStore(file);
  await again.close();
});

void test('a store made before schema versions gets the current version and every table', async () => {
  const file = path.join(tempDir('openekm-migrate-'), 'kms.sqlite');
  const old = new Database(file);
  old.exec('CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
  old.close();
  await openSqliteStore(file).close();
  const db = new Database(file);
  assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  assert.ok((db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'key_material'").pluck().get() as number) === 1);
  db.close();
});
