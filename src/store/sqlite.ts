// The SQLite backend of the Store contract (better-sqlite3), for a data
// directory or in memory. better-sqlite3 is synchronous: each method runs to
// completion inside one turn of the event loop, and multi-row writes run in a
// transaction. WAL with synchronous=FULL: a commit is on disk before the call
// returns, so a killed process loses no acknowledged write.
import type Database from 'better-sqlite3';
import { aborted, alreadyExists, notFound } from '../errors';
import type { DirectoryStore } from './directory';
import type { EkmStore } from './ekm';
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

const keyRingFrom = (r: Row): KeyRingRecord => ({ name: r.name as string, createTime: r.create_time as number });

function cryptoKeyFrom(r: Row): CryptoKeyRecord {
  return {
    name: r.name as string,
    keyRing: r.parent as string,
    createTime: r.create_time as number,
    purpose: r.purpose as string,
    protectionLevel: r.protection_level as string,
    algorithm: r.algorithm as string,
    labels: JSON.parse(r.labels as string) as Record<string, string>,
    rotationPeriodMs: r.rotation_period as number | null,
    nextRotationTime: r.next_rotation_time as number | null,
    destroyScheduledDurationMs: r.destroy_scheduled_duration as number,
    importOnly: r.import_only === 1,
    cryptoKeyBackend: r.crypto_key_backend as string,
    allowedAccessReasons:
      r.allowed_access_reasons == null ? null : (JSON.parse(r.allowed_access_reasons as string) as string[]),
    primaryVersion: r.primary_version as number | null,
    revision: r.revision as number,
  };
}

function versionFrom(r: Row): CryptoKeyVersionRecord {
  return {
    name: r.name as string,
    cryptoKey: r.parent as string,
    version: r.version as number,
    state: r.state as string,
    protectionLevel: r.protection_level as string,
    algorithm: r.algorithm as string,
    createTime: r.create_time as number,
    generateTime: r.generate_time as number | null,
    destroyTime: r.destroy_time as number | null,
    destroyEventTime: r.destroy_event_time as number | null,
    externalKeyUri: r.external_key_uri as string,
    ekmConnectionKeyPath: r.ekm_connection_key_path as string,
    ekmConnectionBackendOverride: r.ekm_connection_backend_override as string,
    externalDestructionFailureReason: r.external_destruction_failure_reason as string,
    importJob: r.import_job as string,
    importTime: r.import_time as number | null,
    importFailureReason: r.import_failure_reason as string,
    importFingerprint: r.import_fingerprint as string,
    revision: r.revision as number,
  };
}

function keyParams(k: Omit<CryptoKeyRecord, 'revision'>): Row {
  return {
    name: k.name,
    parent: k.keyRing,
    create_time: k.createTime,
    purpose: k.purpose,
    protection_level: k.protectionLevel,
    algorithm: k.algorithm,
    labels: JSON.stringify(k.labels),
    rotation_period: k.rotationPeriodMs,
    next_rotation_time: k.nextRotationTime,
    destroy_scheduled_duration: k.destroyScheduledDurationMs,
    import_only: k.importOnly ? 1 : 0,
    crypto_key_backend: k.cryptoKeyBackend,
    allowed_access_reasons: k.allowedAccessReasons == null ? null : JSON.stringify(k.allowedAccessReasons),
    primary_version: k.primaryVersion,
  };
}

