// The Store contract: persistence of KMS resources and sealed key material.
// It makes no domain decisions (no rotation, no state rules): services decide,
// the store keeps records atomically. Foreign errors (constraint violations)
// are translated here into KmsError codes, where they enter.
//
// Every method is async so that a networked backend (PostgreSQL) fits the same
// contract; the SQLite backend answers synchronously inside.
//
// Times are milliseconds since the Unix epoch. Records carry `revision`, bumped
// by every update: updates are conditional on the revision the caller read, so
// a read-modify-write that raced another writer fails with ABORTED instead of
// overwriting it.

import type { DirectoryStore } from './directory';
import type { EkmStore } from './ekm';
import type { IamStore } from './iam';
import type { LifecycleStore, RetiredResourceRecord } from './lifecycle';

import type { CheckedFilter, OrderRequest } from '../list/check';

export interface KeyRingRecord {
  name: string;
  createTime: number;
}

export interface CryptoKeyRecord {
  name: string;
  keyRing: string;
  createTime: number;
  purpose: string;
  /** version_template */
  protectionLevel: string;
  algorithm: string;
  labels: Record<string, string>;
  rotationPeriodMs: number | null;
  nextRotationTime: number | null;
  destroyScheduledDurationMs: number;
  importOnly: boolean;
  cryptoKeyBackend: string;
  /** key_access_justifications_policy.allowed_access_reasons; null when the key has no policy. */
  allowedAccessReasons: string[] | null;
  /** The primary version's number (ENCRYPT_DECRYPT keys), or null. */
  primaryVersion: number | null;
  revision: number;
}

export interface CryptoKeyVersionRecord {
  name: string;
  cryptoKey: string;
  version: number;
  state: string;
  protectionLevel: string;
  algorithm: string;
  createTime: number;
  generateTime: number | null;
  destroyTime: number | null;
  destroyEventTime: number | null;
  externalKeyUri: string;
  ekmConnectionKeyPath: string;
  /** The EkmConnection of this EXTERNAL_VPC version when not its key's crypto_key_backend; '' otherwise. */
  ekmConnectionBackendOverride?: string;
  /** Why the EKM did not destroy the version's external key (state EXTERNAL_DESTRUCTION_FAILED); '' otherwise. */
  externalDestructionFailureReason?: string;
  /** The ImportJob of the most recent import; '' for generated material. */
  importJob?: string;
  importTime?: number | null;
  /** Why the most recent import failed (state IMPORT_FAILED); '' otherwise. */
  importFailureReason?: string;
  /**
   * A keyed fingerprint of the imported material (never the material): a
   * re-import must bring the same key. '' for generated material.
   */
  importFingerprint?: string;
  revision: number;
}

/** A new version as the service describes it; the store assigns number, name and revision. */
export type NewVersion = Omit<CryptoKeyVersionRecord, 'name' | 'version' | 'revision' | 'cryptoKey'>;

/** Seals key material for the version named `versionName` (the seal binds the name). */
export type Sealer = (versionName: string) => Buffer | null;

/** One page of a list, as the service checked it (list/check.ts): no text left to parse. */
export interface ListQuery {
  parent: string;
  filter?: CheckedFilter;
  /** The order the rows come in (the store appends its unique key). */
  order: readonly OrderRequest[];
  pageSize: number;
  /** Order values of the last row of the previous page (from a page token). */
  after?: readonly (string | number | null)[];
}

export interface Page<T> {
  items: T[];
  /** Order values of the last item when more rows may follow, for the next page token. */
  next?: (string | number | null)[];
  totalSize: number;
}

export interface CreateVersionOptions {
  /** Make the new version the key's primary. */
  setPrimary?: boolean;
  /** Replace the key's next_rotation_time (automatic rotation). */
  nextRotationTime?: number | null;
  /** Fail with ABORTED unless the key still has this revision. */
  expectKeyRevision?: number;
}

export interface Store {
  /** EkmConnections and EkmConfig (src/store/ekm.ts). */
  readonly ekm: EkmStore;
  readonly directory: DirectoryStore;
  /** IAM policies of resources (src/store/iam.ts). */
  readonly iam: IamStore;
  /** Import jobs, retired resources, operations, Autokey (src/store/lifecycle.ts). */
  readonly lifecycle: LifecycleStore;

  createKeyRing(record: KeyRingRecord): Promise<void>;
  getKeyRing(name: string): Promise<KeyRingRecord | undefined>;
  listKeyRings(query: ListQuery): Promise<Page<KeyRingRecord>>;

