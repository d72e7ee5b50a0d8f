// AsymmetricSign and AsymmetricDecrypt as Cloud KMS performs them.
//
// - RSA-PSS: RSASSA-PSS (RFC 8017 §8.1) with MGF1 over the signing hash and a
//   salt as long as the digest, as Cloud KMS documents.
// - RSA PKCS1: RSASSA-PKCS1-v1_5 (RFC 8017 §8.2).
// - RSA raw PKCS1: PKCS #1 v1.5 type 1 padding over the caller's `data` with
//   no DigestInfo (RSA_SIGN_RAW_PKCS1_*), so only `data` is accepted.
// - EC: ECDSA (DER signature); Ed25519: PureEdDSA (RFC 8032), data only.
// - RSA-OAEP decryption (RFC 8017 §7.1.2) with MGF1 over the OAEP hash.

import { constants, privateDecrypt, privateEncrypt, sign, type KeyObject } from 'node:crypto';
import { invalidArgument } from '../errors';
import { HASH_BYTES, type AlgorithmInfo, type HashName } from './algorithms';
import { ecdsaSignDigest } from './ecdsa';
import { emsaPssEncode, pkcs1DigestInfo } from './rsa-encodings';

const INVALID_CIPHERTEXT = 'Decryption failed: the ciphertext is invalid.';

/** PKCS #1 v1.5 padding needs at least 11 bytes (RFC 8017 §9.2 step 3, §7.2.1). */
const PKCS1_OVERHEAD = 11;

function hashOf(alg: AlgorithmInfo): HashName {
  if (alg.hash === undefined) throw new Error(`algorithm ${alg.name} has no hash`);
  return alg.hash;
}

function modulusBits(key: KeyObject): number {
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (bits === undefined) throw new Error('not an RSA key');
  return bits;
}

function checkDigest(alg: AlgorithmInfo, digest: Buffer): HashName {
  const hash = hashOf(alg);
  if (digest.length !== HASH_BYTES[hash]) {
    throw invalidArgument(`digest.${hash} must be ${HASH_BYTES[hash]} bytes for algorithm ${alg.name}.`);
  }
  return hash;
}

/** RSASSA-PSS-SIGN (RFC 8017 §8.1.1) of a digest: EMSA-PSS encoding, then RSASP1 unpadded. */
function pssSignDigest(key: KeyObject, hash: HashName, digest: Buffer): Buffer {
  const modBits = modulusBits(key);
  const k = Math.ceil(modBits / 8);
  const em = emsaPssEncode(digest, modBits - 1, hash);
  // EM has emLen = ceil((modBits-1)/8) bytes, one fewer than k when modBits ≡ 1 mod 8.
  const input = em.length === k ? em : Buffer.concat([Buffer.alloc(k - em.length), em]);
  return privateEncrypt({ key, padding: constants.RSA_NO_PADDING }, input);
}

/** Signs a caller-computed digest (AsymmetricSignRequest.digest). */
export function signDigest(alg: AlgorithmInfo, key: KeyObject, digest: Buffer): Buffer {
  switch (alg.kind) {
    case 'rsa-sign-pss':
      return pssSignDigest(key, checkDigest(alg, digest), digest);
    case 'rsa-sign-pkcs1': {
      const t = pkcs1DigestInfo(checkDigest(alg, digest), digest);
      return privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, t);
    }
    case 'ec-sign': {
      checkDigest(alg, digest);
      if (alg.curve === undefined) throw new Error(`algorithm ${alg.name} has no curve`);
      return ecdsaSignDigest(alg.curve, key, digest);
    }
    case 'rsa-sign-raw-pkcs1':
    case 'ed25519':
      throw invalidArgument(`digest is not supported for algorithm ${alg.name}; set data instead.`);
    default:
      throw new Error(`algorithm ${alg.name} is not an ASYMMETRIC_SIGN algorithm`);
  }
}

/** Signs the caller's data (AsymmetricSignRequest.data). */
export function signData(alg: AlgorithmInfo, key: KeyObject, data: Buffer): Buffer {
  switch (alg.kind) {
    case 'rsa-sign-pss': {
      const hash = hashOf(alg);
      const saltLength = HASH_BYTES[hash];
      return sign(hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength });
    }
    case 'rsa-sign-pkcs1':
      return sign(hashOf(alg), data, { key, padding: constants.RSA_PKCS1_PADDING });
    case 'ec-sign':
      return sign(hashOf(alg), data, { key, dsaEncoding: 'der' });
    case 'ed25519':
      return sign(null, data, key);
    case 'rsa-sign-raw-pkcs1': {
      const max = Math.ceil(modulusBits(key) / 8) - PKCS1_OVERHEAD;
      if (data.length > max) {
        throw invalidArgument(`data must be at most ${max} bytes for algorithm ${alg.name}.`);
      }
      return privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, data);
    }
    default:
      throw new Error(`algorithm ${alg.name} is not an ASYMMETRIC_SIGN algorithm`);
  }
}

/** RSAES-OAEP-DECRYPT (RFC 8017 §7.1.2) for RSA_DECRYPT_OAEP_* keys. */
export function asymmetricDecrypt(alg: AlgorithmInfo, key: KeyObject, ciphertext: Buffer): Buffer {
  if (alg.kind !== 'rsa-decrypt-oaep') throw new Error(`algorithm ${alg.name} is not an ASYMMETRIC_DECRYPT algorithm`);
  const k = Math.ceil(modulusBits(key) / 8);
  // §7.1.2 step 1b: the ciphertext must be exactly k octets.
  if (ciphertext.length !== k) {
    throw invalidArgument(`ciphertext must be ${k} bytes for algorithm ${alg.name}.`);
  }
  try {
    return privateDecrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hashOf(alg) }, ciphertext);
  } catch {
    // §7.1.2 note: every decryption error must look the same to the caller.
    throw invalidArgument(INVALID_CIPHERTEXT);
  }
}
