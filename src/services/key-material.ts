// Key material of software versions: generated here, sealed under the root key
// before it reaches the store (the seal binds the version's name), opened on
// use and kept decrypted in a bounded in-memory cache so the hot path costs no
// AES unseal or key parsing. Destruction removes the cache entry.
import type { KeyObject } from 'node:crypto';
import type { AlgorithmInfo } from '../crypto/algorithms';
import { generateKeyMaterial, privateKeyObject } from '../crypto/material';
import type { RootKey } from '../crypto/root-key';
import { KmsError, Code } from '../errors';
import type { Sealer, Store } from '../store/store';

export interface LoadedKey {
  raw: Buffer;
  /** Parsed private key, for asymmetric algorithms. */
  privateKey?: KeyObject;
}

export class KeyMaterial {
  // Map iteration order is insertion order: re-inserting on hit makes it an LRU.
  private readonly cache = new Map<string, LoadedKey>();

  constructor(
    private readonly store: Store,
    private readonly rootKey: RootKey,
    private readonly maxEntries = 10_000,
  ) {}

  generate(alg: AlgorithmInfo): Promise<Buffer> {
    return generateKeyMaterial(alg);
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
    const loaded: LoadedKey = alg.kind === 'google-symmetric' || alg.kind === 'external-symmetric' || alg.kind.startsWith('raw-') || alg.kind === 'hmac'
      ? { raw }
      : { raw, privateKey: privateKeyObject(raw) };
    this.cache.set(versionName, loaded);
    if (this.cache.size > this.maxEntries) this.cache.delete(this.cache.keys().next().value as string);
    return loaded;
  }

  forget(versionName: string): void {
    const entry = this.cache.get(versionName);
    if (entry) entry.raw.fill(0);
    this.cache.delete(versionName);
  }
}
