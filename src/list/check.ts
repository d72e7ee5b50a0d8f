// The API side of a list: a filter's text and an order_by read against the
// fields a collection offers (names as Cloud KMS spells them, their types,
// an enum's names), every error naming the field and position. What comes
// out holds no text to parse and no API rule: typed comparisons on named
// fields, which a store compiles to its own query language (sql.ts).
import { invalidArgument, KmsError } from '../errors';
import { type CmpNode, type CmpOp, type FilterNode, filterError, parseFilter, shown } from './filter';
import { type Millis, parseBoolean, parseDuration, parseInteger, parseTimestamp } from './values';

export type FieldType = 'string' | 'enum' | 'timestamp' | 'integer' | 'boolean' | 'duration';
export type Comparison = Exclude<CmpOp, ':'>;

/** One filterable and orderable field of a collection, as the API offers it. */
export interface ApiField {
  type: FieldType;
  /** For enums: the names a filter may use. */
  enumValues?: readonly string[];
  /** For enums: number → name, so filters may use numbers and ordering follows the numbers as in the proto. */
  enumNumbers?: Readonly<Record<number, string>>;
}

export interface ListFields {
  /** Filter and order_by names (snake_case paths such as primary.state). */
  fields: Readonly<Record<string, ApiField>>;
  /** Map fields (labels, annotations): string keys to string values. */
  mapFields?: readonly string[];
  /** Names from `fields`, used when order_by is empty. */
  defaultOrder: readonly { field: string; desc?: boolean }[];
}

/** What a comparison is about: a field, or one key of a map field. */
export type Target = { field: string } | { map: string; key: string };

/** Values as the API means them: strings, enum names, integers, booleans, times and durations in milliseconds. */
export type FilterValue = string | number | boolean;

export type CheckedFilter =
  | { kind: 'and' | 'or'; items: CheckedFilter[] }
  | { kind: 'not'; item: CheckedFilter }
  | { kind: 'const'; value: boolean }
  /** The field is set (and, for strings, not empty); the map has the key. */
  | { kind: 'present'; target: Target; nonEmpty: boolean }
  | { kind: 'compare'; target: Target; op: Comparison; value: FilterValue }
  /** Case-insensitive substring (Cloud KMS's ':' on strings). */
  | { kind: 'contains'; target: Target; needle: string };

export interface OrderRequest {
  field: string;
  desc: boolean;
  /** Enums order by number, as their proto values do. */
  enumNumbers?: Readonly<Record<number, string>>;
}

const TIMESTAMP_HINT = 'an RFC 3339 timestamp such as 2024-01-02T03:04:05Z';
const DURATION_HINT = 'a duration in seconds such as 86400s';

/** The filter, checked; undefined for no filter (every row). */
export function checkFilter(text: string | undefined, fields: ListFields): CheckedFilter | undefined {
  const node = parseFilter(text ?? '');
  return node ? checkNode(node, fields) : undefined;
}

function checkNode(node: FilterNode, fields: ListFields): CheckedFilter {
  switch (node.kind) {
    case 'and':
    case 'or':
      return { kind: node.kind, items: node.items.map((item) => checkNode(item, fields)) };
    case 'not':
      return { kind: 'not', item: checkNode(node.item, fields) };
    case 'cmp':
      return checkComparison(node, fields);
  }
}

function checkComparison(node: CmpNode, fields: ListFields): CheckedFilter {
  const field = own(fields.fields, node.field);
  if (field) return checkField(node, field);
  const dot = node.field.indexOf('.');
  if (dot > 0 && fields.mapFields?.includes(node.field.slice(0, dot))) {
    return checkMapEntry(node, node.field.slice(0, dot), node.field.slice(dot + 1));
  }
  if (fields.mapFields?.includes(node.field)) return checkMapHasKey(node, node.field);
  throw filterError(`unknown field ${shown(node.field)}`, node.pos);
}

function checkField(node: CmpNode, field: ApiField): CheckedFilter {
  const target: Target = { field: node.field };
  if (isPresence(node)) return { kind: 'present', target, nonEmpty: field.type === 'string' };
  switch (field.type) {
    case 'string':
      return node.op === ':' ? { kind: 'contains', target, needle: node.value } : { kind: 'compare', target, op: node.op, value: node.value };
    case 'enum':
      return { kind: 'compare', target, op: equalityOnly(node, field.type), value: enumName(node, field) };
    case 'boolean':
      return { kind: 'compare', target, op: equalityOnly(node, field.type), value: need(parseBoolean(node.value), node, 'true or false') };
    case 'integer':
      return { kind: 'compare', target, op: anyComparison(node), value: need(parseInteger(node.value), node, 'an integer') };
    case 'timestamp':
      return compareMillis(target, anyComparison(node), need(parseTimestamp(node.value), node, TIMESTAMP_HINT));
    case 'duration':
      return compareMillis(target, anyComparison(node), need(parseDuration(node.value), node, DURATION_HINT));
  }
}

