// Bearer token verification (RFC 7519 JWT, RFC 7515 JWS compact form) as the
// protocol asks (docs/ekm-protocol.md, "Authentication and authorization"):
// RS256 or ES256 only (never "none" or HMAC, whose key would be public), an
// issuer this EKM trusts, a signature by one of that issuer's JWKS keys, `aud`
// naming this EKM, `exp` in the future and `nbf`/`iat` not in the future
// (both within the clock skew), and a verified `email`.
//
// Two more rules guard against a token that leaked: a lifetime (exp - iat)
// longer than maxLifetimeMs (default 1 h) is refused, and a token carrying
// the certificate-binding claim `ekm_cert_sha256` must name this EKM's own
// certificate, so a token the KMS gave a server that posed as this EKM (with
// its own certificate pinned) is refused here (docs/ekm-protocol.md).
//
// Verified tokens are cached by their exact text until they expire, so a
// caller reusing its token (the KMS does for tens of seconds) costs one
// signature check, not one per request. The cache is emptied whenever an
// issuer's key set changes, so a key removed from the trust configuration
// stops its tokens at once, not when they expire; every cache hit also has
// the issuer's key set read again once it is older than its maximum age.
import { verify, type KeyObject } from 'node:crypto';
import type { Clock } from '../clock';
import type { Logger } from '../log';
import { unauthenticated } from './errors';
import { isObject, type JsonObject } from './json';
import { JwksSet } from './jwks';

export interface TrustedIssuer {
  /** The `iss` claim value. */
  issuer: string;
  /** A JWKS file path or https URL. */
  jwks: string;
}

export interface VerifiedCaller {
  email: string;
  issuer: string;
  /** exp, in milliseconds since the epoch. */
  expiresAt: number;
}

export interface TokenVerifierOptions {
  issuers: readonly TrustedIssuer[];
  /** Accepted `aud` values; a token must name at least one. */
  audiences: readonly string[];
  clock: Clock;
  logger: Logger;
  clockSkewMs?: number;
  jwksCa?: string | Buffer;
  /** The SHA-256 (hex) of the certificate this EKM serves: a token bound to another is refused. */
  certificateSha256?: string;
  /** Longest accepted token lifetime, exp - iat (or exp - now without iat); default 1 h. */
  maxLifetimeMs?: number;
  /** Age after which an issuer's JWKS is read again; default 5 min. */
  jwksMaxAgeMs?: number;
}

/** The claim the KMS binds a token to the EKM's certificate with (services/ekm-client/identity.ts). */
export const CERT_BINDING_CLAIM = 'ekm_cert_sha256';
const DEFAULT_MAX_LIFETIME_MS = 3600_000;

const ALGORITHMS: Readonly<Record<string, { keyType: 'rsa' | 'ec'; dsaEncoding?: 'ieee-p1363' }>> = {
  RS256: { keyType: 'rsa' },
  ES256: { keyType: 'ec', dsaEncoding: 'ieee-p1363' },
};
const CACHE_LIMIT = 4096;
const MAX_TOKEN_LENGTH = 16 * 1024;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

function decodeSegment(segment: string): Buffer {
  if (!BASE64URL.test(segment)) throw unauthenticated('The bearer token is not a JWT.');
  return Buffer.from(segment, 'base64url');
}

function decodeJson(segment: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(decodeSegment(segment).toString('utf8'));
  } catch {
    throw unauthenticated('The bearer token is not a JWT.');
  }
  if (!isObject(value)) throw unauthenticated('The bearer token is not a JWT.');
  return value;
}

function bearer(authorization: string | undefined): string {
  if (authorization === undefined) throw unauthenticated('The request has no Authorization: Bearer token.');
  const m = /^Bearer +(\S+)\s*$/i.exec(authorization);
  if (!m || m[1].length > MAX_TOKEN_LENGTH) throw unauthenticated('The Authorization header must be "Bearer <JWT>".');
  return m[1];
}

export class TokenVerifier {
  readonly #issuers: Map<string, JwksSet>;
  readonly #audiences: ReadonlySet<string>;
  readonly #skewMs: number;
  readonly #maxLifetimeMs: number;
  readonly #cache = new Map<string, VerifiedCaller>();
  #byConnection = new WeakMap<object, { authorization: string; caller: VerifiedCaller }>();

  private constructor(private readonly options: TokenVerifierOptions) {
    const jwksOptions = {
      clock: options.clock, logger: options.logger, ca: options.jwksCa, maxAgeMs: options.jwksMaxAgeMs,
      onChange: () => this.forgetVerified(),
    };
    this.#issuers = new Map(options.issuers.map((i) => [i.issuer, new JwksSet(i.issuer, i.jwks, jwksOptions)]));
    this.#audiences = new Set(options.audiences);
    this.#skewMs = options.clockSkewMs ?? 30_000;
    this.#maxLifetimeMs = options.maxLifetimeMs ?? DEFAULT_MAX_LIFETIME_MS;
  }

  /** Drops every cached verification (an issuer's keys changed): the next request of each token is verified afresh. */
  forgetVerified(): void {
    this.#cache.clear();
    this.#byConnection = new WeakMap();
  }

