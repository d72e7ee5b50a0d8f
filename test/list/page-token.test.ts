// Page tokens: they round-trip, and anything not issued for the same query
// (tampered, truncated, foreign, random) is INVALID_ARGUMENT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Code, KmsError } from '../../src/errors';
import { PageTokenCodec, listScope, pageSize } from '../../src/list/page-token';

const isInvalidArgument = (err: unknown): boolean => err instanceof KmsError && err.code === Code.INVALID_ARGUMENT;
const codec = new PageTokenCodec(randomBytes(32));
const scope = listScope('ListCryptoKeys', 'projects/p/locations/l/keyRings/r', 'labels.env=prod', 'create_time desc');
const values = [1_704_067_200_000, 'projects/p/locations/l/keyRings/r/cryptoKeys/k "q" é', null, -1.5, 0];

void test('a token round-trips its values and is URL-safe', () => {
  const token = codec.encode(scope, values);
  assert.match(token, /^[A-Za-z0-9_-]+$/);
  assert.deepEqual(codec.decode(token, scope), values);
  assert.deepEqual(codec.decode(codec.encode(scope, []), scope), []);
});

void test('a token with any byte flipped is refused', () => {
  const bytes = Buffer.from(codec.encode(scope, values), 'base64url');
  for (let i = 0; i < bytes.length; i++) {
    const flipped = Buffer.from(bytes);
    flipped[i] ^= 0x01;
    assert.throws(() => codec.decode(flipped.toString('base64url'), scope), isInvalidArgument, `byte ${i}`);
  }
});

void test('a truncated or extended token is refused', () => {
  const token = codec.encode(scope, values);
  for (const cut of [1, 2, 5, 22, token.length - 1]) {
    assert.throws(() => codec.decode(token.slice(0, token.length - cut), scope), isInvalidArgument);
  }
  assert.throws(() => codec.decode(`${token}A`, scope), isInvalidArgument);
  assert.throws(() => codec.decode(`${token}==`, scope), isInvalidArgument);
  assert.throws(() => codec.decode(`${token.slice(0, 5)}.${token.slice(5)}`, scope), isInvalidArgument);
});

void test('a token from another query or another server secret is refused', () => {
  const token = codec.encode(scope, values);
  const others = [
    listScope('ListCryptoKeys', 'projects/p/locations/l/keyRings/other', 'labels.env=prod', 'create_time desc'),
    listScope('ListCryptoKeys', 'projects/p/locations/l/keyRings/r', 'labels.env=dev', 'create_time desc'),
    listScope('ListCryptoKeys', 'projects/p/locations/l/keyRings/r', 'labels.env=prod', 'create_time'),
    listScope('ListKeyRings', 'projects/p/locations/l/keyRings/r', 'labels.env=prod', 'create_time desc'),
    listScope('ListCryptoKeys', 'projects/p/locations/l/keyRings/r', undefined, undefined),
  ];
  for (const other of others) assert.throws(() => codec.decode(token, other), isInvalidArgument);
  assert.throws(() => new PageTokenCodec(randomBytes(32)).decode(token, scope), isInvalidArgument);
});

void test('garbage is refused', () => {
  const garbage = ['', 'x', 'not a token', '!!!!', '%00', 'AAAA', randomBytes(40).toString('base64url'), randomBytes(200).toString('base64url'), 'A'.repeat(100_000)];
  for (const token of garbage) assert.throws(() => codec.decode(token, scope), isInvalidArgument, token.slice(0, 20));
});

void test('listScope separates its parts unambiguously', () => {
  assert.notEqual(listScope('A', 'b', 'c', undefined), listScope('A', 'b', undefined, 'c'));
  assert.notEqual(listScope('A', 'b,c', '', ''), listScope('A', 'b', 'c', ''));
  assert.equal(listScope('A', 'b', undefined, undefined), listScope('A', 'b', '', ''));
});

void test('the codec insists on a 32-byte secret and on token-safe values', () => {
  assert.throws(() => new PageTokenCodec(randomBytes(16)), RangeError);
  assert.throws(() => codec.encode(scope, [Number.NaN]), TypeError);
});

void test('pageSize: default, cap and refusal of negative or fractional sizes', () => {
  assert.equal(pageSize(undefined), 1000);
  assert.equal(pageSize(0), 1000);
  assert.equal(pageSize(0, 50), 50);
  assert.equal(pageSize(7), 7);
  assert.equal(pageSize(5000), 1000);
  assert.equal(pageSize(5000, 100), 100);
  for (const bad of [-1, -1000, 1.5, Number.NaN]) assert.throws(() => pageSize(bad), isInvalidArgument);
});
