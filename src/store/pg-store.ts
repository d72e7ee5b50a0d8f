// The PostgreSQL backend of the Store contract (node-postgres), for several
// KMS replicas on one database. The statements are the SQLite store's
// (core-sql.ts); what differs is how they run: every write is a serializable
// transaction (pg-common.ts), retried when PostgreSQL refuses it for a
// concurrent one, so the read-then-write logic below holds across processes
// as it does in SQLite's single writer; reads of keys and versions go through
// the cache the replicas keep exact between them; scheduled work is claimed
// with advisory locks, which PostgreSQL lets go when the holder's connection
// ends, however its process ended.
import type { PoolClient } from 'pg';
import { aborted, alreadyExists, notFound } from '../errors';
import { CORE_SQL, cryptoKeyFrom, keyParams, keyRingFrom, versionFrom, versionParams } from './core-sql';
import type { DirectoryStore } from './directory';
import type { EkmStore } from './ekm';
import type { IamStore } from './iam';
import type { LifecycleStore, RetiredResourceRecord } from './lifecycle';
import { PgDirectoryStore } from './pg-directory';
import { PgEkmStore } from './pg-ekm';
import { PgIamStore } from './pg-iam';
import { PgLifecycleStore } from './pg-lifecycle';
import { checkout, conflictPg, listPagePg, unreachable, PgDb, type PgOptions, type Row, type Runner, Statement, translatePg } from './pg-common';
import { migratePg, type MigrateResult, redactUrl } from './pg-schema';
import { CRYPTO_KEY_LIST, CRYPTO_KEY_VERSION_LIST, KEY_RING_LIST } from './schema';
import { freeze } from './sqlite-common';
import type {
  CreateVersionOptions, CryptoKeyRecord, CryptoKeyVersionRecord, KeyRingRecord, ListQuery, NewVersion, Page, Sealer, Store,
} from './store';

export interface OpenPgOptions extends PgOptions {
  /** Upgrade a database of an older schema version (pg-schema.ts); otherwise it is refused. */
  migrate?: boolean;
}

const S = Object.fromEntries(Object.entries(CORE_SQL).map(([k, sql]) => [k, new Statement(sql)])) as Record<keyof typeof CORE_SQL, Statement>;
// "projects/{id}/..." in every table whose names start with a project (SQLite's version uses instr).
const PROJECT_IDS_IN_USE = new Statement(`SELECT DISTINCT split_part(name, '/', 2) AS id FROM (
  SELECT name FROM key_rings UNION ALL SELECT name FROM ekm_connections UNION ALL SELECT name FROM ekm_configs
  UNION ALL SELECT name FROM sd_namespaces) AS named WHERE name LIKE 'projects/%/%'`);
const TRY_LOCK = 'SELECT pg_try_advisory_lock(hashtext(current_schema()), hashtext($1)) AS got';
const UNLOCK = 'SELECT pg_advisory_unlock(hashtext(current_schema()), hashtext($1))';

/** Runs the schema migrations on `url` (pg-schema.ts) without opening a store. */
export async function migratePgDatabase(url: string, upgrade: boolean, options: PgOptions = {}): Promise<MigrateResult> {
  const db = new PgDb(url, options);
  try {
    let client: PoolClient;
    try {
      client = await checkout(db.pool);
    } catch (err) {
      throw new Error(`Cannot connect to ${redactUrl(url)}: ${describeConnectError(err)}`);
    }
    try {
      return await migratePg(client, { upgrade, label: redactUrl(url) });
    } finally {
      client.release();
    }
  } finally {
    await db.close();
  }
}

/** A connection failure in our words (pg's message may quote the server; the URL's password is never in it). */
function describeConnectError(err: unknown): string {
  const code = String((err as { code?: unknown })?.code ?? '');
  if (code === 'ECONNREFUSED') return 'the connection was refused (is PostgreSQL running there?)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'the host name does not resolve';
  if (code === '3D000') return 'the database does not exist';
  if (code === '28P01' || code === '28000') return 'authentication failed';
  if (/timeout/i.test(String((err as Error)?.message))) return 'no answer in time';
  return `the connection failed${code ? ` (${code})` : ''}`;
}

