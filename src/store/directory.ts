// The store contract for Service Directory (google.cloud.servicedirectory.v1):
// namespaces, their services, and the services' endpoints. Like the rest of
// the Store it keeps records and makes no domain decisions (names, ids and
// field rules are checked by src/services/service-directory). Two things it does
// guarantee, because only it can do them atomically:
// - a child is created only under an existing parent (NOT_FOUND otherwise),
//   so no service or endpoint is ever left without one;
// - deleting a namespace or a service deletes what it holds, in one
//   transaction.
// Updates are conditional on the revision the caller read (ABORTED otherwise).
import type { ListQuery, Page } from './store';

export interface NamespaceRecord {
  /** projects/P/locations/L/namespaces/N */
  name: string;
  /** projects/P/locations/L */
  parent: string;
  /** A UUID4, fixed at creation. */
  uid: string;
  labels: Record<string, string>;
  createTime: number;
  updateTime: number;
  revision: number;
}

export interface ServiceRecord {
  /** …/namespaces/N/services/S */
  name: string;
  /** The namespace's name. */
  parent: string;
  uid: string;
  annotations: Record<string, string>;
  createTime: number;
  updateTime: number;
  revision: number;
}

export interface EndpointRecord {
  /** …/services/S/endpoints/E */
  name: string;
  /** The service's name. */
  parent: string;
  uid: string;
  /** An IPv4 or IPv6 address, or ''. */
  address: string;
  /** 0–65535; 0 when unset. */
  port: number;
  annotations: Record<string, string>;
  /** projects/NUMBER/locations/global/networks/NAME, or ''. */
  network: string;
  createTime: number;
  updateTime: number;
  revision: number;
}

/**
 * Lists take a ListQuery whose `filter` is the AIP-160 text the collection's
 * spec compiles (src/store/sqlite-directory.ts: name, labels.* for
 * namespaces; name, annotations.* for services; name, address, port,
 * annotations.* for endpoints) and whose `orderBy` names those plain fields.
 */
export interface DirectoryStore {
  /** ALREADY_EXISTS when the name is taken. */
  createNamespace(record: Omit<NamespaceRecord, 'revision'>): Promise<NamespaceRecord>;
  getNamespace(name: string): Promise<NamespaceRecord | undefined>;
  listNamespaces(query: ListQuery): Promise<Page<NamespaceRecord>>;
  /** Writes labels and update_time if the stored revision still equals record.revision. */
  updateNamespace(record: NamespaceRecord): Promise<NamespaceRecord>;
  /** Deletes the namespace, its services and their endpoints; false when there was no such namespace. */
  deleteNamespace(name: string): Promise<boolean>;

  /** NOT_FOUND when the parent namespace does not exist, ALREADY_EXISTS when the name is taken. */
  createService(record: Omit<ServiceRecord, 'revision'>): Promise<ServiceRecord>;
  getService(name: string): Promise<ServiceRecord | undefined>;
  listServices(query: ListQuery): Promise<Page<ServiceRecord>>;
  /** Writes annotations and update_time, conditional on revision. */
  updateService(record: ServiceRecord): Promise<ServiceRecord>;
  /** Deletes the service and its endpoints; false when there was no such service. */
  deleteService(name: string): Promise<boolean>;

  /** NOT_FOUND when the parent service does not exist, ALREADY_EXISTS when the name is taken. */
  createEndpoint(record: Omit<EndpointRecord, 'revision'>): Promise<EndpointRecord>;
  getEndpoint(name: string): Promise<EndpointRecord | undefined>;
  listEndpoints(query: ListQuery): Promise<Page<EndpointRecord>>;
  /** Writes address, port, annotations and update_time (network is immutable), conditional on revision. */
  updateEndpoint(record: EndpointRecord): Promise<EndpointRecord>;
  /** false when there was no such endpoint. */
  deleteEndpoint(name: string): Promise<boolean>;
}
