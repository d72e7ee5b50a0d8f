// Wrapping a key for ImportCryptoKeyVersion on the client's side, the way a
// Cloud KMS user (or gcloud) does, from the import job's public key alone.
// Written apart from src/crypto (its own reading of the method names) so
// that a round trip tests the server's unwrapping against a second reading
// of the formats:
// - RSA_OAEP_*_AES_256 (CKM_RSA_AES_KEY_WRAP): RSAES-OAEP of a fresh AES-256
//   key, then AES-KWP (RFC 5649) of the target under it; gcloud's order.
// - RSA_OAEP_*_SHA256: RSAES-OAEP-SHA256 of the target itself.
// - HPKE_*: single-shot HPKE base mode, empty info and aad, enc ‖ ciphertext
//   (Google's golang-samples kms/hpke_wrap.go).
// The options make deliberately wrong wraps for the tests of bad input.

import { constants, createCipheriv, publicEncrypt, randomBytes } from 'node:crypto';
import { Aes256Gcm, CipherSuite, HkdfSha256, type KemInterface } from '@hpke/core';
import { XWing } from '@hpke/hybridkem-x-wing';
import { MlKem1024, MlKem768 } from '@hpke/ml-kem';

/** ImportJob.public_key as a client reads it: pem for RSA jobs, data for HPKE jobs. */
export interface JobPublicKey {
  pem?: string | null;
  data?: Uint8Array | null;
}

export interface WrapOptions {
  /** RSA-AES: the ephemeral key to use (16 bytes gives AES-128 KWP). */
  ephemeralKey?: Buffer;
  /** RSA: the OAEP (and MGF1) hash instead of the method's. */
  oaepHash?: 'sha1' | 'sha256';
  /** HPKE: a non-empty info or aad, which Cloud KMS does not use. */
  info?: Buffer;
  aad?: Buffer;
}

/** RFC 5649 §3: the constant high half of KWP's Alternative Initial Value. */
const KWP_AIV = Buffer.from('a65959a6', 'hex');

const HPKE_KEMS: Readonly<Record<string, () => KemInterface>> = {
  HPKE_KEM_ML_KEM_768_HKDF_SHA256_AES_256_GCM: () => new MlKem768(),
  HPKE_KEM_ML_KEM_1024_HKDF_SHA256_AES_256_GCM: () => new MlKem1024(),
  HPKE_KEM_XWING_HKDF_SHA256_AES_256_GCM: () => new XWing(),
};

function rsaPem(job: JobPublicKey): string {
  if (!job.pem) throw new Error('an RSA import job has its public key in pem');
  return job.pem;
}

function oaepEncrypt(pem: string, hash: string, data: Buffer): Buffer {
  return publicEncrypt({ key: pem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, data);
}

/** AES-KWP wrap (RFC 5649 §4.1) under a 128- or 256-bit key. */
export function kwpWrap(kek: Buffer, data: Buffer): Buffer {
  const cipher = createCipheriv(`id-aes${kek.length * 8}-wrap-pad`, kek, KWP_AIV);
  return Buffer.concat([cipher.update(data), cipher.final()]);
}

async function hpkeWrap(kem: KemInterface, job: JobPublicKey, target: Buffer, options: WrapOptions): Promise<Buffer> {
  if (!job.data) throw new Error('an HPKE import job has its public key in data');
  const suite = new CipherSuite({ kem, kdf: new HkdfSha256(), aead: new Aes256Gcm() });
  const recipientPublicKey = await kem.deserializePublicKey(job.data);
  const { enc, ct } = await suite.seal({ recipientPublicKey, info: options.info }, target, options.aad);
  return Buffer.concat([Buffer.from(enc), Buffer.from(ct)]);
}

/** The wrapped_key of an ImportCryptoKeyVersionRequest carrying target for a job of this method. */
export async function wrapForImport(method: string, job: JobPublicKey, target: Buffer, options: WrapOptions = {}): Promise<Buffer> {
  const rsaAes = /^RSA_OAEP_(3072|4096)_(SHA1|SHA256)_AES_256$/.exec(method);
  if (rsaAes !== null) {
    const ephemeral = options.ephemeralKey ?? randomBytes(32);
    const hash = options.oaepHash ?? rsaAes[2].toLowerCase();
    return Buffer.concat([oaepEncrypt(rsaPem(job), hash, ephemeral), kwpWrap(ephemeral, target)]);
  }
  if (/^RSA_OAEP_(3072|4096)_SHA256$/.test(method)) return oaepEncrypt(rsaPem(job), options.oaepHash ?? 'sha256', target);
  const kem = HPKE_KEMS[method];
  if (kem === undefined) throw new Error(`unknown import method ${method}`);
  return hpkeWrap(kem(), job, target, options);
}
