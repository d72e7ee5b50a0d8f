// Opening the KMS's SQLite database: who may hold it, and which schema it has.
//
// Holding: the server opens its database in SQLite's EXCLUSIVE locking mode
// and takes the lock at once, so a second process on the same data directory
// is refused at start (StoreInUseError) instead of sharing the file and
// running a second scheduler. The OS releases the lock when the process
// ends, however it ends.
//
// Schema: PRAGMA user_version records the schema a database was made with.
// - No tables: a new database; every table is made and the version set.
// - Version 0 with tables: made before versions were recorded; missing tables
//   and columns are added once (what those releases did on every start), and
//   the version is set.
// - An older version: the tables and columns each later version adds
//   (MIGRATION_TABLES and MIGRATIONS in schema.ts) are added, then it is
//   checked as the current one.
// - The current version: every table and column must be there. A table that
//   went missing is not made again empty: the start is refused
//   (StoreSchemaError), because an empty table would silently lose keys.
// - A newer version: made by a newer OpenEKM; refused.
import Database from 'better-sqlite3';
import { ADDED_COLUMNS, INDEXES, MIGRATION_TABLES, MIGRATIONS, SCHEMA, SCHEMA_VERSION } from './schema';
import { DIRECTORY_SCHEMA } from './sqlite-directory';
import { EKM_SCHEMA } from './sqlite-ekm';
import { IAM_SCHEMA } from './sqlite-iam';
import { LIFECYCLE_SCHEMA } from './sqlite-lifecycle';

/** Every table of the KMS store. */
const ALL_TABLES = `${SCHEMA}${EKM_SCHEMA}${DIRECTORY_SCHEMA}${IAM_SCHEMA}${LIFECYCLE_SCHEMA}`;

/** Another process holds the database. */
export class StoreInUseError extends Error {
  constructor(readonly file: string) {
    super(`${file} is in use by another process`);
    this.name = 'StoreInUseError';
  }
}

/** The database's schema is not one this release can use. */
export class StoreSchemaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreSchemaError';
  }
}

export interface OpenOptions {
  /** Hold the database for this process alone (the server does; tests of sharing do not). */
  exclusive?: boolean;
}

const tables = (db: Database.Database): string[] =>
  (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").pluck().all() as string[]);

const columns = (db: Database.Database, table: string): string[] =>
  (db.prepare(`PRAGMA table_info("${table.replace(/"/g, '""')}")`).all() as { name: string }[]).map((c) => c.name);

/** Each table of the current schema and its columns, read from a scratch database made with it. */
const EXPECTED: ReadonlyMap<string, readonly string[]> = (() => {
  const scratch = new Database(':memory:');
  try {
    scratch.exec(ALL_TABLES);
    return new Map(tables(scratch).map((t) => [t, columns(scratch, t)]));
  } finally {
    scratch.close();
  }
})();

function holdExclusively(db: Database.Database, file: string): void {
  db.pragma('busy_timeout = 0');
  db.pragma('locking_mode = EXCLUSIVE');
  try {
    db.exec('BEGIN EXCLUSIVE; COMMIT;');
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') throw new StoreInUseError(file);
    throw err;
  }
}

/** What is missing from a database of the current version, in words; empty when nothing is. */
function missing(db: Database.Database): string[] {
  const present = new Set(tables(db));
  const problems: string[] = [];
  for (const [table, expected] of EXPECTED) {
    if (!present.has(table)) {
      problems.push(`table ${table}`);
      continue;
    }
    const have = new Set(columns(db, table));
    for (const column of expected) if (!have.has(column)) problems.push(`column ${table}.${column}`);
  }
  return problems;
}

function addColumns(db: Database.Database, added: readonly (readonly [string, string, string])[]): void {
  for (const [table, column, definition] of added) {
    if (!columns(db, table).includes(column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
  }
}

/** Brings a database of an older version (0: before versions) up to the current tables and columns. */
function upgrade(db: Database.Database, from: number): void {
  if (from === 0) {
    db.exec(ALL_TABLES);
    addColumns(db, ADDED_COLUMNS);
  }
  for (let version = Math.max(from, 1) + 1; version <= SCHEMA_VERSION; version++) {
    const tables = MIGRATION_TABLES.get(version);
    if (tables) db.exec(tables);
    addColumns(db, MIGRATIONS.get(version) ?? []);
  }
}

function prepareSchema(db: Database.Database, file: string): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new StoreSchemaError(`${file} has schema version ${version}, made by a newer OpenEKM; this one reads versions up to ${SCHEMA_VERSION}. Run the newer release.`);
  }
  if (version !== SCHEMA_VERSION) db.transaction(() => upgrade(db, version))();
  // A versioned database gets only the columns its migrations add: a table it lacks held data once.
  if (version > 0) {
    const problems = missing(db);
    if (problems.length > 0) {
      throw new StoreSchemaError(`${file} does not have the schema its version (${version}) says: missing ${problems.join(', ')}. Restore the database from a backup; OpenEKM will not recreate tables that held data.`);
    }
  }
  db.exec(INDEXES);
  db.pragma(`user_version = ${SCHEMA_VERSION}`);
}

/** Opens the database at file (':memory:' for none), held and with the current schema; closes it on failure. */
export function openDatabase(file: string, options: OpenOptions = {}): Database.Database {
  const db = new Database(file);
  try {
    if (options.exclusive && file !== ':memory:') holdExclusively(db, file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = ON');
    prepareSchema(db, file);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** The schema version recorded in the database at file (0: made before versions), read without changing it. */
export function sqliteSchemaVersion(file: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
}
