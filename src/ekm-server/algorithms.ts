// The algorithms this EKM creates keys for, by their CryptoKeyVersionAlgorithm
// names and numbers (google.cloud.kms.v1, resources.proto): AES-256 wrapping
// keys for EXTERNAL_SYMMETRIC_ENCRYPTION, and EC P-256/P-384 and RSA
// 2048/3072/4096 signing keys. Signing itself reuses the project's crypto
// primitives (src/crypto), which implement Cloud KMS' signature schemes.
import { generateKeyPair, randomBytes } from 'node:crypto';
import { fieldError } from './errors';
import { algorithmInfo, type AlgorithmInfo } from '../crypto/algorithms';

export type KeyKind = 'wrap' | 'sign';

export interface EkmAlgorithm {
  name: string;
  /** The CryptoKeyVersionAlgorithm enum number. */
  number: number;
  kind: KeyKind;
  /** For signing keys: the scheme, curve or modulus and hash (src/crypto). */
  signing?: AlgorithmInfo;
}

const WRAP_KEY_BYTES = 32;

function signing(name: string, number: number): EkmAlgorithm {
  const info = algorithmInfo(name);
  if (!info || info.purpose !== 'ASYMMETRIC_SIGN') throw new Error(`${name} is not a signing algorithm of src/crypto`);
  return { name, number, kind: 'sign', signing: info };
}

export const EKM_ALGORITHMS: readonly EkmAlgorithm[] = Object.freeze([
  { name: 'EXTERNAL_SYMMETRIC_ENCRYPTION', number: 18, kind: 'wrap' },
  signing('EC_SIGN_P256_SHA256', 12),
  signing('EC_SIGN_P384_SHA384', 13),
  signing('RSA_SIGN_PSS_2048_SHA256', 2),
  signing('RSA_SIGN_PSS_3072_SHA256', 3),
  signing('RSA_SIGN_PSS_4096_SHA256', 4),
  signing('RSA_SIGN_PSS_4096_SHA512', 15),
  signing('RSA_SIGN_PKCS1_2048_SHA256', 5),
  signing('RSA_SIGN_PKCS1_3072_SHA256', 6),
  signing('RSA_SIGN_PKCS1_4096_SHA256', 7),
  signing('RSA_SIGN_PKCS1_4096_SHA512', 16),
] as EkmAlgorithm[]);

const BY_NAME = new Map(EKM_ALGORITHMS.map((a) => [a.name, a]));
const BY_NUMBER = new Map(EKM_ALGORITHMS.map((a) => [a.number, a]));

/** The algorithm a stored key was made with (names come from this table, so a miss is a bug). */
export function storedAlgorithm(name: string): EkmAlgorithm {
  const alg = BY_NAME.get(name);
  if (!alg) throw new Error(`stored key has unknown algorithm ${name}`);
  return alg;
}

/** The algorithm of a createKey request, by name or enum number. */
export function requestedAlgorithm(value: unknown): EkmAlgorithm {
  const alg = typeof value === 'number' ? BY_NUMBER.get(value) : typeof value === 'string' ? BY_NAME.get(value) : undefined;
  if (alg) return alg;
  if (value === undefined || value === null) throw fieldError('algorithm', 'algorithm is required.');
  throw fieldError('algorithm', `algorithm must be one of ${EKM_ALGORITHMS.map((a) => a.name).join(', ')}.`);
}

const ENCODING = { privateKeyEncoding: { type: 'pkcs8', format: 'der' }, publicKeyEncoding: { type: 'spki', format: 'der' } } as const;

/** A new private key as PKCS #8 DER, generated on libuv's thread pool (RSA 4096 takes a while). */
function generatePkcs8(info: AlgorithmInfo): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, _publicKey: Buffer, privateKey: Buffer) => (err ? reject(err) : resolve(privateKey));
    if (info.curve) generateKeyPair('ec', { namedCurve: info.curve, ...ENCODING }, done);
    else generateKeyPair('rsa', { modulusLength: info.modulusBits!, publicExponent: 0x10001, ...ENCODING }, done);
  });
}

/** New key material: 32 random bytes for a wrapping key, PKCS #8 DER for a signing key. */
export async function generateMaterial(alg: EkmAlgorithm): Promise<Buffer> {
  return alg.kind === 'wrap' ? randomBytes(WRAP_KEY_BYTES) : generatePkcs8(alg.signing!);
}
