// The few DER (ITU-T X.690) pieces the post-quantum keys need: writing a
// SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) and reading a OneAsymmetricKey
// (RFC 5958 §2, the PKCS#8 successor). node:crypto on Node 20 knows neither
// ML-DSA, SLH-DSA, ML-KEM nor X-Wing, so it can not do either for us. The
// reference EKM's certificate writer (ekm-server/x509.ts) builds on the same
// tlv, sequence and oid. Why not an ASN.1 library (asn1js, @peculiar/asn1-*):
// these are a dozen fixed structures, written in ~90 lines tested against the
// IETF example keys byte for byte, and the libraries would add a schema layer
// (and, for @peculiar, a Reflect polyfill in the server process) for them.
//
// The reader is strict on purpose: definite lengths in minimal form only and
// no bytes after a value, so one key has one accepted encoding. Every
// failure is a DerError; callers turn it into their own INVALID_ARGUMENT.

export class DerError extends Error {}

/** Tags this module writes or reads (X.690 §8.1.2). */
export const TAG = {
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  OID: 0x06,
  SEQUENCE: 0x30,
  /** [0] IMPLICIT, primitive: the seed choice of the ML-DSA and ML-KEM private keys. */
  CONTEXT_0_PRIMITIVE: 0x80,
  /** [0] IMPLICIT, constructed: OneAsymmetricKey attributes. */
  CONTEXT_0_CONSTRUCTED: 0xa0,
  /** [1] IMPLICIT, primitive: OneAsymmetricKey publicKey (a BIT STRING). */
  CONTEXT_1_PRIMITIVE: 0x81,
} as const;

export function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  if (n < 0x80) return Buffer.concat([Buffer.of(tag, n), content]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.concat([Buffer.of(tag, 0x80 | bytes.length, ...bytes), content]);
}

export const sequence = (...items: Buffer[]): Buffer => tlv(TAG.SEQUENCE, Buffer.concat(items));

/** A BIT STRING of whole bytes: no unused bits (X.690 §8.6.2.2). */
export const bitString = (bytes: Uint8Array): Buffer => tlv(TAG.BIT_STRING, Buffer.concat([Buffer.of(0), bytes]));

/** An OBJECT IDENTIFIER from dotted form (X.690 §8.19). */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const bytes: number[] = [40 * arcs[0] + arcs[1]];
  for (const arc of arcs.slice(2)) {
    const base128: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) base128.unshift(0x80 | (v & 0x7f));
    bytes.push(...base128);
  }
  return tlv(TAG.OID, Buffer.from(bytes));
}

/** One decoded value: its tag and its contents. */
export interface Tlv {
  tag: number;
  content: Buffer;
}

/** Reads the value at the start of `der`; returns it and what follows it. */
export function readTlv(der: Buffer): { value: Tlv; rest: Buffer } {
  if (der.length < 2) throw new DerError('truncated');
  const tag = der[0];
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte tags are not used here');
  let length = der[1];
  let offset = 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    // 0x80 is BER's indefinite length; DER lengths fit in 4 bytes here.
    if (count === 0 || count > 4 || der.length < 2 + count) throw new DerError('bad length');
    length = der.subarray(2, 2 + count).reduce((v, b) => v * 256 + b, 0);
    offset += count;
    if (der[2] === 0 || length < 0x80) throw new DerError('length not minimal');
  }
  if (der.length - offset < length) throw new DerError('truncated');
  return { value: { tag, content: der.subarray(offset, offset + length) }, rest: der.subarray(offset + length) };
}

/** The values inside a constructed value's contents, in order. */
export function readAll(content: Buffer): Tlv[] {
  const values: Tlv[] = [];
  for (let rest = content; rest.length > 0; ) {
    const next = readTlv(rest);
    values.push(next.value);
    rest = next.rest;
  }
  return values;
}

/** Exactly one value of the given tag, and nothing after it. */
export function readOnly(der: Buffer, tag: number): Buffer {
  const { value, rest } = readTlv(der);
  if (rest.length > 0) throw new DerError('trailing bytes');
  if (value.tag !== tag) throw new DerError(`expected tag ${tag}, got ${value.tag}`);
  return value.content;
}
