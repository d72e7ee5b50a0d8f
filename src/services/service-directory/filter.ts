// Service Directory's list filters and ResolveService's endpoint_filter:
// AIP-160 text, parsed by the shared parser (src/list/filter.ts) and run in
// SQL by the shared compiler (src/list/query.ts), with the meaning Service
// Directory documents where it differs from Cloud KMS's:
// - a field the resource does not have (`doesnotexist.foo=bar`) matches
//   nothing instead of being an error;
// - `annotations.KEY!=v` holds only where the key is present (the documented
//   example: "have `owner` in annotation key but value is not `sd`");
// - `:` with a value means equality ("`:` means HAS, and is roughly the same
//   as `=`"), `:*` presence, and `annotations:KEY` that the map has KEY;
// - values must suit the field's type: `port` takes integers.
// The request is rewritten into an equivalent tree, simplified (constant
// comparisons folded away), and printed back as filter text the compiler
// reads; syntax errors name the request field (`filter` or `endpoint_filter`).
import { Code, KmsError, invalidArgument } from '../../errors';
import type { ApiField, ListFields } from '../../list/check';
import { type CmpNode, type FilterNode, parseFilter, shown } from '../../list/filter';
import { parseInteger } from '../../list/values';

/** The filterable fields of one collection (the store has a column for each: src/store/sqlite-directory.ts). */
export interface FilterFields {
  strings: readonly string[];
  integers: readonly string[];
  maps: readonly string[];
}

export const NAMESPACE_FILTER_FIELDS: FilterFields = { strings: ['name'], integers: [], maps: ['labels'] };
export const SERVICE_FILTER_FIELDS: FilterFields = { strings: ['name'], integers: [], maps: ['annotations'] };
export const ENDPOINT_FILTER_FIELDS: FilterFields = { strings: ['name', 'address'], integers: ['port'], maps: ['annotations'] };

const listFields = new WeakMap<FilterFields, ListFields>();

/**
 * The same fields as the shared list checker takes them (list/check.ts);
 * lists order by name unless asked. Made once per FilterFields.
 */
export function listFieldsOf(fields: FilterFields): ListFields {
  let made = listFields.get(fields);
  if (!made) {
    const all: Record<string, ApiField> = {};
    for (const f of fields.strings) all[f] = { type: 'string' };
    for (const f of fields.integers) all[f] = { type: 'integer' };
    made = { fields: all, mapFields: fields.maps, defaultOrder: [{ field: 'name' }] };
    listFields.set(fields, made);
  }
  return made;
}

/** What a filter selects: everything (no filter), nothing (it can never hold), or the rows `text` selects. */
export type DirectoryFilter = { match: 'all' } | { match: 'none' } | { match: 'some'; text: string };

type Tree = FilterNode | { kind: 'const'; value: boolean };

const TRUE: Tree = { kind: 'const', value: true };
const FALSE: Tree = { kind: 'const', value: false };

/** Parses and rewrites a filter; INVALID_ARGUMENT naming `field` when it cannot be read. */
export function directoryFilter(text: unknown, fields: FilterFields, field: string): DirectoryFilter {
  if (text != null && typeof text !== 'string') throw invalidArgument(`${field}: must be a string.`);
  const parsed = renamingErrors(field, () => parseFilter(text ?? ''));
  if (parsed === undefined) return { match: 'all' };
  const tree = rewrite(parsed, fields, field);
  if (tree.kind === 'const') return { match: tree.value ? 'all' : 'none' };
  return { match: 'some', text: print(tree) };
}

/**
 * Checks an endpoint filter without running it (for a ServiceResolver's
 * endpoint_filter when an EkmConnection is written): INVALID_ARGUMENT naming `field`.
 */
export function checkEndpointFilter(text: unknown, field: string): void {
  directoryFilter(text, ENDPOINT_FILTER_FIELDS, field);
}

/** Reports errors of the shared filter code (worded "filter: …") under the request's own field name. */
export function renamingErrors<T>(field: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (field !== 'filter' && err instanceof KmsError && err.code === Code.INVALID_ARGUMENT && err.message.startsWith('filter:')) {
      throw new KmsError(err.code, `${field}${err.message.slice('filter'.length)}`, err.details);
    }
    throw err;
  }
}

