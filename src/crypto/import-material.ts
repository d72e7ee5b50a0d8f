// The target key of an import, once unwrapped, checked against the algorithm
// the request names and turned into stored material (material.ts). Cloud KMS's
// formats (https://cloud.google.com/kms/docs/formatting-keys-for-import,
// https://cloud.google.com/kms/docs/key-import):
// - symmetric keys: raw bytes, not hex or base64; 32 bytes, or 16 for the
//   AES-128 raw-encryption algorithms;
// - HMAC keys: raw bytes exactly as long as the hash output (HMAC_SHA256: 32);
// - asymmetric keys: a DER-encoded PKCS #8 PrivateKeyInfo (RFC 5208) of a
//   length and algorithm Cloud KMS supports.
// The docs state no rule on the RSA public exponent, so any exponent OpenSSL
// accepts is kept. Keys the catalogue of algorithms.ts lacks (the post-quantum
// ones) are another module's: importedMaterial answers undefined for them.

import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { invalidArgument } from '../errors';
import { algorithmInfo, type AlgorithmInfo, type CurveName } from './algorithms';
import type { PqAlgorithmName } from './pq-algorithms';
import { pqMaterialFromImport } from './pq-keys';

const PKCS8_DER = { type: 'pkcs8', format: 'der' } as const;

const CURVE_LABEL: Readonly<Record<CurveName, string>> = {
  prime256v1: 'P-256',
  secp384r1: 'P-384',
  secp256k1: 'secp256k1',
};

/** What a key of each node key type is called in messages. */
const KEY_TYPE_LABEL: Readonly<Record<string, string>> = {
  rsa: 'an RSA key',
  'rsa-pss': 'an RSASSA-PSS key (id-RSASSA-PSS); RSA keys must use rsaEncryption',
  ec: 'an EC key',
  ed25519: 'an Ed25519 key',
};

const keyTypeLabel = (type: string | undefined): string => KEY_TYPE_LABEL[type ?? ''] ?? `a ${type ?? 'non-private'} key`;

function rawKey(alg: AlgorithmInfo, keyBytes: Buffer): Buffer {
  const want = alg.keyBytes;
  if (want === undefined) throw new Error(`algorithm ${alg.name} has no keyBytes`);
  if (keyBytes.length !== want) {
    const why = alg.kind === 'hmac' ? ` (the ${String(alg.hash).toUpperCase()} output length)` : '';
    throw invalidArgument(`Key material for ${alg.name} must be ${want} raw bytes${why}, got ${keyBytes.length}.`);
  }
  return Buffer.from(keyBytes);
}

/**
 * The length of the DER element that starts the buffer (X.690 §8.1.3), or
 * undefined if the header is not a definite one; node ignores bytes after the
 * PrivateKeyInfo, so this is how trailing bytes are found.
 */
function derElementLength(der: Buffer): number | undefined {
  if (der.length < 2) return undefined;
  const first = der[1];
  if (first < 0x80) return 2 + first;
  const count = first & 0x7f;
  if (count === 0 || count > 4 || der.length < 2 + count) return undefined;
  let length = 0;
  for (let i = 0; i < count; i++) length = length * 256 + der[2 + i];
  return 2 + count + length;
}

function parsePkcs8(alg: AlgorithmInfo, der: Buffer): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: der, ...PKCS8_DER });
  } catch {
    throw invalidArgument(`Key material for ${alg.name} is not a DER-encoded PKCS #8 private key.`);
  }
  const length = derElementLength(der);
  if (length !== undefined && length < der.length) {
    throw invalidArgument(`Key material for ${alg.name} has ${der.length - length} bytes after its PKCS #8 structure.`);
  }
  return key;
}

/** The key type, size and curve the algorithm needs; undefined when the key fits. */
function mismatch(alg: AlgorithmInfo, key: KeyObject): string | undefined {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  if (alg.modulusBits !== undefined) {
    if (type !== 'rsa') return `is ${keyTypeLabel(type)}; ${alg.name} needs an RSA key`;
    if (details.modulusLength !== alg.modulusBits) return `is a ${String(details.modulusLength)}-bit RSA key; ${alg.name} needs ${alg.modulusBits} bits`;
  } else if (alg.curve !== undefined) {
    if (type !== 'ec') return `is ${keyTypeLabel(type)}; ${alg.name} needs an EC key on ${CURVE_LABEL[alg.curve]}`;
    if (details.namedCurve !== alg.curve) {
      const theirs = CURVE_LABEL[details.namedCurve as CurveName] ?? 'another curve';
      return `is on ${theirs === 'another curve' ? theirs : `curve ${theirs}`}; ${alg.name} needs ${CURVE_LABEL[alg.curve]}`;
    }
  } else if (type !== 'ed25519') {
    return `is ${keyTypeLabel(type)}; ${alg.name} needs an Ed25519 key`;
  }
  return undefined;
}

/**
 * Whether the private key and the public key it carries belong together: a
 * signature made with one verifies with the other. A PKCS #8 file can hold a
 * public half (EC and Ed25519 keys) or CRT values (RSA) that disagree with
 * the private value, and such a key would sign wrongly from then on.
 */
function pairwiseConsistent(key: KeyObject): boolean {
  const probe = Buffer.from('OpenEKM key import pairwise consistency check');
  const hash = key.asymmetricKeyType === 'ed25519' ? null : 'sha256';
  try {
    return verify(hash, probe, createPublicKey(key), sign(hash, probe, key));
  } catch {
    return false;
  }
}

function asymmetricKey(alg: AlgorithmInfo, der: Buffer): Buffer {
  const key = parsePkcs8(alg, der);
  const wrong = mismatch(alg, key);
  if (wrong !== undefined) throw invalidArgument(`Key material for ${alg.name} ${wrong}.`);
  if (!pairwiseConsistent(key)) {
    throw invalidArgument(`Key material for ${alg.name} is inconsistent: its public and private parts do not belong together.`);
  }
  // Re-encoded by OpenSSL, so what is stored is the canonical PKCS #8 form.
  return key.export(PKCS8_DER);
}

/**
 * The stored material of an imported key of the named algorithm (raw bytes
 * for symmetric and HMAC keys, PKCS #8 DER for the rest; post-quantum keys
 * as crypto/pq-keys.ts reads them), or undefined for an algorithm not in the
 * catalogue. A key that does not fit the algorithm is an INVALID_ARGUMENT.
 */
export function importedMaterial(algorithmName: string, keyBytes: Buffer): Buffer | undefined {
  const alg = algorithmInfo(algorithmName);
  if (alg === undefined) return undefined;
  switch (alg.kind) {
    case 'external-symmetric':
      // Its key lives in the external key manager; there is nothing to import.
      throw invalidArgument(`Key material cannot be imported for ${alg.name}.`);
    case 'google-symmetric':
    case 'raw-aes-gcm':
    case 'raw-aes-cbc':
    case 'raw-aes-ctr':
    case 'hmac':
      return rawKey(alg, keyBytes);
    case 'rsa-sign-pss':
    case 'rsa-sign-pkcs1':
    case 'rsa-sign-raw-pkcs1':
    case 'rsa-decrypt-oaep':
    case 'ec-sign':
    case 'ed25519':
      return asymmetricKey(alg, keyBytes);
    case 'aes-kwp':
      return rawKey(alg, keyBytes);
    case 'ml-dsa':
    case 'slh-dsa':
    case 'kem':
      return pqMaterialFromImport(alg.name as PqAlgorithmName, keyBytes);
  }
}
