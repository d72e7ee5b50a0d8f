// The SQLite tables of Service Directory (src/store/directory.ts). Labels and
// annotations are JSON object texts, so filters reach their keys with
// json_extract (src/list/query.ts). Children are created and cascaded inside
// IMMEDIATE transactions: the parent check and the insert (or the deletes)
// see one state of the database, whoever else writes to the file. The
// statements and row mappers are exported: the PostgreSQL store
// (pg-directory.ts) runs the same SQL over the same columns.
import type Database from 'better-sqlite3';
import { notFound } from '../errors';
import type { ListColumns } from '../list/query';
import type { DirectoryStore, EndpointRecord, NamespaceRecord, ServiceRecord } from './directory';
import { conflict, freeze, listPage, ReadCache, type Row, translate } from './sqlite-common';
import type { ListQuery, Page } from './store';

export const DIRECTORY_SCHEMA = `
CREATE TABLE IF NOT EXISTS sd_namespaces (
  name TEXT PRIMARY KEY,
  parent TEXT NOT NULL,
  uid TEXT NOT NULL,
  labels TEXT NOT NULL,
  create_time INTEGER NOT NULL,
  update_time INTEGER NOT NULL,
  revision INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sd_namespaces_parent ON sd_namespaces (parent, name);
CREATE TABLE IF NOT EXISTS sd_services (
  name TEXT PRIMARY KEY,
  parent TEXT NOT NULL,
  uid TEXT NOT NULL,
  annotations TEXT NOT NULL,
  create_time INTEGER NOT NULL,
  update_time INTEGER NOT NULL,
  revision INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sd_services_parent ON sd_services (parent, name);
CREATE TABLE IF NOT EXISTS sd_endpoints (
  name TEXT PRIMARY KEY,
  parent TEXT NOT NULL,
  uid TEXT NOT NULL,
  address TEXT NOT NULL,
  port INTEGER NOT NULL,
  annotations TEXT NOT NULL,
  network TEXT NOT NULL,
  create_time INTEGER NOT NULL,
  update_time INTEGER NOT NULL,
  revision INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sd_endpoints_parent ON sd_endpoints (parent, name);
`;

// Where the fields Service Directory's lists filter and order by live.
export const NAMESPACE_LIST: ListColumns = { columns: { name: { column: 'name' } }, mapColumns: { labels: 'labels' }, uniqueKey: 'name' };

export const SERVICE_LIST: ListColumns = { columns: { name: { column: 'name' } }, mapColumns: { annotations: 'annotations' }, uniqueKey: 'name' };

export const ENDPOINT_LIST: ListColumns = {
  columns: { name: { column: 'name' }, address: { column: 'address' }, port: { column: 'port' } },
  mapColumns: { annotations: 'annotations' },
  uniqueKey: 'name',
};

const stringMap = (text: unknown): Record<string, string> => JSON.parse(text as string) as Record<string, string>;

export const namespaceFrom = (r: Row): NamespaceRecord => ({
  name: r.name as string,
  parent: r.parent as string,
  uid: r.uid as string,
  labels: stringMap(r.labels),
  createTime: r.create_time as number,
  updateTime: r.update_time as number,
  revision: r.revision as number,
});

export const serviceFrom = (r: Row): ServiceRecord => ({
  name: r.name as string,
  parent: r.parent as string,
  uid: r.uid as string,
  annotations: stringMap(r.annotations),
  createTime: r.create_time as number,
  updateTime: r.update_time as number,
  revision: r.revision as number,
});

export const endpointFrom = (r: Row): EndpointRecord => ({
  name: r.name as string,
  parent: r.parent as string,
  uid: r.uid as string,
  address: r.address as string,
  port: r.port as number,
  annotations: stringMap(r.annotations),
  network: r.network as string,
  createTime: r.create_time as number,
  updateTime: r.update_time as number,
  revision: r.revision as number,
});

export const namespaceParams = (n: Omit<NamespaceRecord, 'revision'>): Row => ({
  name: n.name,
  parent: n.parent,
  uid: n.uid,
  labels: JSON.stringify(n.labels),
  create_time: n.createTime,
  update_time: n.updateTime,
});

export const serviceParams = (s: Omit<ServiceRecord, 'revision'>): Row => ({
  name: s.name,
  parent: s.parent,
  uid: s.uid,
  annotations: JSON.stringify(s.annotations),
  create_time: s.createTime,
  update_time: s.updateTime,
});

