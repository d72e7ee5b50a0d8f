// Key import's cryptography: the import job's wrapping key, and unwrapping
// what a client wrapped with it (test/helpers/import-wrap-client.ts, and the
// OpenSSL command line for the RSA methods). One wrapping key per RSA size
// serves the whole file (4096-bit generation is slow); the RSA methods of a
// size differ only in hash and layout, not in key.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ml_kem1024, ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js';
import { importedMaterial } from '../../src/crypto/import-material';
import { IMPORT_METHODS, importMethodInfo, isImportMethod, type ImportMethod } from '../../src/crypto/import-methods';
import { unwrapImportedKey, type WrappedKeyFields } from '../../src/crypto/import-wrap';
import { generateWrappingKey, wrappingPublicKey, type PublicKeyFormat, type WrappingKey } from '../../src/crypto/wrapping-key';
import { kwpWrap, wrapForImport, type JobPublicKey, type WrapOptions } from '../helpers/import-wrap-client';
import { assertKmsError, rejectsKmsError } from './helpers';

const RSA_AES = IMPORT_METHODS.filter((m) => importMethodInfo(m).kind === 'rsa-aes');
const RSA_OAEP = IMPORT_METHODS.filter((m) => importMethodInfo(m).kind === 'rsa-oaep');
const HPKE = IMPORT_METHODS.filter((m) => importMethodInfo(m).kind === 'hpke');

const keys = new Map<string, Promise<WrappingKey>>();

/**
 * The job key for method: shared by size for RSA, one per method for HPKE.
 * The second job's key is another job of the same method, for wraps that
 * must not open with the first.
 */
function jobKey(method: ImportMethod, job: 'first' | 'second' = 'first'): Promise<WrappingKey> {
  const info = importMethodInfo(method);
  const id = `${job} ${info.kind === 'hpke' ? method : `rsa-${info.modulusBits}`}`;
  let key = keys.get(id);
  if (key === undefined) {
    key = generateWrappingKey(method);
    keys.set(id, key);
  }
  return key;
}

const publicOf = (method: ImportMethod, key: WrappingKey): JobPublicKey => {
  const pub = wrappingPublicKey(method, key);
  return { pem: pub.pem, data: pub.data };
};

async function wrap(method: ImportMethod, target: Buffer, options?: WrapOptions): Promise<Buffer> {
  return wrapForImport(method, publicOf(method, await jobKey(method)), target, options);
}

async function unwrap(method: ImportMethod, fields: WrappedKeyFields): Promise<Buffer> {
  return unwrapImportedKey(method, (await jobKey(method)).material, fields);
}

const modulusBytes = (method: ImportMethod): number => {
  const info = importMethodInfo(method);
  if (info.kind === 'hpke') throw new Error(`${method} is not an RSA method`);
  return info.modulusBits / 8;
};

const PKCS8_DER = { type: 'pkcs8', format: 'der' } as const;
const EC_P256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export(PKCS8_DER);
const ED25519 = generateKeyPairSync('ed25519').privateKey.export(PKCS8_DER);
const RSA_2048 = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export(PKCS8_DER);

/** Targets of every shape a user imports; the RSA key is too long for the direct RSA-OAEP methods. */
const TARGETS: readonly { name: string; bytes: Buffer; fitsRsaOaep: boolean }[] = [
  { name: 'AES-128 key', bytes: randomBytes(16), fitsRsaOaep: true },
  { name: 'AES-256 key', bytes: randomBytes(32), fitsRsaOaep: true },
  { name: 'HMAC-SHA512 key', bytes: randomBytes(64), fitsRsaOaep: true },
  { name: 'EC P-256 PKCS#8', bytes: EC_P256, fitsRsaOaep: true },
  { name: 'Ed25519 PKCS#8', bytes: ED25519, fitsRsaOaep: true },
  { name: 'RSA-2048 PKCS#8', bytes: RSA_2048, fitsRsaOaep: false },
  { name: '8 KiB', bytes: randomBytes(8192), fitsRsaOaep: false },
];

