// FieldMask handling for Update RPCs. Paths arrive in snake_case over gRPC and
// may arrive in lowerCamelCase from JSON clients; both are accepted.
import { invalidArgument } from '../errors';

const snake = (path: string): string => path.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** The mask's paths in snake_case; INVALID_ARGUMENT for an empty mask or a path that can't be updated. */
export function normaliseMask(mask: unknown, mutable: ReadonlySet<string>, immutable: ReadonlySet<string>): string[] {
  const paths = ((mask as { paths?: unknown[] } | undefined)?.paths ?? []) as unknown[];
  if (paths.length === 0) throw invalidArgument('update_mask: required field is empty.');
  return paths.map((raw) => {
    const path = snake(String(raw));
    if (mutable.has(path)) return path;
    if (immutable.has(path)) throw invalidArgument(`update_mask: field '${path}' cannot be updated.`);
    throw invalidArgument(`update_mask: unknown field '${String(raw).slice(0, 80)}'.`);
  });
}
