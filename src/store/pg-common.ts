// Pieces every PostgreSQL table family shares (node-postgres): the pool,
// PostgreSQL's errors translated where they enter, serializable write
// transactions retried on conflict, the read cache that several replicas
// keep exact between them, and list pages compiled for PostgreSQL.
//
// Replicas. Several processes serve from one database, each with its own
// cache of the records read on every cryptographic call. A write commits,
// then bumps the sequence openekm_changes before the caller hears of it; a
// cached read first learns the sequence's value from a check that started
// after the read was asked for (checks are shared by every read waiting at
// the time, so under load one round trip serves many calls) and drops the
// cache when the value moved. So a write acknowledged by one replica is seen
// by the next read on every other. A writer that dies between its commit and
// the bump never acknowledged the write; its change still reaches every
// cache within CACHE_MAX_AGE_MS, the longest an entry is kept.
import { Client, Pool, type PoolClient, type PoolConfig, types } from 'pg';
import { aborted, alreadyExists, Code, KmsError, notFound } from '../errors';
import type { ListColumns } from '../list/query';
import { listStatements, pageOf, type Row } from './core-sql';
import type { ListQuery, Page } from './store';

export type { Row };
export type Param = string | number | boolean | null | Buffer;

const CACHE_LIMIT = 10_000;
/** The longest a cached record is kept, whatever the checks say (see above). */
export const CACHE_MAX_AGE_MS = 5_000;
const CHANGES_SQL = 'SELECT last_value FROM openekm_changes';
/** Attempts of a write transaction that PostgreSQL failed for a concurrent one (40001, 40P01). */
const WRITE_ATTEMPTS = 8;

// BIGINT (int8) columns hold milliseconds and counters, all below 2^53: read as numbers, as SQLite gives them.
const INT8 = 20;
const TYPES = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8 && format !== 'binary' ? (text: string) => Number(text) : types.getTypeParser(oid, format as 'text')) as typeof types.getTypeParser,
};

export interface PgOptions {
  /** Most connections this process holds; default 10. */
  maxConnections?: number;
  /** How long a call waits for a connection before it fails UNAVAILABLE; default 5000 ms. */
  connectTimeoutMs?: number;
  /** Where the pool's own failures (a connection lost while idle) are reported. */
  onError?: (message: string) => void;
}

/** PostgreSQL's SQLSTATE classes and node's socket codes that mean "the database can't be reached now". */
export function unreachable(err: unknown): boolean {
  const code = String((err as { code?: unknown })?.code ?? '');
  if (/^(08|57P|53)/.test(code)) return true;
  if (/^E(CONNREFUSED|CONNRESET|PIPE|TIMEDOUT|HOSTUNREACH|NETUNREACH|AI_AGAIN|NOTFOUND)$/.test(code)) return true;
  const message = String((err as Error)?.message ?? '');
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable/i.test(message);
}

const retryable = (err: unknown): boolean => {
  const code = (err as { code?: unknown })?.code;
  return code === '40001' || code === '40P01';
};

export const UNAVAILABLE_MESSAGE = 'The database is unreachable; retry the request.';

/** Translates PostgreSQL's errors into the store's codes where they enter; `what` names the record for ALREADY_EXISTS. */
export function translatePg(err: unknown, what?: string): never {
  if (err instanceof KmsError) throw err;
  const code = (err as { code?: unknown })?.code;
  if (code === '23505' && what) throw alreadyExists(`${what} already exists.`);
  // A write that checked for the row first and still met it lost a race: as a serialization failure would.
  if (code === '23505' || retryable(err)) throw aborted('The request conflicted with a concurrent change; retry the request.');
  if (unreachable(err)) throw new KmsError(Code.UNAVAILABLE, UNAVAILABLE_MESSAGE);
  throw err;
}

/**
 * SQL written with '?' (in order) or '@name' placeholders, as the SQLite
 * statements and the list compiler write them, numbered for PostgreSQL
 * ($1, $2, ...). Quoted literals and identifiers are left alone.
 */
export function numbered(sql: string): { text: string; names: string[] } {
  const names: string[] = [];
  let text = '';
  let positional = 0;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i];
    if (c === "'" || c === '"') {
      const end = sql.indexOf(c, i + 1);
      const stop = end < 0 ? sql.length : end + 1;
      text += sql.slice(i, stop);
      i = stop - 1;
    } else if (c === '?') {
      text += `$${++positional}`;
    } else if (c === '@' && /[a-z_]/i.test(sql[i + 1] ?? '')) {
      const name = /^[a-z_][a-z0-9_]*/i.exec(sql.slice(i + 1))![0];
      let index = names.indexOf(name);
      if (index < 0) index = names.push(name) - 1;
      text += `$${index + 1}`;
      i += name.length;
    } else {
      text += c;
    }
  }
  if (positional > 0 && names.length > 0) throw new Error('SQL mixes ? and @name placeholders');
  return { text, names };
}

