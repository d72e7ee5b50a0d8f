// The CryptoKeyVersionAlgorithm values OpenEKM implements in software, keyed
// by their proto enum name (google.cloud.kms.v1.CryptoKeyVersion
// .CryptoKeyVersionAlgorithm): every value of the protos, post-quantum ones
// (pq-algorithms.ts) included. A name absent here would be answered
// UNIMPLEMENTED by the service layer.
// EXTERNAL_SYMMETRIC_ENCRYPTION is here for its internal half: the KMS's own
// AES-256 key of a double-wrapped external version.

export type AlgorithmKind =
  | 'google-symmetric'
  | 'external-symmetric'
  | 'raw-aes-gcm'
  | 'raw-aes-cbc'
  | 'raw-aes-ctr'
  | 'rsa-sign-pss'
  | 'rsa-sign-pkcs1'
  | 'rsa-sign-raw-pkcs1'
  | 'rsa-decrypt-oaep'
  | 'ec-sign'
  | 'ed25519'
  | 'hmac'
  | 'ml-dsa'
  | 'slh-dsa'
  | 'kem'
  | 'aes-kwp';

export type Purpose =
  | 'ENCRYPT_DECRYPT' | 'RAW_ENCRYPT_DECRYPT' | 'ASYMMETRIC_SIGN' | 'ASYMMETRIC_DECRYPT' | 'MAC' | 'KEY_ENCAPSULATION' | 'AES_WRAPPING';

export type HashName = 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';

export type CurveName = 'prime256v1' | 'secp384r1' | 'secp256k1';

export interface AlgorithmInfo {
  name: string;
  purpose: Purpose;
  kind: AlgorithmKind;
  /** Symmetric or HMAC key length in bytes. */
  keyBytes?: number;
  modulusBits?: number;
  curve?: CurveName;
  hash?: HashName;
}

/** Output length in bytes of each hash (FIPS 180-4). */
export const HASH_BYTES: Readonly<Record<HashName, number>> = {
  sha1: 20,
  sha224: 28,
  sha256: 32,
  sha384: 48,
  sha512: 64,
};

function rawAes(mode: 'GCM' | 'CBC' | 'CTR', bits: 128 | 256): AlgorithmInfo {
  const kind = `raw-aes-${mode.toLowerCase()}` as AlgorithmKind;
  return { name: `AES_${bits}_${mode}`, purpose: 'RAW_ENCRYPT_DECRYPT', kind, keyBytes: bits / 8 };
}

function rsaSign(scheme: 'PSS' | 'PKCS1', bits: number, hash: HashName): AlgorithmInfo {
  const kind: AlgorithmKind = scheme === 'PSS' ? 'rsa-sign-pss' : 'rsa-sign-pkcs1';
  const name = `RSA_SIGN_${scheme}_${bits}_${hash.toUpperCase()}`;
  return { name, purpose: 'ASYMMETRIC_SIGN', kind, modulusBits: bits, hash };
}

function rsaRaw(bits: number): AlgorithmInfo {
  return { name: `RSA_SIGN_RAW_PKCS1_${bits}`, purpose: 'ASYMMETRIC_SIGN', kind: 'rsa-sign-raw-pkcs1', modulusBits: bits };
}

function ecSign(name: string, curve: CurveName, hash: HashName): AlgorithmInfo {
  return { name, purpose: 'ASYMMETRIC_SIGN', kind: 'ec-sign', curve, hash };
}

function oaep(bits: number, hash: HashName): AlgorithmInfo {
  const name = `RSA_DECRYPT_OAEP_${bits}_${hash.toUpperCase()}`;
  return { name, purpose: 'ASYMMETRIC_DECRYPT', kind: 'rsa-decrypt-oaep', modulusBits: bits, hash };
}

const pqSign = (name: string, kind: 'ml-dsa' | 'slh-dsa'): AlgorithmInfo => ({ name, purpose: 'ASYMMETRIC_SIGN', kind });
const kem = (name: string): AlgorithmInfo => ({ name, purpose: 'KEY_ENCAPSULATION', kind: 'kem' });

function hmac(hash: HashName): AlgorithmInfo {
  // Cloud KMS HMAC keys are as long as the hash output.
  return { name: `HMAC_${hash.toUpperCase()}`, purpose: 'MAC', kind: 'hmac', keyBytes: HASH_BYTES[hash], hash };
}

