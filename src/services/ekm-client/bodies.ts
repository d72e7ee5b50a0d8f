// Request bodies and answer reading for the EKM protocol (src/protocol/ekm.ts):
// proto3 JSON, bytes as standard base64, and the additionalContext every
// request carries.
import { decodeBase64 } from '../../base64';
import type { AdditionalContext, AsymmetricSignRequest } from '../../protocol/ekm';
import type { CallInfo } from './types';

export type Answer = Record<string, unknown>;

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
