// Request bodies and answer reading for the EKM protocol (src/protocol/ekm.ts):
// proto3 JSON, bytes as standard base64, and the additionalContext every
// request carries.
import { decodeBase64 } from '../../base64';
import type { AdditionalContext, AsymmetricSignRequest } from '../../protocol/ekm';
import type { CallInfo } from './types';

export type Answer = Record<string, unknown>;

/**
 * Bytes as a JSON string value: base64 never needs escaping, so it is written
 * between quotes as it is, where JSON.stringify would scan the whole string
 * for characters to escape (~8 us of each 1 KiB wrap, measured in the KMS).
 */
export class Base64Value {
  readonly text: string;

  constructor(bytes: Buffer) {
    this.text = bytes.toString('base64');
  }

  toJSON(): string {
    return this.text;
  }
}

/** A value already written as JSON text (a request context), copied into a body as it is. */
export class JsonText {
  constructor(readonly json: string) {}
}

// A key that is its own JSON text between quotes.
const PLAIN_KEY = /^[A-Za-z0-9_]+$/;

/** A request body as JSON text: top-level Base64Values and JsonTexts written as they are, anything else through JSON.stringify. */
export function bodyJson(body: object): string {
  let text = '';
  for (const [key, value] of Object.entries(body)) {
    if (value === undefined) continue;
    const name = PLAIN_KEY.test(key) ? `"${key}"` : JSON.stringify(key);
    text += `${text === '' ? '{' : ','}${name}:${jsonOf(value)}`;
  }
  return text === '' ? '{}' : `${text}}`;
}

function jsonOf(value: unknown): string {
  if (value instanceof Base64Value) return `"${value.text}"`;
  return value instanceof JsonText ? value.json : JSON.stringify(value);
}

// The contexts' JSON by (reason, probe, resource): every call on a key
// version repeats the same few, so each is written once (bounded, emptied
// when full).
const CONTEXTS = new Map<string, JsonText>();
const CONTEXT_LIMIT = 10_000;

/** keyContext(call) as JSON text, remembered. */
export function contextJson(call: CallInfo): JsonText {
  const id = `${call.reason}\0${call.isKeyHealthCheck ? 1 : 0}\0${call.resourceName}`;
  let text = CONTEXTS.get(id);
  if (!text) {
    text = new JsonText(JSON.stringify(keyContext(call)));
    if (CONTEXTS.size >= CONTEXT_LIMIT) CONTEXTS.clear();
    CONTEXTS.set(id, text);
  }
  return text;
}

/** The request context: which KMS resource, why, and whether it is a health probe. */
export function keyContext(call: CallInfo): AdditionalContext {
  return {
    fullResourceName: `//cloudkms.googleapis.com/${call.resourceName}`,
    relativeResourceName: call.resourceName,
    accessReasonContext: { reason: call.reason },
    isKeyHealthCheck: call.isKeyHealthCheck ?? false,
  };
}

/** asymmetricSign's body: the digest (only the fields given) or the data. */
export function signRequest(
  input: { digest?: { sha256?: Buffer; sha384?: Buffer; sha512?: Buffer }; data?: Buffer },
  call: CallInfo,
): AsymmetricSignRequest {
  const body: AsymmetricSignRequest = { additionalContext: keyContext(call) };
  if (input.digest) {
    body.digest = {};
    for (const name of ['sha256', 'sha384', 'sha512'] as const) {
      const value = input.digest[name];
      if (value) body.digest[name] = value.toString('base64');
    }
  }
  if (input.data) body.data = input.data.toString('base64');
  return body;
}

/** A JSON object answer, or undefined. An empty body reads as {} (destroyKey may answer nothing). */
export function parseAnswer(body: Buffer): Answer | undefined {
  if (body.length === 0) return {};
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Answer) : undefined;
  } catch {
    return undefined;
  }
}

export function stringField(answer: Answer, name: string): string | undefined {
  const value = answer[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * Bytes from a base64 field (standard or URL-safe, padding optional, as the
 * protocol lets a server write them); undefined when absent or not base64,
 * since Buffer.from would silently skip bad characters. An empty string is
 * an empty value (unwrap of an empty plaintext).
 */
export function decodeBytes(value: unknown): Buffer | undefined {
  return typeof value === 'string' ? decodeBase64(value) : undefined;
}

/**
 * A key or crypto space path as a URL path (no leading slash). Key paths are
 * opaque strings; characters a URL path can't carry literally are
 * percent-encoded, so a path can never smuggle a query or fragment.
 */
export function encodePath(path: string): string {
  return path.replace(/^\/+/, '').replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@/]/gu, (c) =>
    [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''));
}
