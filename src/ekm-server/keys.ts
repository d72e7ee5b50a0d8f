// The key manager: crypto spaces and keys, their lifecycle and policies, and
// the parsed state the hot path reuses. Every change goes through here (the
// data plane, the control plane and the admin interface all live in the one
// server process), so the in-memory cache never disagrees with the store.
//
// Invariant: a cache entry is replaced only by the record a store write
// returned, never patched by hand, so the cache holds what is on disk.
import { createPrivateKey, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import type { Clock } from '../clock';
import type { RootKey } from '../crypto/root-key';
import { Code, KmsError, failedPrecondition, invalidArgument, notFound } from '../errors';
import { generateMaterial, storedAlgorithm, type EkmAlgorithm } from './algorithms';
import { cryptoSpaceName, isValidId, keyPath, parseCryptoSpacePath, requireKeyPath } from './paths';
import { EMPTY_POLICY, effectivePolicy, fullPolicy, type FullPolicy, type Policy } from './policy';
import type { CryptoSpaceRecord, EkmStore, KeyRecord, KeyState } from './store';

const ROOT_CHECK = 'root_key_check';
const ROOT_CHECK_PLAINTEXT = Buffer.from('openekm-ekm root key check', 'utf8');
const CACHE_LIMIT = 10_000;

/** A key as the hot path uses it: the record plus its opened material. */
export interface LoadedKey {
  record: KeyRecord;
  algorithm: EkmAlgorithm;
  /** AES-256 key of a wrapping key (absent once destroyed). */
  wrapKey?: Buffer;
  privateKey?: KeyObject;
  publicKeyPem?: string;
}

export interface NewKey {
  cryptoSpace: string;
  algorithm: EkmAlgorithm;
  keyId?: string;
  requestId?: string;
}

export class KeyManager {
  readonly #keys = new Map<string, LoadedKey>();
  readonly #spaces = new Map<string, CryptoSpaceRecord>();

  private constructor(
    private readonly store: EkmStore,
    private readonly rootKey: RootKey,
    private readonly clock: Clock,
  ) {}

  /** Opens the manager; fails at once if the store was written under another root key. */
  static async open(store: EkmStore, rootKey: RootKey, clock: Clock): Promise<KeyManager> {
    const check = await store.getMeta(ROOT_CHECK);
    if (check === undefined) {
      await store.setMeta(ROOT_CHECK, rootKey.seal(ROOT_CHECK_PLAINTEXT, ROOT_CHECK));
    } else {
      try {
        rootKey.open(check, ROOT_CHECK);
      } catch {
        throw new Error('the EKM root key does not match this data directory (wrong root.key?)');
      }
    }
    return new KeyManager(store, rootKey, clock);
  }

  async createCryptoSpace(nameOrPath: string, policy: Policy = {}): Promise<CryptoSpaceRecord> {
    const now = this.clock.now();
    const record = { name: cryptoSpaceName(nameOrPath, 'name'), policy: fullPolicy(policy), createTime: now, updateTime: now };
    await this.store.createCryptoSpace(record);
    this.#spaces.set(record.name, record);
    return record;
  }

  listCryptoSpaces(): Promise<CryptoSpaceRecord[]> {
    return this.store.listCryptoSpaces();
  }

  /** A crypto space by name or path; NOT_FOUND if absent. */
  async cryptoSpace(nameOrPath: string): Promise<CryptoSpaceRecord> {
    const name = parseCryptoSpacePath(nameOrPath) ?? nameOrPath;
    const cached = this.#spaces.get(name);
    if (cached) return cached;
    const record = isValidId(name) ? await this.store.getCryptoSpace(name) : undefined;
    if (!record) throw notFound(`Crypto space ${nameOrPath} was not found.`);
    this.#spaces.set(name, record);
    return record;
  }

  async setCryptoSpacePolicy(nameOrPath: string, policy: Policy): Promise<CryptoSpaceRecord> {
    const space = await this.cryptoSpace(nameOrPath);
    const updated = await this.store.setCryptoSpacePolicy(space.name, fullPolicy(policy), this.clock.now());
    if (!updated) throw notFound(`Crypto space ${nameOrPath} was not found.`);
    this.#spaces.set(updated.name, updated);
    return updated;
  }

  /**
   * Creates a key, or with a requestId already used in the space returns the
   * key that request made (`created` false). The same requestId with another
   * algorithm is ALREADY_EXISTS.
   */
  async createKey(spec: NewKey): Promise<{ record: KeyRecord; created: boolean }> {
    if (spec.keyId !== undefined && !isValidId(spec.keyId)) {
      throw invalidArgument('keyId must be 1 to 63 letters, digits, \'-\' or \'_\'.');
    }
    const space = await this.cryptoSpace(spec.cryptoSpace);
    const earlier = spec.requestId === undefined ? undefined : await this.byRequestId(space.name, spec);
    if (earlier) return { record: earlier, created: false };
    const path = keyPath(space.name, spec.keyId ?? `k-${randomBytes(10).toString('hex')}`);
    const material = await generateMaterial(spec.algorithm);
    const now = this.clock.now();
    const record: KeyRecord = {
      path, cryptoSpace: space.name, algorithm: spec.algorithm.name, state: 'ENABLED',
      sealedMaterial: this.rootKey.seal(material, path), policy: null, requestId: spec.requestId ?? null,
      createTime: now, updateTime: now, destroyTime: null,
    };
    try {
      await this.store.createKey(record);
    } catch (err) {
      // A concurrent request with the same requestId won the insert: answer with its key.
      const winner = err instanceof KmsError && err.code === Code.ALREADY_EXISTS && spec.requestId !== undefined
        ? await this.byRequestId(space.name, spec)
        : undefined;
      if (winner) return { record: winner, created: false };
      throw err;
    }
    return { record, created: true };
  }

  private async byRequestId(space: string, spec: NewKey): Promise<KeyRecord | undefined> {
    const record = await this.store.findKeyByRequestId(space, spec.requestId!);
    if (record && record.algorithm !== spec.algorithm.name) {
      throw new KmsError(Code.ALREADY_EXISTS, `requestId ${spec.requestId} was already used to create a ${record.algorithm} key.`);
    }
    return record;
  }

  /** A key with its material opened; NOT_FOUND if absent. */
  async key(path: string): Promise<LoadedKey> {
    const cached = this.#keys.get(path);
    if (cached) {
      // Map order is insertion order: re-inserting marks the entry most recently used.
      this.#keys.delete(path);
      this.#keys.set(path, cached);
      return cached;
    }
    const record = await this.store.getKey(path);
    if (!record) throw notFound(`Key ${path} was not found.`);
    return this.remember(record);
  }

  /** The key if it is in the cache (the hot path's synchronous lookup); undefined means ask key(). */
  cachedKey(path: string): LoadedKey | undefined {
    return this.#keys.get(path);
  }

  /** policyFor, when the key's crypto space is cached; undefined means ask policyFor(). */
  cachedPolicy(record: KeyRecord): FullPolicy | undefined {
    const space = this.#spaces.get(record.cryptoSpace);
    return space ? effectivePolicy(space.policy, record.policy) : undefined;
  }

  listKeys(cryptoSpace?: string): Promise<KeyRecord[]> {
    return this.store.listKeys(cryptoSpace === undefined ? undefined : cryptoSpaceName(cryptoSpace));
  }

  /** The policy that governs a key: its crypto space's, with the key's overrides. */
  async policyFor(record: KeyRecord): Promise<FullPolicy> {
    const space = await this.cryptoSpace(record.cryptoSpace).catch(() => undefined);
    return effectivePolicy(space?.policy ?? EMPTY_POLICY, record.policy);
  }

  disable(path: string): Promise<KeyRecord> {
    return this.transition(path, ['ENABLED'], 'DISABLED');
  }

  enable(path: string): Promise<KeyRecord> {
    return this.transition(path, ['DISABLED'], 'ENABLED');
  }

  /** Destroys the material; destroying a destroyed key succeeds. */
  destroy(path: string): Promise<KeyRecord> {
    return this.transition(path, ['ENABLED', 'DISABLED'], 'DESTROYED');
  }

  async setKeyPolicy(path: string, policy: Policy | null): Promise<KeyRecord> {
    requireKeyPath(path, 'key');
    const updated = await this.store.setKeyPolicy(path, policy, this.clock.now());
    if (!updated) throw notFound(`Key ${path} was not found.`);
    return this.remember(updated).record;
  }

  private async transition(path: string, from: readonly KeyState[], to: KeyState): Promise<KeyRecord> {
    requireKeyPath(path, 'key');
    const updated = await this.store.transitionKey(path, from, to, this.clock.now());
    if (updated) return this.remember(updated).record;
    const current = await this.store.getKey(path);
    if (!current) throw notFound(`Key ${path} was not found.`);
    if (current.state === to) return current;
    throw failedPrecondition(`Key ${path} is ${current.state}; it cannot become ${to}.`);
  }

  private remember(record: KeyRecord): LoadedKey {
    const loaded = this.load(record);
    this.#keys.delete(record.path);
    this.#keys.set(record.path, loaded);
    if (this.#keys.size > CACHE_LIMIT) this.#keys.delete(this.#keys.keys().next().value as string);
    return loaded;
  }

  private load(record: KeyRecord): LoadedKey {
    const algorithm = storedAlgorithm(record.algorithm);
    const loaded: LoadedKey = { record, algorithm };
    if (record.sealedMaterial === null) return loaded;
    const material = this.rootKey.open(record.sealedMaterial, record.path);
    if (algorithm.kind === 'wrap') {
      loaded.wrapKey = material;
    } else {
      loaded.privateKey = createPrivateKey({ key: material, format: 'der', type: 'pkcs8' });
      loaded.publicKeyPem = createPublicKey(loaded.privateKey).export({ type: 'spki', format: 'pem' }).toString();
    }
    return loaded;
  }
}
