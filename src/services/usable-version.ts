// The checks every cryptographic operation makes before touching key
// material, in Cloud KMS's order and with its codes: the key and version exist
// (NOT_FOUND), the key has the operation's purpose and the version is ENABLED
// (FAILED_PRECONDITION).
import { type AlgorithmInfo, algorithmInfo } from '../crypto/algorithms';
import { Code, KmsError, failedPrecondition, notFound } from '../errors';
import type { CryptoKeyRecord, CryptoKeyVersionRecord } from '../store/store';
import type { ServiceContext } from './context';
import type { LoadedKey } from './key-material';

export interface UsableVersion {
  key: CryptoKeyRecord;
  version: CryptoKeyVersionRecord;
  alg: AlgorithmInfo;
  material: LoadedKey;
}

export async function getKeyWithPurpose(
  ctx: ServiceContext,
  keyName: string,
  purposes: readonly string[],
  rpc: string,
): Promise<CryptoKeyRecord> {
  const key = await ctx.store.getCryptoKey(keyName);
  if (!key) throw notFound(`CryptoKey ${keyName} not found.`);
  if (!purposes.includes(key.purpose)) {
    throw failedPrecondition(`${rpc} requires a key with purpose ${purposes.join(' or ')}; ${keyName} has purpose ${key.purpose}.`);
  }
  return key;
}

export async function usableVersion(
  ctx: ServiceContext,
  key: CryptoKeyRecord,
  versionName: string,
): Promise<UsableVersion> {
  const version = await ctx.store.getCryptoKeyVersion(versionName);
  if (!version) throw notFound(`CryptoKeyVersion ${versionName} not found.`);
  if (version.state !== 'ENABLED') {
    throw failedPrecondition(`CryptoKeyVersion ${versionName} is not enabled (state ${version.state}).`);
  }
  const alg = algorithmInfo(version.algorithm);
  // Versions are only created with supported algorithms; anything else is a broken invariant.
  if (!alg) throw new KmsError(Code.INTERNAL, 'Internal error encountered.');
  return { key, version, alg, material: await ctx.material.load(version.name, alg) };
}

/** Resolves a version name for an operation of `purposes`. */
export async function usableVersionByName(
  ctx: ServiceContext,
  keyName: string,
  versionName: string,
  purposes: readonly string[],
  rpc: string,
): Promise<UsableVersion> {
  const key = await getKeyWithPurpose(ctx, keyName, purposes, rpc);
  return usableVersion(ctx, key, versionName);
}
