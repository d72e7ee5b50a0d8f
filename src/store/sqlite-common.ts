// Pieces every SQLite table family shares: foreign errors translated where
// they enter, optimistic-concurrency conflicts told apart from absence, and
// list pages (filter, order_by, keyset pagination, total size) in SQL.
import type Database from 'better-sqlite3';
import { aborted, alreadyExists, Code, KmsError, notFound } from '../errors';
import type { ListColumns } from '../list/query';
import { listStatements, pageOf, type Row } from './core-sql';
import type { ListQuery, Page } from './store';

export type { Row };

const CACHE_LIMIT = 10_000;

/** Freezes a record and the objects and arrays it holds, one level down. */
export function freeze<T extends object>(record: T): T {
  for (const value of Object.values(record)) if (value && typeof value === 'object') Object.freeze(value);
  return Object.freeze(record);
}

/**
 * The records read on every cryptographic call (keys, versions, EkmConnections,
 * Service Directory services and endpoint lists), cached as frozen records,
 * one cache for every table family on a database connection. It is exact:
 * each write by this connection clears it (writers call clear()), and PRAGMA
 * data_version, which changes when any other connection (in this process or
 * another) commits, is read once per event-loop turn, clearing it when anyone
 * else wrote. Every read in a turn therefore sees the database as of the
 * turn's first read, or this connection's own later writes: as if they all
 * happened at that instant. Under load a turn serves many calls, and the
 * PRAGMA costs ~2 us.
 */
export class ReadCache {
  readonly #entries = new Map<string, object>();
  readonly #dataVersion: Database.Statement;
  #version = -1;
  #generation = 0;
  #checkedThisTurn = false;
  readonly #nextTurn = (): void => {
    this.#checkedThisTurn = false;
  };

  constructor(db: Database.Database) {
    this.#dataVersion = db.prepare('PRAGMA data_version').pluck();
  }

  /** The cached value of `key`, else load()'s (cached when defined). */
  get<T extends object>(key: string, load: () => T | undefined): T | undefined {
    this.#refresh();
    const hit = this.#entries.get(key) as T | undefined;
    if (hit) return hit;
    const value = load();
    if (value === undefined) return undefined;
    if (this.#entries.size >= CACHE_LIMIT) this.#entries.clear();
    this.#entries.set(key, value);
    return value;
  }

  /** A number that changes whenever what was read may have changed (a write here or by another connection). */
  get generation(): number {
    this.#refresh();
    return this.#generation;
  }

  clear(): void {
    this.#entries.clear();
    this.#generation++;
  }

  /** Runs a write, clearing the cache whatever its outcome. */
  writing<T>(fn: () => T): T {
    try {
      return fn();
    } finally {
      this.#entries.clear();
      this.#generation++;
    }
  }

  #refresh(): void {
    if (this.#checkedThisTurn) return;
    this.#checkedThisTurn = true;
    setImmediate(this.#nextTurn);
    const version = this.#dataVersion.get() as number;
    if (version !== this.#version) {
      this.#entries.clear();
      this.#generation++;
      this.#version = version;
    }
  }
}

// Prepared list statements by SQL text, per connection: a list's SQL depends
// only on its filter and order_by shape, and preparing costs more than a run.
const statements = new WeakMap<Database.Database, Map<string, Database.Statement>>();
const STATEMENT_LIMIT = 256;

function prepared(db: Database.Database, sql: string): Database.Statement {
  let byText = statements.get(db);
  if (!byText) statements.set(db, (byText = new Map()));
  let statement = byText.get(sql);
  if (!statement) {
    if (byText.size >= STATEMENT_LIMIT) byText.clear();
    statement = db.prepare(sql);
    byText.set(sql, statement);
  }
  return statement;
}

/** Translates SQLite's errors into the store's codes where they enter. */
export function translate<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof KmsError) throw err;
    const code = (err as { code?: string }).code ?? '';
    if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE') {
      throw alreadyExists(`${what} already exists.`);
    }
    if (code === 'SQLITE_BUSY') throw new KmsError(Code.UNAVAILABLE, 'The store is busy; retry the request.');
    throw err;
  }
}

/** An update that changed no row: the record is gone (NOT_FOUND) or another writer got there first (ABORTED). */
export function conflict(kind: string, name: string, get: Database.Statement): never {
  if (!get.get(name)) throw notFound(`${kind} ${name} not found.`);
  throw aborted(`${kind} ${name} was changed concurrently; retry the request.`);
}

/** One page of `table` rows under query.parent, filtered and ordered in SQL. */
export function listPage<T>(
  db: Database.Database,
  table: string,
  alias: string,
  columns: ListColumns,
  query: ListQuery,
  from: (row: Row) => T,
): Page<T> {
  const { terms, rows, count } = listStatements(table, alias, columns, query, 'sqlite');
  const found = prepared(db, rows.sql).all(...rows.params) as Row[];
  const total = prepared(db, count.sql).pluck().get(...count.params) as number;
  return pageOf(found, terms, query.pageSize, total, from);
}
