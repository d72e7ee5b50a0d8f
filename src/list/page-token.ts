// Page tokens (https://google.aip.dev/158) carry the order values of the last
// row of a page, so the next page starts strictly after it (keyset paging).
// A token is opaque to clients but must not be forgeable: its values reach
// SQL (as bound parameters) and must come from a row we really returned for
// the same query. So each token is MACed together with a scope naming the
// RPC, parent, filter and order_by; a token from another query is refused.
//
// Layout, URL-safe base64 without padding:
//   version (1 byte) || JSON array of values || HMAC-SHA256(...) truncated to 16 bytes
// The MAC covers length(scope) || scope || version || JSON, the length prefix
// keeping (scope, payload) pairs from being re-split into a different pair.

import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { invalidArgument, KmsError } from '../errors';

export type TokenValue = string | number | null;

const VERSION = 1;
const MAC_BYTES = 16;
// Generous for several order values holding resource names, small enough
// that a hostile token costs little to refuse.
const MAX_TOKEN_CHARS = 8192;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

export class PageTokenCodec {
  private readonly key: Buffer;

  /** secret: 32 random bytes. A key for this one purpose is derived from it, so the secret may also serve others. */
  constructor(secret: Buffer) {
    if (!Buffer.isBuffer(secret) || secret.length !== 32) throw new RangeError('PageTokenCodec: the secret must be 32 bytes');
    this.key = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'openekm page token v1', 32));
  }

  encode(scope: string, values: readonly TokenValue[]): string {
    values.forEach(assertTokenValue);
    const body = Buffer.concat([Buffer.of(VERSION), Buffer.from(JSON.stringify(values), 'utf8')]);
    return Buffer.concat([body, this.mac(scope, body)]).toString('base64url');
  }

  /** The values of a token made by encode for the same scope; anything else is INVALID_ARGUMENT naming page_token. */
  decode(token: string, scope: string): TokenValue[] {
    const bytes = decodeBase64Url(token);
    if (bytes.length <= 1 + MAC_BYTES || bytes[0] !== VERSION) throw malformed();
    const body = bytes.subarray(0, bytes.length - MAC_BYTES);
    const mac = bytes.subarray(bytes.length - MAC_BYTES);
    // One answer for a bad MAC and for another query's token: both mean "not a token for this request".
    if (!timingSafeEqual(mac, this.mac(scope, body))) {
      throw invalidArgument('page_token: not a token issued for this request (filter, order_by and parent must stay the same)');
    }
    return parseValues(body.subarray(1));
  }

  private mac(scope: string, body: Buffer): Buffer {
    const scopeBytes = Buffer.from(scope, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(scopeBytes.length);
    return createHmac('sha256', this.key).update(length).update(scopeBytes).update(body).digest().subarray(0, MAC_BYTES);
  }
}

/**
 * The scope of a token: everything that must stay the same between pages
 * (AIP-158). page_size may change, so it is not part of it.
 */
export function listScope(rpc: string, parent: string, filter: string | undefined, orderBy: string | undefined): string {
  return JSON.stringify([rpc, parent, filter ?? '', orderBy ?? '']);
}

/** The page size to use: 0 or unset → max (the default), above max → max, negative or fractional → INVALID_ARGUMENT. */
export function pageSize(requested: number | undefined, max = 1000): number {
  if (requested === undefined || requested === 0) return max;
  if (!Number.isInteger(requested)) throw invalidArgument(`page_size: must be an integer, got ${requested}`);
  if (requested < 0) throw invalidArgument(`page_size: must not be negative, got ${requested}`);
  return Math.min(requested, max);
}

function malformed(): KmsError {
  return invalidArgument('page_token: malformed');
}

/** Strict: Buffer.from(…, 'base64url') skips characters it does not know, which would let many strings pass as one token. */
function decodeBase64Url(token: string): Buffer {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_CHARS || !BASE64URL.test(token)) throw malformed();
  const bytes = Buffer.from(token, 'base64url');
  if (bytes.toString('base64url') !== token) throw malformed();
  return bytes;
}

function parseValues(json: Buffer): TokenValue[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json.toString('utf8'));
  } catch {
    throw malformed();
  }
  // A valid MAC means we wrote this, so a bad shape is a bug or a changed format; still refuse it cleanly.
  if (!Array.isArray(parsed) || !parsed.every(isTokenValue)) throw malformed();
  return parsed as TokenValue[];
}

function isTokenValue(value: unknown): value is TokenValue {
  return value === null || typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value));
}

function assertTokenValue(value: unknown): void {
  if (!isTokenValue(value)) throw new TypeError('PageTokenCodec: values must be strings, finite numbers or null');
}
