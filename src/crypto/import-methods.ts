// The ImportJob.ImportMethod values (google/cloud/kms/v1/resources.proto)
// and what each one fixes: the wrapping key's type and the scheme a wrapped
// key arrives in. The facts behind this table, with their sources, are in
// import-wrap.ts. IMPORT_METHOD_UNSPECIFIED is absent: it names no scheme.

import { Aes256Gcm, CipherSuite, HkdfSha256, type KemInterface } from '@hpke/core';
import { XWing } from '@hpke/hybridkem-x-wing';
import { MlKem1024, MlKem768 } from '@hpke/ml-kem';

export const IMPORT_METHODS = [
  'RSA_OAEP_3072_SHA1_AES_256',
  'RSA_OAEP_4096_SHA1_AES_256',
  'RSA_OAEP_3072_SHA256_AES_256',
  'RSA_OAEP_4096_SHA256_AES_256',
  'RSA_OAEP_3072_SHA256',
  'RSA_OAEP_4096_SHA256',
  'HPKE_KEM_ML_KEM_768_HKDF_SHA256_AES_256_GCM',
  'HPKE_KEM_ML_KEM_1024_HKDF_SHA256_AES_256_GCM',
  'HPKE_KEM_XWING_HKDF_SHA256_AES_256_GCM',
] as const;

export type ImportMethod = (typeof IMPORT_METHODS)[number];

export type OaepHash = 'sha1' | 'sha256';
export type HpkeKem = 'ML-KEM-768' | 'ML-KEM-1024' | 'X-Wing';

/**
 * - rsa-aes: CKM_RSA_AES_KEY_WRAP, RSAES-OAEP of an ephemeral AES-256 key
 *   followed by AES-KWP of the target key;
 * - rsa-oaep: RSAES-OAEP-SHA256 of the target key itself;
 * - hpke: single-shot HPKE base mode with HKDF-SHA256 and AES-256-GCM.
 */
export type ImportMethodInfo =
  | { kind: 'rsa-aes'; modulusBits: 3072 | 4096; hash: OaepHash }
  | { kind: 'rsa-oaep'; modulusBits: 3072 | 4096; hash: 'sha256' }
  | { kind: 'hpke'; kem: HpkeKem };

const INFO: Readonly<Record<ImportMethod, ImportMethodInfo>> = {
  RSA_OAEP_3072_SHA1_AES_256: { kind: 'rsa-aes', modulusBits: 3072, hash: 'sha1' },
  RSA_OAEP_4096_SHA1_AES_256: { kind: 'rsa-aes', modulusBits: 4096, hash: 'sha1' },
  RSA_OAEP_3072_SHA256_AES_256: { kind: 'rsa-aes', modulusBits: 3072, hash: 'sha256' },
  RSA_OAEP_4096_SHA256_AES_256: { kind: 'rsa-aes', modulusBits: 4096, hash: 'sha256' },
  RSA_OAEP_3072_SHA256: { kind: 'rsa-oaep', modulusBits: 3072, hash: 'sha256' },
  RSA_OAEP_4096_SHA256: { kind: 'rsa-oaep', modulusBits: 4096, hash: 'sha256' },
  HPKE_KEM_ML_KEM_768_HKDF_SHA256_AES_256_GCM: { kind: 'hpke', kem: 'ML-KEM-768' },
  HPKE_KEM_ML_KEM_1024_HKDF_SHA256_AES_256_GCM: { kind: 'hpke', kem: 'ML-KEM-1024' },
  HPKE_KEM_XWING_HKDF_SHA256_AES_256_GCM: { kind: 'hpke', kem: 'X-Wing' },
};

const NAMES: ReadonlySet<string> = new Set(IMPORT_METHODS);

/** Whether name is an ImportMethod enum name this module implements. */
export const isImportMethod = (name: string): name is ImportMethod => NAMES.has(name);

export const importMethodInfo = (method: ImportMethod): ImportMethodInfo => INFO[method];

/**
 * A fresh KEM object: the @hpke KEMs keep state (a loaded crypto API), so
 * each call gets its own rather than sharing one module-wide. Their ids are
 * draft-ietf-hpke-pq's: ML-KEM-768 0x0041, ML-KEM-1024 0x0042, X-Wing 0x647a.
 */
export function hpkeKem(kem: HpkeKem): KemInterface {
  switch (kem) {
    case 'ML-KEM-768':
      return new MlKem768();
    case 'ML-KEM-1024':
      return new MlKem1024();
    case 'X-Wing':
      return new XWing();
  }
}

/** The HPKE suite of the HPKE_KEM_*_HKDF_SHA256_AES_256_GCM methods around kem. */
export const hpkeSuite = (kem: KemInterface): CipherSuite =>
  new CipherSuite({ kem, kdf: new HkdfSha256(), aead: new Aes256Gcm() });
