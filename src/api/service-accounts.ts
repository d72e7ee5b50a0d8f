// Google's self-signed service-account JWTs, as the official clients send
// them when given a key file (google-auth-library's JWTAccess): header
// `{alg: RS256, kid: <private_key_id>}`, claims `iss` = `sub` = the service
// account's email, `aud` the API (`https://cloudkms.googleapis.com/`) or a
// `scope` instead, `iat`, `exp` an hour on. No Google endpoint is asked: the
// account's public key is registered with this KMS beforehand (`openekm iam
// service-accounts add-key`, which keeps only the public key), and the
// token's signature is checked with it on jose.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose';
import { Code, KmsError } from '../errors';
import type { VerifiedCaller } from '../jwt';
import type { IamStore } from '../store/iam';

const SERVICE_ACCOUNT = /^[a-z0-9-]+@[a-z0-9.-]+\.gserviceaccount\.com$/;
const SCOPES = new Set(['https://www.googleapis.com/auth/cloud-platform', 'https://www.googleapis.com/auth/cloudkms']);
const CACHE_LIMIT = 4096;
const SKEW_S = 30;
const MAX_LIFETIME_S = 3600;

const refuse = (message: string): KmsError => new KmsError(Code.UNAUTHENTICATED, message);

/** Whether a token claims to be a service account's own (it is then checked here, not against the trusted issuers). */
export function isServiceAccountToken(token: string): boolean {
  try {
    const iss = decodeJwt(token).iss;
    return typeof iss === 'string' && SERVICE_ACCOUNT.test(iss);
  } catch {
    return false;
  }
}

export class ServiceAccountTokens {
  readonly #verified = new Map<string, VerifiedCaller>();
  readonly #keys = new Map<string, KeyObject>();

  constructor(
    private readonly iam: IamStore,
    private readonly audiences: readonly string[],
    private readonly now: () => number,
  ) {}

  /** The caller of a service account token verified before and not expired, by its Authorization header. */
  cached(authorization: string | undefined): VerifiedCaller | undefined {
    if (authorization === undefined || !authorization.startsWith('Bearer ')) return undefined;
    const caller = this.#verified.get(authorization.slice(7));
    return caller && this.now() <= caller.expiresAt + SKEW_S * 1000 ? caller : undefined;
  }

  /** The account a token (without "Bearer ") proves to be; UNAUTHENTICATED in our words otherwise. */
  async verify(token: string): Promise<VerifiedCaller> {
    const now = this.now();
    const cached = this.#verified.get(token);
    if (cached && now <= cached.expiresAt + SKEW_S * 1000) return cached;
    let header: ReturnType<typeof decodeProtectedHeader>;
    let claims: ReturnType<typeof decodeJwt>;
    try {
      header = decodeProtectedHeader(token);
      claims = decodeJwt(token);
    } catch {
      throw refuse('The bearer token is not a JWT.');
    }
    const email = String(claims.iss);
    if (header.alg !== 'RS256') throw refuse('A service account\'s token must be signed with RS256.');
    if (typeof header.kid !== 'string' || !/^[0-9a-f]{1,64}$/i.test(header.kid)) throw refuse('A service account\'s token must name its key (kid).');
    if (claims.sub !== email) throw refuse('A service account\'s token must have sub equal to iss.');
    const key = await this.#key(email, header.kid);
    if (!key) throw refuse(`The key ${header.kid} of ${email} is not registered with this KMS (openekm iam service-accounts add-key).`);
    try {
      await jwtVerify(token, key, { algorithms: ['RS256'], issuer: email, requiredClaims: ['exp', 'iat'], currentDate: new Date(now), clockTolerance: SKEW_S });
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw refuse('The token has expired.');
      if (err instanceof joseErrors.JWTClaimValidationFailed) throw refuse(`The token is not valid yet (${err.claim}).`);
      throw refuse('The token signature does not verify with the service account\'s registered key.');
    }
    const aud = claims.aud;
    const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ') : [];
    const audienceOk = aud === undefined ? scopes.some((s) => SCOPES.has(s)) : (Array.isArray(aud) ? aud : [aud]).some((a) => this.audiences.includes(a));
    if (!audienceOk) throw refuse('The token audience is not this KMS.');
    const expiresAt = (claims.exp as number) * 1000;
    if (expiresAt - (claims.iat as number) * 1000 > MAX_LIFETIME_S * 1000) throw refuse(`The token lives longer than ${MAX_LIFETIME_S} s (exp - iat).`);
    const caller: VerifiedCaller = { email, issuer: email, expiresAt };
    if (this.#verified.size >= CACHE_LIMIT) this.#verified.clear();
    this.#verified.set(token, caller);
    return caller;
  }

  async #key(email: string, keyId: string): Promise<KeyObject | undefined> {
    const id = `${email}\n${keyId}`;
    const known = this.#keys.get(id);
    if (known) return known;
    const pem = await this.iam.getServiceAccountKey(email, keyId);
    if (!pem) return undefined;
    const key = createPublicKey(pem);
    if (this.#keys.size >= CACHE_LIMIT) this.#keys.clear();
    this.#keys.set(id, key);
    return key;
  }
}
