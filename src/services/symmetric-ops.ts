// Encrypt and Decrypt with GOOGLE_SYMMETRIC_ENCRYPTION keys. The ciphertext
// names the version that made it, so Decrypt on the CryptoKey finds it after
// any number of rotations (crypto/symmetric.ts has the layout).
import { ciphertextVersion, SYMMETRIC_OVERHEAD, symmetricDecrypt, symmetricEncrypt } from '../crypto/symmetric';
import { invalidArgument } from '../errors';
import type { Msg } from '../proto/registry';
import type { ServiceContext } from './context';
import { bytesField, checkSize, checksum, verifyCrc32c } from './integrity';
import { cryptoKeyName, isVersionName, parseCryptoKey, parseKeyOrVersion } from './names';
import { usableVersion } from './usable-version';

const MAX_DATA = 64 * 1024;
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
  constructor(private readonly ctx: ServiceContext) {}

  async encrypt(req: Msg): Promise<Msg> {
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
      keyName, version: isVersionName(name) ? name.version : null, purposes: PURPOSE, rpc: 'Encrypt',
    });
    checkSizes(use.version.protectionLevel, plaintext.length, aad.length);
    const ciphertext = symmetricEncrypt(use.material.raw, keyName, use.version.version, plaintext, aad);
    return {
      name: use.version.name,
      ciphertext,
      ciphertextCrc32c: checksum(ciphertext),
      verifiedPlaintextCrc32c: verifiedPlaintext,
      verifiedAdditionalAuthenticatedDataCrc32c: verifiedAad,
      protectionLevel: use.version.protectionLevel,
    };
  }

  async decrypt(req: Msg): Promise<Msg> {
    const keyName = cryptoKeyName(parseCryptoKey(req.name, 'name'));
    const ciphertext = bytesField(req.ciphertext);
    const aad = bytesField(req.additionalAuthenticatedData);
    if (ciphertext.length === 0) throw invalidArgument('ciphertext: required field is empty.');
    checkSize(ciphertext, MAX_DATA + SYMMETRIC_OVERHEAD, 'ciphertext');
    checkSize(aad, MAX_DATA, 'additional_authenticated_data');
    verifyCrc32c(ciphertext, req.ciphertextCrc32c, 'ciphertext_crc32c', 'ciphertext');
    verifyCrc32c(
      aad, req.additionalAuthenticatedDataCrc32c, 'additional_authenticated_data_crc32c', 'additional_authenticated_data',
    );
    // A ciphertext naming a version this key never had was not made by this key.
    const use = await usableVersion(this.ctx, {
      keyName, version: ciphertextVersion(ciphertext), purposes: PURPOSE, rpc: 'Decrypt',
      missingVersion: () => invalidArgument('ciphertext: Decryption failed: the ciphertext is invalid.'),
    });
    const plaintext = symmetricDecrypt(use.material.raw, keyName, ciphertext, aad);
    return {
      plaintext,
      plaintextCrc32c: checksum(plaintext),
      usedPrimary: use.key.primaryVersion === use.version.version,
      protectionLevel: use.version.protectionLevel,
    };
  }
}
