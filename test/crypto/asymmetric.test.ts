// Every ASYMMETRIC_SIGN and ASYMMETRIC_DECRYPT algorithm, checked against
// node:crypto's own verify/encrypt with the public key. One RSA key per
// modulus size is shared by all algorithms of that size (4096-bit keygen is slow).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  constants,
  createHash,
  createPublicKey,
  generateKeyPairSync,
  publicEncrypt,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { HASH_BYTES, SUPPORTED_ALGORITHMS, type AlgorithmInfo, type HashName } from '../../src/crypto/algorithms';
import { asymmetricDecrypt, signData, signDigest } from '../../src/crypto/asymmetric';
import { generateKeyMaterial, privateKeyObject, publicKeyPem } from '../../src/crypto/material';
import { alg, assertKmsError, verifies } from './helpers';

interface Pair {
  priv: KeyObject;
  pub: KeyObject;
}

const rsaKeys = new Map<number, Promise<Pair>>();

async function pairFor(a: AlgorithmInfo): Promise<Pair> {
  const material = await generateKeyMaterial(a);
  const pem = publicKeyPem(material);
  assert.ok(pem.startsWith('-----BEGIN PUBLIC KEY-----\n') && pem.endsWith('-----END PUBLIC KEY-----\n'));
  return { priv: privateKeyObject(material), pub: createPublicKey(pem) };
}

/** RSA keys are shared per size; EC and Ed25519 keys are cheap and made per algorithm. */
function keyFor(a: AlgorithmInfo): Promise<Pair> {
  if (a.modulusBits === undefined) return pairFor(a);
  let p = rsaKeys.get(a.modulusBits);
  if (p === undefined) {
    p = pairFor(a);
    rsaKeys.set(a.modulusBits, p);
  }
  return p;
}

// The classical ones: post-quantum signing is crypto/pq.ts's (test/crypto/pq.test.ts).
const signAlgs = SUPPORTED_ALGORITHMS.filter((a) => a.purpose === 'ASYMMETRIC_SIGN' && a.kind !== 'ml-dsa' && a.kind !== 'slh-dsa');
const decryptAlgs = SUPPORTED_ALGORITHMS.filter((a) => a.purpose === 'ASYMMETRIC_DECRYPT');

for (const a of signAlgs) {
  void test(`${a.name}: signData verifies with node:crypto`, async () => {
    const { priv, pub } = await keyFor(a);
    if (a.modulusBits !== undefined) assert.equal(priv.asymmetricKeyDetails?.modulusLength, a.modulusBits);
    if (a.curve !== undefined) assert.equal(priv.asymmetricKeyDetails?.namedCurve, a.curve);
    for (const data of [Buffer.alloc(0), Buffer.from('hello'), randomBytes(100)]) {
      const sig = signData(a, priv, data);
      assert.ok(verifies(a, pub, data, sig), `${a.name} data length ${data.length}`);
      const other = Buffer.concat([data, Buffer.from('!')]);
      if (a.kind !== 'rsa-sign-raw-pkcs1') assert.equal(verifies(a, pub, other, sig), false);
    }
  });

  if (a.hash !== undefined) {
    void test(`${a.name}: signDigest verifies with node:crypto; wrong digest length rejected`, async () => {
      const { priv, pub } = await keyFor(a);
      const hash = a.hash as string;
      for (let i = 0; i < 5; i++) {
        const data = randomBytes(i * 10);
        const sig = signDigest(a, priv, createHash(hash).update(data).digest());
        assert.ok(verifies(a, pub, data, sig), `${a.name} round ${i}`);
      }
      const len = HASH_BYTES[a.hash as HashName];
      for (const bad of [0, len - 1, len + 1, 64 === len ? 32 : 64]) {
        assertKmsError(() => signDigest(a, priv, randomBytes(bad)));
      }
    });
  } else {
    void test(`${a.name}: signDigest is rejected (data only)`, async () => {
      const { priv } = await keyFor(a);
      assertKmsError(() => signDigest(a, priv, randomBytes(32)));
    });
  }
}

