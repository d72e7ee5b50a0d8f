// The post-quantum CryptoKeyVersionAlgorithms of Cloud KMS, what each takes
// and what each gives out. Everything here is data; the cryptography is in
// pq.ts and pq-keys.ts, on @noble/post-quantum (no lattice code of ours).
//
// What Cloud KMS documents, and what we follow:
// - GetPublicKey: public_key_format is required for PQC algorithms
//   (PUBLIC_KEY_FORMAT_UNSPECIFIED is an error); NIST_PQC (the raw FIPS 203 /
//   204 / 205 public key) is for PQC algorithms only; XWING_RAW_BYTES is the
//   raw key of the X-Wing draft. Source: the PublicKeyFormat and
//   GetPublicKeyRequest comments in google/cloud/kms/v1/resources.proto and
//   service.proto, https://cloud.google.com/kms/docs/reference/rpc/google.cloud.kms.v1
// - "For kem-xwing this must be specified and set to xwing-raw-bytes":
//   https://cloud.google.com/sdk/gcloud/reference/kms/keys/versions/get-public-key
// - ML-DSA keys (external-mu ones too) are served as PEM SubjectPublicKeyInfo
//   with the ML-DSA OIDs, and SLH-DSA keys refuse PEM with INVALID_ARGUMENT
//   ("Only NIST_PQC format is supported"): Google's own Cloud KMS client,
//   tink-crypto/tink-py tink/integration/gcpkms/_gcp_kms_util.py, run
//   against real Cloud KMS keys in _gcp_kms_signature_integration_test.py.
// - ML-KEM keys: gcloud's --public-key-format defaults to pem and the
//   OpenSSL encapsulation recipe needs PEM, so PEM and DER are served:
//   https://cloud.google.com/kms/docs/encapsulate-decapsulate ; the DER
//   format arrived with the KEMs ("Add PublicKeyFormat enums XWING_RAW_BYTES
//   (used for KEM_XWING) and DER", google-cloud-kms 3.6.0 release notes,
//   https://github.com/googleapis/google-cloud-python/releases). The proto
//   calls DER "the PrivateKeyInfo structure from RFC 5208"; it is the
//   SubjectPublicKeyInfo of RFC 5280, the PEM's body.
// - Sizes (public key / ciphertext / shared secret): ML_KEM_768 1184/1088/32,
//   ML_KEM_1024 1568/1568/32, KEM_XWING 1216/1120/32; Cloud KMS only
//   decapsulates, the caller encapsulates with the public key:
//   https://cloud.google.com/kms/docs/key-encapsulation-mechanisms
// - Sizes (private / public / signature): ML_DSA_65 4032/1952/3309,
//   SLH_DSA_SHA2_128s and HASH_SLH_DSA_SHA2_128s_SHA256 64/32/7856; all are
//   the randomized (hedged) variants:
//   https://cloud.google.com/kms/docs/digital-signatures
// - AsymmetricSign input: "can be passed through the data field or the
//   digest field ... some algorithms require the data field":
//   https://cloud.google.com/kms/docs/create-validate-signatures
//   Digest.external_mu is "to be used with ML-DSA external-μ algorithms
//   only" (FIPS 204 §6.2 message representative), and gcloud asymmetric-sign
//   computes it from the public key for those algorithms:
//   https://cloud.google.com/sdk/gcloud/reference/kms/asymmetric-sign
//   Tink sends data for pure ML-DSA and SLH-DSA, digest.external_mu =
//   SHAKE256(tr ‖ 0x00 ‖ 0x00 ‖ data, 64) (empty context) for external-mu
//   keys, and digest.sha256 for PQ_SIGN_HASH_SLH_DSA_SHA2_128S_SHA256
//   (_gcp_kms_public_key_sign.py). Whether Cloud KMS also takes `data` for
//   those two kinds is not documented; we do (the general rule above), and
//   sign what their µ or SHA-256 would have been.
// - Import: asymmetric keys are PKCS#8 DER (RFC 5208):
//   https://cloud.google.com/kms/docs/formatting-keys-for-import . Nothing
//   PQ-specific is documented; pq-keys.ts takes the IETF PKCS#8 forms.
//
// OIDs (NIST CSOR; draft-ietf-lamps-dilithium-certificates,
// draft-ietf-lamps-kyber-certificates, draft-ietf-lamps-x509-slhdsa):
// ML-DSA-44/65/87 2.16.840.1.101.3.4.3.17/18/19, SLH-DSA-SHA2-128s .3.20,
// HashSLH-DSA-SHA2-128s-with-SHA256 .3.35, ML-KEM-768/1024 .4.2/.4.3;
// X-Wing 1.3.6.1.4.1.62253.25722 (draft-connolly-cfrg-xwing-kem §"Use in
// X.509"). SLH-DSA and X-Wing carry theirs for import only: Cloud KMS serves
// their public keys raw.

