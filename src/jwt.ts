// Bearer token verification (RFC 7519 JWT, RFC 7515 JWS compact form), on
// jose, for the reference EKM (docs/ekm-protocol.md, "Authentication and
// authorization") and for the KMS under --auth required (docs/iam.md):
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
import { decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { Clock } from './clock';
import { Code, KmsError } from './errors';
import { JwksSet, type KeySet } from './jwks';
import type { Logger } from './log';

type JsonObject = Record<string, unknown>;
const unauthenticated = (message: string): KmsError => new KmsError(Code.UNAUTHENTICATED, message);

export interface TrustedIssuer {
  /** The `iss` claim value. */
  issuer: string;
  /** A JWKS file path or https URL. */
  jwks: string;
}

/** A `--trust-issuer ISSUER=JWKS_FILE_OR_URL` value; undefined when it is not of that form. */
export function parseTrustedIssuer(value: string): TrustedIssuer | undefined {
  const eq = value.indexOf('=');
  return eq <= 0 || eq === value.length - 1 ? undefined : { issuer: value.slice(0, eq), jwks: value.slice(eq + 1) };
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
  /** The server, as refusals name it; default "this EKM". */
  who?: string;
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

const ALGORITHMS = ['RS256', 'ES256'];
const CACHE_LIMIT = 4096;
const MAX_TOKEN_LENGTH = 16 * 1024;
const NOT_A_JWT = 'The bearer token is not a JWT.';

/** Our words for jose's refusals (its own messages never reach a caller); `who` is the server ("this EKM", "this KMS"). */
function refusal(err: unknown, who: string): Error {
  if (!(err instanceof joseErrors.JOSEError)) return unauthenticated(NOT_A_JWT);
  switch (err.code) {
    case 'ERR_JWT_EXPIRED':
      return unauthenticated('The token has expired.');
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const claim = (err as joseErrors.JWTClaimValidationFailed).claim;
      if (claim === 'aud') return unauthenticated(`The token audience is not ${who}.`);
      if (claim === 'exp') return unauthenticated('The token has no expiry (exp).');
      if (claim === 'nbf' || claim === 'iat') return unauthenticated(`The token is not valid yet (${claim}).`);
      if (claim === 'iss') return unauthenticated(`The token issuer is not trusted by ${who}.`);
      return unauthenticated(`The token's ${claim.slice(0, 40)} claim is invalid.`);
    }
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return unauthenticated('The token must be signed with RS256 or ES256.');
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
    case 'ERR_JWK_INVALID':
      return unauthenticated('The token signature does not verify with the issuer\'s keys.');
    default:
      return unauthenticated(NOT_A_JWT);
  }
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
  readonly #who: string;
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
    this.#who = options.who ?? 'this EKM';
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
    let header: ReturnType<typeof decodeProtectedHeader>;
    let unverified: JWTPayload;
    try {
      header = decodeProtectedHeader(token);
      unverified = decodeJwt(token);
    } catch {
      throw unauthenticated(NOT_A_JWT);
    }
    if (typeof header.alg !== 'string' || !ALGORITHMS.includes(header.alg) || header.crit !== undefined) {
      throw unauthenticated('The token must be signed with RS256 or ES256.');
    }
    const issuer = typeof unverified.iss === 'string' ? this.#issuers.get(unverified.iss) : undefined;
    if (!issuer) throw unauthenticated(`The token issuer is not trusted by ${this.#who}.`);
    let payload: JWTPayload;
    try {
      payload = await this.#verified(token, issuer.keySet(now), now);
    } catch (err) {
      // A key the set lacks: the issuer may have rotated; its document is read again (rate-limited) and tried once more.
      if (!(err instanceof joseErrors.JWKSNoMatchingKey) || !(await issuer.refreshForUnknownKey(now))) throw refusal(err, this.#who);
      try {
        payload = await this.#verified(token, issuer.keySet(now), now);
      } catch (again) {
        throw refusal(again, this.#who);
      }
    }
    return this.checkClaims(payload as JsonObject, issuer.issuer, now);
  }

  /** jose's verification: signature by one of the keys, algorithm, audience, exp, nbf (and iat) under the skew. */
  async #verified(token: string, keys: KeySet, now: number): Promise<JWTPayload> {
    const options = {
      algorithms: ALGORITHMS,
      audience: [...this.#audiences],
      requiredClaims: ['exp'],
      currentDate: new Date(now),
      clockTolerance: this.#skewMs / 1000,
    };
    try {
      return (await jwtVerify(token, keys, options)).payload;
    } catch (err) {
      // No kid and several keys of the type: each is tried (jose yields them).
      if (!(err instanceof joseErrors.JWKSMultipleMatchingKeys)) throw err;
      for await (const key of err) {
        try {
          return (await jwtVerify(token, key, options)).payload;
        } catch (inner) {
          if (!(inner instanceof joseErrors.JWSSignatureVerificationFailed)) throw inner;
        }
      }
      throw new joseErrors.JWSSignatureVerificationFailed();
    }
  }

  /** What jose does not check: iat not in the future, the lifetime, the certificate binding, a verified email. */
  private checkClaims(claims: JsonObject, issuer: string, now: number): VerifiedCaller {
    const expiresAt = (claims.exp as number) * 1000;
    if (claims.iat !== undefined && (typeof claims.iat !== 'number' || claims.iat * 1000 > now + this.#skewMs)) {
      throw unauthenticated('The token is not valid yet (iat).');
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
