// The store side of a list: a checked filter (check.ts) and the requested
// order compiled to SQL over one collection's columns, so filtering,
// ordering and paging all run in the database and a page costs in
// proportion to the page. Nothing here knows the API: field names map to
// columns, values arrive typed.
//
// Rules every generated fragment keeps:
// - No text from the request is ever pasted into SQL: values and JSON paths are
//   bound parameters ('?', in order). Only column expressions from the
//   ListColumns (written by us) and fixed keywords appear in the SQL text.
// - Every comparison is two-valued, never NULL, so NOT behaves as users expect:
//   a missing value (NULL column, absent map key) fails every comparison
//   except '!=', which it passes ("labels.env != prod" keeps unlabelled keys).
// - A page is one query (see test/list/paging.test.ts):
//     SELECT ..., ${selectOrderValues(terms)} FROM t
//     WHERE <parent> AND ${filter.sql} AND ${keysetAfter(terms, decodedToken).sql}
//     ${orderBySql(terms)} LIMIT pageSize + 1
//   the extra row says whether there is a next page, whose token encodes
//   readOrderValues(terms, lastRowOfThePage).
// - The SQL is SQLite's by default (json_extract, json_type, instr, 0/1 for
//   booleans, BINARY collation = code point order). With the 'postgres'
//   dialect the few functions that differ are PostgreSQL's (->> on jsonb,
//   strpos, TRUE/FALSE); its text columns are COLLATE "C" (pg-schema.ts), so
//   order is code point order there too. Placeholders stay '?': the
//   PostgreSQL store numbers them ($n) where it runs the SQL (pg-common.ts).
//
// compileFilter and compileOrderBy (text and a CollectionSpec holding both
// halves) run the two sides in one call, for tests and in-process tools.

import { invalidArgument } from '../errors';
import {
  type ApiField, type CheckedFilter, checkFilter, checkOrderBy, type Comparison, type FilterValue, type ListFields,
  type OrderRequest, own, type Target,
} from './check';
import { asciiLower } from './values';

export { matchesFilter, validateFilterFields } from './evaluate';
export type { FieldType } from './check';

/**
 * Where one field is stored. Storage conventions: timestamps and durations
 * INTEGER milliseconds, booleans 0/1, enums their name strings. A column used
 * for ordering must be NOT NULL, or the spec author gives a COALESCEd
 * `orderColumn`: keyset paging compares with '=' and '<', which NULL never
 * satisfies, so rows with NULL would silently vanish (keysetAfter throws a
 * plain Error, i.e. INTERNAL, when it meets one).
 */
export interface ColumnSpec {
  /** An SQL expression, e.g. "k.purpose". Trusted text: never derived from a request. */
  column: string;
  /**
   * The expression to order by when `column` may be NULL, e.g.
   * "COALESCE(k.rotation_ms, -1)". Kept apart from `column` so that filters
   * still see NULL as "absent" (':*' and '!=' depend on that).
   */
  orderColumn?: string;
}

export interface ListColumns {
  /** By field name, as the checked filter and order name them. */
  columns: Readonly<Record<string, ColumnSpec>>;
  /** Map fields, e.g. { labels: "k.labels" }: a column holding a JSON object text of string values. */
  mapColumns?: Readonly<Record<string, string>>;
  /** SQL expression of a unique, NOT NULL, sortable key, used ascending as the final tiebreak. */
  uniqueKey: string;
}

/** Both halves of one field, for compileFilter/compileOrderBy. */
export type FieldSpec = ApiField & ColumnSpec;

/** Both halves of one collection, for compileFilter/compileOrderBy. */
export interface CollectionSpec {
  fields: Readonly<Record<string, FieldSpec>>;
  mapFields?: Readonly<Record<string, string>>;
  uniqueKey: string;
  defaultOrder: readonly { field: string; desc?: boolean }[];
}

export type SqlParam = string | number | null;

export interface SqlFragment {
  sql: string;
  params: SqlParam[];
}

export interface OrderTerm {
  field: string;
  column: string;
  desc: boolean;
}

/** Which database's SQL the fragments are written in. */
export type Dialect = 'sqlite' | 'postgres';

const always = (dialect: Dialect): SqlFragment => ({ sql: dialect === 'postgres' ? 'TRUE' : '1', params: [] });
const never = (dialect: Dialect): SqlFragment => ({ sql: dialect === 'postgres' ? 'FALSE' : '0', params: [] });

/** The API half of a CollectionSpec. */
export function fieldsOf(spec: CollectionSpec): ListFields {
  const fields: Record<string, ApiField> = {};
  for (const [name, f] of Object.entries(spec.fields)) fields[name] = { type: f.type, enumValues: f.enumValues, enumNumbers: f.enumNumbers };
  return { fields, mapFields: Object.keys(spec.mapFields ?? {}), defaultOrder: spec.defaultOrder };
}

