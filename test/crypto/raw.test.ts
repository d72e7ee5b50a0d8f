import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, randomBytes, type CipherGCMTypes } from 'node:crypto';
import { SUPPORTED_ALGORITHMS } from '../../src/crypto/algorithms';
import { rawDecrypt, rawEncrypt } from '../../src/crypto/raw';
import { alg, assertKmsError } from './helpers';

const NONE = Buffer.alloc(0);
const GCM = ['AES_128_GCM', 'AES_256_GCM'].map(alg);
const CBC = ['AES_128_CBC', 'AES_256_CBC'].map(alg);
const CTR = ['AES_128_CTR', 'AES_256_CTR'].map(alg);

const nodeName = (name: string): string => {
  const [, bits, mode] = name.split('_');
  return `aes-${bits}-${mode.toLowerCase()}`;
};

void test('all six RAW_ENCRYPT_DECRYPT algorithms round trip', () => {
  const raws = SUPPORTED_ALGORITHMS.filter((a) => a.purpose === 'RAW_ENCRYPT_DECRYPT');
  assert.equal(raws.length, 6);
  for (const a of raws) {
    const key = randomBytes(a.keyBytes as number);
    const pt = randomBytes(64);
    const aad = a.kind === 'raw-aes-gcm' ? Buffer.from('aad') : NONE;
    const r = rawEncrypt(a, key, pt, aad, undefined);
    assert.deepEqual(rawDecrypt(a, key, r.ciphertext, aad, r.iv, r.tagLength), pt, a.name);
  }
});

void test('GCM: generated 12-byte IV, tag appended, cross-checked with node in both directions', () => {
  for (const a of GCM) {
    const key = randomBytes(a.keyBytes as number);
    const name = nodeName(a.name) as CipherGCMTypes;
    for (const pt of [NONE, Buffer.from('x'), randomBytes(1000)]) {
      const aad = randomBytes(pt.length % 13);
      const r = rawEncrypt(a, key, pt, aad, undefined);
      assert.equal(r.iv.length, 12);
      assert.equal(r.tagLength, 16);
      assert.equal(r.ciphertext.length, pt.length + 16);
      const d = createDecipheriv(name, key, r.iv);
      d.setAAD(aad);
      d.setAuthTag(r.ciphertext.subarray(pt.length));
      assert.deepEqual(Buffer.concat([d.update(r.ciphertext.subarray(0, pt.length)), d.final()]), pt);
      // And node's own ciphertext decrypts with ours, with tag_length 0 meaning the default 16.
      const iv = randomBytes(12);
      const c = createCipheriv(name, key, iv);
      c.setAAD(aad);
      const ct = Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]);
      assert.deepEqual(rawDecrypt(a, key, ct, aad, iv, 16), pt);
      assert.deepEqual(rawDecrypt(a, key, ct, aad, iv, 0), pt);
    }
  }
});

void test('GCM: request rules and authentication failures', () => {
  const a = alg('AES_256_GCM');
  const key = randomBytes(32);
  assertKmsError(() => rawEncrypt(a, key, Buffer.from('p'), NONE, randomBytes(12)));
  const r = rawEncrypt(a, key, Buffer.from('plaintext'), Buffer.from('aad'), undefined);
  assertKmsError(() => rawDecrypt(a, key, r.ciphertext, Buffer.from('aad'), randomBytes(16), 16));
  assertKmsError(() => rawDecrypt(a, key, r.ciphertext, Buffer.from('aad'), r.iv.subarray(0, 8), 16));
  assertKmsError(() => rawDecrypt(a, key, r.ciphertext, Buffer.from('aad'), r.iv, 12));
  assertKmsError(() => rawDecrypt(a, key, r.ciphertext.subarray(0, 15), Buffer.from('aad'), r.iv, 16));
  assertKmsError(() => rawDecrypt(a, key, r.ciphertext, Buffer.from('aab'), r.iv, 16));
  assertKmsError(() => rawDecrypt(a, key, r.ciphertext, NONE, r.iv, 16));
  assertKmsError(() => rawDecrypt(a, randomBytes(32), r.ciphertext, Buffer.from('aad'), r.iv, 16));
  for (let i = 0; i < r.ciphertext.length; i++) {
    const bad = Buffer.from(r.ciphertext);
    bad[i] ^= 0x80;
    assertKmsError(() => rawDecrypt(a, key, bad, Buffer.from('aad'), r.iv, 16));
  }
  // Exactly a tag and nothing else is a valid (empty) GCM ciphertext.
  const empty = rawEncrypt(a, key, NONE, NONE, undefined);
  assert.deepEqual(rawDecrypt(a, key, empty.ciphertext, NONE, empty.iv, 16), NONE);
  // An empty IV buffer counts as unset (proto3 bytes).
  assert.equal(rawEncrypt(a, key, NONE, NONE, NONE).iv.length, 12);
});

