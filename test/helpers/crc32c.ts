// CRC-32C (Castagnoli) for the tests, written bit by bit from the definition
// (reflected polynomial 0x82F63B78, initial value and final XOR 0xFFFFFFFF) so
// the server's table-driven code is checked against something independent.

export function crc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** A google.protobuf.Int64Value holding the CRC32C of data, as a request's *_crc32c field. */
export const crc = (data: Uint8Array): { value: number } => ({ value: crc32c(data) });

/** A deliberately wrong checksum for data. */
export const wrongCrc = (data: Uint8Array): { value: number } => ({ value: (crc32c(data) + 1) % 0x100000000 });

/** The number in a response's Int64Value checksum (the client gives int64 as a string). */
export const crcValue = (field: { value?: unknown } | null | undefined): number => Number(field?.value);
