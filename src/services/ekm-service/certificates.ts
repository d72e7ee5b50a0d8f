// A pinned server certificate of an EkmConnection: from raw_der the server
// fills the output-only fields of google.cloud.kms.v1.Certificate, with
// node:crypto's X509Certificate. DER that does not parse is kept, with
// parsed=false and the other fields empty (the proto's `parsed` flag exists
// for that case); docs/cloud-kms-differences.md says so.
import { createHash, X509Certificate } from 'node:crypto';
import type { Certificate } from '../../proto/wire';
import { timestamp } from '../resources';

/** Most certificates a ServiceResolver may pin (Cloud KMS's limit). */
export const MAX_CERTIFICATES = 10;

/** Node writes a distinguished name one attribute per line; the API gives it on one line. */
const oneLine = (dn: string): string => dn.split('\n').filter(Boolean).join(', ');

function dnsNames(subjectAltName: string | undefined): string[] {
  if (!subjectAltName) return [];
  return subjectAltName
    .split(', ')
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4));
}

function parse(der: Buffer): X509Certificate | undefined {
  try {
    return new X509Certificate(der);
  } catch {
    return undefined;
  }
}

/** The Certificate message for stored DER. */
export function certificateResource(der: Buffer): Certificate {
  const x509 = der.length > 0 ? parse(der) : undefined;
  if (!x509) return { rawDer: der, parsed: false };
  return {
    rawDer: der,
    parsed: true,
    issuer: oneLine(x509.issuer),
    subject: oneLine(x509.subject),
    subjectAlternativeDnsNames: dnsNames(x509.subjectAltName),
    notBeforeTime: timestamp(Date.parse(x509.validFrom)),
    notAfterTime: timestamp(Date.parse(x509.validTo)),
    serialNumber: x509.serialNumber.toLowerCase(),
    // Lower-case hex of SHA-256 over the DER, without separators.
    sha256Fingerprint: createHash('sha256').update(der).digest('hex'),
  };
}
