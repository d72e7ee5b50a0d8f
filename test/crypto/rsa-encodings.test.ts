import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, createHash, generateKeyPairSync, privateEncrypt, publicDecrypt, randomBytes, sign, verify } from 'node:crypto';
import { HASH_BYTES, type HashName } from '../../src/crypto/algorithms';
import { emsaPssEncode, mgf1, pkcs1DigestInfo } from '../../src/crypto/rsa-encodings';

const HASHES: readonly HashName[] = ['sha1', 'sha224', 'sha256', 'sha384', 'sha512'];
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

void test('pkcs1DigestInfo: PKCS1 padding of DigestInfo equals node RSASSA-PKCS1-v1_5 for every hash', () => {
  const data = Buffer.from('digest info');
  for (const hash of HASHES) {
    const t = pkcs1DigestInfo(hash, createHash(hash).update(data).digest());
    const ours = privateEncrypt({ key: privateKey, padding: constants.RSA_PKCS1_PADDING }, t);
    assert.deepEqual(ours, sign(hash, data, privateKey), hash);
  }
});

void test('pkcs1DigestInfo rejects a digest of the wrong length', () => {
  assert.throws(() => pkcs1DigestInfo('sha256', randomBytes(31)), RangeError);
});

void test('emsaPssEncode + raw RSA verifies as RSASSA-PSS with node for every hash', () => {
  for (const hash of HASHES) {
    const data = randomBytes(33);
    const em = emsaPssEncode(createHash(hash).update(data).digest(), 2047, hash);
    assert.equal(em.length, 256);
    assert.equal(em[255], 0xbc);
    assert.equal(em[0] & 0x80, 0);
    const sig = privateEncrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, em);
    const opts = { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: HASH_BYTES[hash] };
    assert.ok(verify(hash, data, opts, sig), hash);
    // The raw RSA inverse gives EM back.
    assert.deepEqual(publicDecrypt({ key: publicKey, padding: constants.RSA_NO_PADDING }, sig), em);
  }
});

void test('emsaPssEncode honours an explicit salt length and rejects an oversized one', () => {
  const data = Buffer.from('salt');
  const em = emsaPssEncode(createHash('sha256').update(data).digest(), 2047, 'sha256', 0);
  const sig = privateEncrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, em);
  assert.ok(verify('sha256', data, { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 0 }, sig));
  assert.throws(() => emsaPssEncode(randomBytes(32), 2047, 'sha256', 256 - 32 - 1), RangeError);
});

void test('mgf1 follows RFC 8017 §B.2.1 (Hash(seed || counter) blocks)', () => {
  const seed = Buffer.from('seed');
  const block = (c: number): Buffer => createHash('sha1').update(seed).update(Buffer.from([0, 0, 0, c])).digest();
  assert.deepEqual(mgf1(seed, 45, 'sha1'), Buffer.concat([block(0), block(1), block(2)]).subarray(0, 45));
  assert.equal(mgf1(seed, 0, 'sha256').length, 0);
});