/** Opens the store on `url`: the schema made or checked (and upgraded when asked), then the pool. */
export async function openPgStore(url: string, options: OpenPgOptions = {}): Promise<Store> {
  await migratePgDatabase(url, options.migrate ?? false, options);
  return new PgStore(new PgDb(url, options));
}

class PgStore implements Store {
  readonly ekm: EkmStore;
  readonly directory: DirectoryStore;
  readonly iam: IamStore;
  readonly lifecycle: LifecycleStore;

  constructor(private readonly db: PgDb) {
    this.ekm = new PgEkmStore(db);
    this.directory = new PgDirectoryStore(db);
    this.iam = new PgIamStore(db);
    this.lifecycle = new PgLifecycleStore(db);
  }

  async createKeyRing(record: KeyRingRecord): Promise<void> {
    const parent = record.name.slice(0, record.name.lastIndexOf('/keyRings/'));
    await this.db.write((tx) => tx.run(S.insertKeyRing, { name: record.name, parent, create_time: record.createTime }), `KeyRing ${record.name}`);
  }

  async getKeyRing(name: string): Promise<KeyRingRecord | undefined> {
    const row = await this.db.one(S.getKeyRing, [name]);
    return row && keyRingFrom(row);
  }

  listKeyRings(query: ListQuery): Promise<Page<KeyRingRecord>> {
    return listPagePg(this.db, 'key_rings', '', KEY_RING_LIST, query, keyRingFrom);
  }

  createCryptoKey(
    record: Omit<CryptoKeyRecord, 'revision'>,
    first?: { version: NewVersion; seal: Sealer },
  ): Promise<{ key: CryptoKeyRecord; version?: CryptoKeyVersionRecord }> {
    return this.db.write(async (tx) => {
      if ((await tx.rows(S.isRetired, [record.name])).length > 0) {
        throw alreadyExists(`CryptoKey ${record.name} was deleted; the name of a deleted key cannot be used again.`);
      }
      await tx.run(S.insertKey, keyParams(record));
      const version = first && (await insertVersion(tx, record.name, first.version, first.seal));
      return { key: await mustGetKey(tx, record.name), version };
    }, `CryptoKey ${record.name}`);
  }

  getCryptoKey(name: string): Promise<CryptoKeyRecord | undefined> {
    return this.db.cache.get(name, () => this.loadKey(name));
  }

  listCryptoKeys(query: ListQuery): Promise<Page<CryptoKeyRecord>> {
    return listPagePg(this.db, 'crypto_keys', 'k', CRYPTO_KEY_LIST, query, cryptoKeyFrom);
  }

  updateCryptoKey(record: CryptoKeyRecord): Promise<CryptoKeyRecord> {
    return this.db.write(async (tx) => {
      if ((await tx.run(S.updateKey, { ...keyParams(record), revision: record.revision })) === 0) await conflictPg('CryptoKey', record.name, tx, S.getKey);
      return mustGetKey(tx, record.name);
    });
  }

  createCryptoKeyVersion(
    cryptoKey: string,
    version: NewVersion,
    seal: Sealer,
    options: CreateVersionOptions = {},
  ): Promise<{ key: CryptoKeyRecord; version: CryptoKeyVersionRecord }> {
    return this.db.write(async (tx) => {
      const created = await insertVersion(tx, cryptoKey, version, seal, options.expectKeyRevision);
      if (options.setPrimary) await tx.run(S.setPrimary, [created.version, cryptoKey]);
      if (options.nextRotationTime !== undefined) await tx.run(S.setRotation, [options.nextRotationTime, cryptoKey]);
      return { key: await mustGetKey(tx, cryptoKey), version: created };
    }, `CryptoKeyVersion of ${cryptoKey}`);
  }