void test('RSA_SIGN_PKCS1 signDigest is byte-identical to node signing the data (deterministic scheme)', async () => {
  for (const name of ['RSA_SIGN_PKCS1_2048_SHA256', 'RSA_SIGN_PKCS1_4096_SHA512']) {
    const a = alg(name);
    const { priv } = await keyFor(a);
    const data = Buffer.from('deterministic');
    const digest = createHash(a.hash as string).update(data).digest();
    assert.deepEqual(signDigest(a, priv, digest), signData(a, priv, data));
  }
});

void test('RSA raw PKCS1 limits data to modulus bytes - 11', async () => {
  for (const name of ['RSA_SIGN_RAW_PKCS1_2048', 'RSA_SIGN_RAW_PKCS1_3072', 'RSA_SIGN_RAW_PKCS1_4096']) {
    const a = alg(name);
    const { priv, pub } = await keyFor(a);
    const max = (a.modulusBits as number) / 8 - 11;
    const data = randomBytes(max);
    assert.ok(verifies(a, pub, data, signData(a, priv, data)));
    assertKmsError(() => signData(a, priv, randomBytes(max + 1)));
  }
});

void test('RSA-PSS signDigest handles a modulus of 8k+1 bits (EM one byte shorter than k)', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1025 });
  const a = alg('RSA_SIGN_PSS_2048_SHA256');
  for (let i = 0; i < 20; i++) {
    const data = randomBytes(16);
    const sig = signDigest(a, privateKey, createHash('sha256').update(data).digest());
    assert.equal(sig.length, 129);
    assert.ok(verifies(a, publicKey, data, sig));
  }
});

for (const a of decryptAlgs) {
  void test(`${a.name}: decrypts node:crypto OAEP ciphertexts; bad ciphertexts rejected`, async () => {
    const { priv, pub } = await keyFor(a);
    const k = (a.modulusBits as number) / 8;
    const hLen = HASH_BYTES[a.hash as HashName];
    const maxPlain = k - 2 * hLen - 2; // RFC 8017 §7.1.1 step 1b
    for (const pt of [Buffer.alloc(0), Buffer.from('secret'), randomBytes(maxPlain)]) {
      const ct = publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: a.hash }, pt);
      assert.deepEqual(asymmetricDecrypt(a, priv, ct), pt);
      const tampered = Buffer.from(ct);
      tampered[k >> 1] ^= 0x40;
      assertKmsError(() => asymmetricDecrypt(a, priv, tampered));
    }
    // A ciphertext made with another OAEP hash must not decrypt.
    const otherHash = a.hash === 'sha1' ? 'sha256' : 'sha1';
    const wrong = publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: otherHash }, Buffer.from('x'));
    assertKmsError(() => asymmetricDecrypt(a, priv, wrong));
    assertKmsError(() => asymmetricDecrypt(a, priv, randomBytes(k - 1)));
    assertKmsError(() => asymmetricDecrypt(a, priv, randomBytes(k + 1)));
    assertKmsError(() => asymmetricDecrypt(a, priv, Buffer.alloc(0)));
    assertKmsError(() => asymmetricDecrypt(a, priv, Buffer.alloc(k, 0x00)));
    const garbage = randomBytes(k);
    garbage[0] = 0; // below the modulus, so only the OAEP check can reject it
    assertKmsError(() => asymmetricDecrypt(a, priv, garbage));
  });
}

void test('generateKeyMaterial: symmetric and HMAC lengths, EC and Ed25519 keys', async () => {
  for (const a of SUPPORTED_ALGORITHMS.filter((x) => x.keyBytes !== undefined)) {
    const m = await generateKeyMaterial(a);
    assert.equal(m.length, a.keyBytes, a.name);
  }
  const ed = await generateKeyMaterial(alg('EC_SIGN_ED25519'));
  assert.equal(privateKeyObject(ed).asymmetricKeyType, 'ed25519');
  const k1 = await generateKeyMaterial(alg('EC_SIGN_SECP256K1_SHA256'));
  assert.equal(privateKeyObject(k1).asymmetricKeyDetails?.namedCurve, 'secp256k1');
});
