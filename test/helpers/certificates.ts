// Real X.509 certificates for tests, made with @peculiar/x509 over node's
// WebCrypto: self-signed, ECDSA P-256, with the DNS names asked for.
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export interface CertificateOptions {
  commonName: string;
  dnsNames?: string[];
  /** Validity in days from now; default 30. */
  days?: number;
}

/** A self-signed certificate's DER. */
export async function makeCertificate(options: CertificateOptions): Promise<Buffer> {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: webcrypto.getRandomValues(new Uint8Array(8)).reduce((s, b) => s + b.toString(16).padStart(2, '0'), '01'),
    name: `CN=${options.commonName}`,
    notBefore: new Date(Math.floor(now / 1000) * 1000 - 60_000),
    notAfter: new Date(Math.floor(now / 1000) * 1000 + (options.days ?? 30) * 86_400_000),
    keys: keys as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]["keys"],
    signingAlgorithm: algorithm,
    extensions: [new x509.SubjectAlternativeNameExtension((options.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })))],
  });
  return Buffer.from(cert.rawData);
}
