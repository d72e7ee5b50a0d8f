// The bench's token issuer for the EKM workloads: a fresh ES256 key, its
// public half published as a JWKS file the EKM is told to trust
// (`--trust-issuer ISSUER=FILE`), and one bearer token signed with it the way
// the KMS signs its EKM tokens (docs/ekm-protocol.md, "Tokens"): iss, aud,
// email, email_verified, iat, exp.
import { createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';

export const BENCH_ISSUER = 'https://openekm-bench.test/issuer';
/** The caller the bench's crypto space allows: a KMS service identity, as the KMS presents itself. */
export const BENCH_CALLER = 'service-100000000001@gcp-sa-ekms.iam.gserviceaccount.com';

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

export class BenchSigner {
  readonly kid = randomBytes(6).toString('hex');
  readonly #privateKey: KeyObject;

  constructor() {
    this.#privateKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  }

  /** Writes the JWKS document (the public key only) for the EKM to trust. */
  writeJwks(file: string): void {
    const jwk = { ...createPublicKey(this.#privateKey).export({ format: 'jwk' }), kid: this.kid, alg: 'ES256', use: 'sig' };
    fs.writeFileSync(file, `${JSON.stringify({ keys: [jwk] })}\n`);
  }

  /** A token for `email` and `audience`, valid from now for `lifetimeS` seconds. */
  token(email: string, audience: string, lifetimeS: number): string {
    const now = Math.floor(Date.now() / 1000);
    const input = `${b64url({ alg: 'ES256', typ: 'JWT', kid: this.kid })}.${b64url({
      iss: BENCH_ISSUER, aud: audience, sub: email, email, email_verified: true, iat: now, exp: now + lifetimeS,
    })}`;
    const signature = sign('sha256', Buffer.from(input, 'ascii'), { key: this.#privateKey, dsaEncoding: 'ieee-p1363' });
    return `${input}.${signature.toString('base64url')}`;
  }
}
