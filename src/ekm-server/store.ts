// What the EKM's persistence must do, with no rules in it: the key manager
// (keys.ts) decides, the store records. Methods are async so a networked
// backend fits. Material arrives already sealed under the root key.
import type { FullPolicy, Policy } from './policy';

export type KeyState = 'ENABLED' | 'DISABLED' | 'DESTROYED';

export interface CryptoSpaceRecord {
  name: string;
  policy: FullPolicy;
  createTime: number;
  updateTime: number;
}

export interface KeyRecord {
  /** v0/cryptospaces/{space}/keys/{id} */
  path: string;
  cryptoSpace: string;
  algorithm: string;
  state: KeyState;
  /** Sealed under the root key with the key path as context; null once destroyed. */
  sealedMaterial: Buffer | null;
  /** Overrides of the crypto space's policy, or null to inherit it. */
  policy: Policy | null;
  /** The createKey requestId that made the key, if any. */
  requestId: string | null;
  createTime: number;
  updateTime: number;
  destroyTime: number | null;
}

export interface EkmStore {
  /** Throws ALREADY_EXISTS if the name is taken. */
  createCryptoSpace(record: CryptoSpaceRecord): Promise<void>;
  getCryptoSpace(name: string): Promise<CryptoSpaceRecord | undefined>;
  listCryptoSpaces(): Promise<CryptoSpaceRecord[]>;
  /** Returns the updated record, or undefined if there is no such space. */
  setCryptoSpacePolicy(name: string, policy: FullPolicy, now: number): Promise<CryptoSpaceRecord | undefined>;

  /** Throws ALREADY_EXISTS if the path, or the requestId within the space, is taken. */
  createKey(record: KeyRecord): Promise<void>;
  getKey(path: string): Promise<KeyRecord | undefined>;
  findKeyByRequestId(cryptoSpace: string, requestId: string): Promise<KeyRecord | undefined>;
  /** Keys of one crypto space, or of all, ordered by path. */
  listKeys(cryptoSpace?: string): Promise<KeyRecord[]>;
  /**
   * Moves a key to `to` if its state is one of `from`; destroying also erases
   * the sealed material in the same write. Returns the updated record, or
   * undefined when the key is missing or in another state.
   */
  transitionKey(path: string, from: readonly KeyState[], to: KeyState, now: number): Promise<KeyRecord | undefined>;
  setKeyPolicy(path: string, policy: Policy | null, now: number): Promise<KeyRecord | undefined>;

  /** A small value kept beside the data (the root key's check value). */
  getMeta(name: string): Promise<Buffer | undefined>;
  setMeta(name: string, value: Buffer): Promise<void>;
  close(): void;
}