  /** Creates a key and, when `first` is given, its version 1, atomically. */
  createCryptoKey(
    record: Omit<CryptoKeyRecord, 'revision'>,
    first?: { version: NewVersion; seal: Sealer },
  ): Promise<{ key: CryptoKeyRecord; version?: CryptoKeyVersionRecord }>;
  getCryptoKey(name: string): Promise<CryptoKeyRecord | undefined>;
  listCryptoKeys(query: ListQuery): Promise<Page<CryptoKeyRecord>>;
  /** Writes `record` if the stored revision still equals record.revision; returns the new record. */
  updateCryptoKey(record: CryptoKeyRecord): Promise<CryptoKeyRecord>;

  createCryptoKeyVersion(
    cryptoKey: string,
    version: NewVersion,
    seal: Sealer,
    options?: CreateVersionOptions,
  ): Promise<{ key: CryptoKeyRecord; version: CryptoKeyVersionRecord }>;
  getCryptoKeyVersion(name: string): Promise<CryptoKeyVersionRecord | undefined>;
  /**
   * A key and one of its versions (its primary when `version` is null) in one
   * read: the hot path of every cryptographic call.
   */
  getKeyAndVersion(
    cryptoKey: string,
    version: number | null,
  ): Promise<{ key?: CryptoKeyRecord; version?: CryptoKeyVersionRecord }>;
  listCryptoKeyVersions(query: ListQuery): Promise<Page<CryptoKeyVersionRecord>>;
  /** Conditional on revision, as updateCryptoKey. */
  updateCryptoKeyVersion(record: CryptoKeyVersionRecord): Promise<CryptoKeyVersionRecord>;
  /** Writes the version (conditional on revision) and erases its key material, atomically. */
  destroyCryptoKeyVersion(record: CryptoKeyVersionRecord): Promise<CryptoKeyVersionRecord>;

  /** Writes the version (conditional on revision) and replaces its key material with `seal`'s, atomically (re-import). */
  reimportCryptoKeyVersion(record: CryptoKeyVersionRecord, seal: Sealer): Promise<CryptoKeyVersionRecord>;
  /** Removes the version's record and any material (and makes its key primary-less if it was the primary), if its revision is still record.revision (else ABORTED). */
  deleteCryptoKeyVersion(record: CryptoKeyVersionRecord): Promise<void>;
  /**
   * Removes the key (and its IAM policy) and records `retired`, atomically,
   * if its revision is still record.revision and it has no version (else
   * ABORTED). A retired name is never created again (ALREADY_EXISTS).
   */
  deleteCryptoKey(record: CryptoKeyRecord, retired: RetiredResourceRecord): Promise<void>;

  /** The sealed key material of a version (or an import job's wrapping key), or undefined when it has none (destroyed). */
  getSealedMaterial(versionName: string): Promise<Buffer | undefined>;

  /** Versions in DESTROY_SCHEDULED whose destroy_time is at or before `now`. */
  dueDestructions(now: number, limit: number): Promise<CryptoKeyVersionRecord[]>;
  /** Versions in PENDING_EXTERNAL_DESTRUCTION: the KMS's half is gone, the EKM's not yet confirmed. */
  pendingExternalDestructions(limit: number): Promise<CryptoKeyVersionRecord[]>;
  /** Keys whose next_rotation_time is at or before `now`. */
  dueRotations(now: number, limit: number): Promise<CryptoKeyRecord[]>;

  /** A value kept across restarts (server secrets, schema facts). */
  getSetting(key: string): Promise<string | undefined>;
  /** Sets the value unless one exists; returns the stored value (so concurrent starts agree). */
  initSetting(key: string, value: string): Promise<string>;

  /**
   * Records that project `id` has `number` (idempotent). A number already
   * recorded for another id keeps its first id.
   */
  registerProject(id: string, number: string): Promise<void>;
  /** The id recorded for a project number. */
  projectIdOf(number: string): Promise<string | undefined>;
  /** The project ids that stored resources' names use. */
  projectIdsInUse(): Promise<string[]>;

  /** One round trip to the database: whether it can serve now (/readyz). */
  ping(): Promise<void>;

  /**
   * Runs fn while holding the claim `job` against every process serving from
   * this store, so scheduled work is done once across replicas; resolves
   * undefined without running fn when another holds it. A claim ends when fn
   * settles, or with the process that holds it (a replica that dies mid-job
   * leaves the job to the next one).
   */
  claim<T>(job: string, fn: () => Promise<T>): Promise<T | undefined>;

  close(): Promise<void>;
}
