// The one AEAD envelope of the project: AES-256-GCM (NIST SP 800-38D) with a
// random 96-bit IV and a bound context. Key material at rest (root-key.ts),
// Encrypt ciphertexts of SOFTWARE keys (symmetric.ts) and the reference
// EKM's wrapped blobs (ekm/wrap.ts) are all this layout:
//
//   header (the caller's format bytes) || IV (12) || ciphertext || tag (16)
//
// The header is authenticated through the context, not by GCM itself: each
// caller puts what its header means (format, version) into the context it
// passes. The context is a list of byte strings that GCM authenticates as
// their concatenation; callers length-prefix their parts so that no two
// different contexts give the same bytes.
import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';

export const IV_BYTES = 12;
export const TAG_BYTES = 16;
export const KEY_BYTES = 32;

/** Bytes a sealed message has beyond its plaintext, for a header of headerBytes. */
export const aeadOverhead = (headerBytes: number): number => headerBytes + IV_BYTES + TAG_BYTES;

// IVs are drawn from a pool refilled 4 KiB at a time: one CSPRNG call per
// seal costs about as much as the AES-GCM itself on small payloads, and
// pooled CSPRNG bytes are just as unpredictable. Each IV is handed out once
// and wiped from the pool.
const IV_POOL = Buffer.allocUnsafe(IV_BYTES * 341);
let ivPoolOffset = IV_POOL.length;

function nextIv(into: Buffer, offset: number): void {
  if (ivPoolOffset + IV_BYTES > IV_POOL.length) {
    randomFillSync(IV_POOL);
    ivPoolOffset = 0;
  }
  IV_POOL.copy(into, offset, ivPoolOffset, ivPoolOffset + IV_BYTES);
  IV_POOL.fill(0, ivPoolOffset, ivPoolOffset + IV_BYTES);
  ivPoolOffset += IV_BYTES;
}

function checkKey(key: Buffer): void {
  // A wrong-length key is a bug of the caller's store, never a request's fault.
  if (key.length !== KEY_BYTES) throw new Error(`an AES-256-GCM key must be ${KEY_BYTES} bytes`);
}

/** header || IV || AES-256-GCM(key, IV, context, plaintext) || tag, in one allocation. */
export function aeadSeal(key: Buffer, header: Buffer, context: readonly Buffer[], plaintext: Buffer): Buffer {
  checkKey(key);
  const bodyOffset = header.length + IV_BYTES;
  const out = Buffer.allocUnsafe(aeadOverhead(header.length) + plaintext.length);
  header.copy(out, 0);
  nextIv(out, header.length);
  const cipher = createCipheriv('aes-256-gcm', key, out.subarray(header.length, bodyOffset), { authTagLength: TAG_BYTES });
  // Several setAAD calls authenticate the concatenation, sparing a copy.
  for (const part of context) if (part.length > 0) cipher.setAAD(part);
  // node's Cipher API returns fresh buffers, so the body is copied once.
  let o = bodyOffset + cipher.update(plaintext).copy(out, bodyOffset);
  o += cipher.final().copy(out, o);
  cipher.getAuthTag().copy(out, o);
  return out;
}

/**
 * The plaintext of what aeadSeal made with the same key and context, after a
 * header of headerBytes (which the caller has read and checked); undefined
 * when it is too short or fails authentication (any change, another key,
 * another context).
 */
export function aeadOpen(key: Buffer, sealed: Buffer, headerBytes: number, context: readonly Buffer[]): Buffer | undefined {
  checkKey(key);
  if (sealed.length < aeadOverhead(headerBytes)) return undefined;
  const bodyOffset = headerBytes + IV_BYTES;
  const tagStart = sealed.length - TAG_BYTES;
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(headerBytes, bodyOffset), { authTagLength: TAG_BYTES });
  decipher.setAuthTag(sealed.subarray(tagStart));
  for (const part of context) if (part.length > 0) decipher.setAAD(part);
  const body = decipher.update(sealed.subarray(bodyOffset, tagStart));
  let rest: Buffer;
  try {
    rest = decipher.final(); // verifies the tag
  } catch {
    return undefined;
  }
  return rest.length === 0 ? body : Buffer.concat([body, rest]);
}
