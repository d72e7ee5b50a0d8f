// GOOGLE_SYMMETRIC_ENCRYPTION: the Encrypt/Decrypt ciphertext format of
// OpenEKM. The format is our own (Cloud KMS's is opaque and undocumented);
// callers only ever treat it as opaque bytes.
//
//   offset  length  field
//   0       1       format byte, 0x01 = AES-256-GCM (NIST SP 800-38D)
//   1       4       CryptoKeyVersion number, uint32 big-endian ("1" -> 1)
//   5       12      random IV (SP 800-38D §8.2.2: random 96-bit IVs)
//   17      n       ciphertext (same length as the plaintext)
//   17+n    16      GCM authentication tag (128 bits)
//
// The version number lets Decrypt pick the key version without trying all of
// them. The GCM additional data binds, each field length-prefixed so no two
// different inputs produce the same AAD bytes:
//
//   "openekm-symmetric-v1" || u32 len(name) || name (UTF-8)
//     || format byte || u32 version || u32 len(aad) || caller's aad
//
// so a ciphertext of one key (or version) never opens under another key's
// name, even if two versions ever held the same material. The envelope
// itself (IV, GCM, tag) is crypto/aead.ts.

import { aeadOpen, aeadOverhead, aeadSeal } from './aead';
import { invalidArgument } from '../errors';

const FORMAT_AES_256_GCM = 0x01;
const HEADER_BYTES = 5;
const AAD_LABEL = Buffer.from('openekm-symmetric-v1', 'utf8');
const MAX_VERSION = 0xffffffff;

/** Bytes a ciphertext has beyond its plaintext. */
export const SYMMETRIC_OVERHEAD: number = aeadOverhead(HEADER_BYTES);

const INVALID_CIPHERTEXT = 'Decryption failed: the ciphertext is invalid.';

// The prefix depends only on (name, version, aad length) and Encrypt/Decrypt
// repeat the same few: remembered in a bounded map (emptied when full).
const PREFIXES = new Map<string, Buffer>();
const PREFIX_LIMIT = 10_000;

/** The length-prefixed binding of key name and version (everything before the caller's aad). */
function bindingPrefix(cryptoKeyName: string, version: number, aadLength: number): Buffer {
  const id = `${version}:${aadLength}:${cryptoKeyName}`;
  let prefix = PREFIXES.get(id);
  if (!prefix) {
    prefix = buildPrefix(cryptoKeyName, version, aadLength);
    if (PREFIXES.size >= PREFIX_LIMIT) PREFIXES.clear();
    PREFIXES.set(id, prefix);
  }
  return prefix;
}

function buildPrefix(cryptoKeyName: string, version: number, aadLength: number): Buffer {
  const nameLength = Buffer.byteLength(cryptoKeyName, 'utf8');
  const out = Buffer.allocUnsafe(AAD_LABEL.length + 4 + nameLength + 1 + 4 + 4);
  let o = AAD_LABEL.copy(out, 0);
  o = out.writeUInt32BE(nameLength, o);
  o += out.write(cryptoKeyName, o, 'utf8');
  o = out.writeUInt8(FORMAT_AES_256_GCM, o);
  o = out.writeUInt32BE(version, o);
  out.writeUInt32BE(aadLength, o);
  return out;
}

/** Encrypts plaintext for version `version` of the CryptoKey `cryptoKeyName`. */
export function symmetricEncrypt(
  key: Buffer,
  cryptoKeyName: string,
  version: number,
  plaintext: Buffer,
  aad: Buffer,
): Buffer {
  if (!Number.isInteger(version) || version < 1 || version > MAX_VERSION) {
    throw new RangeError(`version must be an integer in [1, ${MAX_VERSION}]`);
  }
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  header[0] = FORMAT_AES_256_GCM;
  header.writeUInt32BE(version, 1);
  return aeadSeal(key, header, [bindingPrefix(cryptoKeyName, version, aad.length), aad], plaintext);
}

/** The CryptoKeyVersion number a ciphertext was made with. */
export function ciphertextVersion(ciphertext: Buffer): number {
  if (ciphertext.length < SYMMETRIC_OVERHEAD || ciphertext[0] !== FORMAT_AES_256_GCM) {
    throw invalidArgument(INVALID_CIPHERTEXT);
  }
  const version = ciphertext.readUInt32BE(1);
  if (version === 0) throw invalidArgument(INVALID_CIPHERTEXT);
  return version;
}

/** Decrypts a ciphertext of `cryptoKeyName`; `key` must be the material of ciphertextVersion(ciphertext). */
export function symmetricDecrypt(key: Buffer, cryptoKeyName: string, ciphertext: Buffer, aad: Buffer): Buffer {
  const version = ciphertextVersion(ciphertext);
  const plaintext = aeadOpen(key, ciphertext, HEADER_BYTES, [bindingPrefix(cryptoKeyName, version, aad.length), aad]);
  if (!plaintext) throw invalidArgument(INVALID_CIPHERTEXT);
  return plaintext;
}
