// A key version made ready for a cryptographic operation: the checks every
// operation makes before touching key material, in Cloud KMS's order and with
// its codes: the key exists (NOT_FOUND), it has the operation's purpose
// (FAILED_PRECONDITION), the version exists (NOT_FOUND) and is ENABLED
// (FAILED_PRECONDITION), key and version from the store in one read; then
// the version's material. Software material is generated here, sealed under
// the root key before it reaches the store (the seal binds the version's
// name), opened on use and kept decrypted in a bounded in-memory cache, so the
// hot path costs no AES unseal or key parsing; destruction removes the entry.
import { createHmac, type KeyObject } from 'node:crypto';
import { type AlgorithmInfo, algorithmInfo } from '../crypto/algorithms';
import { generateKeyMaterial, privateKeyObject } from '../crypto/material';
import { type KemDecapsulator, kemDecapsulator, type PqSigner, pqSigner } from '../crypto/pq';
import type { PqKemAlgorithm, PqSignAlgorithm } from '../crypto/pq-algorithms';
import { SlowPqWorker } from '../crypto/pq-worker';
import type { RootKey } from '../crypto/root-key';
import { Code, KmsError, failedPrecondition, notFound } from '../errors';
import type { CryptoKeyRecord, CryptoKeyVersionRecord, Sealer, Store } from '../store/store';
import type { CallContext, ServiceContext } from './context';
import { accessReason, checkJustification } from './external-keys';

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
  /**
   * The caller of an encrypt, decrypt or sign call: the key's Key Access
   * Justifications policy is enforced on its reason, whatever the protection
   * level. Absent for calls the policy does not govern (GetPublicKey, MacVerify).
   */
  justify?: CallContext;
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
  // Read the reason only for a key that has a policy: most keys have none, and the hot path stays as it was.
  if (use.justify && key.allowedAccessReasons) checkJustification(key, version.name, accessReason(use.justify));
  const alg = algorithmInfo(version.algorithm);
  // Versions are only created with supported algorithms; anything else is a broken invariant.
  if (!alg) throw new KmsError(Code.INTERNAL, 'Internal error encountered.');
  // External signing versions have no KMS-side material: their key is only in the EKM.
  if (alg.kind !== 'external-symmetric' && (version.protectionLevel === 'EXTERNAL' || version.protectionLevel === 'EXTERNAL_VPC')) {
    return { key, version, alg, material: NO_MATERIAL };
  }
  return { key, version, alg, material: await ctx.material.load(version.name, alg) };
}

export interface LoadedKey {
  raw: Buffer;
  /** Parsed private key, for asymmetric algorithms. */
  privateKey?: KeyObject;
  /** A post-quantum key, expanded once from its seed: a signer, or a decapsulator (KEM). */
  pq?: PqSigner | KemDecapsulator;
}

/** The material of a version in the form its algorithm uses it. */
function loadedFrom(alg: AlgorithmInfo, raw: Buffer): LoadedKey {
  switch (alg.kind) {
    case 'ml-dsa':
    case 'slh-dsa':
      return { raw, pq: pqSigner(alg.name as PqSignAlgorithm, raw) };
    case 'kem':
      return { raw, pq: kemDecapsulator(alg.name as PqKemAlgorithm, raw) };
    case 'rsa-sign-pss':
    case 'rsa-sign-pkcs1':
    case 'rsa-sign-raw-pkcs1':
    case 'rsa-decrypt-oaep':
    case 'ec-sign':
    case 'ed25519':
      return { raw, privateKey: privateKeyObject(raw) };
    default:
      return { raw };
  }
}

export class KeyMaterial {
  // Map iteration order is insertion order: re-inserting on hit makes it an LRU.
  private readonly cache = new Map<string, LoadedKey>();

  private readonly fingerprintKey: Buffer;

  constructor(
    private readonly store: Store,
    private readonly rootKey: RootKey,
    private readonly maxEntries = 10_000,
    /** SLH-DSA's seconds-long work, off the event loop (crypto/pq-worker.ts). */
    readonly slow: SlowPqWorker = new SlowPqWorker(),
  ) {
    this.fingerprintKey = rootKey.deriveSecret('openekm import fingerprints');
  }

  generate(alg: AlgorithmInfo): Promise<Buffer> {
    if (alg.kind === 'slh-dsa') return this.slow.generate(alg.name as PqSignAlgorithm);
    return generateKeyMaterial(alg);
  }

  /** Ends the SLH-DSA worker (server close). */
  close(): Promise<void> {
    return this.slow.close();
  }

  /** Seals `raw` for the version; null material (external signing keys) stores nothing. */
  sealer(raw: Buffer | null): Sealer {
    return (versionName) => (raw ? this.rootKey.seal(raw, versionName) : null);
  }

  async load(versionName: string, alg: AlgorithmInfo): Promise<LoadedKey> {
    const hit = this.cache.get(versionName);
    if (hit) {
      this.cache.delete(versionName);
      this.cache.set(versionName, hit);
      return hit;
    }
    const sealed = await this.store.getSealedMaterial(versionName);
    // A version that passed the state check has material; its absence is a broken invariant.
    if (!sealed) throw new KmsError(Code.INTERNAL, 'Internal error encountered.');
    const raw = this.rootKey.open(sealed, versionName);
    const loaded = loadedFrom(alg, raw);
    this.cache.set(versionName, loaded);
    if (this.cache.size > this.maxEntries) this.cache.delete(this.cache.keys().next().value as string);
    return loaded;
  }

  /** Opens sealed material without caching it (an import job's wrapping key, read once per import). */
  async open(name: string): Promise<Buffer | undefined> {
    const sealed = await this.store.getSealedMaterial(name);
    return sealed && this.rootKey.open(sealed, name);
  }

  /** A keyed fingerprint of material (HMAC under a secret derived from the root key): equal keys, equal prints; nothing about the key otherwise. */
  fingerprint(raw: Buffer): string {
    return createHmac('sha256', this.fingerprintKey).update(raw).digest('base64url');
  }

  forget(versionName: string): void {
    const entry = this.cache.get(versionName);
    if (entry) entry.raw.fill(0);
    this.cache.delete(versionName);
  }
}
