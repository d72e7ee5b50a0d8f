// Hostile service-account tokens, each refused UNAUTHENTICATED in our words
// (never jose's): another algorithm, no kid, sub not the account, expired,
// not yet valid, an hour and more of life, the wrong audience, a scope that
// is not Cloud KMS's, a key that was not registered, a signature by another
// key under the registered kid, and garbage. Then the two accepted forms
// (aud, or a cloud-platform scope), the second answered from the cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { ServiceAccountTokens, isServiceAccountToken } from '../../src/api/service-accounts';
import { Code, KmsError } from '../../src/errors';
import { openSqliteStore } from '../../src/store/sqlite';

const SA = 'app@proj.iam.gserviceaccount.com';
const KID = 'abc123';
const NOW = Date.UTC(2030, 0, 1);
const rsa = () => generateKeyPairSync('rsa', { modulusLength: 2048 });

function sign(key: KeyObject, claims: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  const iat = Math.floor(NOW / 1000);
  return new SignJWT({ iss: SA, sub: SA, aud: 'https://cloudkms.googleapis.com/', iat, exp: iat + 3600, ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: KID, typ: 'JWT', ...header } as { alg: string })
    .sign(key);
}

void test('service account tokens: each hostile one refused in our words; the accepted forms pass', async () => {
  const store = openSqliteStore(':memory:');
  const { privateKey, publicKey } = rsa();
  await store.iam.putServiceAccountKey(SA, KID, publicKey.export({ type: 'spki', format: 'pem' }).toString());
  const tokens = new ServiceAccountTokens(store.iam, ['https://cloudkms.googleapis.com/'], () => NOW);
  const iat = Math.floor(NOW / 1000);
  const { privateKey: other } = rsa();
  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  const cases: Array<[string, Promise<string> | string, RegExp]> = [
    ['ES256', new SignJWT({ iss: SA, sub: SA, aud: 'https://cloudkms.googleapis.com/', iat, exp: iat + 60 }).setProtectedHeader({ alg: 'ES256', kid: KID }).sign(ec), /must be signed with RS256/],
    ['no kid', new SignJWT({ iss: SA, sub: SA, aud: 'https://cloudkms.googleapis.com/', iat, exp: iat + 60 }).setProtectedHeader({ alg: 'RS256' }).sign(privateKey), /must name its key \(kid\)/],
    ['sub is another', sign(privateKey, { sub: 'x@y.iam.gserviceaccount.com' }), /sub equal to iss/],
    ['expired', sign(privateKey, { iat: iat - 7200, exp: iat - 3600 }), /has expired/],
    ['not yet valid', sign(privateKey, { nbf: iat + 600 }), /not valid yet/],
    ['lives two hours', sign(privateKey, { exp: iat + 7200 }), /lives longer than 3600 s/],
    ['wrong audience', sign(privateKey, { aud: 'https://storage.googleapis.com/' }), /audience is not this KMS/],
    ['a scope of another API', sign(privateKey, { aud: undefined, scope: 'https://www.googleapis.com/auth/devstorage.read_only' }), /audience is not this KMS/],
    ['unregistered kid', sign(privateKey, {}, { kid: 'def456' }), /key def456 of .* is not registered with this KMS/],
    ['another key, same kid', sign(other, {}), /signature does not verify with the service account's registered key/],
    ['garbage', 'eyJhbGciOiJSUzI1NiJ9.!!!.???', /not a JWT/],
  ];
  for (const [name, token, words] of cases) {
    await assert.rejects(tokens.verify(await token), (err: KmsError) => {
      assert.equal(err.code, Code.UNAUTHENTICATED, name);
      assert.match(err.message, words, name);
      assert.doesNotMatch(err.message, /JWS|JWT_|ERR_|jose/, name);
      return true;
    });
  }
  const byAudience = await sign(privateKey, {});
  assert.equal(isServiceAccountToken(byAudience), true);
  assert.equal((await tokens.verify(byAudience)).email, SA);
  const byScope = await sign(privateKey, { aud: undefined, scope: 'https://www.googleapis.com/auth/cloud-platform' });
  assert.equal((await tokens.verify(byScope)).email, SA);
  assert.equal(tokens.cached(`Bearer ${byScope}`)?.email, SA);
  assert.equal(isServiceAccountToken('not.a.jwt'), false);
  await store.close();
});