void test('isImportMethod: the nine methods, not UNSPECIFIED or other names', () => {
  assert.equal(IMPORT_METHODS.length, 9);
  for (const m of IMPORT_METHODS) assert.ok(isImportMethod(m), m);
  for (const m of ['IMPORT_METHOD_UNSPECIFIED', '', 'RSA_OAEP_2048_SHA256', 'hpke_kem_xwing_hkdf_sha256_aes_256_gcm']) assert.equal(isImportMethod(m), false, m);
});

void test('generateWrappingKey, RSA methods: PKCS#8 RSA key of the method size, e = 65537, SPKI public key', async () => {
  for (const method of [...RSA_AES, ...RSA_OAEP]) {
    const key = await jobKey(method);
    const priv = createPrivateKey({ key: key.material, format: 'der', type: 'pkcs8' });
    assert.equal(priv.asymmetricKeyType, 'rsa');
    assert.equal(priv.asymmetricKeyDetails?.modulusLength, modulusBytes(method) * 8, method);
    assert.equal(priv.asymmetricKeyDetails?.publicExponent, 65537n);
    assert.match(key.publicKeyPem, /^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n$/);
    const fromPem = createPublicKey(key.publicKeyPem);
    assert.deepEqual(fromPem.export({ type: 'spki', format: 'der' }), key.publicKey);
    assert.ok(fromPem.equals(createPublicKey(priv)));
  }
});

void test('generateWrappingKey, HPKE methods: the KEM seed as material, the raw public key, no PEM; checked with @noble/post-quantum', async () => {
  const noble = { 'ML-KEM-768': ml_kem768, 'ML-KEM-1024': ml_kem1024, 'X-Wing': ml_kem768_x25519 } as const;
  const sizes = { 'ML-KEM-768': [64, 1184], 'ML-KEM-1024': [64, 1568], 'X-Wing': [32, 1216] } as const;
  for (const method of HPKE) {
    const info = importMethodInfo(method);
    assert.equal(info.kind, 'hpke');
    const key = await generateWrappingKey(method);
    assert.deepEqual([key.material.length, key.publicKey.length], sizes[info.kem], method);
    assert.equal(key.publicKeyPem, '');
    // FIPS 203 KeyGen_internal(d, z) / X-Wing's key generation from the seed gives the same public key.
    assert.deepEqual(Buffer.from(noble[info.kem].keygen(key.material).publicKey), key.publicKey, method);
    const other = await generateWrappingKey(method);
    assert.notDeepEqual(other.material, key.material);
  }
});

