// Schema versions on PostgreSQL (pg-schema.ts) and `openekm migrate` on both
// stores: a new database is made at the newest version by any start; an
// older one is upgraded only when asked, by steps, once however many
// replicas start together; a newer one, or one with our tables and no
// version, is refused with words that say what to do.
import '../helpers/env';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { RootKey } from '../../src/crypto/root-key';
import { SCHEMA_VERSION } from '../../src/store/schema';
import { migratePg, PG_MIGRATIONS, PG_SCHEMA_VERSION } from '../../src/store/pg-schema';
import { migratePgDatabase, openPgStore } from '../../src/store/pg-store';
import { tempDir } from '../helpers/kms';
import { adminQuery, freshSchema, type PgSchema } from '../helpers/pg';

const MAIN = path.resolve(__dirname, '../../src/cli/main.js');
const run = promisify(execFile);

async function withClient<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

describe('PostgreSQL schema versions', () => {
  const schemas: PgSchema[] = [];
  const fresh = async () => {
    const s = await freshSchema();
    schemas.push(s);
    return s;
  };
  after(async () => {
    for (const s of schemas) await s.drop();
  });

  test('an empty database is made at the newest version; migrating again changes nothing', async () => {
    const { url } = await fresh();
    assert.deepEqual(await migratePgDatabase(url, false), { from: 0, to: PG_SCHEMA_VERSION });
    assert.deepEqual(await migratePgDatabase(url, true), { from: PG_SCHEMA_VERSION, to: PG_SCHEMA_VERSION });
  });

  test('replicas started together make the schema once', async () => {
    const { url, schema } = await fresh();
    const stores = await Promise.all(Array.from({ length: 4 }, () => openPgStore(url)));
    await Promise.all(stores.map((s) => s.close()));
    assert.deepEqual(await adminQuery(`SELECT version FROM ${schema}.openekm_schema`), [{ version: PG_SCHEMA_VERSION }]);
  });

  test('a newer schema is refused, naming both versions', async () => {
    const { url, schema } = await fresh();
    await migratePgDatabase(url, false);
    await adminQuery(`UPDATE ${schema}.openekm_schema SET version = 99`);
    await assert.rejects(openPgStore(url), new RegExp(`schema version 99, made by a newer OpenEKM; this one reads versions up to ${PG_SCHEMA_VERSION}`));
  });

  test('our tables without a version are refused, not made again', async () => {
    const { url, schema } = await fresh();
    await migratePgDatabase(url, false);
    await adminQuery(`DROP TABLE ${schema}.openekm_schema`);
    await assert.rejects(openPgStore(url), /has OpenEKM's tables but no schema version/);
  });

  test('an older schema: refused on start unless asked; upgraded by its steps when asked', async () => {
    const { url, schema } = await fresh();
    // A release after this one, with one more step.
    const next = [...PG_MIGRATIONS, { version: PG_SCHEMA_VERSION + 1, sql: 'ALTER TABLE key_rings ADD COLUMN note TEXT COLLATE "C" NOT NULL DEFAULT \'\'' }];
    await withClient(url, (c) => migratePg(c as never, { upgrade: false }));
    await withClient(url, async (c) => {
      await assert.rejects(migratePg(c as never, { upgrade: false, migrations: next }), /openekm migrate --database URL/);
      assert.deepEqual(await migratePg(c as never, { upgrade: true, migrations: next }), { from: PG_SCHEMA_VERSION, to: PG_SCHEMA_VERSION + 1 });
    });
    assert.deepEqual(await adminQuery(`SELECT version FROM ${schema}.openekm_schema`), [{ version: PG_SCHEMA_VERSION + 1 }]);
    const columns = await adminQuery<{ column_name: string }>(`SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'key_rings'`, [schema]);
    assert.ok(columns.some((c) => c.column_name === 'note'));
    // This release now meets a newer database: refused.
    await assert.rejects(openPgStore(url), /made by a newer OpenEKM/);
  });

  test('openekm migrate: PostgreSQL and a data directory print the versions; serve refuses a newer schema', async () => {
    const { url, schema } = await fresh();
    const pg = await run(process.execPath, [MAIN, 'migrate', '--database', url]);
    assert.deepEqual(JSON.parse(pg.stdout), { from: 0, to: PG_SCHEMA_VERSION });
    const dir = tempDir();
    const keyFile = path.join(dir, 'root.key');
    fs.writeFileSync(keyFile, RootKey.generate().toBase64());
    await assert.rejects(run(process.execPath, [MAIN, 'migrate', '--data', path.join(dir, 'absent')]), /nothing to migrate/);
    const served = await run(process.execPath, [MAIN, 'migrate', '--database', url]);
    assert.deepEqual(JSON.parse(served.stdout), { from: PG_SCHEMA_VERSION, to: PG_SCHEMA_VERSION });
    await adminQuery(`UPDATE ${schema}.openekm_schema SET version = 99`);
    await assert.rejects(
      run(process.execPath, [MAIN, 'serve', '--database', url, '--root-key-file', keyFile, '--grpc-port', '0', '--rest-port', '0']),
      (err: Error & { code?: number; stderr?: string }) => err.code === 1 && /schema version 99, made by a newer OpenEKM/.test(err.stderr ?? ''),
    );
  });
});

describe('openekm migrate on a data directory', () => {
  let dir: string;
  before(() => {
    dir = tempDir();
  });

  test('a directory made by an older release is brought up to this schema', async () => {
    const Database = (await import('better-sqlite3')).default;
    const { openDataDir } = await import('../../src/data-dir');
    const opened = openDataDir(dir);
    await opened.store.close();
    opened.release();
    const file = path.join(dir, 'kms.sqlite');
    const db = new Database(file);
    db.pragma('user_version = 3');
    db.close();
    const { stdout } = await run(process.execPath, [MAIN, 'migrate', '--data', dir]);
    assert.deepEqual(JSON.parse(stdout), { from: 3, to: SCHEMA_VERSION });
  });
});
