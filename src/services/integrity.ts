// Data integrity as Cloud KMS does it: every *_crc32c request field is checked
// against the bytes it covers (mismatch: INVALID_ARGUMENT), the answer says
// which were verified, and every returned byte field carries its checksum.
// https://cloud.google.com/kms/docs/data-integrity-guidelines
import { crc32c } from '../crypto/crc32c';
import { invalidArgument } from '../errors';
import type { Msg } from '../proto/registry';

/** Checks an optional google.protobuf.Int64Value checksum; returns whether one was given. */
export function verifyCrc32c(data: Buffer, checksum: unknown, field: string, dataField: string): boolean {
  if (checksum == null) return false;
  const raw = (checksum as { value?: unknown }).value ?? '0';
  const expected = Number(raw);
  if (!Number.isInteger(expected) || expected < 0 || expected > 0xffffffff) {
    throw invalidArgument(`${field}: must be a CRC32C value between 0 and 2^32-1.`);
  }
  if (crc32c(data) !== expected) {
    throw invalidArgument(`${field}: the checksum did not match the data in field ${dataField}.`);
  }
  return true;
}

/**
 * An Int64Value holding the CRC32C of data, for response checksum fields. A
 * number, not the decimal string requests arrive with: protobufjs encodes
 * either, and a number skips a Long parse on every response.
 */
export const checksum = (data: Uint8Array): Msg => ({ value: crc32c(data) });

/** A bytes field of a request: a Buffer, or empty when absent. */
export const bytesField = (value: unknown): Buffer => (Buffer.isBuffer(value) ? value : EMPTY);
const EMPTY = Buffer.alloc(0);

export function checkSize(data: Buffer, max: number, field: string): void {
  if (data.length > max) throw invalidArgument(`${field}: must be at most ${max} bytes, got ${data.length}.`);
}