function versionParams(v: Omit<CryptoKeyVersionRecord, 'revision'>): Row {
  return {
    name: v.name,
    parent: v.cryptoKey,
    version: v.version,
    state: v.state,
    protection_level: v.protectionLevel,
    algorithm: v.algorithm,
    create_time: v.createTime,
    generate_time: v.generateTime,
    destroy_time: v.destroyTime,
    destroy_event_time: v.destroyEventTime,
    external_key_uri: v.externalKeyUri,
    ekm_connection_key_path: v.ekmConnectionKeyPath,
    ekm_connection_backend_override: v.ekmConnectionBackendOverride ?? '',
    external_destruction_failure_reason: v.externalDestructionFailureReason ?? '',
    import_job: v.importJob ?? '',
    import_time: v.importTime ?? null,
    import_failure_reason: v.importFailureReason ?? '',
    import_fingerprint: v.importFingerprint ?? '',
  };
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
      insertKeyRing: p('INSERT INTO key_rings (name, parent, create_time) VALUES (@name, @parent, @create_time)'),
      getKeyRing: p('SELECT * FROM key_rings WHERE name = ?'),
      insertKey: p(`INSERT INTO crypto_keys (name, parent, create_time, purpose, protection_level, algorithm,
        labels, rotation_period, next_rotation_time, destroy_scheduled_duration, import_only,
        crypto_key_backend, allowed_access_reasons, primary_version, next_version, revision)
        VALUES (@name, @parent, @create_time, @purpose, @protection_level, @algorithm, @labels,
        @rotation_period, @next_rotation_time, @destroy_scheduled_duration, @import_only,
        @crypto_key_backend, @allowed_access_reasons, @primary_version, 1, 1)`),
      getKey: p('SELECT * FROM crypto_keys WHERE name = ?'),
      updateKey: p(`UPDATE crypto_keys SET labels = @labels, rotation_period = @rotation_period,
        next_rotation_time = @next_rotation_time, protection_level = @protection_level,
        algorithm = @algorithm, allowed_access_reasons = @allowed_access_reasons,
        primary_version = @primary_version, revision = revision + 1
        WHERE name = @name AND revision = @revision`),
      takeVersionNumber: p(`UPDATE crypto_keys SET next_version = next_version + 1
        WHERE name = ? RETURNING next_version - 1 AS n, revision`),
      setPrimary: p('UPDATE crypto_keys SET primary_version = ?, revision = revision + 1 WHERE name = ?'),
      setRotation: p('UPDATE crypto_keys SET next_rotation_time = ?, revision = revision + 1 WHERE name = ?'),
      insertVersion: p(`INSERT INTO crypto_key_versions (name, parent, version, state, protection_level,
        algorithm, create_time, generate_time, destroy_time, destroy_event_time, external_key_uri,
        ekm_connection_key_path, external_destruction_failure_reason, ekm_connection_backend_override,
        import_job, import_time, import_failure_reason, import_fingerprint, revision)
        VALUES (@name, @parent, @version, @state, @protection_level, @algorithm, @create_time, @generate_time,
        @destroy_time, @destroy_event_time, @external_key_uri, @ekm_connection_key_path,
        @external_destruction_failure_reason, @ekm_connection_backend_override,
        @import_job, @import_time, @import_failure_reason, @import_fingerprint, 1)`),
      getVersion: p('SELECT * FROM crypto_key_versions WHERE name = ?'),
      updateVersion: p(`UPDATE crypto_key_versions SET state = @state, generate_time = @generate_time,
        destroy_time = @destroy_time, destroy_event_time = @destroy_event_time,
        external_key_uri = @external_key_uri, ekm_connection_key_path = @ekm_connection_key_path,
        external_destruction_failure_reason = @external_destruction_failure_reason,
        ekm_connection_backend_override = @ekm_connection_backend_override,
        import_job = @import_job, import_time = @import_time, import_failure_reason = @import_failure_reason,
        import_fingerprint = @import_fingerprint,
        revision = revision + 1 WHERE name = @name AND revision = @revision`),
      deleteVersion: p('DELETE FROM crypto_key_versions WHERE name = ? AND revision = ?'),
      deleteKey: p(`DELETE FROM crypto_keys WHERE name = ? AND revision = ?
        AND NOT EXISTS (SELECT 1 FROM crypto_key_versions WHERE parent = crypto_keys.name)`),
      clearPrimary: p('UPDATE crypto_keys SET primary_version = NULL, revision = revision + 1 WHERE name = ? AND primary_version = ?'),
      deletePolicy: p('DELETE FROM iam_policies WHERE resource = ?'),
      insertRetired: p(`INSERT INTO retired_resources (name, parent, original_resource, resource_type, delete_time)
        VALUES (?, ?, ?, ?, ?)`),
      isRetired: p('SELECT 1 FROM retired_resources WHERE original_resource = ?').pluck(),
      insertMaterial: p('INSERT INTO key_material (version_name, sealed) VALUES (?, ?)'),
      getMaterial: p('SELECT sealed FROM key_material WHERE version_name = ?').pluck(),
      deleteMaterial: p('DELETE FROM key_material WHERE version_name = ?'),
      dueDestructions: p(`SELECT * FROM crypto_key_versions WHERE state = 'DESTROY_SCHEDULED'
        AND destroy_time <= ? ORDER BY destroy_time LIMIT ?`),
      pendingExternalDestructions: p(`SELECT * FROM crypto_key_versions
        WHERE state = 'PENDING_EXTERNAL_DESTRUCTION' ORDER BY name LIMIT ?`),
      dueRotations: p(`SELECT * FROM crypto_keys WHERE next_rotation_time IS NOT NULL
        AND next_rotation_time <= ? ORDER BY next_rotation_time LIMIT ?`),
      getSetting: p('SELECT value FROM settings WHERE key = ?').pluck(),
      initSetting: p('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING'),
      registerProject: p('INSERT INTO projects (id, number) VALUES (?, ?) ON CONFLICT DO NOTHING'),
      projectIdOf: p('SELECT id FROM projects WHERE number = ?').pluck(),
      // "projects/{id}/..." in every table whose names start with a project.
      projectIdsInUse: p(`SELECT DISTINCT substr(name, 10, instr(substr(name, 10), '/') - 1) AS id FROM (
        SELECT name FROM key_rings UNION ALL SELECT name FROM ekm_connections UNION ALL SELECT name FROM ekm_configs
        UNION ALL SELECT name FROM sd_namespaces) WHERE name LIKE 'projects/%/%'`).pluck(),
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