/** The store half of a CollectionSpec. */
export function columnsOf(spec: CollectionSpec): ListColumns {
  const columns: Record<string, ColumnSpec> = {};
  for (const [name, f] of Object.entries(spec.fields)) columns[name] = { column: f.column, orderColumn: f.orderColumn };
  return { columns, mapColumns: spec.mapFields, uniqueKey: spec.uniqueKey };
}

/** Filter text straight to SQL (both sides in one call). */
export function compileFilter(filter: string | undefined, spec: CollectionSpec): SqlFragment {
  return filterSql(checkFilter(filter, fieldsOf(spec)), columnsOf(spec));
}

/** order_by text straight to order terms (both sides in one call). */
export function compileOrderBy(orderBy: string | undefined, spec: CollectionSpec): OrderTerm[] {
  return orderTerms(checkOrderBy(orderBy, fieldsOf(spec)), columnsOf(spec));
}

/** The WHERE condition for a checked filter; none gives "1" (every row). */
export function filterSql(filter: CheckedFilter | undefined, columns: ListColumns, dialect: Dialect = 'sqlite'): SqlFragment {
  return filter ? compileNode(filter, columns, dialect) : always(dialect);
}

function compileNode(node: CheckedFilter, columns: ListColumns, dialect: Dialect): SqlFragment {
  switch (node.kind) {
    case 'and':
    case 'or':
      return join(node.items.map((item) => compileNode(item, columns, dialect)), node.kind === 'and' ? ' AND ' : ' OR ');
    case 'not': {
      const inner = compileNode(node.item, columns, dialect);
      return { sql: `(NOT ${inner.sql})`, params: inner.params };
    }
    case 'const':
      return node.value ? always(dialect) : never(dialect);
    case 'present':
      return present(node.target, node.nonEmpty, columns, dialect);
    case 'compare':
      return compare(expression(node.target, columns, dialect), node.op, sqlValue(node.value));
    case 'contains':
      return contains(expression(node.target, columns, dialect), node.needle, dialect);
  }
}

/**
 * A field's column, or a map entry read through a bound JSON path (SQLite)
 * or a bound key (PostgreSQL, whose map columns are JSON text read as jsonb).
 */
function expression(target: Target, columns: ListColumns, dialect: Dialect): SqlFragment {
  if ('field' in target) return { sql: columnOf(target.field, columns).column, params: [] };
  const column = mapColumnOf(target.map, columns);
  if (dialect === 'postgres') return { sql: `(((${column})::jsonb ->> ?::text) COLLATE "C")`, params: [target.key] };
  return { sql: `json_extract(${column}, ?)`, params: [jsonPath(target.key)] };
}

function present(target: Target, nonEmpty: boolean, columns: ListColumns, dialect: Dialect): SqlFragment {
  if ('field' in target) {
    const column = columnOf(target.field, columns).column;
    return { sql: `(${column} IS NOT NULL${nonEmpty ? ` AND ${column} <> ''` : ''})`, params: [] };
  }
  const column = mapColumnOf(target.map, columns);
  if (dialect === 'postgres') return { sql: `(((${column})::jsonb -> ?::text) IS NOT NULL)`, params: [target.key] };
  return { sql: `(json_type(${column}, ?) IS NOT NULL)`, params: [jsonPath(target.key)] };
}

// The service checked the fields against its ListFields; a name the store has
// no column for means the two disagree, a bug of ours (INTERNAL).
function columnOf(field: string, columns: ListColumns): ColumnSpec {
  const column = own(columns.columns, field);
  if (!column) throw new Error(`no column for list field '${field}'`);
  return column;
}

function mapColumnOf(map: string, columns: ListColumns): string {
  const column = own(columns.mapColumns, map);
  if (column === undefined) throw new Error(`no column for map field '${map}'`);
  return column;
}

/** A quoted JSON path label, so keys with dots or dashes address one member (check.ts refused '"' and '\'). */
const jsonPath = (key: string): string => `$."${key}"`;

/** Booleans are stored 0/1. */
const sqlValue = (value: FilterValue): SqlParam => (typeof value === 'boolean' ? (value ? 1 : 0) : value);

/** Both operands may be NULL-free; the IS NULL guards make the result two-valued. */
function compare(expr: SqlFragment, op: Comparison, value: SqlParam): SqlFragment {
  const params = [...expr.params, ...expr.params, value];
  if (op === '!=') return { sql: `(${expr.sql} IS NULL OR ${expr.sql} <> ?)`, params };
  return { sql: `(${expr.sql} IS NOT NULL AND ${expr.sql} ${op} ?)`, params };
}