  getCryptoKeyVersion(name: string): Promise<CryptoKeyVersionRecord | undefined> {
    return this.db.cache.get(name, () => this.loadVersion(name));
  }

  async getKeyAndVersion(
    cryptoKey: string,
    version: number | null,
  ): Promise<{ key?: CryptoKeyRecord; version?: CryptoKeyVersionRecord }> {
    // One freshness check for both reads: they see the database as of one instant.
    // The hot path: both are usually cached, and are read without further awaits.
    const cache = this.db.cache;
    await cache.fresh();
    const key = cache.peek<CryptoKeyRecord>(cryptoKey) ?? (await cache.lookup(cryptoKey, () => this.loadKey(cryptoKey)));
    const number = version ?? key?.primaryVersion;
    if (!key || number == null) return { key };
    const name = `${cryptoKey}/cryptoKeyVersions/${number}`;
    return { key, version: cache.peek<CryptoKeyVersionRecord>(name) ?? (await cache.lookup(name, () => this.loadVersion(name))) };
  }

  listCryptoKeyVersions(query: ListQuery): Promise<Page<CryptoKeyVersionRecord>> {
    return listPagePg(this.db, 'crypto_key_versions', '', CRYPTO_KEY_VERSION_LIST, query, versionFrom);
  }

  updateCryptoKeyVersion(record: CryptoKeyVersionRecord): Promise<CryptoKeyVersionRecord> {
    return this.db.write((tx) => writeVersion(tx, record));
  }

  destroyCryptoKeyVersion(record: CryptoKeyVersionRecord): Promise<CryptoKeyVersionRecord> {
    return this.db.write(async (tx) => {
      const written = await writeVersion(tx, record);
      await tx.run(S.deleteMaterial, [record.name]);
      return written;
    });
  }

  reimportCryptoKeyVersion(record: CryptoKeyVersionRecord, seal: Sealer): Promise<CryptoKeyVersionRecord> {
    return this.db.write(async (tx) => {
      const written = await writeVersion(tx, record);
      await tx.run(S.deleteMaterial, [record.name]);
      const sealed = seal(record.name);
      if (sealed) await tx.run(S.insertMaterial, [record.name, sealed]);
      return written;
    });
  }

  async deleteCryptoKeyVersion(record: CryptoKeyVersionRecord): Promise<void> {
    await this.db.write(async (tx) => {
      if ((await tx.run(S.deleteVersion, [record.name, record.revision])) === 0) await conflictPg('CryptoKeyVersion', record.name, tx, S.getVersion);
      await tx.run(S.deleteMaterial, [record.name]);
      await tx.run(S.clearPrimary, [record.cryptoKey, record.version]);
    });
  }

  async deleteCryptoKey(record: CryptoKeyRecord, retired: RetiredResourceRecord): Promise<void> {
    await this.db.write(async (tx) => {
      if ((await tx.run(S.deleteKey, [record.name, record.revision])) === 0) await conflictPg('CryptoKey', record.name, tx, S.getKey);
      await tx.run(S.deletePolicy, [record.name]);
      const parent = retired.name.slice(0, retired.name.lastIndexOf('/retiredResources/'));
      await tx.run(S.insertRetired, [retired.name, parent, retired.originalResource, retired.resourceType, retired.deleteTime]);
    });
  }

  async getSealedMaterial(versionName: string): Promise<Buffer | undefined> {
    return (await this.db.one(S.getMaterial, [versionName]))?.sealed as Buffer | undefined;
  }

  async dueDestructions(now: number, limit: number): Promise<CryptoKeyVersionRecord[]> {
    return (await this.db.rows(S.dueDestructions, [now, limit])).map(versionFrom);
  }

  async pendingExternalDestructions(limit: number): Promise<CryptoKeyVersionRecord[]> {
    return (await this.db.rows(S.pendingExternalDestructions, [limit])).map(versionFrom);
  }

