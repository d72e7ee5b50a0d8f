// LifecycleStore on the KMS's SQLite database (store contract: lifecycle.ts).
// An import job's sealed wrapping key is kept in key_material under the
// job's name, as a version's is under the version's. The statements and row
// mappers are exported: the PostgreSQL store (pg-lifecycle.ts) runs the same
// SQL over the same columns.
import type Database from 'better-sqlite3';
import { aborted } from '../errors';
import type { ListColumns } from '../list/query';
import type {
  AutokeyConfigRecord, ImportJobRecord, KeyHandleRecord, LifecycleStore, OperationRecord, RetiredResourceRecord,
} from './lifecycle';
import { conflict, listPage, ReadCache, type Row, translate } from './sqlite-common';
import type { ListQuery, Page } from './store';

export const LIFECYCLE_SCHEMA = `
CREATE TABLE IF NOT EXISTS import_jobs (
  name TEXT PRIMARY KEY,
  parent TEXT NOT NULL,
  import_method TEXT NOT NULL,
  protection_level TEXT NOT NULL,
  create_time INTEGER NOT NULL,
  generate_time INTEGER,
  expire_time INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS import_jobs_parent ON import_jobs (parent, name);
CREATE TABLE IF NOT EXISTS retired_resources (
  name TEXT PRIMARY KEY,
  parent TEXT NOT NULL,
  original_resource TEXT NOT NULL UNIQUE,
  resource_type TEXT NOT NULL,
  delete_time INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS retired_resources_parent ON retired_resources (parent, name);
CREATE TABLE IF NOT EXISTS operations (
  name TEXT PRIMARY KEY,
  create_time INTEGER NOT NULL,
  operation TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS autokey_configs (
  name TEXT PRIMARY KEY,
  config TEXT NOT NULL,
  etag TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS key_handles (
  name TEXT PRIMARY KEY,
  parent TEXT NOT NULL,
  kms_key TEXT NOT NULL,
  resource_type_selector TEXT NOT NULL,
  create_time INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS key_handles_parent ON key_handles (parent, name);
`;

export const IMPORT_JOB_LIST: ListColumns = {
  columns: {
    name: { column: 'name' },
    import_method: { column: 'import_method' },
    protection_level: { column: 'protection_level' },
    create_time: { column: 'create_time' },
    generate_time: { column: 'generate_time', orderColumn: 'COALESCE(generate_time, 0)' },
    expire_time: { column: 'expire_time' },
  },
  uniqueKey: 'name',
};

export const RETIRED_RESOURCE_LIST: ListColumns = { columns: { name: { column: 'name' } }, uniqueKey: 'name' };

export const KEY_HANDLE_LIST: ListColumns = {
  columns: {
    name: { column: 'name' },
    kms_key: { column: 'kms_key' },
    resource_type_selector: { column: 'resource_type_selector' },
  },
  uniqueKey: 'name',
};

export const importJobFrom = (r: Row): ImportJobRecord => ({
  name: r.name as string,
  keyRing: r.parent as string,
  importMethod: r.import_method as string,
  protectionLevel: r.protection_level as string,
  createTime: r.create_time as number,
  generateTime: r.generate_time as number | null,
  expireTime: r.expire_time as number,
});

export const retiredFrom = (r: Row): RetiredResourceRecord => ({
  name: r.name as string,
  originalResource: r.original_resource as string,
  resourceType: r.resource_type as string,
  deleteTime: r.delete_time as number,
});

export const keyHandleFrom = (r: Row): KeyHandleRecord => ({
  name: r.name as string,
  parent: r.parent as string,
  kmsKey: r.kms_key as string,
  resourceTypeSelector: r.resource_type_selector as string,
  createTime: r.create_time as number,
});

export const operationFrom = (r: Row): OperationRecord => ({
  name: r.name as string,
  createTime: r.create_time as number,
  operation: r.operation as string,
});

export const autokeyConfigFrom = (r: Row): AutokeyConfigRecord => ({
  name: r.name as string,
  config: r.config as string,
  etag: r.etag as string,
});

export const importJobParams = (j: ImportJobRecord): Row => ({
  name: j.name,
  parent: j.keyRing,
  import_method: j.importMethod,
  protection_level: j.protectionLevel,
  create_time: j.createTime,
  expire_time: j.expireTime,
});

/** Statements of the lifecycle tables, in SQL both databases take. */
export const LIFECYCLE_SQL = {
  insertJob: `INSERT INTO import_jobs (name, parent, import_method, protection_level, create_time, generate_time, expire_time)
        VALUES (@name, @parent, @import_method, @protection_level, @create_time, NULL, @expire_time)`,
  completeJob: 'UPDATE import_jobs SET generate_time = ? WHERE name = ? AND generate_time IS NULL',
  getJob: 'SELECT * FROM import_jobs WHERE name = ?',
  pendingJobs: 'SELECT * FROM import_jobs WHERE generate_time IS NULL ORDER BY create_time LIMIT ?',
  insertMaterial: 'INSERT INTO key_material (version_name, sealed) VALUES (?, ?)',
  getRetired: 'SELECT * FROM retired_resources WHERE name = ?',
  putOperation: 'INSERT INTO operations (name, create_time, operation) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET operation = excluded.operation',
  getOperation: 'SELECT * FROM operations WHERE name = ?',
  getConfig: 'SELECT * FROM autokey_configs WHERE name = ?',
  putConfig: 'INSERT INTO autokey_configs (name, config, etag) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET config = excluded.config, etag = excluded.etag',
  insertHandle: `INSERT INTO key_handles (name, parent, kms_key, resource_type_selector, create_time)
        VALUES (@name, @parent, @kmsKey, @resourceTypeSelector, @createTime)`,
  getHandle: 'SELECT * FROM key_handles WHERE name = ?',
} as const;

