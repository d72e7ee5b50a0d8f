// The SQLite backend of the Store contract (better-sqlite3), for a data
// directory or in memory. better-sqlite3 is synchronous: each method runs to
// completion inside one turn of the event loop, and multi-row writes run in a
// transaction. WAL with synchronous=FULL: a commit is on disk before the call
// returns, so a killed process loses no acknowledged write.
import type Database from 'better-sqlite3';
import { aborted, alreadyExists, notFound } from '../errors';
import type { DirectoryStore } from './directory';
import type { EkmStore } from './ekm';
import { CORE_SQL, cryptoKeyFrom, keyParams, keyRingFrom, versionFrom, versionParams } from './core-sql';
import { conflict, freeze, listPage, ReadCache, type Row, translate } from './sqlite-common';
import { SqliteDirectoryStore } from './sqlite-directory';
import { SqliteEkmStore } from './sqlite-ekm';
import type { IamStore } from './iam';
import type { LifecycleStore, RetiredResourceRecord } from './lifecycle';
import { SqliteIamStore } from './sqlite-iam';
import { SqliteLifecycleStore } from './sqlite-lifecycle';
import { CRYPTO_KEY_LIST, CRYPTO_KEY_VERSION_LIST, KEY_RING_LIST } from './schema';
import { openDatabase, type OpenOptions } from './sqlite-open';
import type {
  CreateVersionOptions,
  CryptoKeyRecord,
  CryptoKeyVersionRecord,
  KeyRingRecord,
  ListQuery,
  NewVersion,
  Page,
  Sealer,
  Store,
} from './store';


/**
 * Opens (creating if needed) a store at `file`, or in memory when file is
 * ':memory:'; with exclusive, held for this process alone (sqlite-open.ts).
 */
export function openSqliteStore(file: string, options: OpenOptions = {}): Store {
  return new SqliteStore(openDatabase(file, options));
}

// Reads of keys and versions are cached (ReadCache, sqlite-common.ts).
class SqliteStore implements Store {
  readonly ekm: EkmStore;
  readonly directory: DirectoryStore;
  readonly iam: IamStore;
  readonly lifecycle: LifecycleStore;
  private readonly s;
  private readonly cache: ReadCache;