/** labels.KEY OP value. */
function checkMapEntry(node: CmpNode, map: string, key: string): CheckedFilter {
  const target: Target = { map, key: mapKey(key, node) };
  if (isPresence(node)) return { kind: 'present', target, nonEmpty: false };
  return node.op === ':' ? { kind: 'contains', target, needle: node.value } : { kind: 'compare', target, op: node.op, value: node.value };
}

/** AIP-160's "labels:KEY": the map has that key. */
function checkMapHasKey(node: CmpNode, map: string): CheckedFilter {
  if (node.op !== ':' || isPresence(node)) {
    throw filterError(`map field ${shown(node.field)} takes a key: ${node.field}.KEY or ${node.field}:KEY`, node.pos);
  }
  return { kind: 'present', target: { map, key: mapKey(node.value, node) }, nonEmpty: false };
}

/** A map key a filter may name: label keys never hold '"' or '\', and stores quote keys with them. */
function mapKey(key: string, node: CmpNode): string {
  if (key === '' || /["\\]/.test(key)) throw filterError(`invalid map key ${shown(key)}`, node.pos);
  return key;
}

/** A value that may lie between two whole milliseconds (see Millis), as whole-millisecond comparisons. */
function compareMillis(target: Target, op: Comparison, value: Millis): CheckedFilter {
  if (value.exact) return { kind: 'compare', target, op, value: value.floor };
  switch (op) {
    case '<':
    case '<=':
      return { kind: 'compare', target, op: '<=', value: value.floor };
    case '>':
    case '>=':
      return { kind: 'compare', target, op: '>=', value: value.floor + 1 };
    case '=':
      return { kind: 'const', value: false };
    case '!=':
      return { kind: 'const', value: true };
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

function enumName(node: CmpNode, field: ApiField): string {
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

/** "name", "create_time desc, name": the requested order, or the collection's default. */
export function checkOrderBy(orderBy: string | undefined, fields: ListFields): OrderRequest[] {
  if (orderBy === undefined || orderBy.trim() === '') {
    return fields.defaultOrder.map(({ field, desc }) => {
      const spec = own(fields.fields, field);
      if (!spec) throw new Error(`ListFields.defaultOrder names unknown field '${field}'`);
      return { field, desc: desc === true, enumNumbers: spec.type === 'enum' ? spec.enumNumbers : undefined };
    });
  }
  const terms: OrderRequest[] = [];
  let offset = 0;
  for (const raw of orderBy.split(',')) {
    const pos = offset + (raw.length - raw.trimStart().length);
    offset += raw.length + 1;
    const term = checkOrderItem(raw.trim(), pos, fields);
    if (terms.some((t) => t.field === term.field)) throw orderByError(`field ${shown(term.field)} appears twice`, pos);
    terms.push(term);
  }
  return terms;
}

function checkOrderItem(item: string, pos: number, fields: ListFields): OrderRequest {
  if (item === '') throw orderByError('expected a field name', pos);
  const [field, direction, extra] = item.split(/\s+/);
  if (extra !== undefined) throw orderByError(`unexpected ${shown(extra)} after ${shown(`${field} ${direction}`)}`, pos);
  const spec = own(fields.fields, field);
  if (!spec) {
    if (fields.mapFields?.includes(field.split('.')[0])) throw orderByError(`map field ${shown(field)} cannot be ordered by`, pos);
    throw orderByError(`unknown field ${shown(field)}`, pos);
  }
  return { field, desc: isDescending(direction, field, pos), enumNumbers: spec.type === 'enum' ? spec.enumNumbers : undefined };
}

function isDescending(direction: string | undefined, field: string, pos: number): boolean {
  if (direction === undefined) return false;
  const lower = direction.toLowerCase();
  if (lower === 'asc' || lower === 'desc') return lower === 'desc';
  throw orderByError(`invalid direction ${shown(direction)} for field ${shown(field)}, expected asc or desc`, pos);
}

function orderByError(message: string, pos: number): KmsError {
  return invalidArgument(`order_by: ${message} at position ${pos}`);
}

/** Own properties only: a field named "constructor" or "toString" must not find Object.prototype. */
export function own<T>(record: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}
