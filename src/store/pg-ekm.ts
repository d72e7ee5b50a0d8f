// EkmStore on PostgreSQL (store contract: ekm.ts). The statements and row
// mappers are the SQLite store's (sqlite-ekm.ts); each write is one
// serializable transaction (PgDb.write), so a check and the write it guards
// see one state of the database whichever replica runs them.
import type { EkmConfigRecord, EkmConnectionRecord, EkmStore } from './ekm';
import { conflictPg, listPagePg, type PgDb, Statement } from './pg-common';
import { freeze } from './sqlite-common';
import { configFrom, connectionFrom, connectionParams, EKM_CONNECTION_LIST, EKM_SQL, ekmConfigChanged } from './sqlite-ekm';
import type { ListQuery, Page } from './store';

const S = Object.fromEntries(Object.entries(EKM_SQL).map(([name, sql]) => [name, new Statement(sql)])) as Record<
  keyof typeof EKM_SQL,
  Statement
>;

export class PgEkmStore implements EkmStore {
  constructor(private readonly db: PgDb) {}

  async createEkmConnection(record: Omit<EkmConnectionRecord, 'revision'>): Promise<EkmConnectionRecord> {
    return this.db.write(async (tx) => {
      await tx.run(S.insert, connectionParams(record));
      return connectionFrom((await tx.rows(S.get, [record.name]))[0]);
    }, `EkmConnection ${record.name}`);
  }

  async getEkmConnection(name: string): Promise<EkmConnectionRecord | undefined> {
    // Read on every call with an EXTERNAL_VPC key: cached (PgReadCache).
    return this.db.cached(`ekm_connections\0${name}`, async () => {
      const row = await this.db.one(S.get, [name]);
      return row && freeze(connectionFrom(row));
    });
  }

  async listEkmConnections(query: ListQuery): Promise<Page<EkmConnectionRecord>> {
    return listPagePg(this.db, 'ekm_connections', '', EKM_CONNECTION_LIST, query, connectionFrom);
  }

  async updateEkmConnection(record: EkmConnectionRecord): Promise<EkmConnectionRecord> {
    return this.db.write(async (tx) => {
      const changed = await tx.run(S.update, { ...connectionParams(record), revision: record.revision });
      if (changed === 0) await conflictPg('EkmConnection', record.name, tx, S.get);
      return connectionFrom((await tx.rows(S.get, [record.name]))[0]);
    });
  }

  async getEkmConfig(name: string): Promise<EkmConfigRecord | undefined> {
    const row = await this.db.one(S.getConfig, [name]);
    return row && configFrom(row);
  }

  async putEkmConfig(record: EkmConfigRecord): Promise<EkmConfigRecord> {
    return this.db.write(async (tx) => {
      if (record.revision === 0) {
        if ((await tx.rows(S.getConfig, [record.name])).length > 0) throw ekmConfigChanged(record.name);
        await tx.run(S.insertConfig, [record.name, record.defaultEkmConnection]);
      } else if ((await tx.run(S.updateConfig, [record.defaultEkmConnection, record.name, record.revision])) === 0) {
        throw ekmConfigChanged(record.name);
      }
      return configFrom((await tx.rows(S.getConfig, [record.name]))[0]);
    });
  }
}