  constructor(private readonly db: Database.Database) {
    this.cache = new ReadCache(db);
    this.ekm = new SqliteEkmStore(db, this.cache);
    this.directory = new SqliteDirectoryStore(db, this.cache);
    this.iam = new SqliteIamStore(db, this.cache);
    this.lifecycle = new SqliteLifecycleStore(db, this.cache);
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      insertKeyRing: p(CORE_SQL.insertKeyRing),
      getKeyRing: p(CORE_SQL.getKeyRing),
      insertKey: p(CORE_SQL.insertKey),
      getKey: p(CORE_SQL.getKey),
      updateKey: p(CORE_SQL.updateKey),
      takeVersionNumber: p(CORE_SQL.takeVersionNumber),
      setPrimary: p(CORE_SQL.setPrimary),
      setRotation: p(CORE_SQL.setRotation),
      insertVersion: p(CORE_SQL.insertVersion),
      getVersion: p(CORE_SQL.getVersion),
      updateVersion: p(CORE_SQL.updateVersion),
      deleteVersion: p(CORE_SQL.deleteVersion),
      deleteKey: p(CORE_SQL.deleteKey),
      clearPrimary: p(CORE_SQL.clearPrimary),
      deletePolicy: p(CORE_SQL.deletePolicy),
      insertRetired: p(CORE_SQL.insertRetired),
      isRetired: p(CORE_SQL.isRetired).pluck(),
      insertMaterial: p(CORE_SQL.insertMaterial),
      getMaterial: p(CORE_SQL.getMaterial).pluck(),
      deleteMaterial: p(CORE_SQL.deleteMaterial),
      dueDestructions: p(CORE_SQL.dueDestructions),
      pendingExternalDestructions: p(CORE_SQL.pendingExternalDestructions),
      dueRotations: p(CORE_SQL.dueRotations),
      getSetting: p(CORE_SQL.getSetting).pluck(),
      initSetting: p(CORE_SQL.initSetting),
      registerProject: p(CORE_SQL.registerProject),
      projectIdOf: p(CORE_SQL.projectIdOf).pluck(),
      projectIdsInUse: p(CORE_SQL.projectIdsInUse).pluck(),
    };
  }

  private cached<T extends CryptoKeyRecord | CryptoKeyVersionRecord>(
    name: string,
    read: () => Row | undefined,
    from: (row: Row) => T,
  ): T | undefined {
    return this.cache.get(name, () => {
      const row = read();
      return row ? freeze(from(row)) : undefined;
    });
  }

  /** Runs a write in a transaction; the read cache is cleared whatever the outcome. */
  private write<T>(fn: () => T): T {
    return this.cache.writing(() => this.db.transaction(fn)());
  }

  async createKeyRing(record: KeyRingRecord): Promise<void> {
    const parent = record.name.slice(0, record.name.lastIndexOf('/keyRings/'));
    translate(`KeyRing ${record.name}`, () =>
      this.s.insertKeyRing.run({ name: record.name, parent, create_time: record.createTime }),
    );
  }

  async getKeyRing(name: string): Promise<KeyRingRecord | undefined> {
    const row = this.s.getKeyRing.get(name) as Row | undefined;
    return row && keyRingFrom(row);
  }

  async listKeyRings(query: ListQuery): Promise<Page<KeyRingRecord>> {
    return listPage(this.db, 'key_rings', '', KEY_RING_LIST, query, keyRingFrom);
  }

  async createCryptoKey(
    record: Omit<CryptoKeyRecord, 'revision'>,
    first?: { version: NewVersion; seal: Sealer },
  ): Promise<{ key: CryptoKeyRecord; version?: CryptoKeyVersionRecord }> {
    return translate(`CryptoKey ${record.name}`, () =>
      this.write(() => {
        if (this.s.isRetired.get(record.name)) {
          throw alreadyExists(`CryptoKey ${record.name} was deleted; the name of a deleted key cannot be used again.`);
        }
        this.s.insertKey.run(keyParams(record));
        const version = first && this.insertVersion(record.name, first.version, first.seal);
        return { key: this.mustGetKey(record.name), version };
      }),
    );
  }

  async getCryptoKey(name: string): Promise<CryptoKeyRecord | undefined> {
    return this.cached(name, () => this.s.getKey.get(name) as Row | undefined, cryptoKeyFrom);
  }

  async listCryptoKeys(query: ListQuery): Promise<Page<CryptoKeyRecord>> {
    return listPage(this.db, 'crypto_keys', 'k', CRYPTO_KEY_LIST, query, cryptoKeyFrom);
  }

  async updateCryptoKey(record: CryptoKeyRecord): Promise<CryptoKeyRecord> {
    return this.write(() => {
      const info = this.s.updateKey.run({ ...keyParams(record), revision: record.revision });
      if (info.changes === 0) conflict('CryptoKey', record.name, this.s.getKey);
      return this.mustGetKey(record.name);
    });
  }

  async createCryptoKeyVersion(
    cryptoKey: string,
    version: NewVersion,
    seal: Sealer,
    options: CreateVersionOptions = {},
  ): Promise<{ key: CryptoKeyRecord; version: CryptoKeyVersionRecord }> {
    return translate(`CryptoKeyVersion of ${cryptoKey}`, () =>
      this.write(() => {
        const created = this.insertVersion(cryptoKey, version, seal, options.expectKeyRevision);
        if (options.setPrimary) this.s.setPrimary.run(created.version, cryptoKey);
        if (options.nextRotationTime !== undefined) this.s.setRotation.run(options.nextRotationTime, cryptoKey);
        return { key: this.mustGetKey(cryptoKey), version: created };
      }),
    );
  }

  async getCryptoKeyVersion(name: string): Promise<CryptoKeyVersionRecord | undefined> {
    return this.cachedVersion(name);
  }

  async getKeyAndVersion(
    cryptoKey: string,
    version: number | null,
  ): Promise<{ key?: CryptoKeyRecord; version?: CryptoKeyVersionRecord }> {
    const key = this.cached(cryptoKey, () => this.s.getKey.get(cryptoKey) as Row | undefined, cryptoKeyFrom);
    const number = version ?? key?.primaryVersion;
    if (!key || number == null) return { key };
    return { key, version: this.cachedVersion(`${cryptoKey}/cryptoKeyVersions/${number}`) };
  }

  private cachedVersion(name: string): CryptoKeyVersionRecord | undefined {
    return this.cached(name, () => this.s.getVersion.get(name) as Row | undefined, versionFrom);
  }

  async listCryptoKeyVersions(query: ListQuery): Promise<Page<CryptoKeyVersionRecord>> {
    return listPage(this.db, 'crypto_key_versions', '', CRYPTO_KEY_VERSION_LIST, query, versionFrom);
  }

  async updateCryptoKeyVersion(record: CryptoKeyVersionRecord): Promise<CryptoKeyVersionRecord> {
    return this.write(() => this.writeVersion(record));
  }

  async destroyCryptoKeyVersion(record: CryptoKeyVersionRecord): Promise<CryptoKeyVersionRecord> {
    return this.write(() => {
      const written = this.writeVersion(record);
      this.s.deleteMaterial.run(record.name);
      return written;
    });
  }

  async reimportCryptoKeyVersion(record: CryptoKeyVersionRecord, seal: Sealer): Promise<CryptoKeyVersionRecord> {
    return this.write(() => {
      const written = this.writeVersion(record);
      this.s.deleteMaterial.run(record.name);
      const sealed = seal(record.name);
      if (sealed) this.s.insertMaterial.run(record.name, sealed);
      return written;
    });
  }

  async deleteCryptoKeyVersion(record: CryptoKeyVersionRecord): Promise<void> {
    this.write(() => {
      if (this.s.deleteVersion.run(record.name, record.revision).changes === 0) conflict('CryptoKeyVersion', record.name, this.s.getVersion);
      this.s.deleteMaterial.run(record.name);
      this.s.clearPrimary.run(record.cryptoKey, record.version);
    });
  }

  async deleteCryptoKey(record: CryptoKeyRecord, retired: RetiredResourceRecord): Promise<void> {
    this.write(() => {
      if (this.s.deleteKey.run(record.name, record.revision).changes === 0) conflict('CryptoKey', record.name, this.s.getKey);
      this.s.deletePolicy.run(record.name);
      const parent = retired.name.slice(0, retired.name.lastIndexOf('/retiredResources/'));
      this.s.insertRetired.run(retired.name, parent, retired.originalResource, retired.resourceType, retired.deleteTime);
    });
  }

  async getSealedMaterial(versionName: string): Promise<Buffer | undefined> {
    return this.s.getMaterial.get(versionName) as Buffer | undefined;
  }

  async dueDestructions(now: number, limit: number): Promise<CryptoKeyVersionRecord[]> {
    return (this.s.dueDestructions.all(now, limit) as Row[]).map(versionFrom);
  }

  async pendingExternalDestructions(limit: number): Promise<CryptoKeyVersionRecord[]> {
    return (this.s.pendingExternalDestructions.all(limit) as Row[]).map(versionFrom);
  }

  async dueRotations(now: number, limit: number): Promise<CryptoKeyRecord[]> {
    return (this.s.dueRotations.all(now, limit) as Row[]).map(cryptoKeyFrom);
  }

  async getSetting(key: string): Promise<string | undefined> {
    return this.s.getSetting.get(key) as string | undefined;
  }

  async initSetting(key: string, value: string): Promise<string> {
    this.s.initSetting.run(key, value);
    return this.s.getSetting.get(key) as string;
  }

  async registerProject(id: string, number: string): Promise<void> {
    this.s.registerProject.run(id, number);
  }

  async projectIdOf(number: string): Promise<string | undefined> {
    return this.s.projectIdOf.get(number) as string | undefined;
  }

  async projectIdsInUse(): Promise<string[]> {
    return this.s.projectIdsInUse.all() as string[];
  }

  async ping(): Promise<void> {
    this.s.getSetting.get('');
  }

  // The server holds its database alone (sqlite-open.ts): claims need only keep this process's jobs apart.
  private readonly claims = new Set<string>();

  async claim<T>(job: string, fn: () => Promise<T>): Promise<T | undefined> {
    if (this.claims.has(job)) return undefined;
    this.claims.add(job);
    try {
      return await fn();
    } finally {
      this.claims.delete(job);
    }
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  // Runs inside a transaction: takes the key's next number, inserts the row
  // and the sealed material.
  private insertVersion(
    cryptoKey: string,
    v: NewVersion,
    seal: Sealer,
    expectKeyRevision?: number,
  ): CryptoKeyVersionRecord {
    const taken = this.s.takeVersionNumber.get(cryptoKey) as { n: number; revision: number } | undefined;
    if (!taken) throw notFound(`CryptoKey ${cryptoKey} not found.`);
    if (expectKeyRevision !== undefined && taken.revision !== expectKeyRevision) {
      throw aborted(`CryptoKey ${cryptoKey} was changed concurrently; retry the request.`);
    }
    const name = `${cryptoKey}/cryptoKeyVersions/${taken.n}`;
    this.s.insertVersion.run(versionParams({ ...v, name, cryptoKey, version: taken.n }));
    const sealed = seal(name);
    if (sealed) this.s.insertMaterial.run(name, sealed);
    return versionFrom(this.s.getVersion.get(name) as Row);
  }

  private writeVersion(record: CryptoKeyVersionRecord): CryptoKeyVersionRecord {
    const info = this.s.updateVersion.run({ ...versionParams(record), revision: record.revision });
    if (info.changes === 0) conflict('CryptoKeyVersion', record.name, this.s.getVersion);
    return versionFrom(this.s.getVersion.get(record.name) as Row);
  }

  private mustGetKey(name: string): CryptoKeyRecord {
    return cryptoKeyFrom(this.s.getKey.get(name) as Row);
  }

}
