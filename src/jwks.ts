// The public keys of one trusted token issuer, from a JWKS document (RFC 7517)
// in a file or at an https URL. Parsed keys are cached by kid; the document is
// read again (asynchronously, one read at a time) when a token names a kid the
// cache lacks, at most once per refresh interval, and in the background when
// the cache is older than maxAge, so rotated-out keys stop being trusted.
// The keys kept are handed to jose as a local key set (jwt.ts verifies with
// it); reading, refreshing and filtering the document is ours. Shared by the
// reference EKM (the KMS's tokens) and the KMS (its callers' tokens).
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { createLocalJWKSet } from 'jose';
import { readFile } from 'node:fs/promises';
import * as https from 'node:https';
import type { Clock } from './clock';
import type { Logger } from './log';
import { TLS_CLIENT_POLICY } from './tls-policy';

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

export interface JwksOptions {
  clock: Clock;
  logger: Logger;
  /** Extra trust anchors (PEM) for https JWKS URLs. */
  ca?: string | Buffer;
  /** Least time between two reads caused by unknown kids; default 30 s. */
  refreshIntervalMs?: number;
  /** Age after which the document is read again in the background; default 5 min. */
  maxAgeMs?: number;
  /** Called when a read finds a different set of keys than the one before. */
  onChange?: () => void;
}

const MAX_DOCUMENT_BYTES = 1024 * 1024;
const FETCH_TIMEOUT_MS = 5000;
const MIN_RSA_BITS = 2048;

export interface JwkKey {
  kid: string | undefined;
  key: KeyObject;
  /** The key as the document wrote it (what jose reads). */
  jwk: JsonWebKey;
}

/** jose's key resolver over the keys a document kept. */
export type KeySet = ReturnType<typeof createLocalJWKSet>;

/** Only RSA (≥ 2048 bits) and EC P-256 signing keys are kept; others are skipped. */
function parseKey(jwk: unknown): JwkKey | undefined {
  if (!isObject(jwk) || (jwk.use !== undefined && jwk.use !== 'sig')) return undefined;
  let key: KeyObject;
  try {
    key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  } catch {
    return undefined;
  }
  const details = key.asymmetricKeyDetails;
  const usable = key.asymmetricKeyType === 'rsa'
    ? (details?.modulusLength ?? 0) >= MIN_RSA_BITS
    : key.asymmetricKeyType === 'ec' && details?.namedCurve === 'prime256v1';
  return usable ? { kid: typeof jwk.kid === 'string' ? jwk.kid : undefined, key, jwk: jwk as JsonWebKey } : undefined;
}

export function parseJwks(text: string): JwkKey[] {
  const doc: unknown = JSON.parse(text);
  if (!isObject(doc) || !Array.isArray(doc.keys)) throw new Error('a JWKS document is an object with a "keys" list');
  return doc.keys.map(parseKey).filter((k): k is JwkKey => k !== undefined);
}

function fetchText(url: string, ca: string | Buffer | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ...TLS_CLIENT_POLICY, ca, timeout: FETCH_TIMEOUT_MS }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`GET ${url} answered ${res.statusCode}`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_DOCUMENT_BYTES) req.destroy(new Error(`${url} is larger than ${MAX_DOCUMENT_BYTES} bytes`));
        else chunks.push(c);
      });
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
  });
}

export class JwksSet {
  #keys: JwkKey[] = [];
  #keySet: KeySet = createLocalJWKSet({ keys: [] });
  /** The keys read last, as one string, to tell whether a new read changed them. */
  #fingerprint: string | undefined;
  #loadedAt = Number.NEGATIVE_INFINITY;
  #attemptedAt = Number.NEGATIVE_INFINITY;
  #inflight: Promise<void> | undefined;
  readonly #refreshIntervalMs: number;
  readonly #maxAgeMs: number;

  constructor(
    readonly issuer: string,
    readonly source: string,
    private readonly options: JwksOptions,
  ) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source) && !source.startsWith('https://')) {
      throw new Error(`JWKS of ${issuer}: only https URLs or file paths are accepted, not ${source}`);
    }
    this.#refreshIntervalMs = options.refreshIntervalMs ?? 30_000;
    this.#maxAgeMs = options.maxAgeMs ?? 300_000;
  }

  /** First load: a file that cannot be read is a startup error; a URL is retried on demand. */
  async load(): Promise<void> {
    try {
      await this.refresh();
    } catch (err) {
      if (!this.source.startsWith('https://')) throw err;
      this.options.logger.error('JWKS fetch failed; will retry when a token arrives', { issuer: this.issuer, error: (err as Error).message });
    }
  }

  /** Reads the document again in the background when it is older than the maximum age. */
  refreshIfStale(now: number): void {
    if (now - this.#loadedAt > this.#maxAgeMs) void this.refreshQuietly(now);
  }

  /** The issuer's keys for jose, read again in the background when stale. */
  keySet(now: number): KeySet {
    this.refreshIfStale(now);
    return this.#keySet;
  }

  /**
   * A token named a key the set lacks: the document is read again, at most
   * once per refresh interval (resolves when the read, if any, is done).
   */
  async refreshForUnknownKey(now: number): Promise<boolean> {
    if (now - this.#attemptedAt < this.#refreshIntervalMs && !this.#inflight) return false;
    await this.refreshQuietly(now);
    return true;
  }

  private refreshQuietly(now: number): Promise<void> {
    if (this.#inflight) return this.#inflight;
    if (now - this.#attemptedAt < this.#refreshIntervalMs) return Promise.resolve();
    return this.refresh().catch((err: unknown) => {
      this.options.logger.error('JWKS refresh failed; keeping the keys already known', { issuer: this.issuer, error: (err as Error).message });
    });
  }

  private refresh(): Promise<void> {
    this.#inflight ??= this.read()
      .then((text) => {
        const before = this.#fingerprint;
        this.#keys = parseJwks(text);
        this.#keySet = createLocalJWKSet({ keys: this.#keys.map((k) => k.jwk) as Parameters<typeof createLocalJWKSet>[0]['keys'] });
        this.#fingerprint = this.#keys.map((k) => `${k.kid ?? ''}:${k.key.export({ format: 'der', type: 'spki' }).toString('base64')}`).sort().join(' ');
        if (before !== undefined && before !== this.#fingerprint) this.options.onChange?.();
        if (this.#keys.length === 0) this.options.logger.error('JWKS has no usable key (RSA ≥ 2048 or EC P-256)', { issuer: this.issuer });
        this.#loadedAt = this.options.clock.now();
      })
      .finally(() => {
        this.#attemptedAt = this.options.clock.now();
        this.#inflight = undefined;
      });
    return this.#inflight;
  }

  private read(): Promise<string> {
    return this.source.startsWith('https://') ? fetchText(this.source, this.options.ca) : readFile(this.source, 'utf8');
  }
}
