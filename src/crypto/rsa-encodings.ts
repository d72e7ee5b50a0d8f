// Encodings from RFC 8017 (PKCS #1 v2.2) that node:crypto does not expose on
// their own: EMSA-PSS encoding of an already-computed digest, and the
// DigestInfo prefix of EMSA-PKCS1-v1_5. node's crypto.sign always hashes its
// input, so signing a caller-supplied digest needs these plus a raw RSA
// private operation.

import { createHash, randomBytes } from 'node:crypto';
import { HASH_BYTES, type HashName } from './algorithms';

/** MGF1 (RFC 8017 §B.2.1): T = Hash(seed || C) for C = 0, 1, ..., truncated to maskLen. */
export function mgf1(seed: Buffer, maskLen: number, hash: HashName): Buffer {
  const hLen = HASH_BYTES[hash];
  const out = Buffer.allocUnsafe(Math.ceil(maskLen / hLen) * hLen);
  const counter = Buffer.alloc(4);
  for (let c = 0, o = 0; o < maskLen; c++, o += hLen) {
    counter.writeUInt32BE(c, 0); // I2OSP(counter, 4)
    createHash(hash).update(seed).update(counter).digest().copy(out, o);
  }
  return out.subarray(0, maskLen);
}

/**
 * EMSA-PSS-ENCODE (RFC 8017 §9.1.1) from mHash = Hash(M), with MGF1 over the
 * same hash. Returns EM of ceil(emBits / 8) bytes; for RSASSA-PSS
 * emBits = modBits - 1 (§8.1.1).
 */
export function emsaPssEncode(mHash: Buffer, emBits: number, hash: HashName, saltLength: number = HASH_BYTES[hash]): Buffer {
  const hLen = HASH_BYTES[hash];
  if (mHash.length !== hLen) throw new RangeError(`mHash must be ${hLen} bytes`);
  const emLen = Math.ceil(emBits / 8);
  // Step 3: "encoding error" when the modulus is too small for hash + salt.
  if (emLen < hLen + saltLength + 2) throw new RangeError('PSS encoding error: modulus too short');
  const salt = randomBytes(saltLength); // step 4
  // Steps 5-6: H = Hash(M') with M' = (0x)00 00 00 00 00 00 00 00 || mHash || salt.
  const h = createHash(hash).update(Buffer.alloc(8)).update(mHash).update(salt).digest();
  // Steps 7-8: DB = PS || 0x01 || salt, PS being zeros.
  const dbLen = emLen - hLen - 1;
  const db = Buffer.alloc(dbLen);
  db[dbLen - saltLength - 1] = 0x01;
  salt.copy(db, dbLen - saltLength);
  // Steps 9-10: maskedDB = DB xor MGF(H, emLen - hLen - 1).
  const mask = mgf1(h, dbLen, hash);
  for (let i = 0; i < dbLen; i++) db[i] ^= mask[i];
  // Step 11: clear the leftmost 8*emLen - emBits bits.
  db[0] &= 0xff >>> (8 * emLen - emBits);
  // Step 12: EM = maskedDB || H || 0xbc.
  return Buffer.concat([db, h, Buffer.from([0xbc])]);
}

/**
 * DER of DigestInfo ::= SEQUENCE { AlgorithmIdentifier, OCTET STRING } up to
 * the digest itself, as listed in RFC 8017 §9.2 note 1.
 */
const DIGEST_INFO_PREFIX: Readonly<Record<HashName, Buffer>> = {
  sha1: Buffer.from('3021300906052b0e03021a05000414', 'hex'),
  sha224: Buffer.from('302d300d06096086480165030402040500041c', 'hex'),
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
};

/** T = DigestInfo DER of digest (RFC 8017 §9.2 step 2), the input to PKCS #1 v1.5 type 1 padding. */
export function pkcs1DigestInfo(hash: HashName, digest: Buffer): Buffer {
  if (digest.length !== HASH_BYTES[hash]) throw new RangeError(`digest must be ${HASH_BYTES[hash]} bytes`);
  return Buffer.concat([DIGEST_INFO_PREFIX[hash], digest]);
}
