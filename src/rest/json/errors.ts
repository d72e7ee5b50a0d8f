// The errors of the JSON mapping, in the wording of Google's front ends.
import { invalidArgument, KmsError } from '../../errors';
import { isObject, Kind, Spec } from './reflection';

export const PAYLOAD = 'Invalid JSON payload received.';

export function at(path: string): string {
  return path === '' ? '' : ` at '${path}'`;
}

export function showValue(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 100 ? `${s.slice(0, 100)}...` : s;
}

export function invalidValue(path: string, spec: Spec, v: unknown): KmsError {
  const detail = isObject(v) && spec.kind !== Kind.MESSAGE && spec.kind !== Kind.ANY && spec.kind !== Kind.STRUCT
    ? 'Starting an object on a scalar field'
    : showValue(v);
  return invalidArgument(`Invalid value at '${path}' (${spec.label}), ${detail}`);
}

export function invalidDetail(path: string, spec: Spec, jsonName: string, detail: string): KmsError {
  return invalidArgument(`Invalid value at '${path}' (${spec.label}), Field '${jsonName}', ${detail}`);
}

export function unknownName(name: string, path: string, detail: string): KmsError {
  return invalidArgument(`${PAYLOAD} Unknown name ${JSON.stringify(name)}${at(path)}: ${detail}`);
}
