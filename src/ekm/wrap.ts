// The wrapped blob (our own layout; docs/ekm-protocol.md leaves it to the EKM):
//   byte 0       format 0x01 = AES-256-GCM (NIST SP 800-38D)
//   bytes 1-12   random 96-bit IV
//   then         ciphertext || 16-byte tag
// The GCM additional data binds the key path and the caller's AAD, length-
// prefixed so no (path, AAD) pair can be confused with another:
//   "openekm-ekm/wrap/v1" 0x00 || u32be(len(path)) || path || AAD
// A blob therefore opens only under the key and AAD that made it; a blob of
// another key, a changed AAD and any flipped bit all fail alike.
import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';
import { invalidArgument } from '../errors';

const FORMAT = 0x01;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const LABEL = Buffer.from('openekm-ekm/wrap/v1\0', 'utf8');
export const WRAP_OVERHEAD = 1 + IV_BYTES + TAG_BYTES;

/** One message for every unwrap failure, so failures reveal nothing about why. */
const CANNOT_UNWRAP = 'The wrapped blob cannot be unwrapped with this key and additional authenticated data.';

// IVs come from the CSPRNG in blocks: one randomFillSync per 256 IVs instead
// of one per wrap. Every IV is still fresh random bytes, used once.
const IV_POOL = Buffer.alloc(IV_BYTES * 256);
let ivOffset = IV_POOL.length;

function nextIv(): Buffer {
  if (ivOffset === IV_POOL.length) {
    randomFillSync(IV_POOL);
    ivOffset = 0;
  }
  const iv = IV_POOL.subarray(ivOffset, ivOffset + IV_BYTES);
  ivOffset += IV_BYTES;
  return iv;
}

// The label and length-prefixed path of a key: the same for every call.
const prefixes = new Map<string, Buffer>();

function pathPrefix(keyPath: string): Buffer {
  let prefix = prefixes.get(keyPath);
  if (!prefix) {
    const path = Buffer.from(keyPath, 'utf8');
    prefix = Buffer.allocUnsafe(LABEL.length + 4 + path.length);
    LABEL.copy(prefix, 0);
    prefix.writeUInt32BE(path.length, LABEL.length);
    path.copy(prefix, LABEL.length + 4);
    if (prefixes.size >= 10_000) prefixes.clear();
    prefixes.set(keyPath, prefix);
  }
  return prefix;
}

function associatedData(keyPath: string, aad: Buffer | undefined): Buffer {
  const prefix = pathPrefix(keyPath);
  return aad && aad.length > 0 ? Buffer.concat([prefix, aad]) : prefix;
}

export function wrap(key: Buffer, keyPath: string, plaintext: Buffer, aad?: Buffer): Buffer {
  const out = Buffer.allocUnsafe(WRAP_OVERHEAD + plaintext.length);
  out[0] = FORMAT;
  const iv = nextIv();
  iv.copy(out, 1);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(associatedData(keyPath, aad));
  let at = 1 + IV_BYTES + cipher.update(plaintext).copy(out, 1 + IV_BYTES);
  at += cipher.final().copy(out, at);
  cipher.getAuthTag().copy(out, at);
  return out;
}

export function unwrap(key: Buffer, keyPath: string, blob: Buffer, aad?: Buffer): Buffer {
  if (blob.length < WRAP_OVERHEAD || blob[0] !== FORMAT) throw invalidArgument(CANNOT_UNWRAP);
  const tagStart = blob.length - TAG_BYTES;
  const decipher = createDecipheriv('aes-256-gcm', key, blob.subarray(1, 1 + IV_BYTES), { authTagLength: TAG_BYTES });
  decipher.setAuthTag(blob.subarray(tagStart));
  decipher.setAAD(associatedData(keyPath, aad));
  const plaintext = decipher.update(blob.subarray(1 + IV_BYTES, tagStart));
  try {
    decipher.final();
  } catch {
    throw invalidArgument(CANNOT_UNWRAP);
  }
  return plaintext;
}
