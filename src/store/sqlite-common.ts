// Pieces every SQLite table family shares: foreign errors translated where
// they enter, optimistic-concurrency conflicts told apart from absence, and
// list pages (filter, order_by, keyset pagination, total size) in SQL.
import type Database from 'better-sqlite3';
import { aborted, alreadyExists, Code, KmsError, notFound } from '../errors';
import {
  type CollectionSpec,
  compileFilter,
  compileOrderBy,
  keysetAfter,
  orderBySql,
  selectOrderValues,
} from '../list/query';
import type { ListQuery, Page } from './store';

export type Row = Record<string, unknown>;

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
  spec: CollectionSpec,
  query: ListQuery,
  from: (row: Row) => T,
): Page<T> {
  const where = compileFilter(query.filter, spec);
  const terms = compileOrderBy(query.orderBy, spec);
  const after = query.after ? keysetAfter(terms, query.after) : { sql: '1', params: [] };
  const parentCol = alias ? `${alias}.parent` : 'parent';
  const from_ = `FROM ${table} ${alias} WHERE ${parentCol} = ? AND (${where.sql})`;
  const rows = db
    .prepare(`SELECT ${alias ? alias + '.' : ''}*, ${selectOrderValues(terms)} ${from_} AND (${after.sql}) ${orderBySql(terms)} LIMIT ?`)
    .all(query.parent, ...where.params, ...after.params, query.pageSize + 1) as Row[];
  const total = db.prepare(`SELECT COUNT(*) ${from_}`).pluck().get(query.parent, ...where.params) as number;
  const more = rows.length > query.pageSize;
  const page = more ? rows.slice(0, query.pageSize) : rows;
  const last = page[page.length - 1];
  return {
    items: page.map(from),
    next: more && last ? terms.map((_, i) => last[`o${i}`] as string | number | null) : undefined,
    totalSize: total,
  };
}
