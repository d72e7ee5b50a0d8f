// importedMaterial: the key formats Cloud KMS documents for import, for every
// classical algorithm, each key made by node:crypto and then used through the
// imported material to show it is the same key; then keys that do not fit.
// One RSA key per modulus size serves the file.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, publicEncrypt, randomBytes, type KeyObject } from 'node:crypto';
import { SUPPORTED_ALGORITHMS, type AlgorithmInfo } from '../../src/crypto/algorithms';
import { asymmetricDecrypt, signData } from '../../src/crypto/asymmetric';
import { importedMaterial } from '../../src/crypto/import-material';
import { macSign } from '../../src/crypto/mac';
import { privateKeyObject } from '../../src/crypto/material';
import { Code, KmsError } from '../../src/errors';
import { assertKmsError, verifies } from './helpers';

const PKCS8_DER = { type: 'pkcs8', format: 'der' } as const;

const rsaKeys = new Map<number, KeyObject>();
function rsaKey(bits: number): KeyObject {
  let key = rsaKeys.get(bits);
  if (key === undefined) {
    key = generateKeyPairSync('rsa', { modulusLength: bits }).privateKey;
    rsaKeys.set(bits, key);
  }
  return key;
}

/** A node:crypto private key of the type, size and curve the algorithm needs. */
function keyFor(a: AlgorithmInfo): KeyObject {
  if (a.modulusBits !== undefined) return rsaKey(a.modulusBits);
  if (a.curve !== undefined) return generateKeyPairSync('ec', { namedCurve: a.curve }).privateKey;
  return generateKeyPairSync('ed25519').privateKey;
}

const material = (name: string, bytes: Buffer): Buffer => {
  const out = importedMaterial(name, bytes);
  assert.ok(out, `${name} is handled`);
  return out;
};

void test('symmetric and HMAC keys: exactly the documented raw length, kept as a copy of the bytes', () => {
  const lengths: Record<string, number> = {
    GOOGLE_SYMMETRIC_ENCRYPTION: 32,
    AES_128_GCM: 16,
    AES_256_GCM: 32,
    AES_128_CBC: 16,
    AES_256_CBC: 32,
    AES_128_CTR: 16,
    AES_256_CTR: 32,
    HMAC_SHA1: 20,
    HMAC_SHA224: 28,
    HMAC_SHA256: 32,
    HMAC_SHA384: 48,
    HMAC_SHA512: 64,
  };
  for (const [name, length] of Object.entries(lengths)) {
    const key = randomBytes(length);
    const stored = material(name, key);
    assert.deepEqual(stored, key, name);
    assert.notEqual(stored.buffer, key.buffer, `${name}: a copy, so the caller may wipe its buffer`);
    for (const wrong of [0, length - 1, length + 1, 2 * length]) assertKmsError(() => importedMaterial(name, randomBytes(wrong)));
  }
});

void test('HMAC: the imported key MACs like node with the original key', () => {
  for (const a of SUPPORTED_ALGORITHMS.filter((x) => x.kind === 'hmac')) {
    const key = randomBytes(a.keyBytes as number);
    const data = Buffer.from('mac me');
    assert.deepEqual(macSign(a, material(a.name, key), data), createHmac(a.hash as string, key).update(data).digest(), a.name);
  }
});

for (const a of SUPPORTED_ALGORITHMS.filter((x) => x.purpose === 'ASYMMETRIC_SIGN' && x.kind !== 'ml-dsa' && x.kind !== 'slh-dsa')) {
  void test(`${a.name}: a PKCS#8 key imports and signs so that the original public key verifies`, () => {
    const original = keyFor(a);
    const stored = material(a.name, original.export(PKCS8_DER));
    const imported = privateKeyObject(stored);
    assert.ok(createPublicKey(imported).equals(createPublicKey(original)));
    const data = Buffer.from(`signed with the imported ${a.name} key`);
    assert.ok(verifies(a, createPublicKey(original), data, signData(a, imported, data)));
  });
}

for (const a of SUPPORTED_ALGORITHMS.filter((x) => x.purpose === 'ASYMMETRIC_DECRYPT')) {
  void test(`${a.name}: a PKCS#8 key imports and decrypts what the original public key encrypted`, () => {
    const original = keyFor(a);
    const imported = privateKeyObject(material(a.name, original.export(PKCS8_DER)));
    const secret = randomBytes(32);
    const ct = publicEncrypt({ key: createPublicKey(original), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: a.hash }, secret);
    assert.deepEqual(asymmetricDecrypt(a, imported, ct), secret);
  });
}

void test('asymmetric material is the canonical PKCS#8 that node re-encodes', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey;
  // PKCS#8 carrying an EC key without its optional public key still imports; what is stored is node's encoding.
  const noPublic = ec.export({ type: 'sec1', format: 'der' });
  const pkcs8 = createPrivateKey({ key: noPublic, format: 'der', type: 'sec1' }).export(PKCS8_DER);
  assert.deepEqual(material('EC_SIGN_P384_SHA384', pkcs8), pkcs8);
  // Any public exponent: Cloud KMS documents no rule on it.
  const e3 = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 }).privateKey;
  assert.equal(privateKeyObject(material('RSA_SIGN_PKCS1_2048_SHA256', e3.export(PKCS8_DER))).asymmetricKeyDetails?.publicExponent, 3n);
});

