import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDecipheriv, randomBytes } from 'node:crypto';
import {
  SYMMETRIC_OVERHEAD,
  ciphertextVersion,
  symmetricDecrypt,
  symmetricEncrypt,
} from '../../src/crypto/symmetric';
import { KmsError } from '../../src/errors';
import { assertKmsError } from './helpers';

const NAME = 'projects/p/locations/global/keyRings/r/cryptoKeys/k';
const OTHER = 'projects/p/locations/global/keyRings/r/cryptoKeys/k2';
const key = randomBytes(32);

void test('round trip, lengths and overhead', () => {
  assert.equal(SYMMETRIC_OVERHEAD, 33);
  for (const size of [0, 1, 15, 16, 17, 1000, 65536]) {
    const pt = randomBytes(size);
    const aad = randomBytes(size % 7);
    const ct = symmetricEncrypt(key, NAME, 3, pt, aad);
    assert.equal(ct.length, size + SYMMETRIC_OVERHEAD);
    assert.deepEqual(symmetricDecrypt(key, NAME, ct, aad), pt);
  }
});

void test('encryption is randomised', () => {
  const pt = Buffer.from('same');
  const a = symmetricEncrypt(key, NAME, 1, pt, Buffer.alloc(0));
  const b = symmetricEncrypt(key, NAME, 1, pt, Buffer.alloc(0));
  assert.notDeepEqual(a, b);
});

void test('ciphertextVersion reads the version', () => {
  for (const v of [1, 2, 255, 256, 70000, 0xffffffff]) {
    assert.equal(ciphertextVersion(symmetricEncrypt(key, NAME, v, Buffer.from('x'), Buffer.alloc(0))), v);
  }
});

void test('symmetricEncrypt rejects an out-of-range version as a programming error', () => {
  for (const v of [0, -1, 1.5, 2 ** 32]) {
    assert.throws(() => symmetricEncrypt(key, NAME, v, Buffer.from('x'), Buffer.alloc(0)), RangeError);
  }
});

void test('ciphertextVersion rejects short, wrong-format and version-0 input', () => {
  const ct = symmetricEncrypt(key, NAME, 1, Buffer.alloc(0), Buffer.alloc(0));
  assertKmsError(() => ciphertextVersion(ct.subarray(0, SYMMETRIC_OVERHEAD - 1)));
  assertKmsError(() => ciphertextVersion(Buffer.alloc(0)));
  const wrongFormat = Buffer.from(ct);
  wrongFormat[0] = 0x02;
  assertKmsError(() => ciphertextVersion(wrongFormat));
  const zero = Buffer.from(ct);
  zero.writeUInt32BE(0, 1);
  assertKmsError(() => ciphertextVersion(zero));
});

void test('wrong AAD, other key name and other key fail with INVALID_ARGUMENT', () => {
  const pt = Buffer.from('secret');
  const ct = symmetricEncrypt(key, NAME, 1, pt, Buffer.from('aad'));
  assertKmsError(() => symmetricDecrypt(key, NAME, ct, Buffer.from('aae')));
  assertKmsError(() => symmetricDecrypt(key, NAME, ct, Buffer.alloc(0)));
  assertKmsError(() => symmetricDecrypt(key, OTHER, ct, Buffer.from('aad')));
  assertKmsError(() => symmetricDecrypt(randomBytes(32), NAME, ct, Buffer.from('aad')));
});

void test('key name and AAD are bound unambiguously', () => {
  // ("…k", "2x") and ("…k2", "x") would collide under plain concatenation.
  const ct = symmetricEncrypt(key, NAME, 1, Buffer.from('p'), Buffer.from('2x'));
  assertKmsError(() => symmetricDecrypt(key, OTHER, ct, Buffer.from('x')));
});

void test('changing the version number in the header fails authentication', () => {
  const ct = symmetricEncrypt(key, NAME, 1, Buffer.from('p'), Buffer.alloc(0));
  const moved = Buffer.from(ct);
  moved.writeUInt32BE(2, 1);
  assert.equal(ciphertextVersion(moved), 2);
  assertKmsError(() => symmetricDecrypt(key, NAME, moved, Buffer.alloc(0)));
});

void test('every tampered byte and every truncation fails with INVALID_ARGUMENT', () => {
  const ct = symmetricEncrypt(key, NAME, 7, Buffer.from('hello world'), Buffer.from('a'));
  for (let i = 0; i < ct.length; i++) {
    const bad = Buffer.from(ct);
    bad[i] ^= 0x01;
    assertKmsError(() => symmetricDecrypt(key, NAME, bad, Buffer.from('a')));
  }
  for (let len = 0; len < ct.length; len++) {
    assertKmsError(() => symmetricDecrypt(key, NAME, ct.subarray(0, len), Buffer.from('a')));
  }
  assertKmsError(() => symmetricDecrypt(key, NAME, Buffer.concat([ct, Buffer.from([0])]), Buffer.from('a')));
});

void test('the documented layout decrypts with node:crypto directly', () => {
  // Restates the format comment of symmetric.ts independently, pinning it.
  const pt = Buffer.from('layout check');
  const aad = Buffer.from('caller aad');
  const ct = symmetricEncrypt(key, NAME, 0x01020304, pt, aad);
  assert.equal(ct[0], 0x01);
  assert.equal(ct.readUInt32BE(1), 0x01020304);
  const label = Buffer.from('openekm-symmetric-v1');
  const name = Buffer.from(NAME);
  const u32 = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const fullAad = Buffer.concat([label, u32(name.length), name, Buffer.from([1]), u32(0x01020304), u32(aad.length), aad]);
  const d = createDecipheriv('aes-256-gcm', key, ct.subarray(5, 17));
  d.setAuthTag(ct.subarray(ct.length - 16));
  d.setAAD(fullAad);
  assert.deepEqual(Buffer.concat([d.update(ct.subarray(17, ct.length - 16)), d.final()]), pt);
});

void test('a wrong-length key is a programming error, not a KmsError', () => {
  assert.throws(
    () => symmetricEncrypt(randomBytes(16), NAME, 1, Buffer.from('x'), Buffer.alloc(0)),
    (err: unknown) => err instanceof Error && !(err instanceof KmsError),
  );
});

void test('IVs stay distinct across many encryptions (pool refills)', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 3000; i++) {
    const ct = symmetricEncrypt(key, NAME, 1, Buffer.alloc(0), Buffer.alloc(0));
    seen.add(ct.subarray(5, 17).toString('hex'));
  }
  assert.equal(seen.size, 3000);
});
