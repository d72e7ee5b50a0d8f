// The store contract for the resources around keys' lifecycles: import jobs
// (their sealed wrapping keys live beside versions' material), the records
// of deleted keys (RetiredResource), long-running operations and Autokey's
// configs and key handles. The store keeps records as the services hand them
// over and decides nothing.
import type { ListQuery, Page } from './store';

export interface ImportJobRecord {
  name: string;
  keyRing: string;
  importMethod: string;
  protectionLevel: string;
  createTime: number;
  /** When the wrapping key was made; null while it is being generated (PENDING_GENERATION). */
  generateTime: number | null;
  expireTime: number;
}

export interface RetiredResourceRecord {
  name: string;
  /** The deleted CryptoKey's name: it can never be used again. */
  originalResource: string;
  resourceType: string;
  deleteTime: number;
}

export interface OperationRecord {
  /** projects/{p}/locations/{l}/operations/{id} */
  name: string;
  createTime: number;
  /** The google.longrunning.Operation, as JSON text of the service's plain object form. */
  operation: string;
}

export interface AutokeyConfigRecord {
  /** folders/{f}/autokeyConfig or projects/{p}/autokeyConfig */
  name: string;
  /** The google.cloud.kms.v1.AutokeyConfig, as JSON text. */
  config: string;
  etag: string;
}

export interface KeyHandleRecord {
  /** projects/{p}/locations/{l}/keyHandles/{id} */
  name: string;
  parent: string;
  kmsKey: string;
  resourceTypeSelector: string;
  createTime: number;
}

export interface LifecycleStore {
  /** Creates the job (PENDING_GENERATION: no wrapping key yet); ALREADY_EXISTS when the name is taken. */
  createImportJob(record: ImportJobRecord): Promise<ImportJobRecord>;
  /** Stores the job's sealed wrapping key and its generate_time, once. */
  completeImportJob(name: string, generateTime: number, sealed: Buffer): Promise<ImportJobRecord>;
  getImportJob(name: string): Promise<ImportJobRecord | undefined>;
  listImportJobs(query: ListQuery): Promise<Page<ImportJobRecord>>;
  /** Jobs whose wrapping key was never made (a restart during generation). */
  pendingImportJobs(limit: number): Promise<ImportJobRecord[]>;

  getRetiredResource(name: string): Promise<RetiredResourceRecord | undefined>;
  /** ListQuery.parent: projects/{p}/locations/{l}. */
  listRetiredResources(query: ListQuery): Promise<Page<RetiredResourceRecord>>;

  putOperation(record: OperationRecord): Promise<void>;
  getOperation(name: string): Promise<OperationRecord | undefined>;

  getAutokeyConfig(name: string): Promise<AutokeyConfigRecord | undefined>;
  /**
   * Writes the config if the stored one still has etag `expect` (null: none
   * stored yet), else ABORTED: two read-modify-writes can't both win.
   */
  putAutokeyConfig(record: AutokeyConfigRecord, expect: string | null): Promise<void>;
  /** ALREADY_EXISTS when the name is taken. */
  createKeyHandle(record: KeyHandleRecord): Promise<void>;
  getKeyHandle(name: string): Promise<KeyHandleRecord | undefined>;
  listKeyHandles(query: ListQuery): Promise<Page<KeyHandleRecord>>;
}