export const endpointParams = (e: Omit<EndpointRecord, 'revision'>): Row => ({
  name: e.name,
  parent: e.parent,
  uid: e.uid,
  address: e.address,
  port: e.port,
  annotations: JSON.stringify(e.annotations),
  network: e.network,
  create_time: e.createTime,
  update_time: e.updateTime,
});

/** Statements of the Service Directory tables, in SQL both databases take. */
export const DIRECTORY_SQL = {
  insertNamespace: `INSERT INTO sd_namespaces (name, parent, uid, labels, create_time, update_time, revision)
        VALUES (@name, @parent, @uid, @labels, @create_time, @update_time, 1)`,
  getNamespace: 'SELECT * FROM sd_namespaces WHERE name = ?',
  updateNamespace: `UPDATE sd_namespaces SET labels = @labels, update_time = @update_time,
        revision = revision + 1 WHERE name = @name AND revision = @revision`,
  deleteNamespace: 'DELETE FROM sd_namespaces WHERE name = ?',
  deleteNamespaceServices: 'DELETE FROM sd_services WHERE parent = ?',
  deleteNamespaceEndpoints: 'DELETE FROM sd_endpoints WHERE parent IN (SELECT name FROM sd_services WHERE parent = ?)',

  insertService: `INSERT INTO sd_services (name, parent, uid, annotations, create_time, update_time, revision)
        VALUES (@name, @parent, @uid, @annotations, @create_time, @update_time, 1)`,
  getService: 'SELECT * FROM sd_services WHERE name = ?',
  updateService: `UPDATE sd_services SET annotations = @annotations, update_time = @update_time,
        revision = revision + 1 WHERE name = @name AND revision = @revision`,
  deleteService: 'DELETE FROM sd_services WHERE name = ?',
  deleteServiceEndpoints: 'DELETE FROM sd_endpoints WHERE parent = ?',

  insertEndpoint: `INSERT INTO sd_endpoints (name, parent, uid, address, port, annotations, network,
        create_time, update_time, revision) VALUES (@name, @parent, @uid, @address, @port, @annotations,
        @network, @create_time, @update_time, 1)`,
  getEndpoint: 'SELECT * FROM sd_endpoints WHERE name = ?',
  updateEndpoint: `UPDATE sd_endpoints SET address = @address, port = @port, annotations = @annotations,
        update_time = @update_time, revision = revision + 1 WHERE name = @name AND revision = @revision`,
  deleteEndpoint: 'DELETE FROM sd_endpoints WHERE name = ?',
} as const;

export class SqliteDirectoryStore implements DirectoryStore {
  private readonly s;

