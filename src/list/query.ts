// Turns a parsed filter and an order_by string into SQL for one collection,
// so filtering, ordering and paging all run in the database and a page costs
// in proportion to the page.
//
// Rules every generated fragment keeps:
// - No text from the request is ever pasted into SQL: values and JSON paths are
//   bound parameters ('?', in order). Only column expressions from the
//   CollectionSpec (written by us) and fixed keywords appear in the SQL text.
// - Every comparison is two-valued, never NULL, so NOT behaves as users expect:
//   a missing value (NULL column, absent map key) fails every comparison
//   except '!=', which it passes ("labels.env != prod" keeps unlabelled keys).
// - A page is one query (see test/list/paging.test.ts):
//     SELECT ..., ${selectOrderValues(terms)} FROM t
//     WHERE <parent> AND ${filter.sql} AND ${keysetAfter(terms, decodedToken).sql}
//     ${orderBySql(terms)} LIMIT pageSize + 1
//   the extra row says whether there is a next page, whose token encodes
//   readOrderValues(terms, lastRowOfThePage).
// - The SQL is SQLite's (json_extract, json_type, instr, 0/1 for booleans,
//   BINARY collation = code point order). A PostgreSQL store will need its own
//   rendering of those few functions, $n placeholders, TRUE/FALSE and COLLATE "C".

import { invalidArgument, KmsError } from '../errors';
import { CmpNode, CmpOp, FilterNode, filterError, parseFilter, shown } from './filter';
import { Millis, asciiLower, parseBoolean, parseDuration, parseInteger, parseTimestamp } from './values';

export { matchesFilter, validateFilterFields } from './evaluate';

export type FieldType = 'string' | 'enum' | 'timestamp' | 'integer' | 'boolean' | 'duration';

/**
 * How one filterable/orderable field is stored. Storage conventions:
 * timestamps and durations INTEGER milliseconds, booleans 0/1, enums their
 * name strings. A column used for ordering must be NOT NULL, or the spec
 * author gives a COALESCEd `orderColumn`: keyset paging compares with '=' and
 * '<', which NULL never satisfies, so rows with NULL would silently vanish
 * (keysetAfter throws a plain Error, i.e. INTERNAL, when it meets one).
 */
export interface FieldSpec {
  /** An SQL expression, e.g. "k.purpose". Trusted text: never derived from a request. */
  column: string;
  type: FieldType;
  /** For enums: the names a filter may use. */
  enumValues?: readonly string[];
  /** For enums: number → name, so filters may use numbers and ordering follows the numbers as in the proto. */
  enumNumbers?: Readonly<Record<number, string>>;
  /**
   * The expression to order by when `column` may be NULL, e.g.
   * "COALESCE(k.rotation_ms, -1)". Kept apart from `column` so that filters
   * still see NULL as "absent" (':*' and '!=' depend on that).
   */
  orderColumn?: string;
}

