// Real X.509 certificates for tests, made with @peculiar/x509 over node's
// WebCrypto: self-signed, ECDSA P-256, with the DNS names asked for.
import { generateKeyPairSync, webcrypto, X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as x509 from '@peculiar/x509';
import { selfSignedCertificate } from '../../src/ekm-server/x509';

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

export interface CertFiles {
  der: Buffer;
  certFile: string;
  keyFile: string;
  pem: string;
  keyPem: string;
}

/** A self-signed P-256 leaf for names (server or client use), written as PEM files in dir. */
export function makeCertFiles(dir: string, names: string[], usage: 'serverAuth' | 'clientAuth' = 'serverAuth'): CertFiles {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const der = selfSignedCertificate({ names, notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000), privateKey, publicKey, usage });
  const certFile = path.join(dir, `${usage}-cert.pem`);
  const keyFile = path.join(dir, `${usage}-key.pem`);
  fs.writeFileSync(certFile, new X509Certificate(der).toString());
  fs.writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  return { der, certFile, keyFile, pem: fs.readFileSync(certFile, 'utf8'), keyPem: fs.readFileSync(keyFile, 'utf8') };
}
