// SQLite schema of the KMS store, and where each list field lives in it, so
// that checked filters and orders run in SQL over its columns. Columns that
// lists order by are NOT NULL so keyset pagination compares plain values.
import type { ColumnSpec, ListColumns } from '../list/query';
import { IAM_SCHEMA } from './sqlite-iam';
import { LIFECYCLE_SCHEMA } from './sqlite-lifecycle';

/** PRAGMA user_version of a database with these tables (sqlite-open.ts); 0 is a database made before versions. */
export const SCHEMA_VERSION = 4;

/**
 * Columns added to tables of a database made before schema versions were
 * recorded: [table, column, definition]. Opening such a database adds
 * whichever are missing (CREATE TABLE IF NOT EXISTS leaves an existing table
 * as it was). Later changes are migrations from one version to the next.
 */
export const ADDED_COLUMNS: readonly (readonly [string, string, string])[] = [
  ['crypto_key_versions', 'external_destruction_failure_reason', "TEXT NOT NULL DEFAULT ''"],
];

/**
 * Columns each schema version adds to the one before: version -> [table,
 * column, definition]. A column already there (a table made whole at a later
 * version) is left as it is.
 */
export const MIGRATIONS: ReadonlyMap<number, readonly (readonly [string, string, string])[]> = new Map([
  [2, [['crypto_key_versions', 'ekm_connection_backend_override', "TEXT NOT NULL DEFAULT ''"]]],
  [4, [
    ['crypto_key_versions', 'import_job', "TEXT NOT NULL DEFAULT ''"],
    ['crypto_key_versions', 'import_time', 'INTEGER'],
    ['crypto_key_versions', 'import_failure_reason', "TEXT NOT NULL DEFAULT ''"],
    ['crypto_key_versions', 'import_fingerprint', "TEXT NOT NULL DEFAULT ''"],
  ]],
]);

/**
 * Tables each schema version adds: version -> its CREATE TABLE statements
 * (IF NOT EXISTS). A database of an older version gets them as it is
 * upgraded; a database already at that version must have them.
 */
export const MIGRATION_TABLES: ReadonlyMap<number, string> = new Map([
  [3, IAM_SCHEMA],
  [4, LIFECYCLE_SCHEMA],
]);

/** Made after ADDED_COLUMNS, since they may index one. */
export const INDEXES = `
CREATE INDEX IF NOT EXISTS crypto_key_versions_pending_external ON crypto_key_versions (name)
  WHERE state = 'PENDING_EXTERNAL_DESTRUCTION';
`;

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS key_rings (
  name TEXT PRIMARY KEY,
  parent TEXT NOT NULL,
  create_time INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS key_rings_parent ON key_rings (parent, name);
CREATE TABLE IF NOT EXISTS crypto_keys (
  name TEXT PRIMARY KEY,
  parent TEXT NOT NULL,
  create_time INTEGER NOT NULL,
  purpose TEXT NOT NULL,
  protection_level TEXT NOT NULL,
  algorithm TEXT NOT NULL,
  labels TEXT NOT NULL,
  rotation_period INTEGER,
  next_rotation_time INTEGER,
  destroy_scheduled_duration INTEGER NOT NULL,
  import_only INTEGER NOT NULL,
  crypto_key_backend TEXT NOT NULL,
  allowed_access_reasons TEXT,
  primary_version INTEGER,
  next_version INTEGER NOT NULL,
  revision INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS crypto_keys_parent ON crypto_keys (parent, name);
CREATE INDEX IF NOT EXISTS crypto_keys_rotation ON crypto_keys (next_rotation_time)
  WHERE next_rotation_time IS NOT NULL;
CREATE TABLE IF NOT EXISTS crypto_key_versions (
  name TEXT PRIMARY KEY,
  parent TEXT NOT NULL,
  version INTEGER NOT NULL,
  state TEXT NOT NULL,
  protection_level TEXT NOT NULL,
  algorithm TEXT NOT NULL,
  create_time INTEGER NOT NULL,
  generate_time INTEGER,
  destroy_time INTEGER,
  destroy_event_time INTEGER,
  external_key_uri TEXT NOT NULL,
  ekm_connection_key_path TEXT NOT NULL,
  revision INTEGER NOT NULL,
  external_destruction_failure_reason TEXT NOT NULL DEFAULT '',
  ekm_connection_backend_override TEXT NOT NULL DEFAULT '',
  import_job TEXT NOT NULL DEFAULT '',
  import_time INTEGER,
  import_failure_reason TEXT NOT NULL DEFAULT '',
  import_fingerprint TEXT NOT NULL DEFAULT '',
  UNIQUE (parent, version)
);
CREATE INDEX IF NOT EXISTS crypto_key_versions_destroy ON crypto_key_versions (destroy_time)
  WHERE state = 'DESTROY_SCHEDULED';
CREATE TABLE IF NOT EXISTS key_material (
  version_name TEXT PRIMARY KEY,
  sealed BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS projects (
  id TEXT PRIMARY KEY,
  number TEXT NOT NULL UNIQUE
);
`;

export const KEY_RING_LIST: ListColumns = {
  columns: {
    name: { column: 'name' },
    create_time: { column: 'create_time' },
  },
  uniqueKey: 'name',
};

// primary.* reads the primary version's row: the key's own row only holds its number.
const primaryColumn = (column: string): string =>
  `(SELECT p.${column} FROM crypto_key_versions p WHERE p.parent = k.name AND p.version = k.primary_version)`;

const primary = (column: string): ColumnSpec => ({ column: primaryColumn(column), orderColumn: `COALESCE(${primaryColumn(column)}, '')` });

export const CRYPTO_KEY_LIST: ListColumns = {
  columns: {
    name: { column: 'k.name' },
    purpose: { column: 'k.purpose' },
    create_time: { column: 'k.create_time' },
    next_rotation_time: { column: 'k.next_rotation_time', orderColumn: 'COALESCE(k.next_rotation_time, 0)' },
    rotation_period: { column: 'k.rotation_period', orderColumn: 'COALESCE(k.rotation_period, 0)' },
    destroy_scheduled_duration: { column: 'k.destroy_scheduled_duration' },
    import_only: { column: 'k.import_only' },
    crypto_key_backend: { column: 'k.crypto_key_backend' },
    'version_template.protection_level': { column: 'k.protection_level' },
    'version_template.algorithm': { column: 'k.algorithm' },
    'primary.name': primary('name'),
    'primary.state': primary('state'),
    'primary.protection_level': primary('protection_level'),
    'primary.algorithm': primary('algorithm'),
  },
  mapColumns: { labels: 'k.labels' },
  uniqueKey: 'k.name',
};

export const CRYPTO_KEY_VERSION_LIST: ListColumns = {
  columns: {
    name: { column: 'name' },
    state: { column: 'state' },
    protection_level: { column: 'protection_level' },
    algorithm: { column: 'algorithm' },
    create_time: { column: 'create_time' },
    generate_time: { column: 'generate_time', orderColumn: 'COALESCE(generate_time, 0)' },
    destroy_time: { column: 'destroy_time', orderColumn: 'COALESCE(destroy_time, 0)' },
    destroy_event_time: { column: 'destroy_event_time', orderColumn: 'COALESCE(destroy_event_time, 0)' },
    'external_protection_level_options.external_key_uri': { column: 'external_key_uri' },
    'external_protection_level_options.ekm_connection_key_path': { column: 'ekm_connection_key_path' },
    'external_protection_level_options.ekm_connection_backend_override': { column: 'ekm_connection_backend_override' },
  },
  // Versions order by number, so version 10 follows version 9.
  uniqueKey: 'version',
};