/**
 * Case-insensitive substring (Cloud KMS's ':'). instr, not LIKE: LIKE would
 * give '%' and '_' in the value a meaning the user did not ask for.
 */
function contains(expr: SqlFragment, needle: string, dialect: Dialect): SqlFragment {
  const position = dialect === 'postgres' ? 'strpos' : 'instr';
  return {
    sql: `(${expr.sql} IS NOT NULL AND ${position}(lower(${expr.sql}), ?) > 0)`,
    params: [...expr.params, ...expr.params, asciiLower(needle)],
  };
}

// ---- order (https://google.aip.dev/132#ordering) ----

/**
 * The requested order as SQL terms, always ending with the unique key
 * (ascending) so that every row has exactly one position and keyset paging
 * neither skips nor repeats rows. Terms after a term on the unique key could
 * never decide anything and are dropped.
 */
export function orderTerms(order: readonly OrderRequest[], columns: ListColumns): OrderTerm[] {
  const terms: OrderTerm[] = [];
  for (const request of order) {
    const column = orderColumn(columnOf(request.field, columns), request.enumNumbers);
    terms.push({ field: request.field, column, desc: request.desc });
    if (column === columns.uniqueKey) return terms;
  }
  terms.push({ field: uniqueFieldName(columns), column: columns.uniqueKey, desc: false });
  return terms;
}

/**
 * Enums are stored by name but ordered by number, as their proto values are.
 * The CASE text comes from the API's enum, never from the request; ELSE -1
 * keeps the expression NOT NULL for names it does not know.
 */
function orderColumn(column: ColumnSpec, enumNumbers: Readonly<Record<number, string>> | undefined): string {
  if (column.orderColumn !== undefined) return column.orderColumn;
  if (!enumNumbers) return column.column;
  const whens = Object.entries(enumNumbers).map(([number, name]) => `WHEN '${name.replace(/'/g, "''")}' THEN ${Number(number)}`);
  return whens.length === 0 ? column.column : `(CASE ${column.column} ${whens.join(' ')} ELSE -1 END)`;
}

function uniqueFieldName(columns: ListColumns): string {
  const match = Object.entries(columns.columns).find(([, c]) => c.column === columns.uniqueKey);
  return match ? match[0] : columns.uniqueKey;
}

/** "ORDER BY a DESC, b ASC" */
export function orderBySql(terms: readonly OrderTerm[]): string {
  if (terms.length === 0) return '';
  return `ORDER BY ${terms.map((t) => `${t.column} ${t.desc ? 'DESC' : 'ASC'}`).join(', ')}`;
}

/** "a AS o0, b AS o1": the order values of each row, to put the last one in the next page token. */
export function selectOrderValues(terms: readonly OrderTerm[]): string {
  return terms.map((t, i) => `${t.column} AS o${i}`).join(', ');
}

/** Reads o0, o1, ... (see selectOrderValues) from a result row. */
export function readOrderValues(terms: readonly OrderTerm[], row: Readonly<Record<string, unknown>>): SqlParam[] {
  return terms.map((term, i) => {
    const value = row[`o${i}`];
    if (typeof value === 'string' || typeof value === 'number' || value === null) return value;
    throw new Error(`order column ${term.column} gave a ${typeof value}, not a string or number`);
  });
}

/**
 * Rows strictly after `last` in the order of `terms`:
 *   (a > ?) OR (a = ? AND b < ?) OR (a = ? AND b = ? AND c > ?)
 * with '<' for descending terms. The extra leading bound (a >= ?) repeats what
 * the disjunction implies, so that an index on the first column can seek to
 * the page instead of scanning every earlier row.
 */
export function keysetAfter(terms: readonly OrderTerm[], last: readonly SqlParam[]): SqlFragment {
  if (terms.length === 0) throw new Error('keysetAfter needs at least one order term');
  if (last.length !== terms.length) throw invalidArgument('page_token: does not match the order of this request');
  last.forEach((value, i) => {
    if (value === null) throw new Error(`order column ${terms[i].column} is NULL; order columns must be NOT NULL or coalesced`);
  });
  const disjuncts = terms.map((term, i) => {
    const ties = terms.slice(0, i).map((earlier, j) => ({ sql: `${earlier.column} = ?`, params: [last[j]] }));
    return join([...ties, { sql: `${term.column} ${term.desc ? '<' : '>'} ?`, params: [last[i]] }], ' AND ');
  });
  const after = join(disjuncts, ' OR ');
  if (terms.length === 1) return after;
  const first = terms[0];
  return join([{ sql: `${first.column} ${first.desc ? '<=' : '>='} ?`, params: [last[0]] }, after], ' AND ');
}

function join(parts: readonly SqlFragment[], separator: string): SqlFragment {
  return { sql: `(${parts.map((p) => p.sql).join(separator)})`, params: parts.flatMap((p) => p.params) };
}