/** A statement in PostgreSQL's form, bound from an array (?) or a record (@name). */
export class Statement {
  readonly text: string;
  readonly #names: string[];

  constructor(sql: string) {
    const { text, names } = numbered(sql);
    this.text = text;
    this.#names = names;
  }

  bind(params: readonly Param[] | Readonly<Record<string, unknown>>): unknown[] {
    if (Array.isArray(params)) return params as unknown[];
    const record = params as Readonly<Record<string, unknown>>;
    return this.#names.map((name) => {
      if (!(name in record)) throw new Error(`no value for @${name}`);
      return record[name];
    });
  }
}

const listened = new WeakSet<PoolClient>();

/**
 * A connection of the pool for a caller's own use (a transaction, a claim).
 * pg emits 'error' on a checked-out connection that fails between queries
 * (the server restarted): with no listener that would end the process. The
 * failure still reaches the caller through its next query, and the caller
 * releases the connection as broken.
 */
export async function checkout(pool: Pool): Promise<PoolClient> {
  const client = await pool.connect();
  if (!listened.has(client)) {
    client.on('error', () => undefined);
    listened.add(client);
  }
  return client;
}

/** Something statements run on: the pool (each statement on its own) or one transaction's connection. */
export interface Runner {
  rows(statement: Statement, params?: readonly Param[] | Readonly<Record<string, unknown>>): Promise<Row[]>;
  /** Rows the statement changed. */
  run(statement: Statement, params?: readonly Param[] | Readonly<Record<string, unknown>>): Promise<number>;
}

async function query(on: Pool | PoolClient, statement: Statement, params: readonly Param[] | Readonly<Record<string, unknown>> = []) {
  return on.query({ text: statement.text, values: statement.bind(params) });
}

function runnerOn(on: Pool | PoolClient): Runner {
  return {
    rows: async (statement, params) => (await query(on, statement, params)).rows as Row[],
    run: async (statement, params) => (await query(on, statement, params)).rowCount ?? 0,
  };
}

/**
 * The records read on every cryptographic call, cached as frozen records and
 * kept exact across replicas by the openekm_changes sequence (see the top of
 * this file). Every read of the cache waits for a check that started after
 * it was asked for.
 */
export class PgReadCache {
  readonly #entries = new Map<string, object>();
  #seen = -1;
  #generation = 0;
  #clearedAt = 0;
  #running: Promise<void> | undefined;
  /** Whether the running check's query has been sent (reads asked for before then may share it). */
  #sent = false;
  #next: Promise<void> | undefined;

  constructor(private readonly check: () => Promise<number>) {}

  /** The cached value of `key`, else load()'s (cached when defined and nothing changed meanwhile). */
  async get<T extends object>(key: string, load: () => Promise<T | undefined>): Promise<T | undefined> {
    await this.fresh();
    return this.lookup(key, load);
  }

  /** The cached value of `key`, without loading: for a caller that has just awaited fresh(). */
  peek<T extends object>(key: string): T | undefined {
    return this.#entries.get(key) as T | undefined;
  }

  /** As get, for a caller that has just awaited fresh() (several reads as of one check). */
  async lookup<T extends object>(key: string, load: () => Promise<T | undefined>): Promise<T | undefined> {
    const hit = this.#entries.get(key) as T | undefined;
    if (hit) return hit;
    const generation = this.#generation;
    const value = await load();
    if (value === undefined || generation !== this.#generation) return value;
    if (this.#entries.size >= CACHE_LIMIT) this.#entries.clear();
    this.#entries.set(key, value);
    return value;
  }

  clear(): void {
    this.#entries.clear();
    this.#generation++;
    this.#clearedAt = Date.now();
  }

  /**
   * Resolves once a check that started after this call has run. A check
   * starts at the end of the event-loop turn that asked for it, so every read
   * asked for in that turn shares it; reads asked for while it is on the wire
   * share the next one.
   */
  fresh(): Promise<void> {
    if (this.#running && !this.#sent) return this.#running;
    if (this.#next) return this.#next;
    if (!this.#running) return this.#start();
    const next = this.#running.catch(() => undefined).then(() => {
      this.#next = undefined;
      return this.#start();
    });
    this.#next = next;
    return next;
  }

  #start(): Promise<void> {
    this.#sent = false;
    const running = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => {
        this.#sent = true;
        return this.#checkNow();
      })
      .finally(() => {
        if (this.#running === running) this.#running = undefined;
      });
    this.#running = running;
    return running;
  }

  async #checkNow(): Promise<void> {
    let seen: number;
    try {
      seen = await this.check();
    } catch (err) {
      this.clear();
      translatePg(err);
    }
    if (seen !== this.#seen || Date.now() - this.#clearedAt > CACHE_MAX_AGE_MS) {
      this.clear();
      this.#seen = seen;
    }
  }
}

/** The pool, its read cache, and the way every family runs reads, writes and lists. */
export class PgDb {
  readonly pool: Pool;
  readonly cache: PgReadCache;
  readonly #any: Runner;
  #closed = false;