export interface CollectionSpec {
  /** Filter and order_by names as Cloud KMS spells them (snake_case paths such as primary.state). */
  fields: Readonly<Record<string, FieldSpec>>;
  /** Map fields, e.g. { labels: "k.labels" }: a column holding a JSON object text of string values. */
  mapFields?: Readonly<Record<string, string>>;
  /** SQL expression of a unique, NOT NULL, sortable key, used ascending as the final tiebreak. */
  uniqueKey: string;
  /** Names from `fields`, used when order_by is empty. */
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

type Comparison = Exclude<CmpOp, ':'>;

const ALWAYS: SqlFragment = { sql: '1', params: [] };
const NEVER: SqlFragment = { sql: '0', params: [] };

/** The WHERE condition for a filter; no filter gives "1" (every row). */
export function compileFilter(filter: string | undefined, spec: CollectionSpec): SqlFragment {
  const node = parseFilter(filter ?? '');
  return node ? compileNode(node, spec) : { ...ALWAYS, params: [] };
}

function compileNode(node: FilterNode, spec: CollectionSpec): SqlFragment {
  switch (node.kind) {
    case 'and':
    case 'or':
      return join(
        node.items.map((item) => compileNode(item, spec)),
        node.kind === 'and' ? ' AND ' : ' OR ',
      );
    case 'not': {
      const inner = compileNode(node.item, spec);
      return { sql: `(NOT ${inner.sql})`, params: inner.params };
    }
    case 'cmp':
      return compileComparison(node, spec);
  }
}

function compileComparison(node: CmpNode, spec: CollectionSpec): SqlFragment {
  const field = own(spec.fields, node.field);
  if (field) return compileField(node, field);
  const dot = node.field.indexOf('.');
  const mapColumn = dot > 0 ? own(spec.mapFields, node.field.slice(0, dot)) : undefined;
  if (mapColumn !== undefined) return compileMapEntry(node, mapColumn, node.field.slice(dot + 1));
  const wholeMap = own(spec.mapFields, node.field);
  if (wholeMap !== undefined) return compileMapHasKey(node, wholeMap);
  throw filterError(`unknown field ${shown(node.field)}`, node.pos);
}

function compileField(node: CmpNode, field: FieldSpec): SqlFragment {
  const column: SqlFragment = { sql: field.column, params: [] };
  if (isPresence(node)) {
    const nonEmpty = field.type === 'string' ? ` AND ${field.column} <> ''` : '';
    return { sql: `(${field.column} IS NOT NULL${nonEmpty})`, params: [] };
  }
  switch (field.type) {
    case 'string':
      return node.op === ':' ? contains(column, node.value) : compare(column, node.op, node.value);
    case 'enum':
      return compare(column, equalityOnly(node, field.type), enumName(node, field));
    case 'boolean':
      return compare(column, equalityOnly(node, field.type), need(parseBoolean(node.value), node, 'true or false'));
    case 'integer':
      return compare(column, anyComparison(node), need(parseInteger(node.value), node, 'an integer'));
    case 'timestamp':
      return compareMillis(column, anyComparison(node), need(parseTimestamp(node.value), node, TIMESTAMP_HINT));
    case 'duration':
      return compareMillis(column, anyComparison(node), need(parseDuration(node.value), node, DURATION_HINT));
  }
}

const TIMESTAMP_HINT = 'an RFC 3339 timestamp such as 2024-01-02T03:04:05Z';
const DURATION_HINT = 'a duration in seconds such as 86400s';

/** labels.KEY OP value; the key reaches SQL only as a bound JSON path. */
function compileMapEntry(node: CmpNode, column: string, key: string): SqlFragment {
  const path = jsonPath(key, node);
  if (isPresence(node)) return { sql: `(json_type(${column}, ?) IS NOT NULL)`, params: [path] };
  const entry: SqlFragment = { sql: `json_extract(${column}, ?)`, params: [path] };
  return node.op === ':' ? contains(entry, node.value) : compare(entry, node.op, node.value);
}

/** AIP-160's "labels:KEY": the map has that key. */
function compileMapHasKey(node: CmpNode, column: string): SqlFragment {
  if (node.op !== ':' || isPresence(node)) {
    throw filterError(`map field ${shown(node.field)} takes a key: ${node.field}.KEY or ${node.field}:KEY`, node.pos);
  }
  return { sql: `(json_type(${column}, ?) IS NOT NULL)`, params: [jsonPath(node.value, node)] };
}

/**
 * A quoted JSON path label, so keys with dots or dashes address one member.
 * SQLite paths have no escape for '"', so such keys are refused rather than
 * allowed to reshape the path (label keys cannot contain them anyway).
 */
function jsonPath(key: string, node: CmpNode): string {
  if (key === '' || /["\\]/.test(key)) throw filterError(`invalid map key ${shown(key)}`, node.pos);
  return `$."${key}"`;
}

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
function contains(expr: SqlFragment, needle: string): SqlFragment {
  return {
    sql: `(${expr.sql} IS NOT NULL AND instr(lower(${expr.sql}), ?) > 0)`,
    params: [...expr.params, ...expr.params, asciiLower(needle)],
  };
}

/** Compares against a value that may lie between two whole milliseconds (see Millis). */
function compareMillis(expr: SqlFragment, op: Comparison, value: Millis): SqlFragment {
  if (value.exact) return compare(expr, op, value.floor);
  switch (op) {
    case '<':
    case '<=':
      return compare(expr, '<=', value.floor);
    case '>':
    case '>=':
      return compare(expr, '>=', value.floor + 1);
    case '=':
      return { ...NEVER, params: [] };
    case '!=':
      return { ...ALWAYS, params: [] };
  }
}

function isPresence(node: CmpNode): boolean {
  return node.op === ':' && node.value === '*' && !node.quoted;
}

/** For non-string fields ':' with a value means equality (state:ENABLED). */
function anyComparison(node: CmpNode): Comparison {
  return node.op === ':' ? '=' : node.op;
}

function equalityOnly(node: CmpNode, type: FieldType): Comparison {
  const op = anyComparison(node);
  if (op !== '=' && op !== '!=') {
    throw filterError(`operator '${node.op}' does not apply to ${type} field ${shown(node.field)}`, node.pos);
  }
  return op;
}

function enumName(node: CmpNode, field: FieldSpec): string {
  let name = node.value;
  if (/^\d+$/.test(node.value)) {
    const mapped = field.enumNumbers ? own(field.enumNumbers as Record<string, string>, String(Number(node.value))) : undefined;
    if (mapped === undefined) throw filterError(`invalid value ${shown(node.value)} for field ${shown(node.field)}`, node.pos);
    name = mapped;
  }
  if (field.enumValues && !field.enumValues.includes(name)) {
    throw filterError(`invalid value ${shown(node.value)} for field ${shown(node.field)}`, node.pos);
  }
  return name;
}

function need<T>(value: T | undefined, node: CmpNode, expected: string): T {
  if (value === undefined) {
    throw filterError(`invalid value ${shown(node.value)} for field ${shown(node.field)}: expected ${expected}`, node.pos);
  }
  return value;
}

// ---- order_by (https://google.aip.dev/132#ordering) ----

/**
 * "name", "create_time desc, name": the ordering, always ending with the
 * unique key (ascending) so that every row has exactly one position and
 * keyset paging neither skips nor repeats rows. Terms after a term on the
 * unique key could never decide anything and are dropped.
 */
export function compileOrderBy(orderBy: string | undefined, spec: CollectionSpec): OrderTerm[] {
  const requested = orderBy !== undefined && orderBy.trim() !== '' ? parseOrderBy(orderBy, spec) : defaultTerms(spec);
  const terms: OrderTerm[] = [];
  for (const term of requested) {
    terms.push(term);
    if (term.column === spec.uniqueKey) return terms;
  }
  terms.push({ field: uniqueFieldName(spec), column: spec.uniqueKey, desc: false });
  return terms;
}

function parseOrderBy(text: string, spec: CollectionSpec): OrderTerm[] {
  const terms: OrderTerm[] = [];
  let offset = 0;
  for (const raw of text.split(',')) {
    const pos = offset + (raw.length - raw.trimStart().length);
    offset += raw.length + 1;
    const term = parseOrderItem(raw.trim(), pos, spec);
    if (terms.some((t) => t.field === term.field)) throw orderByError(`field ${shown(term.field)} appears twice`, pos);
    terms.push(term);
  }
  return terms;
}

function parseOrderItem(item: string, pos: number, spec: CollectionSpec): OrderTerm {
  if (item === '') throw orderByError('expected a field name', pos);
  const [field, direction, extra] = item.split(/\s+/);
  if (extra !== undefined) throw orderByError(`unexpected ${shown(extra)} after ${shown(`${field} ${direction}`)}`, pos);
  const fieldSpec = own(spec.fields, field);
  if (!fieldSpec) {
    const mapName = field.split('.')[0];
    if (own(spec.mapFields, mapName) !== undefined) throw orderByError(`map field ${shown(field)} cannot be ordered by`, pos);
    throw orderByError(`unknown field ${shown(field)}`, pos);
  }
  return { field, column: orderColumn(fieldSpec), desc: isDescending(direction, field, pos) };
}

function isDescending(direction: string | undefined, field: string, pos: number): boolean {
  if (direction === undefined) return false;
  const lower = direction.toLowerCase();
  if (lower === 'asc' || lower === 'desc') return lower === 'desc';
  throw orderByError(`invalid direction ${shown(direction)} for field ${shown(field)}, expected asc or desc`, pos);
}

function defaultTerms(spec: CollectionSpec): OrderTerm[] {
  return spec.defaultOrder.map(({ field, desc }) => {
    const fieldSpec = own(spec.fields, field);
    if (!fieldSpec) throw new Error(`CollectionSpec.defaultOrder names unknown field '${field}'`);
    return { field, column: orderColumn(fieldSpec), desc: desc === true };
  });
}

/**
 * Enums are stored by name but ordered by number, as their proto values are.
 * The CASE text comes from the spec, never from the request; ELSE -1 keeps
 * the expression NOT NULL for names the spec does not know.
 */
function orderColumn(field: FieldSpec): string {
  if (field.orderColumn !== undefined) return field.orderColumn;
  if (field.type !== 'enum' || !field.enumNumbers) return field.column;
  const whens = Object.entries(field.enumNumbers).map(
    ([number, name]) => `WHEN '${name.replace(/'/g, "''")}' THEN ${Number(number)}`,
  );
  return whens.length === 0 ? field.column : `(CASE ${field.column} ${whens.join(' ')} ELSE -1 END)`;
}

function uniqueFieldName(spec: CollectionSpec): string {
  const match = Object.entries(spec.fields).find(([, f]) => f.column === spec.uniqueKey);
  return match ? match[0] : spec.uniqueKey;
}

function orderByError(message: string, pos: number): KmsError {
  return invalidArgument(`order_by: ${message} at position ${pos}`);
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

/** Own properties only: a field named "constructor" or "toString" must not find Object.prototype. */
function own<T>(record: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}
