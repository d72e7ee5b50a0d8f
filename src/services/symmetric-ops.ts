// Encrypt and Decrypt with GOOGLE_SYMMETRIC_ENCRYPTION keys. The ciphertext
// names the version that made it, so Decrypt on the CryptoKey finds it after
// any number of rotations (crypto/symmetric.ts has the layout).
import { externalCiphertext, isExternalCiphertext, parseExternalCiphertext } from '../crypto/external';
import { ciphertextVersion, SYMMETRIC_OVERHEAD, symmetricDecrypt, symmetricEncrypt } from '../crypto/symmetric';
import { invalidArgument } from '../errors';
import { type DecryptRequest, type DecryptResponse, type EncryptRequest, type EncryptResponse, protectionLevel } from '../proto/wire';
import type { CallContext, ServiceContext } from './context';
import { accessReason, ExternalKeys, isExternal } from './external-keys';
import { bytesField, checkSize, checksum, verifyCrc32c } from './integrity';
import { cryptoKeyName, isVersionName, parseCryptoKey, parseKeyOrVersion } from './names';
import { usableVersion } from './usable-version';

const MAX_DATA = 64 * 1024;
// What an EKM may add around a wrapped inner ciphertext (its blob layout is its own).
const MAX_EKM_OVERHEAD = 1024;
const INVALID_CIPHERTEXT = 'ciphertext: Decryption failed: the ciphertext is invalid.';
// HSM keys: plaintext and AAD together at most 8 KiB (Cloud KMS's HSM limit).
const MAX_HSM_COMBINED = 8 * 1024;
const PURPOSE = ['ENCRYPT_DECRYPT'];

function checkSizes(protectionLevel: string, plaintextLength: number, aadLength: number): void {
  if (protectionLevel === 'HSM' && plaintextLength + aadLength > MAX_HSM_COMBINED) {
    throw invalidArgument(
      `plaintext: with additional_authenticated_data must be at most ${MAX_HSM_COMBINED} bytes for HSM keys.`,
    );
  }
}

export class SymmetricOps {
  private readonly external: ExternalKeys;

  constructor(private readonly ctx: ServiceContext) {
    this.external = new ExternalKeys(ctx);
  }

  async encrypt(req: EncryptRequest, call?: CallContext): Promise<EncryptResponse> {
    const name = parseKeyOrVersion(req.name, 'name');
    const plaintext = bytesField(req.plaintext);
    const aad = bytesField(req.additionalAuthenticatedData);
    if (plaintext.length === 0) throw invalidArgument('plaintext: required field is empty.');
    checkSize(plaintext, MAX_DATA, 'plaintext');
    checkSize(aad, MAX_DATA, 'additional_authenticated_data');
    const verifiedPlaintext = verifyCrc32c(plaintext, req.plaintextCrc32c, 'plaintext_crc32c', 'plaintext');
    const verifiedAad = verifyCrc32c(
      aad, req.additionalAuthenticatedDataCrc32c, 'additional_authenticated_data_crc32c', 'additional_authenticated_data',
    );
    const keyName = cryptoKeyName(name);
    const use = await usableVersion(this.ctx, {
      keyName, version: isVersionName(name) ? name.version : null, purposes: PURPOSE, rpc: 'Encrypt', justify: call,
    });
    checkSizes(use.version.protectionLevel, plaintext.length, aad.length);
    let ciphertext = symmetricEncrypt(use.material.raw, keyName, use.version.version, plaintext, aad);
    if (isExternal(use.version.protectionLevel)) {
      // Double wrapping: the EKM wraps the inner ciphertext, bound to this version's name.
      const inner = ciphertext;
      const blob = await this.external.call(use.key, use.version, accessReason(call), (target, info) =>
        this.ctx.ekm.wrap(target, inner, Buffer.from(use.version.name, 'utf8'), info),
      );
      ciphertext = externalCiphertext(use.version.version, blob);
    }
    return {
      name: use.version.name,
      ciphertext,
      ciphertextCrc32c: checksum(ciphertext),
      verifiedPlaintextCrc32c: verifiedPlaintext,
      verifiedAdditionalAuthenticatedDataCrc32c: verifiedAad,
      protectionLevel: protectionLevel(use.version.protectionLevel),
    };
  }

  async decrypt(req: DecryptRequest, call?: CallContext): Promise<DecryptResponse> {
    const keyName = cryptoKeyName(parseCryptoKey(req.name, 'name'));
    const ciphertext = bytesField(req.ciphertext);
    const aad = bytesField(req.additionalAuthenticatedData);
    if (ciphertext.length === 0) throw invalidArgument('ciphertext: required field is empty.');
    checkSize(ciphertext, MAX_DATA + SYMMETRIC_OVERHEAD + MAX_EKM_OVERHEAD, 'ciphertext');
    checkSize(aad, MAX_DATA, 'additional_authenticated_data');
    verifyCrc32c(ciphertext, req.ciphertextCrc32c, 'ciphertext_crc32c', 'ciphertext');
    verifyCrc32c(
      aad, req.additionalAuthenticatedDataCrc32c, 'additional_authenticated_data_crc32c', 'additional_authenticated_data',
    );
    const external = isExternalCiphertext(ciphertext);
    // A ciphertext naming a version this key never had was not made by this key.
    const use = await usableVersion(this.ctx, {
      keyName,
      version: external ? parseExternalCiphertext(ciphertext).version : ciphertextVersion(ciphertext),
      purposes: PURPOSE,
      rpc: 'Decrypt',
      missingVersion: () => invalidArgument(INVALID_CIPHERTEXT),
      justify: call,
    });
    if (external !== isExternal(use.version.protectionLevel)) throw invalidArgument(INVALID_CIPHERTEXT);
    let inner = ciphertext;
    if (external) {
      // One EKM call per Decrypt: nothing the EKM returns is kept.
      const { wrappedBlob } = parseExternalCiphertext(ciphertext);
      inner = await this.external.call(use.key, use.version, accessReason(call), (target, info) =>
        this.ctx.ekm.unwrap(target, wrappedBlob, Buffer.from(use.version.name, 'utf8'), info),
      );
    }
    const plaintext = symmetricDecrypt(use.material.raw, keyName, inner, aad);
    return {
      plaintext,
      plaintextCrc32c: checksum(plaintext),
      usedPrimary: use.key.primaryVersion === use.version.version,
      protectionLevel: protectionLevel(use.version.protectionLevel),
    };
  }
}
