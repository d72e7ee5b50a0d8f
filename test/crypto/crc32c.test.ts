import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c } from '../../src/crypto/crc32c';

/** Bit-at-a-time reference (reflected polynomial 0x82F63B78), independent of the tables. */
function slowCrc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

void test('crc32c check value of "123456789"', () => {
  assert.equal(crc32c(Buffer.from('123456789', 'ascii')), 0xe3069283);
});

void test('crc32c of 32 zero bytes (RFC 3720 §B.4)', () => {
  assert.equal(crc32c(Buffer.alloc(32)), 0x8a9136aa);
});

void test('crc32c of 32 0xFF bytes and ascending bytes (RFC 3720 §B.4)', () => {
  assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
  assert.equal(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i))), 0x46dd794e);
});

void test('crc32c of empty input is 0', () => {
  assert.equal(crc32c(new Uint8Array(0)), 0);
});

void test('crc32c matches the bitwise reference for every length 0..100 and unaligned views', () => {
  const data = Buffer.from(Array.from({ length: 200 }, (_, i) => (i * 131 + 7) & 0xff));
  for (let len = 0; len <= 100; len++) {
    for (const start of [0, 1, 3]) {
      const view = data.subarray(start, start + len);
      assert.equal(crc32c(view), slowCrc32c(view), `len ${len} start ${start}`);
    }
  }
});

void test('crc32c result is unsigned', () => {
  for (let i = 0; i < 50; i++) {
    const v = crc32c(Buffer.from([i, i * 3, 255 - i]));
    assert.ok(v >= 0 && v <= 0xffffffff && Number.isInteger(v));
  }
});