  /** A cache hit: the issuer's key set is read again in the background once it is stale. */
  #hit(caller: VerifiedCaller, now: number): VerifiedCaller {
    this.#issuers.get(caller.issuer)?.refreshIfStale(now);
    return caller;
  }

  /** Builds a verifier and loads every issuer's JWKS. */
  static async create(options: TokenVerifierOptions): Promise<TokenVerifier> {
    const verifier = new TokenVerifier(options);
    await Promise.all([...verifier.#issuers.values()].map((s) => s.load()));
    return verifier;
  }

  /**
   * The caller, when this exact "Bearer <token>" header was verified before
   * and has not expired; undefined means ask verify(), which also gives the
   * reason for a refusal. With `connection`, the last header verified on that
   * connection is compared first: a string comparison instead of hashing a
   * long token for the cache lookup.
   */
  cachedCaller(authorization: string | undefined, connection?: object): VerifiedCaller | undefined {
    if (authorization === undefined) return undefined;
    const now = this.options.clock.now();
    const last = connection && this.#byConnection.get(connection);
    if (last && last.authorization === authorization) {
      return now <= last.caller.expiresAt + this.#skewMs ? this.#hit(last.caller, now) : undefined;
    }
    if (!authorization.startsWith('Bearer ')) return undefined;
    const cached = this.#cache.get(authorization.slice(7));
    if (!cached || now > cached.expiresAt + this.#skewMs) return undefined;
    if (connection) this.#byConnection.set(connection, { authorization, caller: cached });
    return this.#hit(cached, now);
  }

  /** The caller of a request with this Authorization header; UNAUTHENTICATED otherwise. */
  async verify(authorization: string | undefined): Promise<VerifiedCaller> {
    const token = bearer(authorization);
    const now = this.options.clock.now();
    const cached = this.#cache.get(token);
    if (cached) {
      if (now <= cached.expiresAt + this.#skewMs) return this.#hit(cached, now);
      this.#cache.delete(token);
    }
    const caller = await this.verifyFresh(token, now);
    if (this.#cache.size >= CACHE_LIMIT) this.#cache.delete(this.#cache.keys().next().value as string);
    this.#cache.set(token, caller);
    return caller;
  }

  private async verifyFresh(token: string, now: number): Promise<VerifiedCaller> {
    const parts = token.split('.');
    if (parts.length !== 3) throw unauthenticated('The bearer token is not a JWT.');
    const header = decodeJson(parts[0]);
    const claims = decodeJson(parts[1]);
    const alg = typeof header.alg === 'string' ? ALGORITHMS[header.alg] : undefined;
    if (!alg || header.crit !== undefined) throw unauthenticated('The token must be signed with RS256 or ES256.');
    const issuer = typeof claims.iss === 'string' ? this.#issuers.get(claims.iss) : undefined;
    if (!issuer) throw unauthenticated('The token issuer is not trusted by this EKM.');
    const kid = typeof header.kid === 'string' ? header.kid : undefined;
    const keys = (await issuer.keysFor(kid)).filter((k) => k.asymmetricKeyType === alg.keyType);
    const input = Buffer.from(`${parts[0]}.${parts[1]}`, 'ascii');
    const signature = decodeSegment(parts[2]);
    if (!keys.some((key) => this.signatureValid(key, alg.dsaEncoding, input, signature))) {
      throw unauthenticated('The token signature does not verify with the issuer\'s keys.');
    }
    return this.checkClaims(claims, issuer.issuer, now);
  }

  private signatureValid(key: KeyObject, dsaEncoding: 'ieee-p1363' | undefined, input: Buffer, signature: Buffer): boolean {
    try {
      return verify('sha256', input, dsaEncoding ? { key, dsaEncoding } : key, signature);
    } catch {
      return false;
    }
  }

  private checkClaims(claims: JsonObject, issuer: string, now: number): VerifiedCaller {
    const aud = claims.aud;
    const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
    if (!audiences.some((a) => typeof a === 'string' && this.#audiences.has(a))) {
      throw unauthenticated('The token audience is not this EKM.');
    }
    if (typeof claims.exp !== 'number') throw unauthenticated('The token has no expiry (exp).');
    const expiresAt = claims.exp * 1000;
    if (now > expiresAt + this.#skewMs) throw unauthenticated('The token has expired.');
    for (const name of ['nbf', 'iat'] as const) {
      const value = claims[name];
      if (value !== undefined && (typeof value !== 'number' || value * 1000 > now + this.#skewMs)) {
        throw unauthenticated(`The token is not valid yet (${name}).`);
      }
    }
    const issuedAt = typeof claims.iat === 'number' ? claims.iat * 1000 : now;
    if (expiresAt - issuedAt > this.#maxLifetimeMs) {
      throw unauthenticated(`The token lives longer than ${this.#maxLifetimeMs / 1000} s (exp - iat).`);
    }
    const binding = claims[CERT_BINDING_CLAIM];
    if (binding !== undefined && this.options.certificateSha256 !== undefined
      && (typeof binding !== 'string' || binding.toLowerCase() !== this.options.certificateSha256)) {
      throw unauthenticated('The token is bound to another EKM\'s certificate (ekm_cert_sha256): it was issued for a different server.');
    }
    if (typeof claims.email !== 'string' || claims.email.length === 0) throw unauthenticated('The token has no email claim.');
    if (claims.email_verified !== true) throw unauthenticated('The token\'s email is not verified (email_verified).');
    return { email: claims.email.toLowerCase(), issuer, expiresAt };
  }
}
