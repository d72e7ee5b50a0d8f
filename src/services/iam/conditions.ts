// IAM Conditions on bindings: a google.type.Expr whose expression is CEL
// (parsed with @bufbuild/cel, a maintained implementation of the CEL spec).
// Cloud IAM requires a title and bounds the expression's size; a binding's
// condition is checked when the policy is set, so a policy never holds one
// that can't be evaluated.
import { parse } from '@bufbuild/cel';
import { invalidArgument } from '../../errors';
import type { Binding } from '../../proto/wire';

/** Cloud IAM's limits on a condition. */
const MAX_EXPRESSION = 12_800;
const MAX_TITLE = 100;
const MAX_DESCRIPTION = 256;

export function checkCondition(condition: NonNullable<Binding['condition']>, field: string): void {
  const expression = condition.expression ?? '';
  const title = condition.title ?? '';
  if (title === '') throw invalidArgument(`${field}.title: required field is empty.`);
  if (title.length > MAX_TITLE) throw invalidArgument(`${field}.title: longer than ${MAX_TITLE} characters.`);
  if ((condition.description ?? '').length > MAX_DESCRIPTION) throw invalidArgument(`${field}.description: longer than ${MAX_DESCRIPTION} characters.`);
  if (expression.trim() === '') throw invalidArgument(`${field}.expression: required field is empty.`);
  if (expression.length > MAX_EXPRESSION) throw invalidArgument(`${field}.expression: longer than ${MAX_EXPRESSION} characters.`);
  try {
    parse(expression);
  } catch (err) {
    // The parser's own words name its grammar; ours give the place.
    const at = /:(\d+):(\d+):/.exec(err instanceof Error ? err.message : '');
    throw invalidArgument(`${field}.expression: not a valid CEL expression${at ? ` (syntax error at line ${at[1]}, column ${at[2]})` : ''}.`);
  }
}
