// Post-quantum key material: generating it, importing it, expanding it for
// use, and giving out the public key in the formats GetPublicKey serves.
//
// What we store (sealed elsewhere) is the standard compact private key:
// - ML-DSA: the 32-byte seed ξ (FIPS 204 Algorithm 1), ML-KEM: the 64-byte
//   seed d ‖ z (FIPS 203 Algorithm 19), X-Wing: its 32-byte seed (the draft's
//   decapsulation key). These are the forms the IETF drafts recommend for
//   PKCS#8, and expanding them costs a few milliseconds (pqSigner and
//   kemDecapsulator in pq.ts do it once per key, for callers that cache).
// - SLH-DSA: the 64-byte private key SK.seed ‖ SK.prf ‖ PK.seed ‖ PK.root
//   (FIPS 205 §9.1), not the 48-byte seed triple: deriving PK.root from the
//   seeds rebuilds the top hypertree layer (about 340 ms on SHA2-128s), while
//   signing needs nothing more than these 64 bytes. It is also the size Cloud
//   KMS lists for these keys and what draft-ietf-lamps-x509-slhdsa puts in
//   PKCS#8.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js';
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
import { ml_kem1024, ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { slh_dsa_sha2_128s } from '@noble/post-quantum/slh-dsa.js';
import { invalidArgument } from '../errors';
import { bitString, DerError, oid, readAll, readOnly, readTlv, sequence, TAG, type Tlv } from './der';
import { checkPublicKeyFormat, pqInfo, type PqAlgorithmInfo, type PqAlgorithmName } from './pq-algorithms';

type MlDsa = typeof ml_dsa44;
type Kem = typeof ml_kem768_x25519;

/** The @noble/post-quantum implementation behind each algorithm. */
export const ML_DSA: Readonly<Record<string, MlDsa>> = {
  PQ_SIGN_ML_DSA_44: ml_dsa44,
  PQ_SIGN_ML_DSA_65: ml_dsa65,
  PQ_SIGN_ML_DSA_87: ml_dsa87,
  PQ_SIGN_ML_DSA_44_EXTERNAL_MU: ml_dsa44,
  PQ_SIGN_ML_DSA_65_EXTERNAL_MU: ml_dsa65,
  PQ_SIGN_ML_DSA_87_EXTERNAL_MU: ml_dsa87,
};
export const SLH_DSA: typeof slh_dsa_sha2_128s = slh_dsa_sha2_128s;
// ml_kem768_x25519 is X-Wing: its keygen, encapsulation and decapsulation
// reproduce every test vector of draft-connolly-cfrg-xwing-kem (see the tests).
export const KEM: Readonly<Record<string, Kem>> = { ML_KEM_768: ml_kem768, ML_KEM_1024: ml_kem1024, KEM_XWING: ml_kem768_x25519 };

/** SLH-DSA-SHA2-128s n: the private key is SK.seed ‖ SK.prf ‖ PK.seed ‖ PK.root, n bytes each. */
const SLH_N = 16;

export interface ExpandedPqKey {
  /** The raw public key (the NIST_PQC / XWING_RAW_BYTES form). */
  publicKey: Buffer;
  /** The private key in the form the library signs or decapsulates with. */
  secretKey: Uint8Array;
}

const asBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

function engineKeygen(info: Readonly<PqAlgorithmInfo>, seed: Uint8Array): { publicKey: Uint8Array; secretKey: Uint8Array } {
  switch (info.family) {
    case 'ml-dsa':
      return ML_DSA[info.name].keygen(seed);
    case 'slh-dsa':
      return SLH_DSA.keygen(seed);
    case 'ml-kem':
    case 'x-wing':
      return KEM[info.name].keygen(seed);
  }
}

/** Stored material of the wrong size is a bug or corruption of ours, not the caller's. */
function checkMaterial(info: Readonly<PqAlgorithmInfo>, material: Buffer): void {
  if (material.length !== info.materialBytes) {
    throw new Error(`${info.name} material must be ${info.materialBytes} bytes, got ${material.length}`);
  }
}

/** The public key and usable private key of stored material. */
export function expandPqKey(name: PqAlgorithmName, material: Buffer): ExpandedPqKey {
  const info = pqInfo(name);
  checkMaterial(info, material);
  if (info.family === 'slh-dsa') return { publicKey: Buffer.from(material.subarray(2 * SLH_N)), secretKey: material };
  const { publicKey, secretKey } = engineKeygen(info, material);
  return { publicKey: asBuffer(publicKey), secretKey };
}

/** Fresh private material for a new CryptoKeyVersion (see the header for its form). */
export function generatePqMaterial(name: PqAlgorithmName): Buffer {
  const info = pqInfo(name);
  // SLH-DSA: FIPS 205 Algorithm 21 draws SK.seed, SK.prf and PK.seed; the
  // library derives PK.root. Blocks for 250–350 ms.
  if (info.family === 'slh-dsa') return asBuffer(SLH_DSA.keygen(randomBytes(3 * SLH_N)).secretKey);
  return randomBytes(info.materialBytes);
}

// ---- Import -------------------------------------------------------------

function importFormat(info: Readonly<PqAlgorithmInfo>): string {
  const what = info.family === 'slh-dsa' ? `${info.materialBytes}-byte private key` : `${info.materialBytes}-byte seed`;
  return `a PKCS#8 DER private key for ${info.name} holding its ${what}, or that ${what} alone`;
}

/** The seed of an ML-DSA or ML-KEM privateKey CHOICE (seed [0], expandedKey, both). */
function seedOfChoice(info: Readonly<PqAlgorithmInfo>, privateKey: Buffer): Buffer {
  const { value, rest } = readTlv(privateKey);
  if (rest.length > 0) throw new DerError('trailing bytes');
  if (value.tag === TAG.CONTEXT_0_PRIMITIVE) return value.content;
  if (value.tag === TAG.OCTET_STRING) {
    // One-way: the seed can not be recovered from the expanded key.
    throw invalidArgument(`wrapped_key: the ${info.name} private key holds only the expanded key; import it with its seed.`);
  }
  const [seed, expanded, ...extra] = value.tag === TAG.SEQUENCE ? readAll(value.content) : [];
  if (seed?.tag !== TAG.OCTET_STRING || expanded?.tag !== TAG.OCTET_STRING || extra.length > 0) {
    throw new DerError('not a seed, expandedKey or both');
  }
  // The seed consistency check of the IETF drafts: the expanded key must be the seed's.
  if (seed.content.length === info.materialBytes && !sameBytes(engineKeygen(info, seed.content).secretKey, expanded.content)) {
    throw invalidArgument(`wrapped_key: the seed and the expanded key of the ${info.name} private key do not match.`);
  }
  return seed.content;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** privateKey and the optional publicKey of a OneAsymmetricKey (RFC 5958 §2). */
function readOneAsymmetricKey(info: Readonly<PqAlgorithmInfo>, der: Buffer): { privateKey: Buffer; publicKey?: Buffer } {
  const [version, algorithm, privateKey, ...optional] = readAll(readOnly(der, TAG.SEQUENCE));
  if (version?.tag !== TAG.INTEGER || version.content.length !== 1 || version.content[0] > 1) throw new DerError('bad version');
  // The parameters of every one of these AlgorithmIdentifiers are absent.
  if (algorithm?.tag !== TAG.SEQUENCE || !algorithm.content.equals(oid(info.oid))) {
    throw invalidArgument(`wrapped_key: the PKCS#8 private key is not for algorithm ${info.name}.`);
  }
  if (privateKey?.tag !== TAG.OCTET_STRING) throw new DerError('no privateKey');
  let rest = optional;
  if (rest[0]?.tag === TAG.CONTEXT_0_CONSTRUCTED) rest = rest.slice(1); // attributes: nothing we use
  let publicKey: Buffer | undefined;
  if (rest[0]?.tag === TAG.CONTEXT_1_PRIMITIVE) {
    publicKey = bitStringBytes(rest[0]);
    rest = rest.slice(1);
  }
  if (rest.length > 0) throw new DerError('unexpected field');
  return { privateKey: privateKey.content, publicKey };
}

/** The bytes of a BIT STRING of whole bytes. */
function bitStringBytes(field: Tlv): Buffer {
  if (field.content[0] !== 0) throw new DerError('bad BIT STRING');
  return field.content.subarray(1);
}

/** The material inside a PKCS#8 key, checked against the key it claims to be. */
function materialOfPkcs8(info: Readonly<PqAlgorithmInfo>, der: Buffer): { material: Buffer; publicKey?: Buffer } {
  const { privateKey, publicKey } = readOneAsymmetricKey(info, der);
  // SLH-DSA and X-Wing put the raw private key in the OCTET STRING itself.
  const material = info.family === 'ml-dsa' || info.family === 'ml-kem' ? seedOfChoice(info, privateKey) : privateKey;
  return { material, publicKey };
}

/** The material of imported bytes, and the public key a PKCS#8 key carried, if any. */
function readImport(info: Readonly<PqAlgorithmInfo>, bytes: Buffer): { material: Buffer; publicKey?: Buffer } {
  const malformed = () => invalidArgument(`wrapped_key: the key material must be ${importFormat(info)}.`);
  let found: { material: Buffer; publicKey?: Buffer };
  try {
    // No PKCS#8 encoding of these keys is as short as the bare key.
    found = bytes.length === info.materialBytes ? { material: bytes } : materialOfPkcs8(info, bytes);
  } catch (err) {
    throw err instanceof DerError ? malformed() : err;
  }
  if (found.material.length !== info.materialBytes) throw malformed();
  return found;
}

/**
 * Our stored material from the private key a user imports (after
 * unwrapping): PKCS#8 DER, as Cloud KMS takes asymmetric keys, in the forms
 * of draft-ietf-lamps-dilithium-certificates, -kyber-certificates,
 * -x509-slhdsa and draft-connolly-cfrg-xwing-kem; or the bare seed (SLH-DSA:
 * the bare 64-byte key). A key whose parts disagree is refused.
 */
export function pqMaterialFromImport(name: PqAlgorithmName, bytes: Buffer): Buffer {
  const info = pqInfo(name);
  const { material, publicKey } = readImport(info, bytes);
  // SLH-DSA: PK.root must be the one SK.seed and PK.seed give (FIPS 205
  // Algorithm 18), or every signature would fail to verify. About 340 ms.
  if (info.family === 'slh-dsa' && !sameBytes(engineKeygen(info, material.subarray(0, 3 * SLH_N)).secretKey, material)) {
    throw invalidArgument(`wrapped_key: the ${info.name} private key's PK.root does not match its seeds.`);
  }
  if (publicKey !== undefined && !sameBytes(expandPqKey(name, material).publicKey, publicKey)) {
    throw invalidArgument('wrapped_key: the public key in the PKCS#8 key does not match its private key.');
  }
  return Buffer.from(material);
}

// ---- Public keys ---------------------------------------------------------

/** SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) with the algorithm's OID and absent parameters. */
function spki(info: Readonly<PqAlgorithmInfo>, publicKey: Buffer): Buffer {
  return sequence(sequence(oid(info.oid)), bitString(publicKey));
}

/** RFC 7468 §13 textual encoding: base64 in lines of 64, LF line ends. */
function pem(der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN PUBLIC KEY-----\n${lines.join('\n')}\n-----END PUBLIC KEY-----\n`;
}

/**
 * A raw public key in a GetPublicKey format: PEM (as ASCII bytes) or DER
 * SubjectPublicKeyInfo, or the raw key itself (NIST_PQC, XWING_RAW_BYTES).
 * A format the algorithm does not serve is INVALID_ARGUMENT.
 */
export function encodePqPublicKey(name: PqAlgorithmName, publicKey: Buffer, format: string): Buffer {
  const info = pqInfo(name);
  if (publicKey.length !== info.publicKeyBytes) throw new Error(`${name} public key must be ${info.publicKeyBytes} bytes`);
  switch (checkPublicKeyFormat(name, format)) {
    case 'PEM':
      return Buffer.from(pem(spki(info, publicKey)), 'ascii');
    case 'DER':
      return spki(info, publicKey);
    default:
      return Buffer.from(publicKey);
  }
}

/** The public key of stored material in a GetPublicKey format (see encodePqPublicKey). */
export function pqPublicKey(name: PqAlgorithmName, material: Buffer, format: string): Buffer {
  checkPublicKeyFormat(name, format);
  return encodePqPublicKey(name, expandPqKey(name, material).publicKey, format);
}
