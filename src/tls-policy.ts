// The TLS versions and cipher suites every TLS endpoint of the project
// offers (the EKM's listener, and the KMS's client towards EKMs): TLS 1.3, and
// TLS 1.2 with ECDHE key exchange and AEAD ciphers only. No CBC, no SHA-1 MAC,
// no static RSA key exchange (no forward secrecy), no DHE. TLS 1.3's suites are
// all AEAD and are left at OpenSSL's defaults.
import type * as tls from 'node:tls';

export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
] as const;

/** Node's `ciphers` string: the TLS 1.3 suites, then the TLS 1.2 list above. */
const CIPHERS = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256', ...TLS12_CIPHERS].join(':');

export const TLS_SERVER_POLICY: Readonly<tls.TlsOptions> = Object.freeze({
  minVersion: 'TLSv1.2',
  ciphers: CIPHERS,
  honorCipherOrder: true,
});

export const TLS_CLIENT_POLICY: Readonly<tls.ConnectionOptions> = Object.freeze({
  minVersion: 'TLSv1.2',
  ciphers: CIPHERS,
});
