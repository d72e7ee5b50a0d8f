// The store contract for Cloud EKM's control plane: EkmConnections and the
// per-location EkmConfig singleton. Like the rest of the Store it keeps
// records and makes no domain decisions; updates are conditional on the
// revision the caller read (ABORTED otherwise).
import type { ListQuery, Page } from './store';

export interface ServiceResolverRecord {
  serviceDirectoryService: string;
  endpointFilter: string;
  hostname: string;
  /** The pinned server certificates, DER. */
  serverCertificates: Buffer[];
}

export interface EkmConnectionRecord {
  name: string;
  /** projects/P/locations/L */
  parent: string;
  createTime: number;
  serviceResolvers: ServiceResolverRecord[];
  keyManagementMode: string;
  cryptoSpacePath: string;
  etag: string;
  revision: number;
}

export interface EkmConfigRecord {
  /** projects/P/locations/L/ekmConfig */
  name: string;
  /** The default EkmConnection's name, or '' for none. */
  defaultEkmConnection: string;
  /** 0 for a config never written (the default one every location has). */
  revision: number;
}

export interface EkmStore {
  createEkmConnection(record: Omit<EkmConnectionRecord, 'revision'>): Promise<EkmConnectionRecord>;
  getEkmConnection(name: string): Promise<EkmConnectionRecord | undefined>;
  listEkmConnections(query: ListQuery): Promise<Page<EkmConnectionRecord>>;
  /** Writes `record` if the stored revision still equals record.revision. */
  updateEkmConnection(record: EkmConnectionRecord): Promise<EkmConnectionRecord>;

  /** The stored config, or undefined when the location's config was never written. */
  getEkmConfig(name: string): Promise<EkmConfigRecord | undefined>;
  /** Writes the config if its stored revision equals record.revision (0: not yet stored). */
  putEkmConfig(record: EkmConfigRecord): Promise<EkmConfigRecord>;
}
