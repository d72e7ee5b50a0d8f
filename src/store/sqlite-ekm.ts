// The SQLite tables of the EKM control plane (src/store/ekm.ts): connections
// with their resolvers as JSON (certificates base64 DER), and EkmConfig rows.
// The statements and row mappers are exported: the PostgreSQL store
// (pg-ekm.ts) runs the same SQL over the same columns.
import type Database from 'better-sqlite3';
import { aborted } from '../errors';
import type { ListColumns } from '../list/query';
import type { EkmConfigRecord, EkmConnectionRecord, EkmStore, ServiceResolverRecord } from './ekm';
import { conflict, freeze, listPage, ReadCache, type Row, translate } from './sqlite-common';
import type { ListQuery, Page } from './store';

export const EKM_SCHEMA = `
CREATE TABLE IF NOT EXISTS ekm_connections (
  name TEXT PRIMARY KEY,
  parent TEXT NOT NULL,
  create_time INTEGER NOT NULL,
  service_resolvers TEXT NOT NULL,
  key_management_mode TEXT NOT NULL,
  crypto_space_path TEXT NOT NULL,
  etag TEXT NOT NULL,
  revision INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ekm_connections_parent ON ekm_connections (parent, name);
CREATE TABLE IF NOT EXISTS ekm_configs (
  name TEXT PRIMARY KEY,
  default_ekm_connection TEXT NOT NULL,
  revision INTEGER NOT NULL
);
`;

export const EKM_CONNECTION_LIST: ListColumns = {
  columns: {
    name: { column: 'name' },
    create_time: { column: 'create_time' },
    key_management_mode: { column: 'key_management_mode' },
    crypto_space_path: { column: 'crypto_space_path' },
    etag: { column: 'etag' },
  },
  uniqueKey: 'name',
};

interface StoredResolver {
  serviceDirectoryService: string;
  endpointFilter: string;
  hostname: string;
  serverCertificates: string[];
}

export function connectionFrom(r: Row): EkmConnectionRecord {
  const resolvers = JSON.parse(r.service_resolvers as string) as StoredResolver[];
  return {
    name: r.name as string,
    parent: r.parent as string,
    createTime: r.create_time as number,
    serviceResolvers: resolvers.map(
      (x): ServiceResolverRecord => ({ ...x, serverCertificates: x.serverCertificates.map((c) => Buffer.from(c, 'base64')) }),
    ),
    keyManagementMode: r.key_management_mode as string,
    cryptoSpacePath: r.crypto_space_path as string,
    etag: r.etag as string,
    revision: r.revision as number,
  };
}

export function connectionParams(c: Omit<EkmConnectionRecord, 'revision'>): Row {
  const resolvers: StoredResolver[] = c.serviceResolvers.map((x) => ({
    ...x,
    serverCertificates: x.serverCertificates.map((d) => d.toString('base64')),
  }));
  return {
    name: c.name,
    parent: c.parent,
    create_time: c.createTime,
    service_resolvers: JSON.stringify(resolvers),
    key_management_mode: c.keyManagementMode,
    crypto_space_path: c.cryptoSpacePath,
    etag: c.etag,
  };
}

export const configFrom = (r: Row): EkmConfigRecord => ({
  name: r.name as string,
  defaultEkmConnection: r.default_ekm_connection as string,
  revision: r.revision as number,
});

/** Statements of the EKM tables, in SQL both databases take. */
export const EKM_SQL = {
  insert: `INSERT INTO ekm_connections (name, parent, create_time, service_resolvers, key_management_mode,
        crypto_space_path, etag, revision) VALUES (@name, @parent, @create_time, @service_resolvers,
        @key_management_mode, @crypto_space_path, @etag, 1)`,
  get: 'SELECT * FROM ekm_connections WHERE name = ?',
  update: `UPDATE ekm_connections SET service_resolvers = @service_resolvers,
        key_management_mode = @key_management_mode, crypto_space_path = @crypto_space_path, etag = @etag,
        revision = revision + 1 WHERE name = @name AND revision = @revision`,
  getConfig: 'SELECT * FROM ekm_configs WHERE name = ?',
  insertConfig: 'INSERT INTO ekm_configs (name, default_ekm_connection, revision) VALUES (?, ?, 1)',
  updateConfig: `UPDATE ekm_configs SET default_ekm_connection = ?, revision = revision + 1
        WHERE name = ? AND revision = ?`,
} as const;

/** The message both stores give when an EkmConfig moved under a write. */
export const ekmConfigChanged = (name: string) => aborted(`EkmConfig ${name} was changed concurrently; retry the request.`);

export class SqliteEkmStore implements EkmStore {
  private readonly s;

  constructor(
    private readonly db: Database.Database,
    private readonly cache: ReadCache = new ReadCache(db),
  ) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      insert: p(EKM_SQL.insert),
      get: p(EKM_SQL.get),
      update: p(EKM_SQL.update),
      getConfig: p(EKM_SQL.getConfig),
      insertConfig: p(EKM_SQL.insertConfig),
      updateConfig: p(EKM_SQL.updateConfig),
    };
  }

  async createEkmConnection(record: Omit<EkmConnectionRecord, 'revision'>): Promise<EkmConnectionRecord> {
    return this.cache.writing(() => {
      return translate(`EkmConnection ${record.name}`, () => {
        this.s.insert.run(connectionParams(record));
        return connectionFrom(this.s.get.get(record.name) as Row);
      });
    });
  }

  async getEkmConnection(name: string): Promise<EkmConnectionRecord | undefined> {
    // Read on every call with an EXTERNAL_VPC key: cached (ReadCache).
    return this.cache.get(`ekm_connections\0${name}`, () => {
      const row = this.s.get.get(name) as Row | undefined;
      return row && freeze(connectionFrom(row));
    });
  }

  async listEkmConnections(query: ListQuery): Promise<Page<EkmConnectionRecord>> {
    return listPage(this.db, 'ekm_connections', '', EKM_CONNECTION_LIST, query, connectionFrom);
  }

  async updateEkmConnection(record: EkmConnectionRecord): Promise<EkmConnectionRecord> {
    return this.cache.writing(() => {
      const info = this.s.update.run({ ...connectionParams(record), revision: record.revision });
      if (info.changes === 0) conflict('EkmConnection', record.name, this.s.get);
      return connectionFrom(this.s.get.get(record.name) as Row);
    });
  }

  async getEkmConfig(name: string): Promise<EkmConfigRecord | undefined> {
    const row = this.s.getConfig.get(name) as Row | undefined;
    return row && configFrom(row);
  }

  async putEkmConfig(record: EkmConfigRecord): Promise<EkmConfigRecord> {
    return this.cache.writing(() => {
      return this.db.transaction(() => {
        if (record.revision === 0) {
          if (this.s.getConfig.get(record.name)) throw ekmConfigChanged(record.name);
          this.s.insertConfig.run(record.name, record.defaultEkmConnection);
        } else if (this.s.updateConfig.run(record.defaultEkmConnection, record.name, record.revision).changes === 0) {
          throw ekmConfigChanged(record.name);
        }
        return configFrom(this.s.getConfig.get(record.name) as Row);
      })();
    });
  }
}
