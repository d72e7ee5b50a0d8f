// DirectoryStore on PostgreSQL (store contract: directory.ts). The statements
// and row mappers are the SQLite store's (sqlite-directory.ts). Children are
// created and cascaded inside serializable transactions (PgDb.write): the
// parent check and the insert (or the deletes) see one state of the
// database, whichever replica runs them; a concurrent change that would
// break that is retried from the start.
import { notFound } from '../errors';
import type { DirectoryStore, EndpointRecord, NamespaceRecord, ServiceRecord } from './directory';
import { conflictPg, listPagePg, type PgDb, Statement } from './pg-common';
import { freeze } from './sqlite-common';
import {
  DIRECTORY_SQL, ENDPOINT_LIST, endpointFrom, endpointParams, NAMESPACE_LIST, namespaceFrom, namespaceParams,
  SERVICE_LIST, serviceFrom, serviceParams,
} from './sqlite-directory';
import type { ListQuery, Page } from './store';

const S = Object.fromEntries(Object.entries(DIRECTORY_SQL).map(([name, sql]) => [name, new Statement(sql)])) as Record<
  keyof typeof DIRECTORY_SQL,
  Statement
>;

export class PgDirectoryStore implements DirectoryStore {
  constructor(private readonly db: PgDb) {}

  async createNamespace(record: Omit<NamespaceRecord, 'revision'>): Promise<NamespaceRecord> {
    return this.db.write(async (tx) => {
      await tx.run(S.insertNamespace, namespaceParams(record));
      return namespaceFrom((await tx.rows(S.getNamespace, [record.name]))[0]);
    }, `Namespace ${record.name}`);
  }

  async getNamespace(name: string): Promise<NamespaceRecord | undefined> {
    const row = await this.db.one(S.getNamespace, [name]);
    return row && namespaceFrom(row);
  }

  async listNamespaces(query: ListQuery): Promise<Page<NamespaceRecord>> {
    return listPagePg(this.db, 'sd_namespaces', '', NAMESPACE_LIST, query, namespaceFrom);
  }

  async updateNamespace(record: NamespaceRecord): Promise<NamespaceRecord> {
    return this.db.write(async (tx) => {
      const changed = await tx.run(S.updateNamespace, { ...namespaceParams(record), revision: record.revision });
      if (changed === 0) await conflictPg('Namespace', record.name, tx, S.getNamespace);
      return namespaceFrom((await tx.rows(S.getNamespace, [record.name]))[0]);
    });
  }

  async deleteNamespace(name: string): Promise<boolean> {
    return this.db.write(async (tx) => {
      await tx.run(S.deleteNamespaceEndpoints, [name]);
      await tx.run(S.deleteNamespaceServices, [name]);
      return (await tx.run(S.deleteNamespace, [name])) > 0;
    });
  }

  async createService(record: Omit<ServiceRecord, 'revision'>): Promise<ServiceRecord> {
    return this.db.write(async (tx) => {
      if ((await tx.rows(S.getNamespace, [record.parent])).length === 0) throw notFound(`Namespace ${record.parent} not found.`);
      await tx.run(S.insertService, serviceParams(record));
      return serviceFrom((await tx.rows(S.getService, [record.name]))[0]);
    }, `Service ${record.name}`);
  }

  async getService(name: string): Promise<ServiceRecord | undefined> {
    // Read on every call with an EXTERNAL_VPC key (resolution): cached (PgReadCache).
    return this.db.cached(`sd_services\0${name}`, async () => {
      const row = await this.db.one(S.getService, [name]);
      return row && freeze(serviceFrom(row));
    });
  }

  async listServices(query: ListQuery): Promise<Page<ServiceRecord>> {
    return listPagePg(this.db, 'sd_services', '', SERVICE_LIST, query, serviceFrom);
  }

  async updateService(record: ServiceRecord): Promise<ServiceRecord> {
    return this.db.write(async (tx) => {
      const changed = await tx.run(S.updateService, { ...serviceParams(record), revision: record.revision });
      if (changed === 0) await conflictPg('Service', record.name, tx, S.getService);
      return serviceFrom((await tx.rows(S.getService, [record.name]))[0]);
    });
  }

  async deleteService(name: string): Promise<boolean> {
    return this.db.write(async (tx) => {
      await tx.run(S.deleteServiceEndpoints, [name]);
      return (await tx.run(S.deleteService, [name])) > 0;
    });
  }

  async createEndpoint(record: Omit<EndpointRecord, 'revision'>): Promise<EndpointRecord> {
    return this.db.write(async (tx) => {
      if ((await tx.rows(S.getService, [record.parent])).length === 0) throw notFound(`Service ${record.parent} not found.`);
      await tx.run(S.insertEndpoint, endpointParams(record));
      return endpointFrom((await tx.rows(S.getEndpoint, [record.name]))[0]);
    }, `Endpoint ${record.name}`);
  }

  async getEndpoint(name: string): Promise<EndpointRecord | undefined> {
    const row = await this.db.one(S.getEndpoint, [name]);
    return row && endpointFrom(row);
  }

  async listEndpoints(query: ListQuery): Promise<Page<EndpointRecord>> {
    // Resolution lists a service's endpoints on every call with an EXTERNAL_VPC key: cached (PgReadCache).
    return (await this.db.cached(`sd_endpoints\0${JSON.stringify(query)}`, async () => {
      const page = await listPagePg(this.db, 'sd_endpoints', '', ENDPOINT_LIST, query, (row) => freeze(endpointFrom(row)));
      Object.freeze(page.items);
      return Object.freeze(page);
    }))!;
  }

  async updateEndpoint(record: EndpointRecord): Promise<EndpointRecord> {
    return this.db.write(async (tx) => {
      const changed = await tx.run(S.updateEndpoint, { ...endpointParams(record), revision: record.revision });
      if (changed === 0) await conflictPg('Endpoint', record.name, tx, S.getEndpoint);
      return endpointFrom((await tx.rows(S.getEndpoint, [record.name]))[0]);
    });
  }

  async deleteEndpoint(name: string): Promise<boolean> {
    return this.db.write(async (tx) => (await tx.run(S.deleteEndpoint, [name])) > 0);
  }
}
