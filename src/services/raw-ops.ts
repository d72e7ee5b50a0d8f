// RawEncrypt and RawDecrypt (RAW_ENCRYPT_DECRYPT keys: AES GCM, CBC, CTR).
import { rawDecrypt, rawEncrypt } from '../crypto/raw';
import { invalidArgument } from '../errors';
import { protectionLevel, type RawDecryptRequest, type RawDecryptResponse, type RawEncryptRequest, type RawEncryptResponse } from '../proto/wire';
import type { CallContext, ServiceContext } from './context';
import { bytesField, checkSize, checksum, verifyCrc32c } from './integrity';
import { cryptoKeyName, parseVersion } from './names';
import { usableVersion } from './usable-version';

const MAX_DATA = 64 * 1024;
const MAX_HSM_COMBINED = 8 * 1024;
const PURPOSE = ['RAW_ENCRYPT_DECRYPT'];

function checkHsm(protectionLevel: string, dataLength: number, aadLength: number, field: string): void {
  if (protectionLevel === 'HSM' && dataLength + aadLength > MAX_HSM_COMBINED) {
    throw invalidArgument(`${field}: with additional_authenticated_data must be at most ${MAX_HSM_COMBINED} bytes for HSM keys.`);
  }
}

export class RawOps {
  constructor(private readonly ctx: ServiceContext) {}

  async rawEncrypt(req: RawEncryptRequest, call?: CallContext): Promise<RawEncryptResponse> {
    const name = parseVersion(req.name, 'name');
    const plaintext = bytesField(req.plaintext);
    const aad = bytesField(req.additionalAuthenticatedData);
    const iv = bytesField(req.initializationVector);
    if (plaintext.length === 0) throw invalidArgument('plaintext: required field is empty.');
    checkSize(plaintext, MAX_DATA, 'plaintext');
    checkSize(aad, MAX_DATA, 'additional_authenticated_data');
    const verifiedPlaintext = verifyCrc32c(plaintext, req.plaintextCrc32c, 'plaintext_crc32c', 'plaintext');
    const verifiedAad = verifyCrc32c(aad, req.additionalAuthenticatedDataCrc32c, 'additional_authenticated_data_crc32c', 'additional_authenticated_data');
    const verifiedIv = verifyCrc32c(iv, req.initializationVectorCrc32c, 'initialization_vector_crc32c', 'initialization_vector');
    const use = await usableVersion(this.ctx, { keyName: cryptoKeyName(name), version: name.version, purposes: PURPOSE, rpc: 'RawEncrypt', justify: call });
    checkHsm(use.version.protectionLevel, plaintext.length, aad.length, 'plaintext');
    const out = rawEncrypt(use.alg, use.material.raw, plaintext, aad, iv.length > 0 ? iv : undefined);
    return {
      ciphertext: out.ciphertext,
      initializationVector: out.iv,
      tagLength: out.tagLength,
      ciphertextCrc32c: checksum(out.ciphertext),
      initializationVectorCrc32c: checksum(out.iv),
      verifiedPlaintextCrc32c: verifiedPlaintext,
      verifiedAdditionalAuthenticatedDataCrc32c: verifiedAad,
      verifiedInitializationVectorCrc32c: verifiedIv,
      name: use.version.name,
      protectionLevel: protectionLevel(use.version.protectionLevel),
    };
  }

  async rawDecrypt(req: RawDecryptRequest, call?: CallContext): Promise<RawDecryptResponse> {
    const name = parseVersion(req.name, 'name');
    const ciphertext = bytesField(req.ciphertext);
    const aad = bytesField(req.additionalAuthenticatedData);
    const iv = bytesField(req.initializationVector);
    if (ciphertext.length === 0) throw invalidArgument('ciphertext: required field is empty.');
    if (iv.length === 0) throw invalidArgument('initialization_vector: required field is empty.');
    checkSize(ciphertext, MAX_DATA + 16, 'ciphertext');
    checkSize(aad, MAX_DATA, 'additional_authenticated_data');
    const verifiedCiphertext = verifyCrc32c(ciphertext, req.ciphertextCrc32c, 'ciphertext_crc32c', 'ciphertext');
    const verifiedAad = verifyCrc32c(aad, req.additionalAuthenticatedDataCrc32c, 'additional_authenticated_data_crc32c', 'additional_authenticated_data');
    const verifiedIv = verifyCrc32c(iv, req.initializationVectorCrc32c, 'initialization_vector_crc32c', 'initialization_vector');
    const use = await usableVersion(this.ctx, { keyName: cryptoKeyName(name), version: name.version, purposes: PURPOSE, rpc: 'RawDecrypt', justify: call });
    // The HSM limit is on the plaintext: a GCM ciphertext also carries the 16-byte tag.
    const tagBytes = use.alg.kind === 'raw-aes-gcm' ? 16 : 0;
    checkHsm(use.version.protectionLevel, Math.max(0, ciphertext.length - tagBytes), aad.length, 'ciphertext');
    const plaintext = rawDecrypt(use.alg, use.material.raw, ciphertext, aad, iv, Number(req.tagLength ?? 0));
    return {
      plaintext,
      plaintextCrc32c: checksum(plaintext),
      protectionLevel: protectionLevel(use.version.protectionLevel),
      verifiedCiphertextCrc32c: verifiedCiphertext,
      verifiedAdditionalAuthenticatedDataCrc32c: verifiedAad,
      verifiedInitializationVectorCrc32c: verifiedIv,
    };
  }
}