void test('wrappingPublicKey: each method default and the formats it has; others INVALID_ARGUMENT', async () => {
  const cases: readonly [ImportMethod, PublicKeyFormat, string | undefined][] = [
    ['RSA_OAEP_3072_SHA256_AES_256', 'PUBLIC_KEY_FORMAT_UNSPECIFIED', 'PEM'],
    ['RSA_OAEP_3072_SHA256_AES_256', 'PEM', 'PEM'],
    ['RSA_OAEP_4096_SHA256', 'DER', 'DER'],
    ['RSA_OAEP_3072_SHA1_AES_256', 'NIST_PQC', undefined],
    ['RSA_OAEP_3072_SHA1_AES_256', 'XWING_RAW_BYTES', undefined],
    ['HPKE_KEM_ML_KEM_768_HKDF_SHA256_AES_256_GCM', 'PUBLIC_KEY_FORMAT_UNSPECIFIED', 'NIST_PQC'],
    ['HPKE_KEM_ML_KEM_1024_HKDF_SHA256_AES_256_GCM', 'NIST_PQC', 'NIST_PQC'],
    ['HPKE_KEM_ML_KEM_768_HKDF_SHA256_AES_256_GCM', 'PEM', undefined],
    ['HPKE_KEM_ML_KEM_768_HKDF_SHA256_AES_256_GCM', 'DER', undefined],
    ['HPKE_KEM_ML_KEM_768_HKDF_SHA256_AES_256_GCM', 'XWING_RAW_BYTES', undefined],
    ['HPKE_KEM_XWING_HKDF_SHA256_AES_256_GCM', 'PUBLIC_KEY_FORMAT_UNSPECIFIED', 'XWING_RAW_BYTES'],
    ['HPKE_KEM_XWING_HKDF_SHA256_AES_256_GCM', 'XWING_RAW_BYTES', 'XWING_RAW_BYTES'],
    ['HPKE_KEM_XWING_HKDF_SHA256_AES_256_GCM', 'NIST_PQC', undefined],
    ['HPKE_KEM_XWING_HKDF_SHA256_AES_256_GCM', 'PEM', undefined],
  ];
  for (const [method, requested, expected] of cases) {
    const key = await jobKey(method);
    if (expected === undefined) {
      assertKmsError(() => wrappingPublicKey(method, key, requested));
      continue;
    }
    const pub = wrappingPublicKey(method, key, requested);
    assert.equal(pub.format, expected, `${method} ${requested}`);
    if (expected === 'PEM') assert.deepEqual(pub, { format: 'PEM', pem: key.publicKeyPem });
    else assert.deepEqual(pub, { format: expected, data: key.publicKey });
  }
});

for (const method of IMPORT_METHODS) {
  void test(`${method}: every target round trips through the client's wrap and unwrapImportedKey`, async () => {
    const targets = importMethodInfo(method).kind === 'rsa-oaep' ? TARGETS.filter((t) => t.fitsRsaOaep) : TARGETS;
    for (const target of targets) {
      const wrapped = await wrap(method, target.bytes);
      assert.deepEqual(await unwrap(method, { wrappedKey: wrapped }), target.bytes, target.name);
      // The legacy field carries the same bytes with the same meaning.
      assert.deepEqual(await unwrap(method, { rsaAesWrappedKey: wrapped, wrappedKey: Buffer.alloc(0) }), target.bytes, target.name);
    }
  });
}

void test('RSA_OAEP_*_SHA256: the largest target is k - 66 bytes (318 and 446); the client cannot wrap an RSA key', async () => {
  for (const method of RSA_OAEP) {
    const max = modulusBytes(method) - 2 * 32 - 2;
    const target = randomBytes(max);
    assert.deepEqual(await unwrap(method, { wrappedKey: await wrap(method, target) }), target);
    await assert.rejects(wrap(method, randomBytes(max + 1)));
    await assert.rejects(wrap(method, RSA_2048));
  }
});

void test('an EC key imported with each method signs like the original (unwrap, then importedMaterial)', async () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const target = privateKey.export({ type: 'pkcs8', format: 'der' });
  for (const method of IMPORT_METHODS) {
    const material = importedMaterial('EC_SIGN_P256_SHA256', await unwrap(method, { wrappedKey: await wrap(method, target) }));
    assert.ok(material);
    const data = Buffer.from(`signed after import with ${method}`);
    const sig = sign('sha256', data, createPrivateKey({ key: material, format: 'der', type: 'pkcs8' }));
    assert.ok(verify('sha256', data, publicKey, sig), method);
  }
});

void test('wrapped_key and rsa_aes_wrapped_key: exactly one must be set', async () => {
  const method: ImportMethod = 'RSA_OAEP_3072_SHA256_AES_256';
  const wrapped = await wrap(method, randomBytes(32));
  const cases: readonly WrappedKeyFields[] = [
    {},
    { wrappedKey: null, rsaAesWrappedKey: null },
    { wrappedKey: Buffer.alloc(0), rsaAesWrappedKey: Buffer.alloc(0) },
    { wrappedKey: wrapped, rsaAesWrappedKey: wrapped },
  ];
  for (const fields of cases) await rejectsKmsError(unwrap(method, fields));
  // A plain Uint8Array (not a Buffer) is read too.
  const copy = new Uint8Array(wrapped.length + 3).subarray(3);
  copy.set(wrapped);
  assert.equal((await unwrap(method, { wrappedKey: copy })).length, 32);
});