  constructor(
    private readonly db: Database.Database,
    private readonly cache: ReadCache = new ReadCache(db),
  ) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      insertNamespace: p(DIRECTORY_SQL.insertNamespace),
      getNamespace: p(DIRECTORY_SQL.getNamespace),
      updateNamespace: p(DIRECTORY_SQL.updateNamespace),
      deleteNamespace: p(DIRECTORY_SQL.deleteNamespace),
      deleteNamespaceServices: p(DIRECTORY_SQL.deleteNamespaceServices),
      deleteNamespaceEndpoints: p(DIRECTORY_SQL.deleteNamespaceEndpoints),
      insertService: p(DIRECTORY_SQL.insertService),
      getService: p(DIRECTORY_SQL.getService),
      updateService: p(DIRECTORY_SQL.updateService),
      deleteService: p(DIRECTORY_SQL.deleteService),
      deleteServiceEndpoints: p(DIRECTORY_SQL.deleteServiceEndpoints),
      insertEndpoint: p(DIRECTORY_SQL.insertEndpoint),
      getEndpoint: p(DIRECTORY_SQL.getEndpoint),
      updateEndpoint: p(DIRECTORY_SQL.updateEndpoint),
      deleteEndpoint: p(DIRECTORY_SQL.deleteEndpoint),
    };
  }

  /**
   * Every mutation: fn in a write transaction taken at BEGIN, so reads inside
   * it cannot go stale before the write, and the read cache cleared after.
   */
  private write<T>(fn: () => T): T {
    return this.cache.writing(() => this.db.transaction(fn).immediate());
  }

  async createNamespace(record: Omit<NamespaceRecord, 'revision'>): Promise<NamespaceRecord> {
    return translate(`Namespace ${record.name}`, () =>
      this.write(() => {
        this.s.insertNamespace.run(namespaceParams(record));
        return namespaceFrom(this.s.getNamespace.get(record.name) as Row);
      }),
    );
  }

  async getNamespace(name: string): Promise<NamespaceRecord | undefined> {
    const row = this.s.getNamespace.get(name) as Row | undefined;
    return row && namespaceFrom(row);
  }

  async listNamespaces(query: ListQuery): Promise<Page<NamespaceRecord>> {
    return listPage(this.db, 'sd_namespaces', '', NAMESPACE_LIST, query, namespaceFrom);
  }

  async updateNamespace(record: NamespaceRecord): Promise<NamespaceRecord> {
    return this.write(() => {
      const info = this.s.updateNamespace.run({ ...namespaceParams(record), revision: record.revision });
      if (info.changes === 0) conflict('Namespace', record.name, this.s.getNamespace);
      return namespaceFrom(this.s.getNamespace.get(record.name) as Row);
    });
  }

  async deleteNamespace(name: string): Promise<boolean> {
    return this.write(() => {
      this.s.deleteNamespaceEndpoints.run(name);
      this.s.deleteNamespaceServices.run(name);
      return this.s.deleteNamespace.run(name).changes > 0;
    });
  }

  async createService(record: Omit<ServiceRecord, 'revision'>): Promise<ServiceRecord> {
    return translate(`Service ${record.name}`, () =>
      this.write(() => {
        if (!this.s.getNamespace.get(record.parent)) throw notFound(`Namespace ${record.parent} not found.`);
        this.s.insertService.run(serviceParams(record));
        return serviceFrom(this.s.getService.get(record.name) as Row);
      }),
    );
  }

  async getService(name: string): Promise<ServiceRecord | undefined> {
    // Read on every call with an EXTERNAL_VPC key (resolution): cached (ReadCache).
    return this.cache.get(`sd_services\0${name}`, () => {
      const row = this.s.getService.get(name) as Row | undefined;
      return row && freeze(serviceFrom(row));
    });
  }

  async listServices(query: ListQuery): Promise<Page<ServiceRecord>> {
    return listPage(this.db, 'sd_services', '', SERVICE_LIST, query, serviceFrom);
  }

  async updateService(record: ServiceRecord): Promise<ServiceRecord> {
    return this.write(() => {
      const info = this.s.updateService.run({ ...serviceParams(record), revision: record.revision });
      if (info.changes === 0) conflict('Service', record.name, this.s.getService);
      return serviceFrom(this.s.getService.get(record.name) as Row);
    });
  }

  async deleteService(name: string): Promise<boolean> {
    return this.write(() => {
      this.s.deleteServiceEndpoints.run(name);
      return this.s.deleteService.run(name).changes > 0;
    });
  }

  async createEndpoint(record: Omit<EndpointRecord, 'revision'>): Promise<EndpointRecord> {
    return translate(`Endpoint ${record.name}`, () =>
      this.write(() => {
        if (!this.s.getService.get(record.parent)) throw notFound(`Service ${record.parent} not found.`);
        this.s.insertEndpoint.run(endpointParams(record));
        return endpointFrom(this.s.getEndpoint.get(record.name) as Row);
      }),
    );
  }

  async getEndpoint(name: string): Promise<EndpointRecord | undefined> {
    const row = this.s.getEndpoint.get(name) as Row | undefined;
    return row && endpointFrom(row);
  }

  async listEndpoints(query: ListQuery): Promise<Page<EndpointRecord>> {
    // Resolution lists a service's endpoints on every call with an EXTERNAL_VPC key: cached (ReadCache).
    return this.cache.get(`sd_endpoints\0${JSON.stringify(query)}`, () => {
      const page = listPage(this.db, 'sd_endpoints', '', ENDPOINT_LIST, query, (row) => freeze(endpointFrom(row)));
      Object.freeze(page.items);
      return Object.freeze(page);
    })!;
  }

  async updateEndpoint(record: EndpointRecord): Promise<EndpointRecord> {
    return this.write(() => {
      const info = this.s.updateEndpoint.run({ ...endpointParams(record), revision: record.revision });
      if (info.changes === 0) conflict('Endpoint', record.name, this.s.getEndpoint);
      return endpointFrom(this.s.getEndpoint.get(record.name) as Row);
    });
  }

  async deleteEndpoint(name: string): Promise<boolean> {
    return this.write(() => this.s.deleteEndpoint.run(name).changes > 0);
  }
}
