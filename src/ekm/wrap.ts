// The wrapped blob (our own layout; docs/ekm-protocol.md leaves it to the EKM):
//   byte 0       format 0x01 = AES-256-GCM (NIST SP 800-38D)
//   bytes 1-12   random 96-bit IV
//   then         ciphertext || 16-byte tag
// The GCM additional data binds the key path and the caller's AAD, length-
// prefixed so no (path, AAD) pair can be confused with another:
//   "openekm-ekm/wrap/v1" 0x00 || u32be(len(path)) || path || AAD
// A blob therefore opens only under the key and AAD that made it; a blob of
// another key, a changed AAD and any flipped bit all fail alike.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { invalidArgument } from '../errors';

const FORMAT = 0x01;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const LABEL = Buffer.from('openekm-ekm/wrap/v1\0', 'utf8');
export const WRAP_OVERHEAD = 1 + IV_BYTES + TAG_BYTES;

/** One message for every unwrap failure, so failures reveal nothing about why. */
const CANNOT_UNWRAP = 'The wrapped blob cannot be unwrapped with this key and additional authenticated data.';

function associatedData(keyPath: string, aad: Buffer): Buffer {
  const path = Buffer.from(keyPath, 'utf8');
  const length = Buffer.allocUnsafe(4);
  length.writeUInt32BE(path.length);
  return Buffer.concat([LABEL, length, path, aad]);
}

export function wrap(key: Buffer, keyPath: string, plaintext: Buffer, aad: Buffer): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(associatedData(keyPath, aad));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.of(FORMAT), iv, body, cipher.getAuthTag()]);
}

export function unwrap(key: Buffer, keyPath: string, blob: Buffer, aad: Buffer): Buffer {
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