import type { protos } from '@google-cloud/kms';
import { invalidArgument } from '../errors';

export type PublicKeyFormat = keyof typeof protos.google.cloud.kms.v1.PublicKey.PublicKeyFormat;

/** A Digest oneof field as the internal message shape names it (service.proto Digest). */
export type DigestField = 'sha256' | 'sha384' | 'sha512' | 'externalMu';

export type PqSignAlgorithm =
  | 'PQ_SIGN_ML_DSA_44'
  | 'PQ_SIGN_ML_DSA_65'
  | 'PQ_SIGN_ML_DSA_87'
  | 'PQ_SIGN_ML_DSA_44_EXTERNAL_MU'
  | 'PQ_SIGN_ML_DSA_65_EXTERNAL_MU'
  | 'PQ_SIGN_ML_DSA_87_EXTERNAL_MU'
  | 'PQ_SIGN_SLH_DSA_SHA2_128S'
  | 'PQ_SIGN_HASH_SLH_DSA_SHA2_128S_SHA256';

export type PqKemAlgorithm = 'ML_KEM_768' | 'ML_KEM_1024' | 'KEM_XWING';

export type PqAlgorithmName = PqSignAlgorithm | PqKemAlgorithm;

interface PqCommon {
  /** The form the private key is stored and imported in (see pq-keys.ts). */
  materialBytes: number;
  publicKeyBytes: number;
  /** The AlgorithmIdentifier of the SubjectPublicKeyInfo and of an imported PKCS#8 key. */
  oid: string;
  /** The GetPublicKey formats Cloud KMS serves for the algorithm, in the order we name them. */
  publicKeyFormats: readonly PublicKeyFormat[];
}

export interface PqSignInfo extends PqCommon {
  name: PqSignAlgorithm;
  purpose: 'ASYMMETRIC_SIGN';
  family: 'ml-dsa' | 'slh-dsa';
  signatureBytes: number;
  /**
   * The one Digest field accepted besides `data`, if any, and its length in
   * bytes. `data` is always accepted: these are all pure or HashSLH-DSA, and
   * an external-mu key gives the same signature over data as over its µ.
   */
  digest?: { field: DigestField; bytes: number };
}

export interface PqKemInfo extends PqCommon {
  name: PqKemAlgorithm;
  purpose: 'KEY_ENCAPSULATION';
  family: 'ml-kem' | 'x-wing';
  ciphertextBytes: number;
}

export type PqAlgorithmInfo = PqSignInfo | PqKemInfo;

const SPKI_OR_RAW: readonly PublicKeyFormat[] = ['PEM', 'DER', 'NIST_PQC'];
const RAW_ONLY: readonly PublicKeyFormat[] = ['NIST_PQC'];

/** FIPS 204 Table 2 sizes; the stored material is the 32-byte seed ξ (Algorithm 1). */
function mlDsa(level: 44 | 65 | 87, externalMu: boolean): PqSignInfo {
  const sizes = { 44: [1312, 2420, 17], 65: [1952, 3309, 18], 87: [2592, 4627, 19] }[level];
  return {
    name: `PQ_SIGN_ML_DSA_${level}${externalMu ? '_EXTERNAL_MU' : ''}`,
    purpose: 'ASYMMETRIC_SIGN',
    family: 'ml-dsa',
    materialBytes: 32,
    publicKeyBytes: sizes[0],
    signatureBytes: sizes[1],
    oid: `2.16.840.1.101.3.4.3.${sizes[2]}`,
    publicKeyFormats: SPKI_OR_RAW,
    // Only the external-mu keys take a µ (service.proto Digest.external_mu).
    digest: externalMu ? { field: 'externalMu', bytes: 64 } : undefined,
  };
}

