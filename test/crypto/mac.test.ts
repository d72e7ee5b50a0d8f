import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { SUPPORTED_ALGORITHMS } from '../../src/crypto/algorithms';
import { macSign, macVerify } from '../../src/crypto/mac';
import { alg } from './helpers';

const MACS = SUPPORTED_ALGORITHMS.filter((a) => a.purpose === 'MAC');

void test('macSign equals node createHmac for every HMAC algorithm', () => {
  assert.equal(MACS.length, 5);
  for (const a of MACS) {
    const key = randomBytes(a.keyBytes as number);
    for (const data of [Buffer.alloc(0), Buffer.from('data'), randomBytes(1000)]) {
      const expected = createHmac(a.hash as string, key).update(data).digest();
      assert.deepEqual(macSign(a, key, data), expected, a.name);
    }
  }
});

void test('macVerify accepts the right MAC and rejects altered, truncated or extended ones', () => {
  for (const a of MACS) {
    const key = randomBytes(a.keyBytes as number);
    const data = Buffer.from('message');
    const mac = macSign(a, key, data);
    assert.equal(macVerify(a, key, data, mac), true);
    assert.equal(macVerify(a, key, Buffer.from('messagf'), mac), false);
    assert.equal(macVerify(a, randomBytes(a.keyBytes as number), data, mac), false);
    const flipped = Buffer.from(mac);
    flipped[mac.length - 1] ^= 1;
    assert.equal(macVerify(a, key, data, flipped), false);
    assert.equal(macVerify(a, key, data, mac.subarray(0, mac.length - 1)), false);
    assert.equal(macVerify(a, key, data, Buffer.concat([mac, Buffer.from([0])])), false);
    assert.equal(macVerify(a, key, data, Buffer.alloc(0)), false);
  }
});

void test('RFC 4231 test case 2 (HMAC-SHA256, key "Jefe")', () => {
  const mac = macSign(alg('HMAC_SHA256'), Buffer.from('Jefe'), Buffer.from('what do ya want for nothing?'));
  assert.equal(mac.toString('hex'), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
});

void test('a non-MAC algorithm is a programming error', () => {
  assert.throws(() => macSign(alg('AES_256_GCM'), randomBytes(32), Buffer.from('x')));
});
