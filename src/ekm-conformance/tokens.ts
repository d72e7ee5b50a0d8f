// A token signer for the conformance suite and the EKM's tests: signs JWTs
// (RS256 or ES256) the way the KMS does for the EKM protocol, and publishes
// its public key as a JWKS an EKM can trust.
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, type JsonWebKey, type KeyObject } from 'node:crypto';

export type SigningAlg = 'ES256' | 'RS256';

export interface SignerSpec {
  issuer: string;
  alg: SigningAlg;
  kid?: string;
  privateKeyPem: string;
}

export interface TokenClaims {
  email: string;
  audience: string | string[];
  /** Seconds from now (may be negative); default 300. */
  expiresIn?: number;
  issuedAt?: number;
  emailVerified?: unknown;
  issuer?: string;
  extra?: Record<string, unknown>;
}

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

export class TokenSigner {
  readonly issuer: string;
  readonly alg: SigningAlg;
  readonly kid: string | undefined;
  readonly privateKey: KeyObject;

  constructor(spec: SignerSpec) {
    this.issuer = spec.issuer;
    this.alg = spec.alg;
    this.kid = spec.kid;
    this.privateKey = createPrivateKey(spec.privateKeyPem);
  }

  /** A new signer with a fresh key. */
  static generate(issuer: string, alg: SigningAlg = 'ES256', kid = randomBytes(6).toString('hex')): TokenSigner {
    const { privateKey } = alg === 'ES256'
      ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
      : generateKeyPairSync('rsa', { modulusLength: 2048 });
    return new TokenSigner({ issuer, alg, kid, privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() });
  }

  get privateKeyPem(): string {
    return this.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  }

  /** The public key as a JWK, with kid, alg and use. */
  jwk(): JsonWebKey {
    return { ...createPublicKey(this.privateKey).export({ format: 'jwk' }), kid: this.kid, alg: this.alg, use: 'sig' };
  }

  /** Signs any header and claims as a compact JWS. */
  signRaw(header: Record<string, unknown>, claims: Record<string, unknown>): string {
    const input = `${b64url(header)}.${b64url(claims)}`;
    const signature = this.alg === 'ES256'
      ? sign('sha256', Buffer.from(input), { key: this.privateKey, dsaEncoding: 'ieee-p1363' })
      : sign('sha256', Buffer.from(input), this.privateKey);
    return `${input}.${signature.toString('base64url')}`;
  }

  /** A token as the KMS sends it: iss, aud, email, email_verified, iat, exp. */
  token(c: TokenClaims, nowMs = Date.now()): string {
    const now = Math.floor(nowMs / 1000);
    const header: Record<string, unknown> = { alg: this.alg, typ: 'JWT' };
    if (this.kid !== undefined) header.kid = this.kid;
    return this.signRaw(header, {
      iss: c.issuer ?? this.issuer,
      aud: c.audience,
      sub: c.email,
      email: c.email,
      email_verified: c.emailVerified ?? true,
      iat: c.issuedAt ?? now,
      exp: now + (c.expiresIn ?? 300),
      ...c.extra,
    });
  }
}

export function jwksDocument(...signers: TokenSigner[]): { keys: JsonWebKey[] } {
  return { keys: signers.map((s) => s.jwk()) };
}
