// ImportTrustedKeyWrappedCryptoKeyVersion and
// ExportTrustedKeyWrappedCryptoKeyVersion, as their proto comments rule them:
// the key that wraps must be a trusted one (hsm_trusted), and a version that
// is exported must have trusted_wrapping_enabled. Both exist only for keys in
// a single-tenant HSM instance (HSM_SINGLE_TENANT), which OpenEKM does not
// have: every request is checked field by field and against the keys it
// names (NOT_FOUND, INVALID_ARGUMENT), and then answered FAILED_PRECONDITION
// saying which of those two facts is missing (docs/cloud-kms-differences.md).
import { failedPrecondition, invalidArgument, notFound } from '../errors';
import type {
  CryptoKeyVersion, ExportTrustedKeyWrappedCryptoKeyVersionRequest, ExportTrustedKeyWrappedCryptoKeyVersionResponse,
  ImportTrustedKeyWrappedCryptoKeyVersionRequest,
} from '../proto/wire';
import type { ServiceContext } from './context';
import type { CryptoKeysService } from './crypto-keys';
import { bytesField } from './integrity';
import { checkAlgorithm } from './key-rules';
import { cryptoKeyName, isVersionName, parseCryptoKey, parseKeyOrVersion, parseVersion, versionName } from './names';

const NO_TRUSTED_KEYS = 'trusted keys (hsm_trusted) exist only in single-tenant HSM instances (HSM_SINGLE_TENANT), which OpenEKM does not have';

export class TrustedWrapService {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly keys: CryptoKeysService,
  ) {}

  async importTrustedKeyWrappedCryptoKeyVersion(req: ImportTrustedKeyWrappedCryptoKeyVersionRequest): Promise<CryptoKeyVersion> {
    const parent = cryptoKeyName(parseCryptoKey(req.parent, 'parent'));
    const importing = parseKeyOrVersion(req.importingKey, 'importing_key');
    if (req.cryptoKeyVersion) {
      const target = versionName(parseVersion(req.cryptoKeyVersion, 'crypto_key_version'));
      if (!target.startsWith(`${parent}/cryptoKeyVersions/`)) throw invalidArgument(`crypto_key_version: ${target} is not a version of ${parent}.`);
    }
    if (bytesField(req.wrappedKey).length === 0) throw invalidArgument('wrapped_key: required field is empty.');
    const key = await this.keys.mustGet(parent);
    checkAlgorithm(req.algorithm, key.purpose as never, 'algorithm');
    const importingName = isVersionName(importing) ? versionName(importing) : cryptoKeyName(importing);
    await this.mustExist(importingName, 'importing_key');
    throw failedPrecondition(`importing_key: ${importingName} is not a trusted key; ${NO_TRUSTED_KEYS}.`);
  }

  async exportTrustedKeyWrappedCryptoKeyVersion(req: ExportTrustedKeyWrappedCryptoKeyVersionRequest): Promise<ExportTrustedKeyWrappedCryptoKeyVersionResponse> {
    const name = versionName(parseVersion(req.name, 'name'));
    const wrapping = versionName(parseVersion(req.wrappingKey, 'wrapping_key'));
    await this.mustExist(name, 'name');
    const wrapper = await this.mustExist(wrapping, 'wrapping_key');
    if (wrapper.algorithm !== 'AES_256_KWP') {
      throw failedPrecondition(`wrapping_key: ${wrapping} is ${wrapper.algorithm}; the wrapping key must be an AES_WRAPPING key with algorithm AES_256_KWP.`);
    }
    throw failedPrecondition(`name: ${name} does not have trusted_wrapping_enabled; ${NO_TRUSTED_KEYS}.`);
  }

  private async mustExist(name: string, field: string): Promise<{ algorithm: string }> {
    if (name.includes('/cryptoKeyVersions/')) {
      const version = await this.ctx.store.getCryptoKeyVersion(name);
      if (!version) throw notFound(`${field}: CryptoKeyVersion ${name} not found.`);
      return version;
    }
    const key = await this.ctx.store.getCryptoKey(name);
    if (!key) throw notFound(`${field}: CryptoKey ${name} not found.`);
    return key;
  }
}