const tampered = (b: Buffer, at: number): Buffer => {
  const out = Buffer.from(b);
  out[at < 0 ? out.length + at : at] ^= 0x01;
  return out;
};

for (const method of RSA_AES) {
  void test(`${method}: malformed and tampered wrapped keys are INVALID_ARGUMENT`, async () => {
    const k = modulusBytes(method);
    const hash = method.includes('SHA1') ? 'sha1' : 'sha256';
    const good = await wrap(method, randomBytes(32));
    // A second 4096-bit key would cost seconds; another job's key is tried at 3072 bits.
    const other = k === 384 ? await wrapForImport(method, publicOf(method, await jobKey(method, 'second')), randomBytes(32)) : undefined;
    const bad: readonly [string, Buffer | undefined][] = [
      ['only the RSA block', good.subarray(0, k)],
      ['shorter than the RSA block', good.subarray(0, k - 1)],
      ['KWP part of 8 bytes', good.subarray(0, k + 8)],
      ['KWP part not whole blocks', Buffer.concat([good, Buffer.alloc(3)])],
      ['truncated by one block', good.subarray(0, good.length - 8)],
      ['extra block', Buffer.concat([good, Buffer.alloc(8)])],
      ['RSA block tampered', tampered(good, k >> 1)],
      ['RSA block first byte tampered', tampered(good, 0)],
      ['KWP part tampered', tampered(good, -1)],
      ['KWP integrity block tampered', tampered(good, k)],
      ['OAEP with the other hash', await wrap(method, randomBytes(32), { oaepHash: hash === 'sha1' ? 'sha256' : 'sha1' })],
      ['AES-128 ephemeral key', await wrap(method, randomBytes(32), { ephemeralKey: randomBytes(16) })],
      ['wrapped for another job', other],
      ['random bytes', randomBytes(k + 40)],
    ];
    for (const [why, wrappedKey] of bad) if (wrappedKey !== undefined) await rejectsKmsError(unwrap(method, { wrappedKey }), undefined, why);
  });
}

for (const method of RSA_OAEP) {
  void test(`${method}: malformed and tampered wrapped keys are INVALID_ARGUMENT`, async () => {
    const k = modulusBytes(method);
    const good = await wrap(method, randomBytes(32));
    const bad: readonly [string, Buffer][] = [
      ['one byte short', good.subarray(0, k - 1)],
      ['one byte long', Buffer.concat([good, Buffer.alloc(1)])],
      ['tampered', tampered(good, 7)],
      ['last byte tampered', tampered(good, -1)],
      ['OAEP with SHA-1', await wrap(method, randomBytes(32), { oaepHash: 'sha1' })],
      ['zeros', Buffer.alloc(k)],
      ['above the modulus', Buffer.alloc(k, 0xff)],
    ];
    for (const [why, wrappedKey] of bad) await rejectsKmsError(unwrap(method, { wrappedKey }), undefined, why);
  });
}

/** The encapsulated key's length: the KEM ciphertext (FIPS 203 Table 3; X-Wing 1088 + 32). */
const ENC_BYTES = { 'ML-KEM-768': 1088, 'ML-KEM-1024': 1568, 'X-Wing': 1120 } as const;

