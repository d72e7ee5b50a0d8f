// In-memory evaluation of a parsed filter, for catalogues too small to keep in
// SQL (ListLocations). Values are compared as text only, with the same
// meaning the SQL compiler gives string fields: '=' exact, ':' case-insensitive
// substring, ':*' present, '<' etc. by code point, and a missing value failing
// every comparison except '!='.

import { CmpNode, FilterNode, filterError, shown } from './filter';
import { asciiLower, compareCodePoints } from './values';

/** Returns a field's value as text, or undefined when there is no such field (a known but empty field gives ''). */
export type FieldGetter = (field: string) => string | undefined;
/** Returns one map entry (labels.env → map "labels", key "env"), or undefined when the key is absent. */
export type MapGetter = (map: string, key: string) => string | undefined;

/**
 * Whether one item matches. A field `get` does not know is INVALID_ARGUMENT;
 * a dotted path it does not know goes to `mapGet`. All comparisons are
 * evaluated, without short-circuiting, so an unknown field is reported on
 * every item rather than only on those earlier terms did not decide.
 * Call validateFilterFields first when the catalogue may be empty or map
 * names must be checked too.
 */
export function matchesFilter(node: FilterNode | undefined, get: FieldGetter, mapGet?: MapGetter): boolean {
  return node === undefined ? true : evaluate(node, get, mapGet);
}

function evaluate(node: FilterNode, get: FieldGetter, mapGet: MapGetter | undefined): boolean {
  switch (node.kind) {
    case 'and':
      return node.items.map((item) => evaluate(item, get, mapGet)).every(Boolean);
    case 'or':
      return node.items.map((item) => evaluate(item, get, mapGet)).some(Boolean);
    case 'not':
      return !evaluate(node.item, get, mapGet);
    case 'cmp':
      return evaluateComparison(node, get, mapGet);
  }
}

function evaluateComparison(node: CmpNode, get: FieldGetter, mapGet: MapGetter | undefined): boolean {
  const plain = get(node.field);
  // A plain field is "present" when non-empty, as proto3 scalars are.
  if (plain !== undefined) return compareText(node, plain, plain !== '');
  const dot = node.field.indexOf('.');
  if (dot > 0 && mapGet) {
    const entry = mapGet(node.field.slice(0, dot), node.field.slice(dot + 1));
    return compareText(node, entry, entry !== undefined);
  }
  throw filterError(`unknown field ${shown(node.field)}`, node.pos);
}

function compareText(node: CmpNode, value: string | undefined, present: boolean): boolean {
  if (node.op === ':' && node.value === '*' && !node.quoted) return present;
  if (value === undefined) return node.op === '!=';
  const order = compareCodePoints(value, node.value);
  switch (node.op) {
    case ':':
      return asciiLower(value).includes(asciiLower(node.value));
    case '=':
      return order === 0;
    case '!=':
      return order !== 0;
    case '<':
      return order < 0;
    case '<=':
      return order <= 0;
    case '>':
      return order > 0;
    case '>=':
      return order >= 0;
  }
}

/**
 * Checks every field a filter names against the known plain fields and map
 * names, so an unknown field is refused even when there is nothing to match.
 */
export function validateFilterFields(node: FilterNode | undefined, fields: readonly string[], maps: readonly string[] = []): void {
  if (node === undefined) return;
  switch (node.kind) {
    case 'and':
    case 'or':
      node.items.forEach((item) => validateFilterFields(item, fields, maps));
      return;
    case 'not':
      validateFilterFields(node.item, fields, maps);
      return;
    case 'cmp': {
      const dot = node.field.indexOf('.');
      const known = fields.includes(node.field) || (dot > 0 && maps.includes(node.field.slice(0, dot)));
      if (!known) throw filterError(`unknown field ${shown(node.field)}`, node.pos);
    }
  }
}
