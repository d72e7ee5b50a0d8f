// The EKM's server certificate. Given --tls-cert/--tls-key it serves those;
// otherwise it makes, on first start, a self-signed certificate for the
// hostname and 127.0.0.1, kept in the data directory (key 0600) so its
// fingerprint, pinned in the KMS's EkmConnection, survives restarts. On every
// start the served leaf is written as DER to DATA_DIR/server-cert.der.
import { X509Certificate, createHash, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import * as path from 'node:path';
import type { Clock } from '../clock';
import { selfSignedCertificate } from './x509';

const VALIDITY_MS = 3 * 365 * 24 * 3600 * 1000;
const SELF_SIGNED_CERT = 'tls-self-signed-cert.pem';
const SELF_SIGNED_KEY = 'tls-self-signed-key.pem';
export const SERVED_CERT_DER = 'server-cert.der';

export interface TlsMaterial {
  /** PEM chain to serve (leaf first). */
  certPem: string;
  keyPem: string;
  /** The leaf certificate's DER and where it was written. */
  leafDer: Buffer;
  leafDerPath: string;
  /** SHA-256 of the leaf DER, lower-case hex (Cloud KMS' Certificate.sha256_fingerprint). */
  sha256Fingerprint: string;
}

export interface TlsOptions {
  dataDir: string;
  hostname: string;
  clock: Clock;
  certFile?: string;
  keyFile?: string;
}

function toPem(der: Buffer, label: string): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

function writePrivate(file: string, content: string | Buffer, mode: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode, flag: 'w' });
  renameSync(tmp, file);
}

function covers(cert: X509Certificate, hostname: string): boolean {
  return isIP(hostname) ? cert.checkIP(hostname) !== undefined : cert.checkHost(hostname) !== undefined;
}

function makeSelfSigned(options: TlsOptions, certFile: string, keyFile: string): void {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const now = options.clock.now();
  const names = options.hostname === '127.0.0.1' ? ['127.0.0.1'] : [options.hostname, '127.0.0.1'];
  const der = selfSignedCertificate({
    names,
    // An hour of slack for clients whose clocks run a little behind.
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + VALIDITY_MS),
    privateKey,
    publicKey,
  });
  writePrivate(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), 0o600);
  writePrivate(certFile, toPem(der, 'CERTIFICATE'), 0o644);
}

function selfSigned(options: TlsOptions): { certPem: string; keyPem: string } {
  const certFile = path.join(options.dataDir, SELF_SIGNED_CERT);
  const keyFile = path.join(options.dataDir, SELF_SIGNED_KEY);
  if (!existsSync(certFile) || !existsSync(keyFile)) makeSelfSigned(options, certFile, keyFile);
  const certPem = readFileSync(certFile, 'utf8');
  const cert = new X509Certificate(certPem);
  if (!covers(cert, options.hostname)) {
    throw new Error(`${certFile} is not for ${options.hostname}; delete it (and ${SELF_SIGNED_KEY}) to make a new one, or pass --tls-cert/--tls-key`);
  }
  if (Date.parse(cert.validTo) <= options.clock.now()) {
    throw new Error(`${certFile} expired on ${cert.validTo}; delete it (and ${SELF_SIGNED_KEY}) to make a new one`);
  }
  return { certPem, keyPem: readFileSync(keyFile, 'utf8') };
}

/** Loads the configured certificate or the self-signed one (made on first start). */
export function loadTlsMaterial(options: TlsOptions): TlsMaterial {
  if ((options.certFile === undefined) !== (options.keyFile === undefined)) {
    throw new Error('--tls-cert and --tls-key go together');
  }
  const { certPem, keyPem } = options.certFile
    ? { certPem: readFileSync(options.certFile, 'utf8'), keyPem: readFileSync(options.keyFile!, 'utf8') }
    : selfSigned(options);
  const leaf = new X509Certificate(certPem);
  if (!leaf.checkPrivateKey(createPrivateKey(keyPem))) throw new Error('the TLS key does not belong to the TLS certificate');
  const leafDerPath = path.join(options.dataDir, SERVED_CERT_DER);
  writeFileSync(leafDerPath, leaf.raw);
  return {
    certPem,
    keyPem,
    leafDer: leaf.raw,
    leafDerPath,
    sha256Fingerprint: createHash('sha256').update(leaf.raw).digest('hex'),
  };
}