for (const method of HPKE) {
  void test(`${method}: malformed and tampered wrapped keys are INVALID_ARGUMENT`, async () => {
    const key = await jobKey(method);
    const info = importMethodInfo(method);
    if (info.kind !== 'hpke') throw new Error(`${method} is not an HPKE method`);
    const encBytes = ENC_BYTES[info.kem];
    const good = await wrap(method, randomBytes(32));
    assert.equal(good.length, encBytes + 32 + 16);
    const other = await jobKey(method, 'second');
    const bad: readonly [string, Buffer][] = [
      ['the encapsulated key alone', good.subarray(0, encBytes)],
      ['shorter than a tag after it', good.subarray(0, encBytes + 15)],
      ['truncated', good.subarray(0, good.length - 1)],
      ['encapsulated key tampered', tampered(good, 5)],
      ['last byte of the encapsulated key tampered', tampered(good, encBytes - 1)],
      ['ciphertext tampered', tampered(good, encBytes)],
      ['tag tampered', tampered(good, -1)],
      ['a byte appended', Buffer.concat([good, Buffer.alloc(1)])],
      ['sealed with a non-empty info', await wrap(method, randomBytes(32), { info: Buffer.from('Cloud KMS') })],
      ['sealed with a non-empty aad', await wrap(method, randomBytes(32), { aad: Buffer.from('Cloud KMS') })],
      ['wrapped for another job', await wrapForImport(method, publicOf(method, other), randomBytes(32))],
      ['random bytes', randomBytes(good.length)],
    ];
    for (const [why, wrappedKey] of bad) await rejectsKmsError(unwrapImportedKey(method, key.material, { wrappedKey }), undefined, why);
  });
}

void test('failure messages carry no key bytes', async () => {
  const method: ImportMethod = 'RSA_OAEP_3072_SHA256_AES_256';
  const ephemeral = randomBytes(32);
  const target = randomBytes(32);
  const wrapped = await wrap(method, target, { ephemeralKey: ephemeral });
  const messages = await Promise.all([
    rejectsKmsError(unwrap(method, { wrappedKey: tampered(wrapped, -1) })),
    rejectsKmsError(unwrap(method, { wrappedKey: tampered(wrapped, 3) })),
    rejectsKmsError(unwrap('HPKE_KEM_XWING_HKDF_SHA256_AES_256_GCM', { wrappedKey: randomBytes(2000) })),
  ]).then((errs) => errs.map((e) => e.message));
  for (const message of messages) {
    for (const secret of [ephemeral, target, wrapped.subarray(0, 16)]) {
      assert.ok(!message.includes(secret.toString('hex')) && !message.includes(secret.toString('base64')), message);
    }
    assert.doesNotMatch(message, /[0-9a-f]{16}|error:|OSSL|ERR_/i);
  }
});

void test('an unwrap with a key of the wrong kind is our bug, not INVALID_ARGUMENT', async () => {
  const rsa3072 = await jobKey('RSA_OAEP_3072_SHA256');
  const wrapped = await wrap('RSA_OAEP_4096_SHA256', randomBytes(32));
  await assert.rejects(unwrapImportedKey('RSA_OAEP_4096_SHA256', rsa3072.material, { wrappedKey: wrapped }), (err: Error) => err.name !== 'KmsError');
  const seed = (await jobKey('HPKE_KEM_XWING_HKDF_SHA256_AES_256_GCM')).material;
  const hpke = await wrap('HPKE_KEM_ML_KEM_768_HKDF_SHA256_AES_256_GCM', randomBytes(32));
  await assert.rejects(unwrapImportedKey('HPKE_KEM_ML_KEM_768_HKDF_SHA256_AES_256_GCM', seed, { wrappedKey: hpke }), (err: Error) => err.name !== 'KmsError');
});

// ---- The RSA layouts against the OpenSSL command line, in both directions ----

const opensslVersion = ((): string | undefined => {
  try {
    return execFileSync('openssl', ['version'], { encoding: 'utf8' });
  } catch {
    return undefined;
  }
})();
const noOpenssl = opensslVersion === undefined ? 'openssl is not installed' : false;

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'openekm-import-wrap-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));