  constructor(url: string, options: PgOptions = {}) {
    const config: PoolConfig = {
      connectionString: url,
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      types: TYPES,
      application_name: 'openekm',
    };
    this.pool = new Pool(config);
    // A connection lost while idle (the server restarted) is dropped by the pool; the next call opens another.
    this.pool.on('error', (err) => options.onError?.(unreachable(err) ? 'a database connection was lost' : 'a database connection failed'));
    this.#any = runnerOn(this.pool);
    this.#config = config;
    this.cache = new PgReadCache(() => this.#readChanges());
  }

  readonly #config: PoolConfig;
  #checker: Promise<Client> | undefined;

  /**
   * openekm_changes' value, on a connection of its own: the check runs once
   * per batch of cached reads, the hottest query there is, and a pooled
   * query costs a checkout and a release each time. A failed connection is
   * dropped and the next check opens another.
   */
  async #readChanges(): Promise<number> {
    if (this.#closed) throw new KmsError(Code.UNAVAILABLE, UNAVAILABLE_MESSAGE);
    const checker = (this.#checker ??= (async () => {
      const client = new Client({ ...this.#config, application_name: 'openekm changes' });
      client.on('error', () => undefined);
      await client.connect();
      return client;
    })());
    let client: Client | undefined;
    try {
      client = await checker;
      return (await client.query(CHANGES_SQL)).rows[0].last_value as number;
    } catch (err) {
      if (this.#checker === checker) this.#checker = undefined;
      void client?.end().catch(() => undefined);
      throw err;
    }
  }

  /** Rows of one statement, outside any transaction. */
  async rows(statement: Statement, params?: readonly Param[] | Readonly<Record<string, unknown>>, what?: string): Promise<Row[]> {
    try {
      return await this.#any.rows(statement, params);
    } catch (err) {
      translatePg(err, what);
    }
  }

  async one(statement: Statement, params?: readonly Param[] | Readonly<Record<string, unknown>>): Promise<Row | undefined> {
    return (await this.rows(statement, params))[0];
  }

  /** A read through the cache (see PgReadCache). */
  cached<T extends object>(key: string, load: () => Promise<T | undefined>): Promise<T | undefined> {
    return this.cache.get(key, load);
  }

  /**
   * Runs fn in a SERIALIZABLE transaction, again from the start when
   * PostgreSQL refuses it for a concurrent one; after the commit the change
   * is announced to every replica (openekm_changes) and this cache dropped.
   * fn must do nothing but statements on the runner it is given.
   */
  async write<T>(fn: (tx: Runner) => Promise<T>, what?: string): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let client: PoolClient;
      try {
        client = await checkout(this.pool);
      } catch (err) {
        translatePg(err, what);
      }
      let broken: Error | undefined;
      try {
        await client.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
        const result = await fn(runnerOn(client));
        await client.query("COMMIT; SELECT nextval('openekm_changes')");
        return result;
      } catch (err) {
        if (unreachable(err)) broken = err as Error;
        else await client.query('ROLLBACK').catch((e: Error) => (broken = e));
        if (retryable(err) && attempt < WRITE_ATTEMPTS) {
          await new Promise((r) => setTimeout(r, Math.random() * 5 * attempt));
          continue;
        }
        translatePg(err, what);
      } finally {
        client.release(broken);
        this.cache.clear();
      }
    }
  }

  /** A round trip to the database: what /readyz asks. */
  async ping(): Promise<void> {
    await this.rows(new Statement('SELECT 1'));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const checker = this.#checker;
    this.#checker = undefined;
    await Promise.all([this.pool.end(), checker?.then((c) => c.end(), () => undefined)]);
  }
}

/** An update that changed no row: the record is gone (NOT_FOUND) or another writer got there first (ABORTED). */
export async function conflictPg(kind: string, name: string, tx: Runner, get: Statement): Promise<never> {
  if ((await tx.rows(get, [name])).length === 0) throw notFound(`${kind} ${name} not found.`);
  throw aborted(`${kind} ${name} was changed concurrently; retry the request.`);
}

/** One page of `table` rows under query.parent, filtered and ordered in SQL (list/query.ts, postgres dialect). */
export async function listPagePg<T>(
  db: PgDb,
  table: string,
  alias: string,
  columns: ListColumns,
  query: ListQuery,
  from: (row: Row) => T,
): Promise<Page<T>> {
  const { terms, rows, count } = listStatements(table, alias, columns, query, 'postgres');
  const [found, total] = await Promise.all([db.rows(new Statement(rows.sql), rows.params), db.rows(new Statement(count.sql), count.params)]);
  return pageOf(found, terms, query.pageSize, Number(total[0].n), from);
}