/**
 * Whether an Autokey config write may go ahead: the stored config (undefined
 * when none) still has the etag the caller read (null: none stored yet).
 */
export const autokeyConfigUnchanged = (current: Row | undefined, expect: string | null): boolean =>
  expect === null ? current === undefined : current?.etag === expect;

/** The message both stores give when an Autokey config moved under a read-modify-write. */
export const autokeyConfigChanged = (name: string) => aborted(`${name} changed since it was read; read it again and retry.`);

export class SqliteLifecycleStore implements LifecycleStore {
  private readonly s;

  constructor(
    private readonly db: Database.Database,
    private readonly cache: ReadCache = new ReadCache(db),
  ) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      insertJob: p(LIFECYCLE_SQL.insertJob),
      completeJob: p(LIFECYCLE_SQL.completeJob),
      getJob: p(LIFECYCLE_SQL.getJob),
      pendingJobs: p(LIFECYCLE_SQL.pendingJobs),
      insertMaterial: p(LIFECYCLE_SQL.insertMaterial),
      getRetired: p(LIFECYCLE_SQL.getRetired),
      putOperation: p(LIFECYCLE_SQL.putOperation),
      getOperation: p(LIFECYCLE_SQL.getOperation),
      getConfig: p(LIFECYCLE_SQL.getConfig),
      putConfig: p(LIFECYCLE_SQL.putConfig),
      insertHandle: p(LIFECYCLE_SQL.insertHandle),
      getHandle: p(LIFECYCLE_SQL.getHandle),
    };
  }

  async createImportJob(record: ImportJobRecord): Promise<ImportJobRecord> {
    return translate(`ImportJob ${record.name}`, () => this.cache.writing(() => {
      this.s.insertJob.run(importJobParams(record));
      return importJobFrom(this.s.getJob.get(record.name) as Row);
    }));
  }

  async completeImportJob(name: string, generateTime: number, sealed: Buffer): Promise<ImportJobRecord> {
    return this.cache.writing(() => this.db.transaction(() => {
      if (this.s.completeJob.run(generateTime, name).changes === 0) conflict('ImportJob', name, this.s.getJob);
      this.s.insertMaterial.run(name, sealed);
      return importJobFrom(this.s.getJob.get(name) as Row);
    })());
  }

  async getImportJob(name: string): Promise<ImportJobRecord | undefined> {
    const row = this.s.getJob.get(name) as Row | undefined;
    return row && importJobFrom(row);
  }

  async listImportJobs(query: ListQuery): Promise<Page<ImportJobRecord>> {
    return listPage(this.db, 'import_jobs', '', IMPORT_JOB_LIST, query, importJobFrom);
  }

  async pendingImportJobs(limit: number): Promise<ImportJobRecord[]> {
    return (this.s.pendingJobs.all(limit) as Row[]).map(importJobFrom);
  }

  async getRetiredResource(name: string): Promise<RetiredResourceRecord | undefined> {
    const row = this.s.getRetired.get(name) as Row | undefined;
    return row && retiredFrom(row);
  }

  async listRetiredResources(query: ListQuery): Promise<Page<RetiredResourceRecord>> {
    return listPage(this.db, 'retired_resources', '', RETIRED_RESOURCE_LIST, query, retiredFrom);
  }

  async putOperation(record: OperationRecord): Promise<void> {
    this.s.putOperation.run(record.name, record.createTime, record.operation);
  }

  async getOperation(name: string): Promise<OperationRecord | undefined> {
    const row = this.s.getOperation.get(name) as Row | undefined;
    return row && operationFrom(row);
  }

  async getAutokeyConfig(name: string): Promise<AutokeyConfigRecord | undefined> {
    const row = this.s.getConfig.get(name) as Row | undefined;
    return row && autokeyConfigFrom(row);
  }

  async putAutokeyConfig(record: AutokeyConfigRecord, expect: string | null): Promise<void> {
    this.db.transaction(() => {
      const current = this.s.getConfig.get(record.name) as Row | undefined;
      if (!autokeyConfigUnchanged(current, expect)) throw autokeyConfigChanged(record.name);
      this.s.putConfig.run(record.name, record.config, record.etag);
    })();
  }

  async createKeyHandle(record: KeyHandleRecord): Promise<void> {
    translate(`KeyHandle ${record.name}`, () => this.s.insertHandle.run({ ...record }));
  }

  async getKeyHandle(name: string): Promise<KeyHandleRecord | undefined> {
    const row = this.s.getHandle.get(name) as Row | undefined;
    return row && keyHandleFrom(row);
  }

  async listKeyHandles(query: ListQuery): Promise<Page<KeyHandleRecord>> {
    return listPage(this.db, 'key_handles', '', KEY_HANDLE_LIST, query, keyHandleFrom);
  }
}
