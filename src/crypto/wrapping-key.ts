// An import job's wrapping key pair, and its public half in the formats
// GetImportJob offers (GetImportJobRequest.public_key_format). Sources are
// in import-wrap.ts; in short:
// - RSA methods: an RSA 3072/4096 key (e = 65537), kept as PKCS#8 DER like
//   every RSA key here (material.ts); public key as SubjectPublicKeyInfo,
//   PEM by default (WrappingPublicKey.pem) or DER.
// - ML-KEM methods: the private key is kept as the 64-byte seed d‖z of
//   ML-KEM.KeyGen_internal (FIPS 203, Algorithm 16), re-expanded on use;
//   the public key is the raw FIPS 203 encapsulation key (NIST_PQC), its
//   only format.
// - X-Wing: the 32-byte X-Wing secret key, itself a seed
//   (draft-connolly-cfrg-xwing-kem); the public key is X-Wing's raw 1216
//   bytes (XWING_RAW_BYTES), its only format. Neither KEM has a PEM or DER
//   form: among post-quantum keys Cloud KMS gives PEM and DER for ML-DSA only.

import { createPublicKey } from 'node:crypto';
import { invalidArgument } from '../errors';
import { hpkeKem, importMethodInfo, type HpkeKem, type ImportMethod, type ImportMethodInfo } from './import-methods';
import { generateRsa, privateKeyObject } from './material';

/** google.cloud.kms.v1.PublicKey.PublicKeyFormat by name. */
export type PublicKeyFormat = 'PUBLIC_KEY_FORMAT_UNSPECIFIED' | 'PEM' | 'DER' | 'NIST_PQC' | 'XWING_RAW_BYTES';

export interface WrappingKey {
  /** The private key as the job stores it (sealed): PKCS#8 DER for RSA, the KEM seed for HPKE. */
  material: Buffer;
  /** SubjectPublicKeyInfo PEM for RSA methods; '' (no PEM) for HPKE methods. */
  publicKeyPem: string;
  /** The public key's bytes: SPKI DER (RSA), the FIPS 203 encapsulation key, or X-Wing's raw key. */
  publicKey: Buffer;
}

/** ImportJob.public_key and public_key_format as GetImportJob fills them. */
export interface WrappingPublicKey {
  format: Exclude<PublicKeyFormat, 'PUBLIC_KEY_FORMAT_UNSPECIFIED'>;
  pem?: string;
  data?: Buffer;
}

async function generateKemKey(name: HpkeKem): Promise<WrappingKey> {
  const kem = hpkeKem(name);
  const pair = await kem.generateKeyPair();
  return {
    material: Buffer.from(await kem.serializePrivateKey(pair.privateKey)),
    publicKeyPem: '',
    publicKey: Buffer.from(await kem.serializePublicKey(pair.publicKey)),
  };
}

/** A fresh wrapping key pair for an import job of the given method. */
export async function generateWrappingKey(method: ImportMethod): Promise<WrappingKey> {
  const info = importMethodInfo(method);
  if (info.kind === 'hpke') return generateKemKey(info.kem);
  const material = await generateRsa(info.modulusBits);
  const pub = createPublicKey(privateKeyObject(material));
  return {
    material,
    publicKeyPem: pub.export({ type: 'spki', format: 'pem' }).toString(),
    publicKey: pub.export({ type: 'spki', format: 'der' }),
  };
}

/** The formats each kind of wrapping key is offered in, its default first. */
function formatsOf(info: ImportMethodInfo): readonly WrappingPublicKey['format'][] {
  if (info.kind !== 'hpke') return ['PEM', 'DER'];
  return info.kem === 'X-Wing' ? ['XWING_RAW_BYTES'] : ['NIST_PQC'];
}

/**
 * The wrapping public key in the requested format (the method's default when
 * unspecified); a format the method's key has no encoding in is the caller's
 * INVALID_ARGUMENT.
 */
export function wrappingPublicKey(
  method: ImportMethod,
  key: Pick<WrappingKey, 'publicKey' | 'publicKeyPem'>,
  requested: PublicKeyFormat = 'PUBLIC_KEY_FORMAT_UNSPECIFIED',
): WrappingPublicKey {
  const formats = formatsOf(importMethodInfo(method));
  const format = requested === 'PUBLIC_KEY_FORMAT_UNSPECIFIED' ? formats[0] : requested;
  if (!formats.includes(format)) {
    throw invalidArgument(`public_key_format: ${format} is not available for import method ${method}; use ${formats.join(' or ')}.`);
  }
  return format === 'PEM' ? { format, pem: key.publicKeyPem } : { format, data: key.publicKey };
}
