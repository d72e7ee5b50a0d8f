// The wrapped blob (our own layout; docs/ekm-protocol.md leaves it to the EKM):
//   byte 0       format 0x01 = AES-256-GCM (NIST SP 800-38D)
//   bytes 1-12   random 96-bit IV
//   then         ciphertext || 16-byte tag
// The GCM additional data binds the key path and the caller's AAD, length-
// prefixed so no (path, AAD) pair can be confused with another:
//   "openekm-ekm/wrap/v1" 0x00 || u32be(len(path)) || path || AAD
// A blob therefore opens only under the key and AAD that made it; a blob of
// another key, a changed AAD and any flipped bit all fail alike. The
// envelope itself is the project's one AEAD (src/crypto/aead.ts).
import { aeadOpen, aeadOverhead, aeadSeal } from '../crypto/aead';
import { invalidArgument } from '../errors';

const FORMAT = 0x01;
const HEADER = Buffer.from([FORMAT]);
const LABEL = Buffer.from('openekm-ekm/wrap/v1\0', 'utf8');
export const WRAP_OVERHEAD = aeadOverhead(HEADER.length);

/** One message for every unwrap failure, so failures reveal nothing about why. */
const CANNOT_UNWRAP = 'The wrapped blob cannot be unwrapped with this key and additional authenticated data.';

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

const NO_AAD = Buffer.alloc(0);

export function wrap(key: Buffer, keyPath: string, plaintext: Buffer, aad?: Buffer): Buffer {
  return aeadSeal(key, HEADER, [pathPrefix(keyPath), aad ?? NO_AAD], plaintext);
}

export function unwrap(key: Buffer, keyPath: string, blob: Buffer, aad?: Buffer): Buffer {
  if (blob.length < WRAP_OVERHEAD || blob[0] !== FORMAT) throw invalidArgument(CANNOT_UNWRAP);
  const plaintext = aeadOpen(key, blob, HEADER.length, [pathPrefix(keyPath), aad ?? NO_AAD]);
  if (!plaintext) throw invalidArgument(CANNOT_UNWRAP);
  return plaintext;
}
