// Conformance checks for signing keys: getPublicKey, asymmetricSign over a
// digest and over data, each signature verified with the public key the EKM
// published (RSA-PSS with a digest-length salt, as Cloud KMS signs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { expectError, expectOk, secretPlaintext, type Session } from './session';
import type { SigningKey } from './target';

function hashOf(algorithm: string): 'sha256' | 'sha384' | 'sha512' {
  const m = /SHA(256|384|512)$/.exec(algorithm);
  if (!m) throw new Error(`no hash in ${algorithm}`);
  return `sha${m[1]}` as 'sha256' | 'sha384' | 'sha512';
}

function verifies(algorithm: string, key: KeyObject, data: Buffer, signature: Buffer): boolean {
  const hash = hashOf(algorithm);
  if (algorithm.startsWith('EC_')) return verify(hash, data, { key, dsaEncoding: 'der' }, signature);
  if (algorithm.startsWith('RSA_SIGN_PSS_')) {
    return verify(hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: createHash(hash).digest().length }, signature);
  }
  return verify(hash, data, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
}

async function checkKey(s: Session, key: SigningKey): Promise<void> {
  const pub = await s.call(key.path, 'getPublicKey');
  expectOk(pub);
  assert.equal(pub.body.algorithm, key.algorithm);
  const publicKey = createPublicKey(pub.body.pem as string);
  const data = Buffer.from(`conformance data for ${key.path}`);
  const hash = hashOf(key.algorithm);
  const byDigest = await s.call(key.path, 'asymmetricSign', { digest: { [hash]: createHash(hash).update(data).digest('base64') } });
  expectOk(byDigest);
  assert.ok(verifies(key.algorithm, publicKey, data, Buffer.from(byDigest.body.signature as string, 'base64')), 'digest signature');
  const byData = await s.call(key.path, 'asymmetricSign', { data: data.toString('base64') });
  expectOk(byData);
  assert.ok(verifies(key.algorithm, publicKey, data, Buffer.from(byData.body.signature as string, 'base64')), 'data signature');
}

export function signingChecks(get: () => Session): void {
  test('signatures over a digest and over data verify with the published public key', async (t) => {
    const s = get();
    const keys = s.target.keys.signing ?? [];
    if (keys.length === 0) return t.skip('the target lists no signing keys');
    for (const key of keys) await t.test(key.algorithm, () => checkKey(s, key));
  });

  test('a digest of the wrong hash or length is INVALID_ARGUMENT', async (t) => {
    const s = get();
    const key = s.target.keys.signing?.[0];
    if (!key) return t.skip('the target lists no signing keys');
    const hash = hashOf(key.algorithm);
    const other = hash === 'sha256' ? 'sha512' : 'sha256';
    for (const digest of [{ [other]: createHash(other).digest('base64') }, { [hash]: Buffer.alloc(5).toString('base64') }]) {
      expectError(await s.call(key.path, 'asymmetricSign', { digest }), 400, 'INVALID_ARGUMENT');
    }
  });

  test('an operation the key does not support is UNIMPLEMENTED', async (t) => {
    const s = get();
    const key = s.target.keys.signing?.[0];
    if (!key) return t.skip('the target lists no signing keys');
    expectError(await s.call(key.path, 'wrap', { plaintext: secretPlaintext(s) }), 501, 'UNIMPLEMENTED');
    expectError(await s.call(s.target.keys.wrapA, 'getPublicKey'), 501, 'UNIMPLEMENTED');
  });
}
