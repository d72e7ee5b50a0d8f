// LifecycleStore on PostgreSQL (store contract: lifecycle.ts). The statements
// and row mappers are the SQLite store's (sqlite-lifecycle.ts); an import
// job's sealed wrapping key is kept in key_material under the job's name, as
// there. Every write is a serializable transaction (PgDb.write), so the
// Autokey config's etag check and its write see one state of the database.
import type {
  AutokeyConfigRecord, ImportJobRecord, KeyHandleRecord, LifecycleStore, OperationRecord, RetiredResourceRecord,
} from './lifecycle';
import { conflictPg, listPagePg, type PgDb, Statement } from './pg-common';
import {
  autokeyConfigChanged, autokeyConfigFrom, autokeyConfigUnchanged, IMPORT_JOB_LIST, importJobFrom, importJobParams,
  KEY_HANDLE_LIST, keyHandleFrom, LIFECYCLE_SQL, operationFrom, RETIRED_RESOURCE_LIST, retiredFrom,
} from './sqlite-lifecycle';
import type { ListQuery, Page } from './store';

const S = Object.fromEntries(Object.entries(LIFECYCLE_SQL).map(([name, sql]) => [name, new Statement(sql)])) as Record<
  keyof typeof LIFECYCLE_SQL,
  Statement
>;

export class PgLifecycleStore implements LifecycleStore {
  constructor(private readonly db: PgDb) {}

  async createImportJob(record: ImportJobRecord): Promise<ImportJobRecord> {
    return this.db.write(async (tx) => {
      await tx.run(S.insertJob, importJobParams(record));
      return importJobFrom((await tx.rows(S.getJob, [record.name]))[0]);
    }, `ImportJob ${record.name}`);
  }

  async completeImportJob(name: string, generateTime: number, sealed: Buffer): Promise<ImportJobRecord> {
    return this.db.write(async (tx) => {
      if ((await tx.run(S.completeJob, [generateTime, name])) === 0) await conflictPg('ImportJob', name, tx, S.getJob);
      await tx.run(S.insertMaterial, [name, sealed]);
      return importJobFrom((await tx.rows(S.getJob, [name]))[0]);
    });
  }

  async getImportJob(name: string): Promise<ImportJobRecord | undefined> {
    const row = await this.db.one(S.getJob, [name]);
    return row && importJobFrom(row);
  }

  async listImportJobs(query: ListQuery): Promise<Page<ImportJobRecord>> {
    return listPagePg(this.db, 'import_jobs', '', IMPORT_JOB_LIST, query, importJobFrom);
  }

  async pendingImportJobs(limit: number): Promise<ImportJobRecord[]> {
    return (await this.db.rows(S.pendingJobs, [limit])).map(importJobFrom);
  }

  async getRetiredResource(name: string): Promise<RetiredResourceRecord | undefined> {
    const row = await this.db.one(S.getRetired, [name]);
    return row && retiredFrom(row);
  }

  async listRetiredResources(query: ListQuery): Promise<Page<RetiredResourceRecord>> {
    return listPagePg(this.db, 'retired_resources', '', RETIRED_RESOURCE_LIST, query, retiredFrom);
  }

  async putOperation(record: OperationRecord): Promise<void> {
    await this.db.write((tx) => tx.run(S.putOperation, [record.name, record.createTime, record.operation]));
  }

  async getOperation(name: string): Promise<OperationRecord | undefined> {
    const row = await this.db.one(S.getOperation, [name]);
    return row && operationFrom(row);
  }

  async getAutokeyConfig(name: string): Promise<AutokeyConfigRecord | undefined> {
    const row = await this.db.one(S.getConfig, [name]);
    return row && autokeyConfigFrom(row);
  }

  async putAutokeyConfig(record: AutokeyConfigRecord, expect: string | null): Promise<void> {
    await this.db.write(async (tx) => {
      const current = (await tx.rows(S.getConfig, [record.name]))[0];
      if (!autokeyConfigUnchanged(current, expect)) throw autokeyConfigChanged(record.name);
      await tx.run(S.putConfig, [record.name, record.config, record.etag]);
    });
  }

  async createKeyHandle(record: KeyHandleRecord): Promise<void> {
    await this.db.write((tx) => tx.run(S.insertHandle, { ...record }), `KeyHandle ${record.name}`);
  }

  async getKeyHandle(name: string): Promise<KeyHandleRecord | undefined> {
    const row = await this.db.one(S.getHandle, [name]);
    return row && keyHandleFrom(row);
  }

  async listKeyHandles(query: ListQuery): Promise<Page<KeyHandleRecord>> {
    return listPagePg(this.db, 'key_handles', '', KEY_HANDLE_LIST, query, keyHandleFrom);
  }
}
