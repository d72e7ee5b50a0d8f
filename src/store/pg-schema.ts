// The PostgreSQL schema of the KMS store and its versions.
//
// The tables are the SQLite store's (schema.ts and the families' *_SCHEMA),
// written once and rendered for PostgreSQL: INTEGER columns become BIGINT
// (milliseconds), BLOB becomes BYTEA, and TEXT is COLLATE "C" so that
// comparisons and ORDER BY follow code points as SQLite's BINARY collation
// does (list order and page tokens agree between the two stores). Two more
// objects are PostgreSQL's own: openekm_schema, the version this database was
// made or upgraded to, and the sequence openekm_changes, which replicas'
// caches watch (pg-common.ts).
//
// Versions: PG_MIGRATIONS[i] takes a database from version i to i + 1. A
// database without OpenEKM's tables is made at the newest version on any
// start. An older one is upgraded only when asked (`openekm migrate`, or
// `serve --migrate`): replicas of two releases may share the database, and
// moving it under a running one is the operator's decision. A newer one is
// refused. Migrations run in one transaction under an advisory lock, so
// replicas started together upgrade it once.
import type { PoolClient } from 'pg';
import { INDEXES, SCHEMA } from './schema';
import { DIRECTORY_SCHEMA } from './sqlite-directory';
import { EKM_SCHEMA } from './sqlite-ekm';
import { IAM_SCHEMA } from './sqlite-iam';
import { LIFECYCLE_SCHEMA } from './sqlite-lifecycle';
import { StoreSchemaError } from './sqlite-open';

/** SQLite DDL in PostgreSQL's types (see above); only the three type names the schemas use occur. */
export function pgDdl(sqlite: string): string {
  return sqlite
    .replace(/\bINTEGER\b/g, 'BIGINT')
    .replace(/\bBLOB\b/g, 'BYTEA')
    .replace(/\bTEXT\b/g, 'TEXT COLLATE "C"');
}

/** Every table of the store at version 1, as PostgreSQL takes it. */
const BASE = `${pgDdl(`${SCHEMA}${EKM_SCHEMA}${DIRECTORY_SCHEMA}${IAM_SCHEMA}${LIFECYCLE_SCHEMA}${INDEXES}`)}
CREATE SEQUENCE IF NOT EXISTS openekm_changes;
`;

/** One step: the SQL that takes a database from the version before to this one. */
export interface PgMigration {
  version: number;
  sql: string;
}

export const PG_MIGRATIONS: readonly PgMigration[] = [{ version: 1, sql: BASE }];

export const PG_SCHEMA_VERSION = PG_MIGRATIONS[PG_MIGRATIONS.length - 1].version;

export interface MigrateOptions {
  /** Upgrade an older database (otherwise it is refused with a message saying how). */
  upgrade: boolean;
  /** The steps known (tests give their own); default PG_MIGRATIONS. */
  migrations?: readonly PgMigration[];
  /** How the database is named in messages (never with its password). */
  label?: string;
}

export interface MigrateResult {
  from: number;
  to: number;
}

/** A connection string for messages: the password, if any, is left out. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'the database';
  }
}

const HAS_VERSION_TABLE = "SELECT to_regclass('openekm_schema') IS NOT NULL AS present";
// Any table of ours in the schema the connection uses (search_path): a database without them is new.
const HAS_OUR_TABLES = "SELECT to_regclass('crypto_keys') IS NOT NULL OR to_regclass('key_rings') IS NOT NULL AS present";

/** Brings the database to the newest version (or refuses: see the top of this file); returns the versions. */
export async function migratePg(client: PoolClient, options: MigrateOptions): Promise<MigrateResult> {
  const migrations = options.migrations ?? PG_MIGRATIONS;
  const latest = migrations[migrations.length - 1].version;
  const label = options.label ?? 'the database';
  await client.query('BEGIN');
  try {
    // One migrator at a time per schema; the lock ends with the transaction.
    await client.query("SELECT pg_advisory_xact_lock(hashtext(current_schema()), hashtext('openekm schema'))");
    let from = 0;
    if ((await client.query(HAS_VERSION_TABLE)).rows[0].present) {
      from = Number((await client.query('SELECT version FROM openekm_schema')).rows[0]?.version ?? 0);
    } else if ((await client.query(HAS_OUR_TABLES)).rows[0].present) {
      throw new StoreSchemaError(`${label} has OpenEKM's tables but no schema version (openekm_schema): it was not made by this store. Restore it from a backup or use an empty database.`);
    }
    if (from > latest) {
      throw new StoreSchemaError(`${label} has schema version ${from}, made by a newer OpenEKM; this one reads versions up to ${latest}. Run the newer release.`);
    }
    if (from > 0 && from < latest && !options.upgrade) {
      throw new StoreSchemaError(`${label} has schema version ${from}; this release uses ${latest}. Upgrade it with \`openekm migrate --database URL\` (or start with --migrate) once no older replica needs it.`);
    }
    for (const step of migrations) {
      if (step.version > from) await client.query(step.sql);
    }
    if (from === 0) {
      await client.query('CREATE TABLE openekm_schema (version INTEGER NOT NULL)');
      await client.query('INSERT INTO openekm_schema (version) VALUES ($1)', [latest]);
    } else if (from < latest) {
      await client.query('UPDATE openekm_schema SET version = $1', [latest]);
    }
    await client.query('COMMIT');
    return { from, to: latest };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
