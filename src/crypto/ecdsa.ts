// ECDSA signing of a caller-supplied digest (SEC 1 v2 §4.1.3), on
// @noble/curves (audited, constant-time scalar arithmetic). node's
// crypto.sign always hashes its input, so AsymmetricSign with a `digest`
// cannot use it for EC keys; noble signs the digest as given
// (`prehash: false`). Nonces are RFC 6979 hedged with fresh randomness
// (`extraEntropy`), so two signatures of one digest differ, as Cloud KMS's
// do, and a weak random source alone does not reveal the key. Signatures
// are DER (Ecdsa-Sig-Value, RFC 3279 §2.2.3), as Cloud KMS returns them, and
// not normalised to low s (node:crypto and OpenSSL accept either).
import type { KeyObject } from 'node:crypto';
import { p256, p384 } from '@noble/curves/nist.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import type { CurveName } from './algorithms';

const SIGNERS = { prime256v1: p256, secp384r1: p384, secp256k1 } as const satisfies Record<CurveName, unknown>;
// Wider precomputed tables for k·G (built on first use): about a fifth off
// every signature, for some hundreds of KiB per curve.
for (const signer of Object.values(SIGNERS)) signer.Point.BASE.precompute(8);

/** The curve order n (for tests). */
export function curveOrder(curve: CurveName): bigint {
  return SIGNERS[curve].Point.Fn.ORDER;
}

// The private scalar d of a KeyObject as fixed-size bytes, kept per key
// object (a JWK export costs more than a signature). The key cache in
// services/usable-version.ts owns the KeyObjects; a destroyed version's
// entry goes with its KeyObject.
const SECRETS = new WeakMap<KeyObject, Uint8Array>();

function secretOf(key: KeyObject, size: number): Uint8Array {
  let secret = SECRETS.get(key);
  if (!secret) {
    if (key.type !== 'private' || key.asymmetricKeyType !== 'ec') throw new Error('not an EC private key');
    const d = key.export({ format: 'jwk' }).d;
    if (typeof d !== 'string') throw new Error('EC private key has no d');
    const raw = Buffer.from(d, 'base64url');
    secret = new Uint8Array(size);
    secret.set(raw, size - raw.length);
    SECRETS.set(key, secret);
  }
  return secret;
}

/** ECDSA signature (DER) of an already-computed digest with an EC private key on `curve`. */
export function ecdsaSignDigest(curve: CurveName, privateKey: KeyObject, digest: Buffer): Buffer {
  const signer = SIGNERS[curve];
  if (signer === undefined) throw new Error(`unsupported curve ${String(curve)}`);
  const secret = secretOf(privateKey, signer.Point.Fn.BYTES);
  const signature = signer.sign(digest, secret, { prehash: false, format: 'der', lowS: false, extraEntropy: true });
  return Buffer.from(signature.buffer, signature.byteOffset, signature.byteLength);
}