/** Runs openssl with files in the work directory; returns the named output file. */
function openssl(args: string[], inputs: Record<string, Buffer | string>, output: string): Buffer {
  for (const [name, content] of Object.entries(inputs)) fs.writeFileSync(path.join(work, name), content);
  execFileSync('openssl', args, { cwd: work, stdio: 'pipe' });
  return fs.readFileSync(path.join(work, output));
}

const oaepOptions = (hash: string): string[] => ['-pkeyopt', 'rsa_padding_mode:oaep', '-pkeyopt', `rsa_oaep_md:${hash}`, '-pkeyopt', `rsa_mgf1_md:${hash}`];

/** `openssl enc` needs the KWP AIV half spelt out: -iv A65959A6 (RFC 5649 §3). */
const kwpArgs = (key: Buffer, decrypt: boolean): string[] => ['enc', ...(decrypt ? ['-d'] : []), '-id-aes256-wrap-pad', '-K', key.toString('hex'), '-iv', 'A65959A6'];

for (const method of RSA_AES) {
  void test(`${method}: a key wrapped with openssl pkeyutl + enc -id-aes256-wrap-pad unwraps`, { skip: noOpenssl }, async () => {
    const hash = method.includes('SHA1') ? 'sha1' : 'sha256';
    const key = await jobKey(method);
    const ephemeral = randomBytes(32);
    for (const target of [RSA_2048, randomBytes(32), randomBytes(17)]) {
      const rsaPart = openssl(['pkeyutl', '-encrypt', '-pubin', '-inkey', 'pub.pem', ...oaepOptions(hash), '-in', 'eph.bin', '-out', 'eph.wrapped'], { 'pub.pem': key.publicKeyPem, 'eph.bin': ephemeral }, 'eph.wrapped');
      const kwpPart = openssl([...kwpArgs(ephemeral, false), '-in', 'target.bin', '-out', 'target.wrapped'], { 'target.bin': target }, 'target.wrapped');
      assert.deepEqual(kwpPart, kwpWrap(ephemeral, target), 'node and openssl KWP agree (KWP is deterministic)');
      assert.deepEqual(await unwrapImportedKey(method, key.material, { wrappedKey: Buffer.concat([rsaPart, kwpPart]) }), target);
    }
  });

  void test(`${method}: openssl takes apart what the test client wrapped`, { skip: noOpenssl }, async () => {
    const hash = method.includes('SHA1') ? 'sha1' : 'sha256';
    const key = await jobKey(method);
    const k = modulusBytes(method);
    const target = randomBytes(48);
    const wrapped = await wrap(method, target);
    const priv = createPrivateKey({ key: key.material, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' });
    const ephemeral = openssl(['pkeyutl', '-decrypt', '-inkey', 'priv.pem', ...oaepOptions(hash), '-in', 'rsa.bin', '-out', 'eph.bin'], { 'priv.pem': priv, 'rsa.bin': wrapped.subarray(0, k) }, 'eph.bin');
    assert.equal(ephemeral.length, 32);
    assert.deepEqual(openssl([...kwpArgs(ephemeral, true), '-in', 'kwp.bin', '-out', 'target.bin'], { 'kwp.bin': wrapped.subarray(k) }, 'target.bin'), target);
  });
}

for (const method of RSA_OAEP) {
  void test(`${method}: a key wrapped with openssl pkeyutl (OAEP SHA-256) unwraps`, { skip: noOpenssl }, async () => {
    const key = await jobKey(method);
    const target = EC_P256;
    const wrapped = openssl(['pkeyutl', '-encrypt', '-pubin', '-inkey', 'pub.pem', ...oaepOptions('sha256'), '-in', 't.bin', '-out', 't.wrapped'], { 'pub.pem': key.publicKeyPem, 't.bin': target }, 't.wrapped');
    assert.deepEqual(await unwrapImportedKey(method, key.material, { wrappedKey: wrapped }), target);
  });
}
