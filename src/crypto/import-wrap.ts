// ImportCryptoKeyVersion's unwrapping: the request's wrapped key opened with
// the import job's private wrapping key (wrapping-key.ts), giving the target
// key's bytes, which import-material.ts then checks against the algorithm.
//
// The facts this follows, and their sources:
// - RSA_OAEP_{3072,4096}_{SHA1,SHA256}_AES_256 are PKCS #11's
//   CKM_RSA_AES_KEY_WRAP: wrapped_key is RSAES-OAEP (SHA-1 or SHA-256, MGF1
//   with the same hash, empty label) of an ephemeral AES-256 key, exactly
//   k = modulus/8 bytes (RFC 8017 §7.1.1), followed by AES-KWP (RFC 5649)
//   of the target key under that ephemeral key.
//   ImportCryptoKeyVersionRequest.wrapped_key in google/cloud/kms/v1/service.proto;
//   https://cloud.google.com/kms/docs/key-wrapping;
//   https://docs.oasis-open.org/pkcs11/pkcs11-curr/v2.40/cos01/pkcs11-curr-v2.40-cos01.html#_Toc408226908.
//   gcloud wraps the same way (lib/surface/kms/keys/versions/import.py,
//   _CkmRsaAesKeyWrap: os.urandom(32), aes_key_wrap_with_padding, OAEP with
//   label None, RSA block first).
// - RSA_OAEP_{3072,4096}_SHA256: wrapped_key is RSAES-OAEP-SHA256 (MGF1-SHA256,
//   empty label) of the target key itself (service.proto), so the target is
//   at most k − 66 bytes: 318 or 446, too few for an RSA key, as
//   ImportJob.ImportMethod says (google/cloud/kms/v1/resources.proto).
// - HPKE_KEM_{ML_KEM_768,ML_KEM_1024,XWING}_HKDF_SHA256_AES_256_GCM: RFC 9180
//   single-shot encryption in base mode with KEM ML-KEM-768 (0x0041),
//   ML-KEM-1024 (0x0042) or X-Wing (0x647a) of draft-ietf-hpke-pq, KDF
//   HKDF-SHA256, AEAD AES-256-GCM, empty info and empty aad; wrapped_key is
//   enc ‖ ciphertext (enc 1088, 1568 or 1120 bytes; the ciphertext is the
//   target key plus a 16-byte tag). Google's sample for quantum-safe import,
//   https://github.com/GoogleCloudPlatform/golang-samples/blob/main/kms/hpke_wrap.go,
//   wraps with filippo.io/hpke Seal(pub, HKDFSHA256, AES256GCM, nil info, key)
//   ("Cloud KMS expect it to be empty"), which returns enc ‖ ciphertext and
//   uses no aad; https://docs.cloud.google.com/kms/docs/quantum-safe-key-import.
//   The HPKE itself is @hpke/core's; no key schedule of ours.
// - rsa_aes_wrapped_key "has the same meaning as wrapped_key ... Either that
//   field or this field (but not both) must be specified" (service.proto).
//
// Every failure is one INVALID_ARGUMENT saying why in our words; no library
// message and no key byte reaches it. Distinguishing an OAEP failure from a
// KWP failure is safe: OAEP as a whole is CCA-secure, and the OAEP step
// itself fails with one message whatever the cause (RFC 8017 §7.1.2 note).

import { constants, createDecipheriv, privateDecrypt, type KeyObject } from 'node:crypto';
import { HpkeError } from '@hpke/core';
import { invalidArgument } from '../errors';
import { hpkeKem, hpkeSuite, importMethodInfo, type HpkeKem, type ImportMethod, type OaepHash } from './import-methods';
import { privateKeyObject } from './material';

/** The two ImportCryptoKeyVersionRequest fields that may carry the wrapped key. */
export interface WrappedKeyFields {
  wrappedKey?: Uint8Array | null;
  rsaAesWrappedKey?: Uint8Array | null;
}

interface Wrapped {
  bytes: Buffer;
  field: 'wrapped_key' | 'rsa_aes_wrapped_key';
}

const EMPTY = Buffer.alloc(0);
const AES_256_KEY_BYTES = 32;
/** RFC 5649 §4.1: KWP output is whole 64-bit blocks, at least two. */
const KWP_BLOCK_BYTES = 8;
const KWP_MIN_BYTES = 16;
/** RFC 5649 §3: the constant high half of the Alternative Initial Value. */
const KWP_AIV = Buffer.from('a65959a6', 'hex');
const GCM_TAG_BYTES = 16;
const HASH_LABEL: Readonly<Record<OaepHash, string>> = { sha1: 'SHA-1', sha256: 'SHA-256' };

const asBuffer = (b: Uint8Array | null | undefined): Buffer =>
  b == null ? EMPTY : Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/** The wrapped key and the field it came in; proto3 bytes are absent when empty. */
function wrappedOf(request: WrappedKeyFields): Wrapped {
  const current = asBuffer(request.wrappedKey);
  const legacy = asBuffer(request.rsaAesWrappedKey);
  if (current.length > 0 && legacy.length > 0) {
    throw invalidArgument('wrapped_key and rsa_aes_wrapped_key are both set; set only wrapped_key (rsa_aes_wrapped_key is its legacy name).');
  }
  if (current.length > 0) return { bytes: current, field: 'wrapped_key' };
  if (legacy.length > 0) return { bytes: legacy, field: 'rsa_aes_wrapped_key' };
  throw invalidArgument('wrapped_key: required field is empty.');
}