export const SUPPORTED_ALGORITHMS: readonly AlgorithmInfo[] = Object.freeze(
  [
    { name: 'GOOGLE_SYMMETRIC_ENCRYPTION', purpose: 'ENCRYPT_DECRYPT', kind: 'google-symmetric', keyBytes: 32 } as AlgorithmInfo,
    { name: 'EXTERNAL_SYMMETRIC_ENCRYPTION', purpose: 'ENCRYPT_DECRYPT', kind: 'external-symmetric', keyBytes: 32 } as AlgorithmInfo,
    rawAes('GCM', 128),
    rawAes('GCM', 256),
    rawAes('CBC', 128),
    rawAes('CBC', 256),
    rawAes('CTR', 128),
    rawAes('CTR', 256),
    rsaSign('PSS', 2048, 'sha256'),
    rsaSign('PSS', 3072, 'sha256'),
    rsaSign('PSS', 4096, 'sha256'),
    rsaSign('PSS', 4096, 'sha512'),
    rsaSign('PKCS1', 2048, 'sha256'),
    rsaSign('PKCS1', 3072, 'sha256'),
    rsaSign('PKCS1', 4096, 'sha256'),
    rsaSign('PKCS1', 4096, 'sha512'),
    rsaRaw(2048),
    rsaRaw(3072),
    rsaRaw(4096),
    ecSign('EC_SIGN_P256_SHA256', 'prime256v1', 'sha256'),
    ecSign('EC_SIGN_P384_SHA384', 'secp384r1', 'sha384'),
    ecSign('EC_SIGN_SECP256K1_SHA256', 'secp256k1', 'sha256'),
    { name: 'EC_SIGN_ED25519', purpose: 'ASYMMETRIC_SIGN', kind: 'ed25519' } as AlgorithmInfo,
    oaep(2048, 'sha256'),
    oaep(3072, 'sha256'),
    oaep(4096, 'sha256'),
    oaep(4096, 'sha512'),
    oaep(2048, 'sha1'),
    oaep(3072, 'sha1'),
    oaep(4096, 'sha1'),
    hmac('sha256'),
    hmac('sha1'),
    hmac('sha384'),
    hmac('sha512'),
    hmac('sha224'),
    pqSign('PQ_SIGN_ML_DSA_44', 'ml-dsa'),
    pqSign('PQ_SIGN_ML_DSA_65', 'ml-dsa'),
    pqSign('PQ_SIGN_ML_DSA_87', 'ml-dsa'),
    pqSign('PQ_SIGN_ML_DSA_44_EXTERNAL_MU', 'ml-dsa'),
    pqSign('PQ_SIGN_ML_DSA_65_EXTERNAL_MU', 'ml-dsa'),
    pqSign('PQ_SIGN_ML_DSA_87_EXTERNAL_MU', 'ml-dsa'),
    pqSign('PQ_SIGN_SLH_DSA_SHA2_128S', 'slh-dsa'),
    pqSign('PQ_SIGN_HASH_SLH_DSA_SHA2_128S_SHA256', 'slh-dsa'),
    kem('ML_KEM_768'),
    kem('ML_KEM_1024'),
    kem('KEM_XWING'),
    // A key-wrapping key (RFC 5649), for ExportTrustedKeyWrappedCryptoKeyVersion.
    { name: 'AES_256_KWP', purpose: 'AES_WRAPPING', kind: 'aes-kwp', keyBytes: 32 } as AlgorithmInfo,
  ].map((a) => Object.freeze(a)),
);

const BY_NAME: ReadonlyMap<string, AlgorithmInfo> = new Map(SUPPORTED_ALGORITHMS.map((a) => [a.name, a]));

/** The catalogue entry for a CryptoKeyVersionAlgorithm enum name, if supported. */
export function algorithmInfo(name: string): AlgorithmInfo | undefined {
  return BY_NAME.get(name);
}

/**
 * The algorithm a CryptoKey gets when version_template omits one. Cloud KMS
 * only defaults ENCRYPT_DECRYPT; every other purpose requires an algorithm.
 */
export const DEFAULT_ALGORITHM: Readonly<Record<Purpose, string | undefined>> = Object.freeze({
  ENCRYPT_DECRYPT: 'GOOGLE_SYMMETRIC_ENCRYPTION',
  RAW_ENCRYPT_DECRYPT: undefined,
  ASYMMETRIC_SIGN: undefined,
  ASYMMETRIC_DECRYPT: undefined,
  MAC: undefined,
  KEY_ENCAPSULATION: undefined,
  AES_WRAPPING: undefined,
});