function rewrite(node: FilterNode, fields: FilterFields, field: string): Tree {
  switch (node.kind) {
    case 'and':
      return junction('and', node.items.map((item) => rewrite(item, fields, field)));
    case 'or':
      return junction('or', node.items.map((item) => rewrite(item, fields, field)));
    case 'not': {
      const inner = rewrite(node.item, fields, field);
      return inner.kind === 'const' ? (inner.value ? FALSE : TRUE) : { kind: 'not', item: inner };
    }
    case 'cmp':
      return comparison(node, fields, field);
  }
}

/** AND/OR with constants folded: AND drops TRUE and is FALSE with any FALSE; OR the other way round. */
function junction(kind: 'and' | 'or', items: Tree[]): Tree {
  const absorbing = kind === 'and' ? false : true;
  const kept: FilterNode[] = [];
  for (const item of items) {
    if (item.kind === 'const') {
      if (item.value === absorbing) return item;
      continue;
    }
    if (item.kind === kind) kept.push(...item.items);
    else kept.push(item);
  }
  if (kept.length === 0) return absorbing ? FALSE : TRUE;
  return kept.length === 1 ? kept[0] : { kind, items: kept };
}

const isPresence = (node: CmpNode): boolean => node.op === ':' && node.value === '*' && !node.quoted;

function comparison(node: CmpNode, fields: FilterFields, field: string): Tree {
  const error = (message: string) => invalidArgument(`${field}: ${message} at position ${node.pos ?? 0}`);
  // ':' with a value is equality, except on a whole map, where it names a key.
  const op = node.op === ':' && !isPresence(node) ? '=' : node.op;
  if (fields.strings.includes(node.field)) return { ...node, op };
  if (fields.integers.includes(node.field)) {
    if (!isPresence(node) && parseInteger(node.value) === undefined) {
      throw error(`invalid value ${shown(node.value)} for field ${shown(node.field)}: expected an integer`);
    }
    return { ...node, op };
  }
  if (fields.maps.includes(node.field)) {
    if (node.op !== ':' || isPresence(node)) {
      throw error(`map field ${shown(node.field)} takes a key: ${node.field}.KEY or ${node.field}:KEY`);
    }
    checkMapKey(node.value, error);
    return node;
  }
  const dot = node.field.indexOf('.');
  if (dot > 0 && fields.maps.includes(node.field.slice(0, dot))) {
    checkMapKey(node.field.slice(dot + 1), error);
    if (op !== '!=') return { ...node, op };
    // Present and different, as Service Directory documents.
    return { kind: 'and', items: [{ ...node, op: ':', value: '*', quoted: false }, { ...node, op }] };
  }
  // A field the resource does not have: "the filter does not match any", so the comparison is false.
  return FALSE;
}

/** Keys reach SQL as quoted JSON path labels, which have no escape for '"' or '\'. */
function checkMapKey(key: string, error: (message: string) => KmsError): void {
  if (key === '' || /["\\]/.test(key)) throw error(`invalid map key ${shown(key)}`);
}

// Printing: the shared grammar binds NOT tighter than OR, and OR tighter than
// AND, so only an AND inside an OR or a NOT, and an OR inside a NOT, need
// parentheses. Values are always quoted (a quoted '*' is a literal star), except
// the presence star.
function print(node: FilterNode): string {
  switch (node.kind) {
    case 'and':
      return node.items.map(print).join(' AND ');
    case 'or':
      return node.items.map((item) => (item.kind === 'and' ? `(${print(item)})` : print(item))).join(' OR ');
    case 'not':
      return node.item.kind === 'cmp' || node.item.kind === 'not' ? `NOT ${print(node.item)}` : `NOT (${print(node.item)})`;
    case 'cmp':
      return isPresence(node) ? `${node.field}:*` : `${node.field}${node.op}${quote(node.value)}`;
  }
}

const quote = (value: string): string => `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
