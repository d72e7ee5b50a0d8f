// Signing cases: for each signing key, getPublicKey and asymmetricSign over a
// digest and over data, each signature verified with the public key the EKM
// published (RSA-PSS with a digest-length salt, as Cloud KMS signs); digests
// of the wrong hash or length; operations a key does not support.
import assert from 'node:assert/strict';
import { constants, createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { caseMaker, skip, type ConformanceCase } from './case';
import { expectError, expectOk, secretPlaintext, type Session } from './session';
import type { ConformanceTarget, SigningKey } from './target';

const c = caseMaker('sign');
const NO_KEYS = 'the target lists no signing keys (--signing-key)';

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
  expectOk(pub, 'getPublicKey');
  assert.ok(pub.body?.algorithm === key.algorithm, `getPublicKey names ${String(pub.body?.algorithm)}, not ${key.algorithm}`);
  const publicKey = createPublicKey(pub.body.pem as string);
  const data = Buffer.from(`conformance data for ${key.path}`);
  const hash = hashOf(key.algorithm);
  const byDigest = await s.call(key.path, 'asymmetricSign', { digest: { [hash]: createHash(hash).update(data).digest('base64') } });
  expectOk(byDigest, 'asymmetricSign over a digest');
  assert.ok(verifies(key.algorithm, publicKey, data, Buffer.from(byDigest.body.signature as string, 'base64')), 'the signature over the digest does not verify');
  const byData = await s.call(key.path, 'asymmetricSign', { data: data.toString('base64') });
  expectOk(byData, 'asymmetricSign over data');
  assert.ok(verifies(key.algorithm, publicKey, data, Buffer.from(byData.body.signature as string, 'base64')), 'the signature over the data does not verify');
}

function firstKey(s: Session): SigningKey {
  return s.target.keys.signing?.[0] ?? skip(NO_KEYS);
}

/** One case per signing key, its id suffixed with the algorithm (and a number when two keys share one). */
function keyCases(target: ConformanceTarget): ConformanceCase[] {
  const keys = target.keys.signing ?? [];
  if (keys.length === 0) return [c('verify', 'signatures over a digest and over data verify with the published key', async () => skip(NO_KEYS))];
  const seen = new Map<string, number>();
  return keys.map((key) => {
    const n = (seen.get(key.algorithm) ?? 0) + 1;
    seen.set(key.algorithm, n);
    const suffix = n === 1 ? key.algorithm : `${key.algorithm}-${n}`;
    return c(`verify.${suffix}`, `${key.algorithm}: signatures over a digest and over data verify with the published key`, (s) => checkKey(s, key));
  });
}

function refusalCases(): ConformanceCase[] {
  return [
    c('digest-wrong-hash', 'a digest of another hash than the key\'s is INVALID_ARGUMENT', async (s) => {
      const key = firstKey(s);
      const other = hashOf(key.algorithm) === 'sha256' ? 'sha512' : 'sha256';
      expectError(await s.call(key.path, 'asymmetricSign', { digest: { [other]: createHash(other).digest('base64') } }), 400, 'INVALID_ARGUMENT');
    }),
    c('digest-wrong-length', 'a digest of the wrong length is INVALID_ARGUMENT', async (s) => {
      const key = firstKey(s);
      expectError(await s.call(key.path, 'asymmetricSign', { digest: { [hashOf(key.algorithm)]: Buffer.alloc(5).toString('base64') } }), 400, 'INVALID_ARGUMENT');
    }),
    c('wrap-on-signing-key', 'wrap with a signing key is UNIMPLEMENTED', async (s) => {
      expectError(await s.call(firstKey(s).path, 'wrap', { plaintext: secretPlaintext(s) }), 501, 'UNIMPLEMENTED');
    }),
    c('public-key-of-wrapping-key', 'getPublicKey of a wrapping key is UNIMPLEMENTED', async (s) => {
      firstKey(s);
      expectError(await s.call(s.target.keys.wrapA, 'getPublicKey'), 501, 'UNIMPLEMENTED');
    }),
  ];
}

export function signingCases(target: ConformanceTarget): ConformanceCase[] {
  return [...keyCases(target), ...refusalCases()];
}