void test('unknown algorithms: undefined; post-quantum seeds go through crypto/pq-keys.ts', () => {
  for (const name of ['NOT_AN_ALGORITHM', '']) assert.equal(importedMaterial(name, randomBytes(64)), undefined, name);
  const seed = randomBytes(64);
  assert.deepEqual(importedMaterial('ML_KEM_768', seed), seed);
  assertKmsError(() => importedMaterial('ML_KEM_768', randomBytes(63)));
  const kwp = randomBytes(32);
  assert.deepEqual(importedMaterial('AES_256_KWP', kwp), kwp);
});

void test('EXTERNAL_SYMMETRIC_ENCRYPTION key material cannot be imported', () => {
  assertKmsError(() => importedMaterial('EXTERNAL_SYMMETRIC_ENCRYPTION', randomBytes(32)));
});

/** An EC key whose PKCS#8 carries another key's public point. */
function mismatchedEc(): Buffer {
  const a = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const b = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const point = (k: KeyObject): Buffer => k.export({ type: 'spki', format: 'der' }).subarray(-65);
  const der = Buffer.from(a.privateKey.export(PKCS8_DER));
  point(b.publicKey).copy(der, der.indexOf(point(a.publicKey)));
  return der;
}

/** An RSA key whose public exponent was changed from 65537 to 65539 (e no longer inverts d). */
function mismatchedRsa(): Buffer {
  const der = Buffer.from(rsaKey(2048).export(PKCS8_DER));
  der[der.indexOf(Buffer.from('0203010001', 'hex')) + 4] = 0x03;
  return der;
}

void test('keys that do not fit the algorithm are INVALID_ARGUMENT', () => {
  const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  const good = p256.export(PKCS8_DER);
  const cases: readonly [string, string, Buffer][] = [
    ['RSA key of another size', 'RSA_SIGN_PSS_2048_SHA256', rsaKey(3072).export(PKCS8_DER)],
    ['2048 bits for a 4096-bit algorithm', 'RSA_DECRYPT_OAEP_4096_SHA512', rsaKey(2048).export(PKCS8_DER)],
    ['RSA key for EC', 'EC_SIGN_P256_SHA256', rsaKey(2048).export(PKCS8_DER)],
    ['EC key for RSA', 'RSA_SIGN_PKCS1_2048_SHA256', good],
    ['P-384 for P-256', 'EC_SIGN_P256_SHA256', generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey.export(PKCS8_DER)],
    ['secp256k1 for P-256', 'EC_SIGN_P256_SHA256', generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey.export(PKCS8_DER)],
    ['P-256 for secp256k1', 'EC_SIGN_SECP256K1_SHA256', good],
    ['P-256 for Ed25519', 'EC_SIGN_ED25519', good],
    ['Ed25519 for P-256', 'EC_SIGN_P256_SHA256', generateKeyPairSync('ed25519').privateKey.export(PKCS8_DER)],
    ['X25519 for Ed25519', 'EC_SIGN_ED25519', generateKeyPairSync('x25519').privateKey.export(PKCS8_DER)],
    ['RSASSA-PSS key', 'RSA_SIGN_PSS_2048_SHA256', generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).privateKey.export(PKCS8_DER)],
    ['a trailing byte', 'EC_SIGN_P256_SHA256', Buffer.concat([good, Buffer.alloc(1)])],
    ['a trailing block', 'EC_SIGN_P256_SHA256', Buffer.concat([good, randomBytes(16)])],
    ['truncated', 'EC_SIGN_P256_SHA256', good.subarray(0, good.length - 1)],
    ['empty', 'EC_SIGN_P256_SHA256', Buffer.alloc(0)],
    ['PKCS#1 instead of PKCS#8', 'RSA_SIGN_PKCS1_2048_SHA256', rsaKey(2048).export({ type: 'pkcs1', format: 'der' })],
    ['SEC1 instead of PKCS#8', 'EC_SIGN_P256_SHA256', p256.export({ type: 'sec1', format: 'der' })],
    ['PEM instead of DER', 'EC_SIGN_P256_SHA256', Buffer.from(p256.export({ type: 'pkcs8', format: 'pem' }))],
    ['a public key', 'EC_SIGN_P256_SHA256', createPublicKey(p256).export({ type: 'spki', format: 'der' })],
    ['an encrypted PKCS#8', 'EC_SIGN_P256_SHA256', p256.export({ type: 'pkcs8', format: 'der', cipher: 'aes-256-cbc', passphrase: 'secret' })],
    ['raw scalar', 'EC_SIGN_P256_SHA256', randomBytes(32)],
    ['EC public point of another key', 'EC_SIGN_P256_SHA256', mismatchedEc()],
    ['RSA exponent not matching d', 'RSA_SIGN_PSS_2048_SHA256', mismatchedRsa()],
  ];
  for (const [why, name, bytes] of cases) {
    assert.throws(() => importedMaterial(name, bytes), (err) => err instanceof KmsError && err.code === Code.INVALID_ARGUMENT, why);
  }
  // The unaltered keys the bad ones were made from are fine.
  assert.ok(importedMaterial('EC_SIGN_P256_SHA256', good));
  assert.ok(importedMaterial('RSA_SIGN_PSS_2048_SHA256', rsaKey(2048).export(PKCS8_DER)));
});