/** FIPS 205 Table 2, SLH-DSA-SHA2-128s: n = 16, keys of 4n and 2n bytes. */
function slhDsa(prehash: boolean): PqSignInfo {
  return {
    name: prehash ? 'PQ_SIGN_HASH_SLH_DSA_SHA2_128S_SHA256' : 'PQ_SIGN_SLH_DSA_SHA2_128S',
    purpose: 'ASYMMETRIC_SIGN',
    family: 'slh-dsa',
    materialBytes: 64,
    publicKeyBytes: 32,
    signatureBytes: 7856,
    oid: prehash ? '2.16.840.1.101.3.4.3.35' : '2.16.840.1.101.3.4.3.20',
    publicKeyFormats: RAW_ONLY,
    digest: prehash ? { field: 'sha256', bytes: 32 } : undefined,
  };
}

/** FIPS 203 Table 3 sizes; the stored material is the 64-byte seed d ‖ z (Algorithm 19). */
function mlKem(level: 768 | 1024): PqKemInfo {
  const [publicKeyBytes, ciphertextBytes, arc] = level === 768 ? [1184, 1088, 2] : [1568, 1568, 3];
  const name = level === 768 ? 'ML_KEM_768' : 'ML_KEM_1024';
  return {
    name, purpose: 'KEY_ENCAPSULATION', family: 'ml-kem', materialBytes: 64, publicKeyBytes, ciphertextBytes,
    oid: `2.16.840.1.101.3.4.4.${arc}`, publicKeyFormats: SPKI_OR_RAW,
  };
}

/** draft-connolly-cfrg-xwing-kem §"Encoding and sizes": a 32-byte seed is the private key. */
const X_WING: PqKemInfo = {
  name: 'KEM_XWING', purpose: 'KEY_ENCAPSULATION', family: 'x-wing', materialBytes: 32, publicKeyBytes: 1216,
  ciphertextBytes: 1120, oid: '1.3.6.1.4.1.62253.25722', publicKeyFormats: ['XWING_RAW_BYTES'],
};

function freeze<T extends object>(info: T): Readonly<T> {
  return Object.freeze(info);
}

export const PQ_ALGORITHMS: Readonly<Record<PqAlgorithmName, Readonly<PqAlgorithmInfo>>> = Object.freeze({
  PQ_SIGN_ML_DSA_44: freeze(mlDsa(44, false)),
  PQ_SIGN_ML_DSA_65: freeze(mlDsa(65, false)),
  PQ_SIGN_ML_DSA_87: freeze(mlDsa(87, false)),
  PQ_SIGN_ML_DSA_44_EXTERNAL_MU: freeze(mlDsa(44, true)),
  PQ_SIGN_ML_DSA_65_EXTERNAL_MU: freeze(mlDsa(65, true)),
  PQ_SIGN_ML_DSA_87_EXTERNAL_MU: freeze(mlDsa(87, true)),
  PQ_SIGN_SLH_DSA_SHA2_128S: freeze(slhDsa(false)),
  PQ_SIGN_HASH_SLH_DSA_SHA2_128S_SHA256: freeze(slhDsa(true)),
  ML_KEM_768: freeze(mlKem(768)),
  ML_KEM_1024: freeze(mlKem(1024)),
  KEM_XWING: freeze(X_WING),
});

/** The entry for a CryptoKeyVersionAlgorithm name, if it is one of ours. */
export function pqAlgorithm(name: string): Readonly<PqAlgorithmInfo> | undefined {
  return Object.hasOwn(PQ_ALGORITHMS, name) ? PQ_ALGORITHMS[name as PqAlgorithmName] : undefined;
}

/** The entry for a name the caller already knows is ours; anything else is a bug. */
export function pqInfo(name: string): Readonly<PqAlgorithmInfo> {
  const info = pqAlgorithm(name);
  if (info === undefined) throw new Error(`${name} is not a post-quantum algorithm`);
  return info;
}

function formatList(formats: readonly string[]): string {
  return formats.length === 1 ? formats[0] : `${formats.slice(0, -1).join(', ')} or ${formats[formats.length - 1]}`;
}

/**
 * GetPublicKeyRequest.public_key_format for a PQ algorithm: required, and
 * one of the formats Cloud KMS serves for it; INVALID_ARGUMENT otherwise.
 */
export function checkPublicKeyFormat(name: PqAlgorithmName, format: string): PublicKeyFormat {
  const allowed = pqInfo(name).publicKeyFormats;
  if (format === 'PUBLIC_KEY_FORMAT_UNSPECIFIED' || format === '') {
    throw invalidArgument(`public_key_format: required for algorithm ${name}; use ${formatList(allowed)}.`);
  }
  const match = allowed.find((f) => f === format);
  if (match === undefined) {
    throw invalidArgument(`public_key_format: ${format} is not available for algorithm ${name}; use ${formatList(allowed)}.`);
  }
  return match;
}
