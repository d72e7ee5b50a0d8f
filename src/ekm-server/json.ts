// Reading proto3-JSON request bodies leniently, as partner EKMs do: field
// names in lowerCamelCase or snake_case (the proto's own names), `null` as
// absent, unknown fields ignored (so an older EKM keeps serving a newer KMS);
// bytes as base64 (standard or URL-safe, padding optional), enums by name or
// number. Malformed input is INVALID_ARGUMENT with a field violation naming
// the field.
import { decodeBase64 } from '../base64';
import { invalidArgument } from '../errors';
import { fieldError } from './errors';
import { jsonDepthWithin, MAX_JSON_DEPTH } from '../http-intake';
import { ACCESS_REASONS, type AccessReason } from '../protocol/ekm';

export type JsonObject = Record<string, unknown>;


export function parseJsonObject(body: Buffer): JsonObject {
  if (body.length === 0) return {};
  if (!jsonDepthWithin(body, MAX_JSON_DEPTH)) throw invalidArgument(`The request body nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep.`);
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw invalidArgument('The request body is not valid JSON.');
  }
  if (!isObject(value)) throw invalidArgument('The request body must be a JSON object.');
  return value;
}

/** A protocol request body (data and control plane), read leniently: see normalised(). */
export function parseRequestBody(body: Buffer): JsonObject {
  return normalised(parseJsonObject(body));
}

const SNAKE = /_([a-z0-9])/g;

/**
 * The body with snake_case names as lowerCamelCase and nulls dropped, at
 * every depth. Where a body gives both forms of one name, the lowerCamelCase
 * one wins (proto3 JSON parsers refuse such a body; partners take either).
 */
function normalised(obj: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(obj)) {
    // null is absent; a "__proto__" member would become the object's prototype if assigned.
    if (value === null || key === '__proto__') continue;
    const name = key.includes('_') ? key.replace(SNAKE, (_, c: string) => c.toUpperCase()) : key;
    if (name !== key && Object.hasOwn(obj, name) && obj[name] !== null) continue;
    out[name] = isObject(value) ? normalised(value) : Array.isArray(value) ? value.map((v) => (isObject(v) ? normalised(v) : v)) : value;
  }
  return out;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export interface BytesRule {
  required?: boolean;
  maxBytes: number;
}

/** A bytes field; undefined when absent and not required. */
export function bytesField(obj: JsonObject, name: string, rule: BytesRule, prefix = ''): Buffer | undefined {
  const value = obj[name];
  const field = `${prefix}${name}`;
  if (value === undefined || value === null) {
    if (rule.required) throw fieldError(field, `${field} is required.`);
    return undefined;
  }
  if (typeof value !== 'string') throw fieldError(field, `${field} must be a base64 string.`);
  const bytes = decodeBase64(value);
  if (bytes === undefined) throw fieldError(field, `${field} is not valid base64.`);
  if (bytes.length > rule.maxBytes) throw fieldError(field, `${field} must be at most ${rule.maxBytes} bytes.`);
  return bytes;
}

export function requiredBytes(obj: JsonObject, name: string, maxBytes: number, prefix = ''): Buffer {
  return bytesField(obj, name, { required: true, maxBytes }, prefix) as Buffer;
}

export function stringField(obj: JsonObject, name: string, maxLength: number): string | undefined {
  const value = obj[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw fieldError(name, `${name} must be a string.`);
  if (value.length > maxLength) throw fieldError(name, `${name} must be at most ${maxLength} characters.`);
  return value;
}

export function stringListField(obj: JsonObject, name: string, maxItems: number): string[] {
  const value = obj[name];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw fieldError(name, `${name} must be a list of strings.`);
  }
  if (value.length > maxItems) throw fieldError(name, `${name} must have at most ${maxItems} entries.`);
  return value as string[];
}

/**
 * The access reason of a request, read leniently: the reason decides
 * authorization, so a malformed one is "unrecognized" (denied unless the
 * policy allows it), never a 400 that would skip the policy and the audit.
 */
export type ReasonReading =
  | { kind: 'missing' }
  | { kind: 'known'; reason: Exclude<AccessReason, 'REASON_UNSPECIFIED'> }
  | { kind: 'unrecognized'; raw: string };

export function readReason(body: JsonObject): ReasonReading {
  const context = body.additionalContext;
  const reasonContext = isObject(context) ? context.accessReasonContext : undefined;
  const raw = isObject(reasonContext) ? reasonContext.reason : undefined;
  if (raw === undefined || raw === null) return { kind: 'missing' };
  const name = typeof raw === 'number' && Number.isInteger(raw) ? ACCESS_REASONS[raw] : raw;
  if (name === 'REASON_UNSPECIFIED') return { kind: 'missing' };
  if (typeof name === 'string' && (ACCESS_REASONS as readonly string[]).includes(name)) {
    return { kind: 'known', reason: name as Exclude<AccessReason, 'REASON_UNSPECIFIED'> };
  }
  return { kind: 'unrecognized', raw: String(JSON.stringify(raw)).slice(0, 64) };
}

/** additionalContext.relativeResourceName (the KMS key version), for the audit log. */
export function kmsResource(body: JsonObject): string | undefined {
  const context = body.additionalContext;
  const name = isObject(context) ? context.relativeResourceName : undefined;
  return typeof name === 'string' ? name.slice(0, 512) : undefined;
}

export function isHealthCheck(body: JsonObject): boolean {
  const context = body.additionalContext;
  return isObject(context) && context.isKeyHealthCheck === true;
}
