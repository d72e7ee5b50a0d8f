// The data directory's edges: one process at a time (the second is told who
// holds it), modes 0700 and 0600 whatever the umask, and no silent fresh start
// when the database is gone, empty, missing a table, or newer than this release.
import '../helpers/env';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import Database from 'better-sqlite3';
import { silentLogger } from '../../src/log';
import { createServer, type ServerOptions } from '../../src/server';
import { tempDir } from '../helpers/kms';
import { SCHEMA_VERSION } from '../../src/store/schema';

const MAIN = path.resolve(__dirname, '../../src/cli/main.js');
const start = (dataDir: string, extra: ServerOptions = {}) =>
  createServer({ dataDir, logger: silentLogger, schedulerIntervalMs: 0, grpcPort: 0, restPort: 0, ...extra });
const mode = (file: string) => fs.statSync(file).mode & 0o777;

test('a second server on the same data directory is refused and told who holds it', async () => {
  const dir = tempDir();
  const first = await start(dir);
  try {
    await assert.rejects(start(dir), new RegExp(`in use by process ${process.pid} on .*, started \\d{4}-`));
  } finally {
    await first.close();
  }
  assert.equal(fs.existsSync(path.join(dir, 'kms.pid')), false, 'close removes the note');
  const again = await start(dir);
  await again.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('openekm serve: a second process on the same --data exits with the holder\'s pid; the first keeps serving', async () => {
  const dir = tempDir();
  const first = spawn(process.execPath, [MAIN, 'serve', '--data', dir, '--grpc-port', '0', '--rest-port', '0'], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const line = await new Promise<string>((resolve) => readline.createInterface({ input: first.stdout! }).once('line', resolve));
    const rest = (JSON.parse(line) as { rest: string }).rest;
    const second = spawn(process.execPath, [MAIN, 'serve', '--data', dir, '--grpc-port', '0', '--rest-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    second.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => second.once('exit', resolve));
    assert.equal(code, 1);
    assert.match(stderr, new RegExp(`is in use by process ${first.pid} on `));
    assert.doesNotMatch(stderr, /SQLITE|\n\s+at /);
    assert.equal((await fetch(`${rest}/v1/projects/p/locations`)).status, 200);
  } finally {
    first.kill('SIGTERM');
    await new Promise((resolve) => first.once('exit', resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the directory is 0700 and the database 0600, whatever the umask and the mode the directory had', async () => {
  const dir = tempDir();
  fs.chmodSync(dir, 0o755);
  const old = process.umask(0);
  try {
    const server = await start(dir);
    await server.close();
  } finally {
    process.umask(old);
  }
  assert.equal(mode(dir), 0o700);
  assert.equal(mode(path.join(dir, 'kms.sqlite')), 0o600);
  assert.equal(mode(path.join(dir, 'root.key')), 0o600);
  for (const f of ['kms.sqlite-wal', 'kms.sqlite-shm']) {
    if (fs.existsSync(path.join(dir, f))) assert.equal(mode(path.join(dir, f)), 0o600, f);
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a database gone or empty beside the root key is refused, not started afresh', async () => {
  const dir = tempDir();
  await (await start(dir)).close();
  for (const f of ['kms.sqlite-wal', 'kms.sqlite-shm']) fs.rmSync(path.join(dir, f), { force: true });
  fs.truncateSync(path.join(dir, 'kms.sqlite'), 0);
  await assert.rejects(start(dir), /kms\.sqlite is empty, but .*kms\.created shows a KMS kept its data here/);
  fs.rmSync(path.join(dir, 'kms.sqlite'));
  await assert.rejects(start(dir), /kms\.sqlite is missing/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('with the root key held elsewhere (no root.key here), a database gone is still refused', async () => {
  const dir = tempDir();
  const rootKey = Buffer.alloc(32, 7).toString('base64');
  await (await start(dir, { rootKey })).close();
  assert.equal(fs.existsSync(path.join(dir, 'root.key')), false);
  assert.equal(mode(path.join(dir, 'kms.created')), 0o600);
  for (const f of ['kms.sqlite', 'kms.sqlite-wal', 'kms.sqlite-shm']) fs.rmSync(path.join(dir, f), { force: true });
  await assert.rejects(start(dir, { rootKey }), /kms\.sqlite is missing, but .*kms\.created shows a KMS kept its data here/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a dropped table, or a schema from a newer release, is refused at start', async () => {
  const dir = tempDir();
  await (await start(dir)).close();
  const file = path.join(dir, 'kms.sqlite');
  const db = new Database(file);
  db.exec('DROP TABLE key_material');
  db.close();
  await assert.rejects(start(dir), /does not have the schema its version \(\d+\) says: missing table key_material/);
  const newer = new Database(file);
  newer.pragma('user_version = 99');
  newer.close();
  await assert.rejects(start(dir), /schema version 99, made by a newer OpenEKM/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a database of schema version 2 gains the IAM tables of version 3 and keeps its keys', async () => {
  const dir = tempDir();
  await (await start(dir)).close();
  const ring = 'projects/p/locations/us-east1/keyRings/r';
  const file = path.join(dir, 'kms.sqlite');
  const db = new Database(file);
  db.exec("INSERT INTO key_rings (name, parent, create_time) VALUES ('" + ring + "', 'projects/p/locations/us-east1', 0)");
  db.exec('DROP TABLE iam_policies; DROP TABLE iam_service_account_keys');
  db.pragma('user_version = 2');
  db.close();
  await (await start(dir)).close();
  const after = new Database(file);
  assert.equal(after.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  assert.deepEqual(after.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'iam_%' ORDER BY name").pluck().all(), ['iam_policies', 'iam_service_account_keys']);
  assert.deepEqual(after.prepare('SELECT name FROM key_rings').pluck().all(), [ring]);
  after.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a database of schema version 1 gains the columns of version 2 and keeps its keys', async () => {
  const dir = tempDir();
  await (await start(dir)).close();
  const ring = 'projects/p/locations/us-east1/keyRings/r';
  const file = path.join(dir, 'kms.sqlite');
  const db = new Database(file);
  db.exec("INSERT INTO key_rings (name, parent, create_time) VALUES ('" + ring + "', 'projects/p/locations/us-east1', 0)");
  db.exec('ALTER TABLE crypto_key_versions DROP COLUMN ekm_connection_backend_override');
  db.pragma('user_version = 1');
  db.close();
  await (await start(dir)).close();
  const after = new Database(file);
  assert.equal(after.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  const cols = (after.prepare('PRAGMA table_info(crypto_key_versions)').all() as { name: string }[]).map((c) => c.name);
  assert.ok(cols.includes('ekm_connection_backend_override'));
  assert.deepEqual(after.prepare('SELECT name FROM key_rings').pluck().all(), [ring]);
  after.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a database of schema version 3 gains the import, retirement, operation and Autokey tables of version 4', async () => {
  const dir = tempDir();
  await (await start(dir)).close();
  const file = path.join(dir, 'kms.sqlite');
  const tables = ['autokey_configs', 'import_jobs', 'key_handles', 'operations', 'retired_resources'];
  const db = new Database(file);
  for (const t of tables) db.exec(`DROP TABLE ${t}`);
  for (const c of ['import_job', 'import_time', 'import_failure_reason', 'import_fingerprint']) db.exec(`ALTER TABLE crypto_key_versions DROP COLUMN ${c}`);
  db.pragma('user_version = 3');
  db.close();
  await (await start(dir)).close();
  const after = new Database(file);
  assert.equal(after.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  const present = after.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (${tables.map(() => '?').join(', ')}) ORDER BY name`).pluck().all(...tables);
  assert.deepEqual(present, tables);
  const cols = (after.prepare('PRAGMA table_info(crypto_key_versions)').all() as { name: string }[]).map((c) => c.name);
  for (const c of ['import_job', 'import_time', 'import_failure_reason', 'import_fingerprint']) assert.ok(cols.includes(c), c);
  after.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('--data naming a file is refused in words', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'not-a-dir');
  fs.writeFileSync(file, '');
  await assert.rejects(start(file), /is a file, not a directory/);
  fs.rmSync(dir, { recursive: true, force: true });
});
