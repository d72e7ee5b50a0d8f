// A minimal X.509 v3 certificate writer (RFC 5280, DER per ITU-T X.690) for
// the EKM's self-signed TLS certificate: node:crypto can sign and parse
// certificates but not build one, and the npm builders are asynchronous
// (WebCrypto) and, in @peculiar/x509 2.x, need a global Reflect polyfill in
// the server process. This writer is synchronous and small; tests parse its
// output with node's X509Certificate and use it in real TLS handshakes.
// Only what a TLS server leaf needs is written: subject CN, SAN
// (DNS names and IP addresses), basicConstraints CA:FALSE, keyUsage
// digitalSignature, extKeyUsage serverAuth (or clientAuth); ECDSA P-256 with
// SHA-256.
import { isIPv4, isIPv6 } from 'node:net';
import { randomBytes, sign, type KeyObject } from 'node:crypto';
import { oid, sequence, tlv } from '../crypto/der';

const set = (...items: Buffer[]): Buffer => tlv(0x31, Buffer.concat(items));
const octetString = (content: Buffer): Buffer => tlv(0x04, content);
const explicit = (n: number, content: Buffer): Buffer => tlv(0xa0 | n, content);
const TRUE = Buffer.of(0x01, 0x01, 0xff);

/** A non-negative INTEGER from big-endian bytes. */
function integer(bytes: Buffer): Buffer {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  const trimmed = bytes.subarray(i);
  return tlv(0x02, trimmed[0] & 0x80 ? Buffer.concat([Buffer.of(0), trimmed]) : trimmed);
}

/** UTCTime through 2049, GeneralizedTime after (RFC 5280 §4.1.2.5). */
function time(date: Date): Buffer {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '');
  return date.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${digits.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${digits}Z`));
}

function commonName(cn: string): Buffer {
  return sequence(set(sequence(oid('2.5.4.3'), tlv(0x0c, Buffer.from(cn.slice(0, 64), 'utf8')))));
}

function ipBytes(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  if (ip.includes('.')) throw new Error(`IPv6 addresses with an embedded IPv4 part are not supported in the SAN: ${ip}`);
  const [head, tail = ''] = ip.split('::');
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const h = groups(head);
  const t = ip.includes('::') ? groups(tail) : [];
  const all = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return Buffer.from(all.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return sequence(oid(id), ...(critical ? [TRUE] : []), octetString(value));
}

function subjectAltName(names: readonly string[]): Buffer {
  const general = names.map((n) => (isIPv4(n) || isIPv6(n) ? tlv(0x87, ipBytes(n)) : tlv(0x82, Buffer.from(n, 'ascii'))));
  return sequence(...general);
}

export interface SelfSignedSpec {
  /** DNS names and IP addresses for the SAN; the first is also the CN. */
  names: readonly string[];
  notBefore: Date;
  notAfter: Date;
  /** An EC P-256 key pair. */
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** Default serverAuth; clientAuth makes a client certificate (for mTLS tests and tools). */
  usage?: 'serverAuth' | 'clientAuth';
}

const EXTENDED_KEY_USAGE = { serverAuth: '1.3.6.1.5.5.7.3.1', clientAuth: '1.3.6.1.5.5.7.3.2' } as const;

/** The DER of a self-signed server certificate. */
export function selfSignedCertificate(spec: SelfSignedSpec): Buffer {
  const ecdsaWithSha256 = sequence(oid('1.2.840.10045.4.3.2'));
  const serial = randomBytes(16);
  serial[0] &= 0x7f;
  serial[0] |= 0x01;
  const name = commonName(spec.names[0]);
  const extensions = sequence(
    extension('2.5.29.19', true, sequence()),
    extension('2.5.29.15', true, Buffer.of(0x03, 0x02, 0x07, 0x80)),
    extension('2.5.29.37', false, sequence(oid(EXTENDED_KEY_USAGE[spec.usage ?? 'serverAuth']))),
    extension('2.5.29.17', false, subjectAltName(spec.names)),
  );
  const tbs = sequence(
    explicit(0, integer(Buffer.of(2))),
    integer(serial),
    ecdsaWithSha256,
    name,
    sequence(time(spec.notBefore), time(spec.notAfter)),
    name,
    spec.publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, extensions),
  );
  const signature = sign('sha256', tbs, { key: spec.privateKey, dsaEncoding: 'der' });
  return sequence(tbs, ecdsaWithSha256, tlv(0x03, Buffer.concat([Buffer.of(0), signature])));
}
