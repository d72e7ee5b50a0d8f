// AsymmetricSign and Decapsulate for the post-quantum algorithms, on
// @noble/post-quantum. The catalogue and what Cloud KMS documents about
// these algorithms are in pq-algorithms.ts; key material in pq-keys.ts.
//
// - ML-DSA (FIPS 204): `data` is signed with ML-DSA.Sign (Algorithm 2) and an
//   empty context; an external-mu key also takes digest.external_mu, the
//   64-byte µ of §6.2, signed as is (Algorithm 7 from line 7). Both hedged:
//   fresh rnd per signature, as Cloud KMS's "randomized version".
// - SLH-DSA-SHA2-128s (FIPS 205): `data` with slh_sign (Algorithm 22), empty
//   context. HashSLH-DSA with SHA-256 (Algorithm 23) takes digest.sha256, or
//   `data`, which we hash. Randomized: fresh opt_rand per signature.
// - ML-KEM (FIPS 203 Algorithm 21) and X-Wing (draft-connolly-cfrg-xwing-kem
//   §"Decapsulation"): the shared secret of a ciphertext. ML-KEM rejects no
//   well-sized ciphertext (a forged one gets its implicit rejection key,
//   FIPS 203 Algorithm 18), so a wrong size is its only error; X-Wing also
//   refuses an X25519 part that is a low-order point.
//
// Expanding a seed is a few milliseconds (ML-DSA keygen 2–6 ms against 7–15 ms
// per signature; ML-KEM keygen about as long as a decapsulation): pqSigner and
// kemDecapsulator do it once, for callers that keep the object per key.

import { createHash } from 'node:crypto';
import { invalidArgument } from '../errors';
import { pqInfo, type DigestField, type PqKemAlgorithm, type PqKemInfo, type PqSignAlgorithm, type PqSignInfo } from './pq-algorithms';
import { expandPqKey, KEM, ML_DSA, SLH_DSA } from './pq-keys';

export {
  checkPublicKeyFormat, pqAlgorithm, PQ_ALGORITHMS, type DigestField, type PqAlgorithmInfo, type PqAlgorithmName,
  type PqKemAlgorithm, type PqKemInfo, type PqSignAlgorithm, type PqSignInfo, type PublicKeyFormat,
} from './pq-algorithms';
export { encodePqPublicKey, generatePqMaterial, pqMaterialFromImport, pqPublicKey } from './pq-keys';

/** What AsymmetricSignRequest carried: `data`, or one field of `digest`. */
export type PqSignInput =
  | { readonly kind: 'data'; readonly bytes: Buffer }
  | { readonly kind: 'digest'; readonly field: DigestField; readonly bytes: Buffer };

export interface PqSigner {
  readonly algorithm: PqSignAlgorithm;
  /** The raw public key (NIST_PQC form). */
  readonly publicKey: Buffer;
  sign(input: PqSignInput): Buffer;
}

export interface KemDecapsulator {
  readonly algorithm: PqKemAlgorithm;
  /** The raw public key (NIST_PQC or XWING_RAW_BYTES form). */
  readonly publicKey: Buffer;
  decapsulate(ciphertext: Buffer): Buffer;
}

/** What is signed: the message, a caller's µ, or a caller's (or our) SHA-256 pre-hash. */
type Message = { mode: 'pure' | 'mu' | 'prehash'; bytes: Buffer };

/** The proto field name, for messages: externalMu is digest.external_mu on the wire. */
const wireName = (field: DigestField): string => (field === 'externalMu' ? 'external_mu' : field);

function signInfo(name: PqSignAlgorithm): Readonly<PqSignInfo> {
  const info = pqInfo(name);
  if (info.purpose !== 'ASYMMETRIC_SIGN') throw new Error(`${name} is not a signing algorithm`);
  return info;
}

function kemInfo(name: PqKemAlgorithm): Readonly<PqKemInfo> {
  const info = pqInfo(name);
  if (info.purpose !== 'KEY_ENCAPSULATION') throw new Error(`${name} is not a key encapsulation algorithm`);
  return info;
}

/** The message a request asks us to sign, or INVALID_ARGUMENT naming the field. */
function messageOf(info: Readonly<PqSignInfo>, input: PqSignInput): Message {
  const digest = info.digest;
  if (input.kind === 'data') {
    // HashSLH-DSA over data: we compute the SHA-256 pre-hash ourselves.
    if (info.family === 'slh-dsa' && digest !== undefined) return { mode: 'prehash', bytes: createHash('sha256').update(input.bytes).digest() };
    return { mode: 'pure', bytes: input.bytes };
  }
  if (digest === undefined) throw invalidArgument(`digest is not supported for algorithm ${info.name}; set data instead.`);
  if (input.field !== digest.field) {
    throw invalidArgument(`digest.${wireName(input.field)} is not supported for algorithm ${info.name}; set digest.${wireName(digest.field)} or data instead.`);
  }
  if (input.bytes.length !== digest.bytes) {
    throw invalidArgument(`digest.${wireName(digest.field)} must be ${digest.bytes} bytes for algorithm ${info.name}.`);
  }
  return { mode: info.family === 'ml-dsa' ? 'mu' : 'prehash', bytes: input.bytes };
}

