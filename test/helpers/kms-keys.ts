// Creating key rings and keys through the official client, for tests that
// need keys of many algorithms; reading bytes fields of its responses.
import type { KeyManagementServiceClient, protos } from '@google-cloud/kms';
import { type Harness, LOCATION, startKms, uniqueId } from './kms';

export async function createKeyRing(client: KeyManagementServiceClient, location = LOCATION): Promise<string> {
  const [ring] = await client.createKeyRing({ parent: location, keyRingId: uniqueId('ring'), keyRing: {} });
  return ring.name!;
}

type CryptoKey = protos.google.cloud.kms.v1.ICryptoKey;
type Template = protos.google.cloud.kms.v1.ICryptoKeyVersionTemplate;

export interface KeySpec {
  purpose: string;
  algorithm?: string;
  protectionLevel?: 'SOFTWARE' | 'HSM';
  id?: string;
}

export interface CreatedKey {
  /** The CryptoKey's name. */
  key: string;
  /** The name of its first version (number 1). */
  version: string;
}

/** Creates a CryptoKey (with its first version) in keyRing. */
export async function createKey(client: KeyManagementServiceClient, keyRing: string, spec: KeySpec): Promise<CreatedKey> {
  const [key] = await client.createCryptoKey({
    parent: keyRing,
    cryptoKeyId: spec.id ?? uniqueId((spec.algorithm ?? spec.purpose).toLowerCase().replace(/_/g, '-')),
    cryptoKey: {
      purpose: spec.purpose as CryptoKey['purpose'],
      versionTemplate: {
        algorithm: spec.algorithm as Template['algorithm'],
        protectionLevel: spec.protectionLevel ?? 'SOFTWARE',
      },
    },
  });
  return { key: key.name!, version: `${key.name!}/cryptoKeyVersions/1` };
}

/** Creates one key per algorithm, concurrently (RSA generation runs on the thread pool). */
export async function createKeys(
  client: KeyManagementServiceClient,
  keyRing: string,
  specs: readonly (KeySpec & { algorithm: string })[],
): Promise<Map<string, CreatedKey>> {
  const created = await Promise.all(specs.map((s) => createKey(client, keyRing, s)));
  return new Map(specs.map((s, i) => [s.algorithm, created[i]]));
}

/** A bytes field of a response (the client types them Uint8Array | Buffer | string) as a Buffer. */
export function bytes(value: Uint8Array | string | null | undefined): Buffer {
  assertPresent(value);
  return typeof value === 'string' ? Buffer.from(value, 'base64') : Buffer.from(value);
}

function assertPresent<T>(value: T | null | undefined): asserts value is T {
  if (value == null) throw new Error('expected a bytes field in the response');
}

/** The PEM public key of each created key's version, by algorithm. */
export async function publicKeyPems(client: KeyManagementServiceClient, keys: Map<string, CreatedKey>): Promise<Map<string, string>> {
  const pems = new Map<string, string>();
  for (const [algorithm, key] of keys) {
    const [pub] = await client.getPublicKey({ name: key.version });
    pems.set(algorithm, pub.pem!);
  }
  return pems;
}

export interface AsymmetricFixture {
  kms: Harness;
  keys: Map<string, CreatedKey>;
  pems: Map<string, string>;
}

/** A server with one key of `purpose` per algorithm, and each key's PEM public key. */
export async function asymmetricFixture(purpose: string, algorithms: readonly string[]): Promise<AsymmetricFixture> {
  const kms = await startKms();
  const ring = await createKeyRing(kms.client);
  const keys = await createKeys(kms.client, ring, algorithms.map((algorithm) => ({ purpose, algorithm })));
  return { kms, keys, pems: await publicKeyPems(kms.client, keys) };
}
