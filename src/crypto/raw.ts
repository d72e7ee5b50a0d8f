// RawEncrypt / RawDecrypt for RAW_ENCRYPT_DECRYPT keys, following the Cloud
// KMS request rules:
// - AES-GCM (NIST SP 800-38D): the service always generates the 96-bit IV
//   (a caller-chosen GCM IV risks nonce reuse, §8); the 16-byte tag is
//   appended to the ciphertext and reported as tag_length.
// - AES-CBC (SP 800-38A §6.2) without padding: lengths must be whole blocks.
// - AES-CTR (SP 800-38A §6.5): the 16-byte IV is the initial counter block.
// CBC and CTR take an optional caller IV (generated otherwise) and, being
// unauthenticated, reject additional authenticated data.

import { createCipheriv, createDecipheriv, randomBytes, type Cipher, type CipherGCMTypes, type Decipher } from 'node:crypto';
import { invalidArgument } from '../errors';
import type { AlgorithmInfo } from './algorithms';

export interface RawEncryptResult {
  ciphertext: Buffer;
  iv: Buffer;
  tagLength: number;
}

const GCM_IV_BYTES = 12;
const GCM_TAG_BYTES = 16;
const BLOCK_BYTES = 16;
const INVALID_CIPHERTEXT = 'Decryption failed: the ciphertext is invalid.';

type Mode = 'gcm' | 'cbc' | 'ctr';

function modeOf(alg: AlgorithmInfo): Mode {
  switch (alg.kind) {
    case 'raw-aes-gcm':
      return 'gcm';
    case 'raw-aes-cbc':
      return 'cbc';
    case 'raw-aes-ctr':
      return 'ctr';
    default:
      throw new Error(`algorithm ${alg.name} is not a RAW_ENCRYPT_DECRYPT algorithm`);
  }
}

/** The node cipher name; a key of the wrong length is a store bug, not a caller error. */
function cipherName(alg: AlgorithmInfo, mode: Mode, key: Buffer): string {
  if (alg.keyBytes === undefined || key.length !== alg.keyBytes) {
    throw new Error(`key for ${alg.name} must be ${String(alg.keyBytes)} bytes`);
  }
  return `aes-${alg.keyBytes * 8}-${mode}`;
}

function run(c: Cipher | Decipher, input: Buffer): Buffer {
  const head = c.update(input);
  const tail = c.final();
  return tail.length === 0 ? head : Buffer.concat([head, tail]);
}

/** Proto3 cannot tell an empty bytes field from an unset one, so empty means absent. */
function supplied(iv: Buffer | undefined): iv is Buffer {
  return iv !== undefined && iv.length > 0;
}

function checkUnauthenticated(mode: Mode, aad: Buffer): void {
  if (aad.length > 0) {
    throw invalidArgument(`additional_authenticated_data is not supported for AES-${mode.toUpperCase()}.`);
  }
}

function checkBlockIv(iv: Buffer): void {
  if (iv.length !== BLOCK_BYTES) throw invalidArgument(`initialization_vector must be ${BLOCK_BYTES} bytes.`);
}

function checkWholeBlocks(field: 'plaintext' | 'ciphertext', data: Buffer): void {
  if (data.length % BLOCK_BYTES !== 0) {
    throw invalidArgument(`${field} length must be a multiple of ${BLOCK_BYTES} bytes for AES-CBC (no padding).`);
  }
}

function gcmEncrypt(name: string, key: Buffer, plaintext: Buffer, aad: Buffer): RawEncryptResult {
  const iv = randomBytes(GCM_IV_BYTES);
  const cipher = createCipheriv(name as CipherGCMTypes, key, iv, { authTagLength: GCM_TAG_BYTES });
  cipher.setAAD(aad);
  const body = run(cipher, plaintext);
  return { ciphertext: Buffer.concat([body, cipher.getAuthTag()]), iv, tagLength: GCM_TAG_BYTES };
}

/** RawEncrypt. `iv` is RawEncryptRequest.initialization_vector (undefined or empty when unset). */
export function rawEncrypt(
  alg: AlgorithmInfo,
  key: Buffer,
  plaintext: Buffer,
  aad: Buffer,
  iv: Buffer | undefined,
): RawEncryptResult {
  const mode = modeOf(alg);
  const name = cipherName(alg, mode, key);
  if (mode === 'gcm') {
    if (supplied(iv)) throw invalidArgument('initialization_vector must not be set for AES-GCM; it is generated.');
    return gcmEncrypt(name, key, plaintext, aad);
  }
  checkUnauthenticated(mode, aad);
  if (mode === 'cbc') checkWholeBlocks('plaintext', plaintext);
  const counter = supplied(iv) ? iv : randomBytes(BLOCK_BYTES);
  checkBlockIv(counter);
  const cipher = createCipheriv(name, key, counter);
  cipher.setAutoPadding(false);
  return { ciphertext: run(cipher, plaintext), iv: counter, tagLength: 0 };
}

function gcmDecrypt(name: string, key: Buffer, ciphertext: Buffer, aad: Buffer, iv: Buffer, tagLength: number): Buffer {
  if (iv.length !== GCM_IV_BYTES) throw invalidArgument(`initialization_vector must be ${GCM_IV_BYTES} bytes for AES-GCM.`);
  // Cloud KMS: tag_length 0 means the algorithm default, 16 for AES-GCM.
  if (tagLength !== 0 && tagLength !== GCM_TAG_BYTES) throw invalidArgument(`tag_length must be ${GCM_TAG_BYTES} for AES-GCM.`);
  if (ciphertext.length < GCM_TAG_BYTES) {
    throw invalidArgument(`ciphertext must be at least ${GCM_TAG_BYTES} bytes (it ends with the tag).`);
  }
  const tagStart = ciphertext.length - GCM_TAG_BYTES;
  const decipher = createDecipheriv(name as CipherGCMTypes, key, iv, { authTagLength: GCM_TAG_BYTES });
  decipher.setAuthTag(ciphertext.subarray(tagStart));
  decipher.setAAD(aad);
  try {
    return run(decipher, ciphertext.subarray(0, tagStart));
  } catch {
    throw invalidArgument(INVALID_CIPHERTEXT);
  }
}

/** RawDecrypt with RawDecryptRequest.initialization_vector and tag_length. */
export function rawDecrypt(
  alg: AlgorithmInfo,
  key: Buffer,
  ciphertext: Buffer,
  aad: Buffer,
  iv: Buffer,
  tagLength: number,
): Buffer {
  const mode = modeOf(alg);
  const name = cipherName(alg, mode, key);
  if (mode === 'gcm') return gcmDecrypt(name, key, ciphertext, aad, iv, tagLength);
  checkUnauthenticated(mode, aad);
  checkBlockIv(iv);
  if (tagLength !== 0) throw invalidArgument(`tag_length must be 0 for AES-${mode.toUpperCase()}.`);
  if (mode === 'cbc') checkWholeBlocks('ciphertext', ciphertext);
  const decipher = createDecipheriv(name, key, iv);
  decipher.setAutoPadding(false);
  return run(decipher, ciphertext);
}