/** DER of the SHA-256 OID 2.16.840.1.101.3.4.2.1, the OID of FIPS 205 Algorithm 23 for SHA-256. */
const SHA256_OID_DER = Buffer.from('0609608648016503040201', 'hex');

/** FIPS 205 Algorithm 23 with an empty context: M' = 1 ‖ 0 ‖ OID ‖ PH_M. */
function hashSlhMessage(prehash: Buffer): Buffer {
  return Buffer.concat([Buffer.of(1, 0), SHA256_OID_DER, prehash]);
}

const asBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

function signMessage(info: Readonly<PqSignInfo>, secretKey: Uint8Array, message: Message): Buffer {
  if (info.family === 'ml-dsa') {
    const dsa = ML_DSA[info.name];
    return asBuffer(message.mode === 'mu' ? dsa.internal.sign(message.bytes, secretKey, { externalMu: true }) : dsa.sign(message.bytes, secretKey));
  }
  return asBuffer(message.mode === 'prehash' ? SLH_DSA.internal.sign(hashSlhMessage(message.bytes), secretKey) : SLH_DSA.sign(message.bytes, secretKey));
}

/** A signer over one key: the seed is expanded once, here. */
export function pqSigner(name: PqSignAlgorithm, material: Buffer): PqSigner {
  const info = signInfo(name);
  const { publicKey, secretKey } = expandPqKey(name, material);
  return Object.freeze({
    algorithm: name,
    publicKey,
    sign: (input: PqSignInput) => signMessage(info, secretKey, messageOf(info, input)),
  });
}

/** AsymmetricSign with stored material (expands the key on every call; see pqSigner). */
export function pqSign(name: PqSignAlgorithm, material: Buffer, input: PqSignInput): Buffer {
  const info = signInfo(name);
  const message = messageOf(info, input); // the caller's errors first, before the key work
  return signMessage(info, expandPqKey(name, material).secretKey, message);
}

/** Whether `signature` is valid for the input under a raw public key (what a relying party checks). */
export function pqVerify(name: PqSignAlgorithm, publicKey: Buffer, input: PqSignInput, signature: Buffer): boolean {
  const info = signInfo(name);
  if (publicKey.length !== info.publicKeyBytes || signature.length !== info.signatureBytes) return false;
  const message = messageOf(info, input);
  if (info.family === 'ml-dsa') {
    const dsa = ML_DSA[info.name];
    return message.mode === 'mu' ? dsa.internal.verify(signature, message.bytes, publicKey, { externalMu: true }) : dsa.verify(signature, message.bytes, publicKey);
  }
  return message.mode === 'prehash' ? SLH_DSA.internal.verify(signature, hashSlhMessage(message.bytes), publicKey) : SLH_DSA.verify(signature, message.bytes, publicKey);
}

function checkCiphertext(info: Readonly<PqKemInfo>, ciphertext: Buffer): void {
  if (ciphertext.length !== info.ciphertextBytes) {
    throw invalidArgument(`ciphertext must be ${info.ciphertextBytes} bytes for algorithm ${info.name}.`);
  }
}

function decapsulateWith(info: Readonly<PqKemInfo>, secretKey: Uint8Array, ciphertext: Buffer): Buffer {
  try {
    return asBuffer(KEM[info.name].decapsulate(ciphertext, secretKey));
  } catch {
    // Only X-Wing gets here: the library refuses an X25519 part whose shared
    // secret is all zero (a low-order point, RFC 7748 §6.1), which no honest
    // encapsulation produces. ML-KEM never throws on a well-sized ciphertext.
    throw invalidArgument(`ciphertext is not a valid ${info.name} ciphertext.`);
  }
}

/** A decapsulator over one key: the seed is expanded once, here (X-Wing's library re-expands per call). */
export function kemDecapsulator(name: PqKemAlgorithm, material: Buffer): KemDecapsulator {
  const info = kemInfo(name);
  const { publicKey, secretKey } = expandPqKey(name, material);
  return Object.freeze({
    algorithm: name,
    publicKey,
    decapsulate(ciphertext: Buffer): Buffer {
      checkCiphertext(info, ciphertext);
      return decapsulateWith(info, secretKey, ciphertext);
    },
  });
}

/** Decapsulate with stored material: the shared secret (32 bytes). */
export function kemDecapsulate(name: PqKemAlgorithm, material: Buffer, ciphertext: Buffer): Buffer {
  const info = kemInfo(name);
  checkCiphertext(info, ciphertext);
  return decapsulateWith(info, expandPqKey(name, material).secretKey, ciphertext);
}
