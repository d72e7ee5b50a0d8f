// Key material as OpenEKM stores it (sealed by RootKey before it reaches the
// store): raw random bytes for symmetric and HMAC keys, and the private key
// as PKCS#8 DER (RFC 5208) for RSA, EC and Ed25519 keys, because PKCS#8
// carries the algorithm and curve so the bytes alone are enough to reload it.

import { createPrivateKey, createPublicKey, generateKeyPair, randomBytes, KeyObject } from 'node:crypto';
import type { AlgorithmInfo } from './algorithms';
import type { PqAlgorithmName } from './pq-algorithms';
import { generatePqMaterial } from './pq-keys';

const PKCS8_DER = { type: 'pkcs8', format: 'der' } as const;
const SPKI_DER = { type: 'spki', format: 'der' } as const;

/** RSA public exponent F4 = 65537, the value Cloud KMS keys use. */
const RSA_PUBLIC_EXPONENT = 0x10001;

// Promise wrappers over the callback form of generateKeyPair: the async form
// runs on the libuv thread pool, so a 4096-bit RSA key (seconds of work)
// does not block the event loop.

/** A fresh RSA private key (e = 65537) as PKCS#8 DER. */
export function generateRsa(modulusLength: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    generateKeyPair(
      'rsa',
      { modulusLength, publicExponent: RSA_PUBLIC_EXPONENT, privateKeyEncoding: PKCS8_DER, publicKeyEncoding: SPKI_DER },
      (err, _pub, priv) => (err ? reject(err) : resolve(priv)),
    );
  });
}

function generateEc(namedCurve: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    generateKeyPair(
      'ec',
      { namedCurve, privateKeyEncoding: PKCS8_DER, publicKeyEncoding: SPKI_DER },
      (err, _pub, priv) => (err ? reject(err) : resolve(priv)),
    );
  });
}

function generateEd25519(): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    generateKeyPair(
      'ed25519',
      { privateKeyEncoding: PKCS8_DER, publicKeyEncoding: SPKI_DER },
      (err, _pub, priv) => (err ? reject(err) : resolve(priv)),
    );
  });
}

function randomKey(bytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    randomBytes(bytes, (err, buf) => (err ? reject(err) : resolve(buf)));
  });
}

function required<T>(value: T | undefined, what: string, alg: AlgorithmInfo): T {
  if (value === undefined) throw new Error(`algorithm ${alg.name} has no ${what}`);
  return value;
}

/** Fresh key material for a new CryptoKeyVersion of the given algorithm. */
export async function generateKeyMaterial(alg: AlgorithmInfo): Promise<Buffer> {
  switch (alg.kind) {
    case 'google-symmetric':
    case 'external-symmetric':
    case 'raw-aes-gcm':
    case 'raw-aes-cbc':
    case 'raw-aes-ctr':
    case 'hmac':
    case 'aes-kwp':
      return randomKey(required(alg.keyBytes, 'keyBytes', alg));
    case 'ml-dsa':
    case 'slh-dsa':
    case 'kem':
      return generatePqMaterial(alg.name as PqAlgorithmName);
    case 'rsa-sign-pss':
    case 'rsa-sign-pkcs1':
    case 'rsa-sign-raw-pkcs1':
    case 'rsa-decrypt-oaep':
      return generateRsa(required(alg.modulusBits, 'modulusBits', alg));
    case 'ec-sign':
      return generateEc(required(alg.curve, 'curve', alg));
    case 'ed25519':
      return generateEd25519();
  }
}

/** The private key held in PKCS#8 DER material. */
export function privateKeyObject(material: Buffer): KeyObject {
  return createPrivateKey({ key: material, format: 'der', type: 'pkcs8' });
}

/**
 * The public key of PKCS#8 DER material as SubjectPublicKeyInfo PEM
 * (RFC 7468 §13), the form GetPublicKey returns; node ends it with "\n".
 */
export function publicKeyPem(material: Buffer): string {
  return createPublicKey(privateKeyObject(material)).export({ type: 'spki', format: 'pem' }).toString();
}
