// The EKM store on SQLite (better-sqlite3), in DATA_DIR/ekm.sqlite or in
// memory. WAL with synchronous=FULL: a write is on disk before it is
// acknowledged. Constraint violations become ALREADY_EXISTS here, where the
// foreign error enters.
import Database from 'better-sqlite3';
import { alreadyExists } from '../errors';
import type { FullPolicy, Policy } from './policy';
import type { CryptoSpaceRecord, EkmStore, KeyRecord, KeyState } from './store';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS crypto_spaces (
  name TEXT PRIMARY KEY,
  policy TEXT NOT NULL,
  create_time INTEGER NOT NULL,
  update_time INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS keys (
  path TEXT PRIMARY KEY,
  crypto_space TEXT NOT NULL REFERENCES crypto_spaces(name),
  algorithm TEXT NOT NULL,
  state TEXT NOT NULL,
  material BLOB,
  policy TEXT,
  request_id TEXT,
  create_time INTEGER NOT NULL,
  update_time INTEGER NOT NULL,
  destroy_time INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS keys_request_id ON keys (crypto_space, request_id) WHERE request_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS keys_space ON keys (crypto_space, path);
`;

interface KeyRow {
  path: string;
  crypto_space: string;
  algorithm: string;
  state: string;
  material: Buffer | null;
  policy: string | null;
  request_id: string | null;
  create_time: number;
  update_time: number;
  destroy_time: number | null;
}

interface SpaceRow {
  name: string;
  policy: string;
  create_time: number;
  update_time: number;
}

const toSpace = (r: SpaceRow): CryptoSpaceRecord => ({
  name: r.name,
  policy: JSON.parse(r.policy) as FullPolicy,
  createTime: r.create_time,
  updateTime: r.update_time,
});

const toKey = (r: KeyRow): KeyRecord => ({
  path: r.path,
  cryptoSpace: r.crypto_space,
  algorithm: r.algorithm,
  state: r.state as KeyState,
  sealedMaterial: r.material,
  policy: r.policy === null ? null : (JSON.parse(r.policy) as Policy),
  requestId: r.request_id,
  createTime: r.create_time,
  updateTime: r.update_time,
  destroyTime: r.destroy_time,
});

function isConstraint(err: unknown): boolean {
  return typeof err === 'object' && err !== null && String((err as { code?: unknown }).code).startsWith('SQLITE_CONSTRAINT');
}

export class SqliteEkmStore implements EkmStore {
  readonly #db: Database.Database;
  readonly #stmt;

  /** file: a path, or ':memory:'. */
  constructor(file: string) {
    this.#db = new Database(file);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
    this.#db.pragma('foreign_keys = ON');
    // Overwrite freed pages, so a destroyed key's sealed material does not linger in the file.
    this.#db.pragma('secure_delete = ON');
    this.#db.exec(SCHEMA);
    const db = this.#db;
    this.#stmt = {
      insertSpace: db.prepare('INSERT INTO crypto_spaces (name, policy, create_time, update_time) VALUES (?, ?, ?, ?)'),
      getSpace: db.prepare<[string], SpaceRow>('SELECT * FROM crypto_spaces WHERE name = ?'),
      listSpaces: db.prepare<[], SpaceRow>('SELECT * FROM crypto_spaces ORDER BY name'),
      setSpacePolicy: db.prepare<[string, number, string], SpaceRow>(
        'UPDATE crypto_spaces SET policy = ?, update_time = ? WHERE name = ? RETURNING *',
      ),
      insertKey: db.prepare(
        `INSERT INTO keys (path, crypto_space, algorithm, state, material, policy, request_id, create_time, update_time, destroy_time)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      getKey: db.prepare<[string], KeyRow>('SELECT * FROM keys WHERE path = ?'),
      byRequestId: db.prepare<[string, string], KeyRow>('SELECT * FROM keys WHERE crypto_space = ? AND request_id = ?'),
      listKeys: db.prepare<[], KeyRow>('SELECT * FROM keys ORDER BY path'),
      listSpaceKeys: db.prepare<[string], KeyRow>('SELECT * FROM keys WHERE crypto_space = ? ORDER BY path'),
      setKeyPolicy: db.prepare<[string | null, number, string], KeyRow>('UPDATE keys SET policy = ?, update_time = ? WHERE path = ? RETURNING *'),
      getMeta: db.prepare<[string], { value: Buffer }>('SELECT value FROM meta WHERE name = ?'),
      setMeta: db.prepare('INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value'),
    };
  }

  async createCryptoSpace(r: CryptoSpaceRecord): Promise<void> {
    try {
      this.#stmt.insertSpace.run(r.name, JSON.stringify(r.policy), r.createTime, r.updateTime);
    } catch (err) {
      if (isConstraint(err)) throw alreadyExists(`Crypto space ${r.name} already exists.`);
      throw err;
    }
  }

  async getCryptoSpace(name: string): Promise<CryptoSpaceRecord | undefined> {
    const row = this.#stmt.getSpace.get(name);
    return row && toSpace(row);
  }

  async listCryptoSpaces(): Promise<CryptoSpaceRecord[]> {
    return this.#stmt.listSpaces.all().map(toSpace);
  }

  async setCryptoSpacePolicy(name: string, policy: FullPolicy, now: number): Promise<CryptoSpaceRecord | undefined> {
    const row = this.#stmt.setSpacePolicy.get(JSON.stringify(policy), now, name);
    return row && toSpace(row);
  }

  async createKey(r: KeyRecord): Promise<void> {
    try {
      this.#stmt.insertKey.run(
        r.path, r.cryptoSpace, r.algorithm, r.state, r.sealedMaterial, r.policy === null ? null : JSON.stringify(r.policy),
        r.requestId, r.createTime, r.updateTime, r.destroyTime,
      );
    } catch (err) {
      if (isConstraint(err)) throw alreadyExists(`Key ${r.path} (or its requestId) already exists.`);
      throw err;
    }
  }

  async getKey(path: string): Promise<KeyRecord | undefined> {
    const row = this.#stmt.getKey.get(path);
    return row && toKey(row);
  }

  async findKeyByRequestId(cryptoSpace: string, requestId: string): Promise<KeyRecord | undefined> {
    const row = this.#stmt.byRequestId.get(cryptoSpace, requestId);
    return row && toKey(row);
  }

  async listKeys(cryptoSpace?: string): Promise<KeyRecord[]> {
    const rows = cryptoSpace === undefined ? this.#stmt.listKeys.all() : this.#stmt.listSpaceKeys.all(cryptoSpace);
    return rows.map(toKey);
  }

  async transitionKey(path: string, from: readonly KeyState[], to: KeyState, now: number): Promise<KeyRecord | undefined> {
    const placeholders = from.map(() => '?').join(', ');
    // Destroying erases the material in the same statement as the state change.
    const erase = to === 'DESTROYED' ? ', material = NULL, destroy_time = ?' : '';
    const sql = `UPDATE keys SET state = ?, update_time = ?${erase} WHERE path = ? AND state IN (${placeholders}) RETURNING *`;
    const params: unknown[] = to === 'DESTROYED' ? [to, now, now, path, ...from] : [to, now, path, ...from];
    const row = this.#db.prepare<unknown[], KeyRow>(sql).get(...params);
    return row && toKey(row);
  }

  async setKeyPolicy(path: string, policy: Policy | null, now: number): Promise<KeyRecord | undefined> {
    const row = this.#stmt.setKeyPolicy.get(policy === null ? null : JSON.stringify(policy), now, path);
    return row && toKey(row);
  }

  async getMeta(name: string): Promise<Buffer | undefined> {
    return this.#stmt.getMeta.get(name)?.value;
  }

  async setMeta(name: string, value: Buffer): Promise<void> {
    this.#stmt.setMeta.run(name, value);
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}
