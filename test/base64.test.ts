// The one strict base64 decoder (src/base64.ts) shared by the REST codec, the
// EKM client and the reference EKM.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { decodeBase64 } from '../src/base64';

void test('standard and URL-safe base64, with or without padding, decode', () => {
  for (const size of [0, 1, 2, 3, 4, 5, 31, 32, 33, 1024]) {
    const bytes = randomBytes(size);
    const standard = bytes.toString('base64');
    assert.deepEqual(decodeBase64(standard), bytes, standard);
    assert.deepEqual(decodeBase64(standard.replace(/=+$/, '')), bytes);
    assert.deepEqual(decodeBase64(bytes.toString('base64url')), bytes);
  }
  assert.deepEqual(decodeBase64('+/-_'), Buffer.from('fbffbf', 'hex'));
});

void test('anything else is refused, never decoded by skipping characters', () => {
  const bad = [
    'Q', 'QUJDR', 'QUJD QUJD', 'QUJD\nQUJD', 'QUJD!', 'QU=D', 'QUJ=D', 'QUJD=', 'QUJD==', 'QUJD====', '=', '==', '====',
    'QUJDRA=', 'A===', 'QUJ\u00ff', 'QU\u0141D', 'QUJD\u0000', 'Q\ud83d\ude00==', 'QUJD%3D',
  ];
  for (const text of bad) assert.equal(decodeBase64(text), undefined, JSON.stringify(text));
});
