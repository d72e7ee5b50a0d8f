// The checks every cryptographic operation makes before touching key
// material, in Cloud KMS's order and with its codes: the key exists
// (NOT_FOUND), it has the operation's purpose (FAILED_PRECONDITION), the
// version exists (NOT_FOUND) and is ENABLED (FAILED_PRECONDITION). Key and
// version come from the store in one read.
import { type AlgorithmInfo, algorithmInfo } from '../crypto/algorithms';
import { Code, KmsError, failedPrecondition, notFound } from '../errors';
import type { CryptoKeyRecord, CryptoKeyVersionRecord } from '../store/store';
import type { ServiceContext } from './context';
import type { LoadedKey } from './key-material';

const NO_MATERIAL: LoadedKey = Object.freeze({ raw: Buffer.alloc(0) });

export interface UsableVersion {
  key: CryptoKeyRecord;
  version: CryptoKeyVersionRecord;
  alg: AlgorithmInfo;
  material: LoadedKey;
}

export interface UseRequest {
  keyName: string;
  /** The version number, or null for the key's primary. */
  version: number | null;
  purposes: readonly string[];
  rpc: string;
  /** The error for a version the key does not have (default NOT_FOUND). */
  missingVersion?: (name: string) => KmsError;
}

export async function usableVersion(ctx: ServiceContext, use: UseRequest): Promise<UsableVersion> {
  const found = await ctx.store.getKeyAndVersion(use.keyName, use.version);
  const key = found.key;
  if (!key) throw notFound(`CryptoKey ${use.keyName} not found.`);
  if (!use.purposes.includes(key.purpose)) {
    throw failedPrecondition(
      `${use.rpc} requires a key with purpose ${use.purposes.join(' or ')}; ${use.keyName} has purpose ${key.purpose}.`,
    );
  }
  if (use.version === null && key.primaryVersion == null) {
    throw failedPrecondition(`CryptoKey ${use.keyName} has no primary version.`);
  }
  const version = found.version;
  if (!version) {
    const name = `${use.keyName}/cryptoKeyVersions/${use.version ?? key.primaryVersion}`;
    throw use.missingVersion ? use.missingVersion(name) : notFound(`CryptoKeyVersion ${name} not found.`);
  }
  if (version.state !== 'ENABLED') {
    throw failedPrecondition(`CryptoKeyVersion ${version.name} is not enabled (state ${version.state}).`);
  }
  const alg = algorithmInfo(version.algorithm);
  // Versions are only created with supported algorithms; anything else is a broken invariant.
  if (!alg) throw new KmsError(Code.INTERNAL, 'Internal error encountered.');
  // External signing versions have no KMS-side material: their key is only in the EKM.
  if (alg.kind !== 'external-symmetric' && (version.protectionLevel === 'EXTERNAL' || version.protectionLevel === 'EXTERNAL_VPC')) {
    return { key, version, alg, material: NO_MATERIAL };
  }
  return { key, version, alg, material: await ctx.material.load(version.name, alg) };
}