  async dueRotations(now: number, limit: number): Promise<CryptoKeyRecord[]> {
    return (await this.db.rows(S.dueRotations, [now, limit])).map(cryptoKeyFrom);
  }

  async getSetting(key: string): Promise<string | undefined> {
    return (await this.db.one(S.getSetting, [key]))?.value as string | undefined;
  }

  initSetting(key: string, value: string): Promise<string> {
    return this.db.write(async (tx) => {
      await tx.run(S.initSetting, [key, value]);
      return (await tx.rows(S.getSetting, [key]))[0].value as string;
    });
  }

  async registerProject(id: string, number: string): Promise<void> {
    await this.db.write((tx) => tx.run(S.registerProject, [id, number]));
  }

  async projectIdOf(number: string): Promise<string | undefined> {
    return (await this.db.one(S.projectIdOf, [number]))?.id as string | undefined;
  }

  async projectIdsInUse(): Promise<string[]> {
    return (await this.db.rows(PROJECT_IDS_IN_USE)).map((r) => r.id as string);
  }

  ping(): Promise<void> {
    return this.db.ping();
  }

  async claim<T>(job: string, fn: () => Promise<T>): Promise<T | undefined> {
    let client: PoolClient;
    try {
      client = await checkout(this.db.pool);
    } catch (err) {
      translatePg(err);
    }
    let broken: Error | undefined;
    try {
      const got = (await client.query(TRY_LOCK, [job])).rows[0]?.got === true;
      if (!got) return undefined;
      try {
        return await fn();
      } finally {
        // A lock that can't be let go goes with the connection, which is then not reused.
        await client.query(UNLOCK, [job]).catch((err: Error) => (broken = err));
      }
    } catch (err) {
      if (unreachable(err)) broken ??= err as Error;
      translatePg(err);
    } finally {
      client.release(broken);
    }
  }

  close(): Promise<void> {
    return this.db.close();
  }

  private async loadKey(name: string): Promise<CryptoKeyRecord | undefined> {
    const row = await this.db.one(S.getKey, [name]);
    return row ? freeze(cryptoKeyFrom(row)) : undefined;
  }

  private async loadVersion(name: string): Promise<CryptoKeyVersionRecord | undefined> {
    const row = await this.db.one(S.getVersion, [name]);
    return row ? freeze(versionFrom(row)) : undefined;
  }
}

// Inside a write: takes the key's next number, inserts the row and the sealed material.
async function insertVersion(
  tx: Runner,
  cryptoKey: string,
  v: NewVersion,
  seal: Sealer,
  expectKeyRevision?: number,
): Promise<CryptoKeyVersionRecord> {
  const taken = (await tx.rows(S.takeVersionNumber, [cryptoKey]))[0] as { n: number; revision: number } | undefined;
  if (!taken) throw notFound(`CryptoKey ${cryptoKey} not found.`);
  if (expectKeyRevision !== undefined && taken.revision !== expectKeyRevision) {
    throw aborted(`CryptoKey ${cryptoKey} was changed concurrently; retry the request.`);
  }
  const name = `${cryptoKey}/cryptoKeyVersions/${taken.n}`;
  await tx.run(S.insertVersion, versionParams({ ...v, name, cryptoKey, version: taken.n }));
  const sealed = seal(name);
  if (sealed) await tx.run(S.insertMaterial, [name, sealed]);
  return versionFrom((await tx.rows(S.getVersion, [name]))[0]);
}

async function writeVersion(tx: Runner, record: CryptoKeyVersionRecord): Promise<CryptoKeyVersionRecord> {
  if ((await tx.run(S.updateVersion, { ...versionParams(record), revision: record.revision })) === 0) {
    await conflictPg('CryptoKeyVersion', record.name, tx, S.getVersion);
  }
  return versionFrom((await tx.rows(S.getVersion, [record.name]))[0]);
}

async function mustGetKey(tx: Runner, name: string): Promise<CryptoKeyRecord> {
  return cryptoKeyFrom((await tx.rows(S.getKey, [name]))[0] as Row);
}
