// ECDSA over a caller-supplied digest, checked by node:crypto.verify (which
// hashes the data itself). Hundreds of signatures per curve exercise the rare
// paths: DER integers needing a 0x00 pad, short r or s, leading zero digests.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createECDH, createHash, generateKeyPairSync, randomBytes, verify } from 'node:crypto';
import type { CurveName, HashName } from '../../src/crypto/algorithms';
import { curveOrder, ecdsaSignDigest } from '../../src/crypto/ecdsa';

const CASES: ReadonlyArray<[CurveName, HashName]> = [
  ['prime256v1', 'sha256'],
  ['secp384r1', 'sha384'],
  ['secp256k1', 'sha256'],
];

const ROUNDS = 300;

/** Parses a DER Ecdsa-Sig-Value strictly enough to check minimal INTEGER encoding. */
function derIntegers(sig: Buffer): Buffer[] {
  assert.equal(sig[0], 0x30);
  assert.equal(sig[1], sig.length - 2); // short-form length at these sizes
  const out: Buffer[] = [];
  let o = 2;
  while (o < sig.length) {
    assert.equal(sig[o], 0x02);
    const len = sig[o + 1];
    const body = sig.subarray(o + 2, o + 2 + len);
    assert.ok(len > 0);
    assert.equal(body[0] & 0x80, 0, 'INTEGER must be non-negative');
    if (len > 1) assert.ok(body[0] !== 0 || (body[1] & 0x80) !== 0, 'INTEGER must be minimal');
    out.push(body);
    o += 2 + len;
  }
  assert.equal(out.length, 2);
  return out;
}

for (const [curve, hash] of CASES) {
  void test(`${curve}: ${ROUNDS} digest signatures all verify`, () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
    const n = curveOrder(curve);
    for (let i = 0; i < ROUNDS; i++) {
      const data = randomBytes(i % 40);
      const digest = createHash(hash).update(data).digest();
      const sig = ecdsaSignDigest(curve, privateKey, digest);
      for (const v of derIntegers(sig)) {
        const x = BigInt('0x' + v.toString('hex'));
        assert.ok(x > 0n && x < n);
      }
      assert.ok(verify(hash, data, { key: publicKey, dsaEncoding: 'der' }, sig), `${curve} round ${i}`);
    }
  });

  void test(`${curve}: signatures are randomised and bound to the digest`, () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
    const data = Buffer.from('m');
    const digest = createHash(hash).update(data).digest();
    const a = ecdsaSignDigest(curve, privateKey, digest);
    const b = ecdsaSignDigest(curve, privateKey, digest);
    assert.notDeepEqual(a, b);
    assert.equal(verify(hash, Buffer.from('n'), { key: publicKey, dsaEncoding: 'der' }, a), false);
  });

  void test(`${curve}: curve order constant matches the native curve`, () => {
    // (n-1)·G = -G shares G's x coordinate, and n itself is not a valid scalar.
    const n = curveOrder(curve);
    const bytes = curve === 'secp384r1' ? 48 : 32;
    const scalar = (x: bigint): Buffer => Buffer.from(x.toString(16).padStart(bytes * 2, '0'), 'hex');
    const ecdh = createECDH(curve);
    ecdh.setPrivateKey(scalar(1n));
    const g = ecdh.getPublicKey(null, 'uncompressed');
    ecdh.setPrivateKey(scalar(n - 1n));
    const minusG = ecdh.getPublicKey(null, 'uncompressed');
    assert.deepEqual(minusG.subarray(1, 1 + bytes), g.subarray(1, 1 + bytes));
    assert.notDeepEqual(minusG.subarray(1 + bytes), g.subarray(1 + bytes));
    assert.throws(() => ecdh.setPrivateKey(scalar(n)));
  });
}

void test('a digest longer than the order is truncated to its leftmost bits (SEC 1 §4.1.3)', () => {
  // OpenSSL applies the same truncation when verifying a P-256 signature over SHA-512.
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  for (let i = 0; i < 20; i++) {
    const data = randomBytes(8);
    const sig = ecdsaSignDigest('prime256v1', privateKey, createHash('sha512').update(data).digest());
    assert.ok(verify('sha512', data, { key: publicKey, dsaEncoding: 'der' }, sig));
  }
});

void test('a non-EC key is refused', () => {
  const { privateKey } = generateKeyPairSync('ed25519');
  assert.throws(() => ecdsaSignDigest('prime256v1', privateKey, randomBytes(32)));
});
