// The Encrypt/Decrypt ciphertext of an external (double-wrapped) version:
// the KMS first seals the data with the version's internal key (the
// GOOGLE_SYMMETRIC format of symmetric.ts), then the EKM wraps that inner
// ciphertext with the external key; what Encrypt returns is the EKM's blob
// behind a small header naming the version:
//
//   offset  length  field
//   0       1       format byte, 0x02 = external (double-wrapped)
//   1       4       CryptoKeyVersion number, uint32 big-endian
//   5       n       the EKM's wrapped blob (opaque: its layout is the EKM's)
//
// Neither side alone reads the data: the EKM never sees the plaintext, and
// the KMS can't open the inner ciphertext without the EKM unwrapping it.
import { invalidArgument } from '../errors';

export const FORMAT_EXTERNAL = 0x02;
const HEADER_BYTES = 5;
const INVALID_CIPHERTEXT = 'Decryption failed: the ciphertext is invalid.';

export function externalCiphertext(version: number, wrappedBlob: Buffer): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + wrappedBlob.length);
  out[0] = FORMAT_EXTERNAL;
  out.writeUInt32BE(version, 1);
  wrappedBlob.copy(out, HEADER_BYTES);
  return out;
}

export const isExternalCiphertext = (ciphertext: Buffer): boolean => ciphertext.length > HEADER_BYTES && ciphertext[0] === FORMAT_EXTERNAL;

/** The version number and the EKM's blob of an external ciphertext. */
export function parseExternalCiphertext(ciphertext: Buffer): { version: number; wrappedBlob: Buffer } {
  if (!isExternalCiphertext(ciphertext)) throw invalidArgument(INVALID_CIPHERTEXT);
  const version = ciphertext.readUInt32BE(1);
  if (version === 0) throw invalidArgument(INVALID_CIPHERTEXT);
  return { version, wrappedBlob: ciphertext.subarray(HEADER_BYTES) };
}