for (const [mode, algs] of [['CBC', CBC], ['CTR', CTR]] as const) {
  void test(`${mode}: caller or generated IV, cross-checked with node in both directions`, () => {
    for (const a of algs) {
      const key = randomBytes(a.keyBytes as number);
      const name = nodeName(a.name);
      for (const size of [0, 16, 48]) {
        const pt = randomBytes(size);
        const generated = rawEncrypt(a, key, pt, NONE, undefined);
        assert.equal(generated.iv.length, 16);
        assert.equal(generated.tagLength, 0);
        const iv = randomBytes(16);
        const r = rawEncrypt(a, key, pt, NONE, iv);
        assert.deepEqual(r.iv, iv);
        const c = createCipheriv(name, key, iv).setAutoPadding(false);
        assert.deepEqual(r.ciphertext, Buffer.concat([c.update(pt), c.final()]));
        const d = createDecipheriv(name, key, generated.iv).setAutoPadding(false);
        assert.deepEqual(Buffer.concat([d.update(generated.ciphertext), d.final()]), pt);
        assert.deepEqual(rawDecrypt(a, key, r.ciphertext, NONE, iv, 0), pt);
      }
    }
  });

  void test(`${mode}: AAD, IV length and tag_length rules`, () => {
    const a = algs[1];
    const key = randomBytes(32);
    const pt = randomBytes(32);
    assertKmsError(() => rawEncrypt(a, key, pt, Buffer.from('aad'), undefined));
    assertKmsError(() => rawEncrypt(a, key, pt, NONE, randomBytes(12)));
    assertKmsError(() => rawEncrypt(a, key, pt, NONE, randomBytes(17)));
    const r = rawEncrypt(a, key, pt, NONE, undefined);
    assertKmsError(() => rawDecrypt(a, key, r.ciphertext, Buffer.from('aad'), r.iv, 0));
    assertKmsError(() => rawDecrypt(a, key, r.ciphertext, NONE, r.iv.subarray(0, 12), 0));
    assertKmsError(() => rawDecrypt(a, key, r.ciphertext, NONE, NONE, 0));
    assertKmsError(() => rawDecrypt(a, key, r.ciphertext, NONE, r.iv, 16));
  });
}

void test('CBC: lengths must be whole blocks (no padding)', () => {
  const a = alg('AES_128_CBC');
  const key = randomBytes(16);
  for (const size of [1, 15, 17, 33]) {
    assertKmsError(() => rawEncrypt(a, key, randomBytes(size), NONE, undefined));
    assertKmsError(() => rawDecrypt(a, key, randomBytes(size), NONE, randomBytes(16), 0));
  }
});

void test('CTR: any plaintext length works', () => {
  const a = alg('AES_128_CTR');
  const key = randomBytes(16);
  for (const size of [1, 5, 17, 100]) {
    const pt = randomBytes(size);
    const r = rawEncrypt(a, key, pt, NONE, undefined);
    assert.equal(r.ciphertext.length, size);
    assert.deepEqual(rawDecrypt(a, key, r.ciphertext, NONE, r.iv, 0), pt);
  }
});

void test('a key of the wrong length or a non-raw algorithm is a programming error', () => {
  assert.throws(() => rawEncrypt(alg('AES_256_GCM'), randomBytes(16), NONE, NONE, undefined));
  assert.throws(() => rawEncrypt(alg('GOOGLE_SYMMETRIC_ENCRYPTION'), randomBytes(32), NONE, NONE, undefined));
});