/** The job's RSA private key; a key of another size is our bug, not the caller's. */
function rsaKey(material: Buffer, modulusBits: number): KeyObject {
  const key = privateKeyObject(material);
  if (key.asymmetricKeyDetails?.modulusLength !== modulusBits) throw new Error(`wrapping key is not a ${modulusBits}-bit RSA key`);
  return key;
}

/** RSAES-OAEP-DECRYPT (RFC 8017 §7.1.2) with MGF1 over the same hash and the empty label. */
function oaepDecrypt(key: KeyObject, hash: OaepHash, block: Buffer, wrapped: Wrapped, what: string): Buffer {
  try {
    return privateDecrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, block);
  } catch {
    const h = HASH_LABEL[hash];
    throw invalidArgument(`${wrapped.field}: ${what} does not decrypt with the import job's wrapping key (RSAES-OAEP with ${h}, MGF1 with ${h}, empty label).`);
  }
}

/** AES-KWP unwrap (RFC 5649 §4.2) under a 256-bit key, integrity check included. */
function kwpUnwrap(kek: Buffer, data: Buffer, wrapped: Wrapped): Buffer {
  // node's wrap cipher returns nothing for empty input instead of failing.
  if (data.length < KWP_MIN_BYTES || data.length % KWP_BLOCK_BYTES !== 0) {
    throw invalidArgument(`${wrapped.field}: the AES-KWP part must be a multiple of 8 bytes and at least 16, got ${data.length}.`);
  }
  try {
    const decipher = createDecipheriv('id-aes256-wrap-pad', kek, KWP_AIV);
    return Buffer.concat([decipher.update(data), decipher.final()]);
  } catch {
    throw invalidArgument(`${wrapped.field}: the AES-KWP part fails its RFC 5649 integrity check under the ephemeral AES key.`);
  }
}

/** CKM_RSA_AES_KEY_WRAP: the OAEP block (k bytes) holds the ephemeral key; the rest is KWP. */
function unwrapRsaAes(method: ImportMethod, modulusBits: number, hash: OaepHash, material: Buffer, wrapped: Wrapped): Buffer {
  const k = modulusBits / 8;
  if (wrapped.bytes.length <= k) {
    throw invalidArgument(`${wrapped.field}: for import method ${method} it must be the ${k}-byte RSA-OAEP block followed by the AES-KWP-wrapped key, got ${wrapped.bytes.length} bytes.`);
  }
  const ephemeral = oaepDecrypt(rsaKey(material, modulusBits), hash, wrapped.bytes.subarray(0, k), wrapped, `the first ${k} bytes`);
  try {
    if (ephemeral.length !== AES_256_KEY_BYTES) {
      throw invalidArgument(`${wrapped.field}: the RSA-OAEP block holds a ${ephemeral.length}-byte key; the ephemeral key must be AES-256 (32 bytes).`);
    }
    return kwpUnwrap(ephemeral, wrapped.bytes.subarray(k), wrapped);
  } finally {
    ephemeral.fill(0);
  }
}

/** RSA_OAEP_*_SHA256: the whole field is one OAEP block holding the target key. */
function unwrapRsaOaep(method: ImportMethod, modulusBits: number, hash: OaepHash, material: Buffer, wrapped: Wrapped): Buffer {
  const k = modulusBits / 8;
  if (wrapped.bytes.length !== k) {
    throw invalidArgument(`${wrapped.field}: for import method ${method} it must be one ${k}-byte RSA-OAEP block, got ${wrapped.bytes.length} bytes.`);
  }
  return oaepDecrypt(rsaKey(material, modulusBits), hash, wrapped.bytes, wrapped, 'it');
}

/** HPKE base mode, single shot: wrapped is enc ‖ ciphertext, info and aad are empty. */
async function unwrapHpke(method: ImportMethod, kemName: HpkeKem, material: Buffer, wrapped: Wrapped): Promise<Buffer> {
  const kem = hpkeKem(kemName);
  if (material.length !== kem.privateKeySize) throw new Error(`wrapping key is not a ${kemName} seed`);
  const encBytes = kem.encSize;
  if (wrapped.bytes.length < encBytes + GCM_TAG_BYTES) {
    throw invalidArgument(
      `${wrapped.field}: for import method ${method} it must be the ${encBytes}-byte encapsulated key followed by the AES-256-GCM ciphertext and its 16-byte tag, got ${wrapped.bytes.length} bytes.`,
    );
  }
  const recipientKey = await kem.deserializePrivateKey(material);
  try {
    const enc = wrapped.bytes.subarray(0, encBytes);
    return Buffer.from(await hpkeSuite(kem).open({ recipientKey, enc }, wrapped.bytes.subarray(encBytes)));
  } catch (err) {
    if (!(err instanceof HpkeError)) throw err;
    throw invalidArgument(
      `${wrapped.field}: HPKE decryption with the import job's wrapping key failed (base mode, ${kemName}, HKDF-SHA256, AES-256-GCM, empty info and aad).`,
    );
  }
}

/**
 * The target key's bytes from an ImportCryptoKeyVersionRequest's wrapped key,
 * unwrapped with the import job's private key (WrappingKey.material).
 */
export async function unwrapImportedKey(method: ImportMethod, wrappingMaterial: Buffer, request: WrappedKeyFields): Promise<Buffer> {
  const wrapped = wrappedOf(request);
  const info = importMethodInfo(method);
  switch (info.kind) {
    case 'rsa-aes':
      return unwrapRsaAes(method, info.modulusBits, info.hash, wrappingMaterial, wrapped);
    case 'rsa-oaep':
      return unwrapRsaOaep(method, info.modulusBits, info.hash, wrappingMaterial, wrapped);
    case 'hpke':
      return unwrapHpke(method, info.kem, wrappingMaterial, wrapped);
  }
}
