// Token verification with an injected clock: expiry and not-before within the
// clock skew, algorithms, claims, JWKS key rotation from a file and from an
// https URL, and a server whose clock moves past a token's expiry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import { ManualClock } from '../../src/clock';
import { Code, KmsError } from '../../src/errors';
import { silentLogger } from '../../src/log';
import { TokenVerifier } from '../../src/jwt';
import { loadTlsMaterial } from '../../src/ekm-server/tls';
import { TokenSigner } from './conformance/tokens';
import { AUDIENCE, CALLER, ISSUER, startReferenceEkm, tempDir, withReason, writeJwks } from './helpers';
import { statusName } from './conformance/session';

const T0 = Date.UTC(2030, 0, 1);

async function rejectsUnauthenticated(promise: Promise<unknown>): Promise<void> {
  await assert.rejects(promise, (err: unknown) => err instanceof KmsError && err.code === Code.UNAUTHENTICATED);
}

async function verifierFor(signers: TokenSigner[], clock: ManualClock, dir = tempDir()) {
  const jwks = writeJwks(dir, ...signers);
  const verifier = await TokenVerifier.create({ issuers: [{ issuer: ISSUER, jwks }], audiences: [AUDIENCE], clock, logger: silentLogger });
  return { verifier, jwks, dir };
}

void test('expiry and not-before are enforced with 30 s of clock skew', async () => {
  const clock = new ManualClock(T0);
  const signer = TokenSigner.generate(ISSUER);
  const { verifier, dir } = await verifierFor([signer], clock);
  fs.rmSync(dir, { recursive: true, force: true });
  const token = signer.token({ email: CALLER, audience: AUDIENCE, expiresIn: 300 }, T0);
  assert.equal((await verifier.verify(`Bearer ${token}`)).email, CALLER);
  clock.set(T0 + 300_000 + 29_000);
  assert.equal((await verifier.verify(`Bearer ${token}`)).email, CALLER, 'within the skew');
  clock.set(T0 + 300_000 + 31_000);
  await rejectsUnauthenticated(verifier.verify(`Bearer ${token}`));
  const future = signer.token({ email: CALLER, audience: AUDIENCE, extra: { nbf: Math.floor(T0 / 1000) + 120 } }, T0);
  clock.set(T0);
  await rejectsUnauthenticated(verifier.verify(`Bearer ${future}`));
  clock.set(T0 + 100_000);
  assert.equal((await verifier.verify(`Bearer ${future}`)).email, CALLER);
});

void test('RS256 and ES256 verify; none, HS256 and tokens without exp or email do not', async () => {
  const clock = new ManualClock(T0);
  const es = TokenSigner.generate(ISSUER, 'ES256');
  const rs = TokenSigner.generate(ISSUER, 'RS256');
  const { verifier, dir } = await verifierFor([es, rs], clock);
  fs.rmSync(dir, { recursive: true, force: true });
  for (const signer of [es, rs]) {
    assert.equal((await verifier.verify(`Bearer ${signer.token({ email: 'A@B.example', audience: [AUDIENCE, 'x'] }, T0)}`)).email, 'a@b.example');
  }
  const now = Math.floor(T0 / 1000);
  const claims = { iss: ISSUER, aud: AUDIENCE, email: CALLER, email_verified: true, exp: now + 60 };
  const refused = [
    es.signRaw({ alg: 'HS256', kid: es.kid }, claims),
    es.signRaw({ alg: 'ES256', kid: es.kid, crit: ['x'] }, claims),
    es.signRaw({ alg: 'ES256', kid: es.kid }, { ...claims, exp: undefined }),
    es.signRaw({ alg: 'ES256', kid: es.kid }, { ...claims, email: undefined }),
    es.signRaw({ alg: 'ES256', kid: es.kid }, { ...claims, email_verified: 'true' }),
    es.signRaw({ alg: 'ES256', kid: es.kid }, { ...claims, iat: now + 3600 }),
    // An RS256 header on an ES256 signature: the key type must match the alg.
    es.signRaw({ alg: 'RS256', kid: es.kid }, claims),
  ];
  for (const token of refused) await rejectsUnauthenticated(verifier.verify(`Bearer ${token}`));
  for (const header of [undefined, 'Basic abc', 'Bearer', `Bearer ${'a'.repeat(20_000)}`]) await rejectsUnauthenticated(verifier.verify(header));
});

void test('a rotated JWKS file is read again when a token names an unknown kid', async () => {
  const clock = new ManualClock(T0);
  const old = TokenSigner.generate(ISSUER);
  const { verifier, jwks, dir } = await verifierFor([old], clock);
  const rotated = TokenSigner.generate(ISSUER);
  fs.writeFileSync(jwks, JSON.stringify({ keys: [rotated.jwk()] }));
  // The first miss after start may already re-read; move past the refresh interval to be sure.
  clock.advance(31_000);
  const token = rotated.token({ email: CALLER, audience: AUDIENCE }, clock.now());
  assert.equal((await verifier.verify(`Bearer ${token}`)).email, CALLER);
  // Past maxAge the old key, gone from the document, stops verifying (the refresh runs in the background).
  clock.advance(301_000);
  const oldToken = old.token({ email: CALLER, audience: AUDIENCE }, clock.now());
  await verifier.verify(`Bearer ${rotated.token({ email: CALLER, audience: AUDIENCE }, clock.now())}`);
  await new Promise((r) => setTimeout(r, 50));
  await rejectsUnauthenticated(verifier.verify(`Bearer ${oldToken}`));
  fs.rmSync(dir, { recursive: true, force: true });
});

void test('a JWKS is fetched from an https URL with the configured CA', async () => {
  const dir = tempDir();
  const tls = loadTlsMaterial({ dataDir: dir, hostname: 'localhost', clock: new ManualClock(Date.now()) });
  const signer = TokenSigner.generate(ISSUER, 'RS256');
  let fetches = 0;
  const server = https.createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    fetches++;
    res.writeHead(req.url === '/jwks' ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [signer.jwk()] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(server.address() as { port: number }).port}/jwks`;
  try {
    const clock = new ManualClock(Date.now());
    const verifier = await TokenVerifier.create({
      issuers: [{ issuer: ISSUER, jwks: url }], audiences: [AUDIENCE], clock, logger: silentLogger, jwksCa: tls.certPem,
    });
    const token = signer.token({ email: CALLER, audience: AUDIENCE }, clock.now());
    assert.equal((await verifier.verify(`Bearer ${token}`)).email, CALLER);
    assert.equal((await verifier.verify(`Bearer ${token}`)).email, CALLER);
    assert.equal(fetches, 1, 'keys and verified tokens are cached');
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  }
  await assert.rejects(
    TokenVerifier.create({ issuers: [{ issuer: ISSUER, jwks: 'http://127.0.0.1:9/jwks' }], audiences: [AUDIENCE], clock: new ManualClock(), logger: silentLogger }),
    /only https/,
  );
});

void test('the server reads time from its injected clock: a token expires when the clock moves', async () => {
  const clock = new ManualClock(Date.now());
  const ekm = await startReferenceEkm({ clock });
  try {
    await ekm.admin.call('createCryptoSpace', { name: 'clock', policy: { callers: [CALLER] } });
    const key = (await ekm.admin.call<{ path: string }>('createKey', { cryptoSpace: 'clock', algorithm: 'EXTERNAL_SYMMETRIC_ENCRYPTION' })).path;
    const token = ekm.signer.token({ email: CALLER, audience: AUDIENCE, expiresIn: 120 }, clock.now());
    const wrap = () => ekm.client.request('POST', `/${key}:wrap`, { token, body: withReason({ plaintext: 'AAAA' }) });
    assert.equal((await wrap()).status, 200);
    clock.advance(10 * 60_000);
    const res = await wrap();
    assert.equal(res.status, 401);
    assert.equal(statusName(res.body), 'UNAUTHENTICATED');
  } finally {
    await ekm.close();
  }
});

void test('a JWKS file that cannot be read is a startup error', async () => {
  const dir = tempDir();
  await assert.rejects(startReferenceEkm({ dataDir: dir, trustedIssuers: [{ issuer: ISSUER, jwks: path.join(dir, 'missing.json') }] }));
  fs.rmSync(dir, { recursive: true, force: true });
});

void test('a token living longer than the bound (default 1 h) is refused, with or without iat', async () => {
  const clock = new ManualClock(T0);
  const signer = TokenSigner.generate(ISSUER);
  const { verifier, dir } = await verifierFor([signer], clock);
  fs.rmSync(dir, { recursive: true, force: true });
  const century = signer.token({ email: CALLER, audience: AUDIENCE, expiresIn: 100 * 365 * 86_400 }, T0);
  await assert.rejects(verifier.verify(`Bearer ${century}`), /lives longer than 3600 s/);
  const noIat = signer.token({ email: CALLER, audience: AUDIENCE, expiresIn: 7200, extra: { iat: undefined } }, T0);
  await rejectsUnauthenticated(verifier.verify(`Bearer ${noIat}`));
  const hour = signer.token({ email: CALLER, audience: AUDIENCE, expiresIn: 3600 }, T0);
  assert.equal((await verifier.verify(`Bearer ${hour}`)).email, CALLER);
  const short = await TokenVerifier.create({
    issuers: [{ issuer: ISSUER, jwks: writeJwks(tempDir(), signer) }], audiences: [AUDIENCE], clock, logger: silentLogger, maxLifetimeMs: 60_000,
  });
  await rejectsUnauthenticated(short.verify(`Bearer ${signer.token({ email: CALLER, audience: AUDIENCE, expiresIn: 61 }, T0)}`));
  assert.equal((await short.verify(`Bearer ${signer.token({ email: CALLER, audience: AUDIENCE, expiresIn: 60 }, T0)}`)).email, CALLER);
});

void test('a token bound to another certificate is refused; bound to ours or unbound, it is accepted', async () => {
  const clock = new ManualClock(T0);
  const signer = TokenSigner.generate(ISSUER);
  const ours = 'a1'.repeat(32);
  const verifier = await TokenVerifier.create({
    issuers: [{ issuer: ISSUER, jwks: writeJwks(tempDir(), signer) }], audiences: [AUDIENCE], clock, logger: silentLogger, certificateSha256: ours,
  });
  const bound = (value: unknown) => signer.token({ email: CALLER, audience: AUDIENCE, extra: { ekm_cert_sha256: value } }, T0);
  assert.equal((await verifier.verify(`Bearer ${bound(ours)}`)).email, CALLER);
  assert.equal((await verifier.verify(`Bearer ${bound(ours.toUpperCase())}`)).email, CALLER, 'hex in either case');
  assert.equal((await verifier.verify(`Bearer ${signer.token({ email: CALLER, audience: AUDIENCE }, T0)}`)).email, CALLER, 'a token from another KMS has no binding');
  for (const other of ['b2'.repeat(32), '', 42, null, [ours]]) {
    await assert.rejects(verifier.verify(`Bearer ${bound(other)}`), (err: unknown) =>
      err instanceof KmsError && err.code === Code.UNAUTHENTICATED && /another EKM's certificate/.test(err.message));
  }
});

void test('cached verifications are dropped when the trusted keys change', async () => {
  const clock = new ManualClock(T0);
  const first = TokenSigner.generate(ISSUER);
  const second = TokenSigner.generate(ISSUER);
  const dir = tempDir();
  const jwks = writeJwks(dir, first, second);
  const verifier = await TokenVerifier.create({
    issuers: [{ issuer: ISSUER, jwks }], audiences: [AUDIENCE], clock, logger: silentLogger, jwksMaxAgeMs: 60_000,
  });
  const token = first.token({ email: CALLER, audience: AUDIENCE }, T0);
  const kept = second.token({ email: CALLER, audience: AUDIENCE }, T0);
  const connection = {};
  assert.equal((await verifier.verify(`Bearer ${token}`)).email, CALLER);
  assert.equal(verifier.cachedCaller(`Bearer ${token}`, connection)?.email, CALLER, 'cached');
  await verifier.verify(`Bearer ${kept}`);
  // The operator removes the first key; the set is read again once it is older than its maximum age.
  writeJwks(dir, second);
  clock.advance(61_000);
  verifier.cachedCaller(`Bearer ${token}`, connection);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(verifier.cachedCaller(`Bearer ${token}`, connection), undefined, 'the cached verification is gone');
  await rejectsUnauthenticated(verifier.verify(`Bearer ${token}`));
  assert.equal((await verifier.verify(`Bearer ${kept}`)).email, CALLER, 'tokens of the remaining key verify again');
  fs.rmSync(dir, { recursive: true, force: true });
});

void test('every refusal is in our words: no message of the JWT library reaches a caller', async () => {
  const clock = new ManualClock(T0);
  const es = TokenSigner.generate(ISSUER, 'ES256');
  const { verifier, dir } = await verifierFor([es], clock);
  fs.rmSync(dir, { recursive: true, force: true });
  const now = Math.floor(T0 / 1000);
  const claims = { iss: ISSUER, aud: AUDIENCE, email: CALLER, email_verified: true, exp: now + 60 };
  const good = es.token({ email: CALLER, audience: AUDIENCE }, T0);
  const [h, p, sig] = good.split('.');
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const cases: Record<string, string> = {
    'not base64url': `${h}.${p}.%%%`,
    'four segments': `${good}.x`,
    'header not JSON': `${Buffer.from('{').toString('base64url')}.${p}.${sig}`,
    'payload not JSON': `${h}.${Buffer.from('[').toString('base64url')}.${sig}`,
    'payload an array': `${h}.${b64([1])}.${sig}`,
    'flipped signature bit': `${h}.${p}.${sig.slice(0, -2)}${sig.at(-2) === 'A' ? 'B' : 'A'}${sig.slice(-1)}`,
    'alg none': `${b64({ alg: 'none' })}.${p}.`,
    'unknown kid': es.signRaw({ alg: 'ES256', kid: 'nobody' }, claims),
    'aud with a port': es.signRaw({ alg: 'ES256', kid: es.kid }, { ...claims, aud: `${AUDIENCE}:443` }),
    'exp a string': es.signRaw({ alg: 'ES256', kid: es.kid }, { ...claims, exp: 'soon' }),
    'nbf a string': es.signRaw({ alg: 'ES256', kid: es.kid }, { ...claims, nbf: 'now' }),
    'iss a number': es.signRaw({ alg: 'ES256', kid: es.kid }, { ...claims, iss: 7 }),
  };
  for (const [name, token] of Object.entries(cases)) {
    await assert.rejects(verifier.verify(`Bearer ${token}`), (err: unknown) => {
      assert.ok(err instanceof KmsError && err.code === Code.UNAUTHENTICATED, name);
      assert.match(err.message, /^The (bearer )?token/, `${name}: ${err.message}`);
      assert.doesNotMatch(err.message, /JWS|JWT Claims|"[a-z]+" claim|Invalid Compact/, `${name}: ${err.message}`);
      return true;
    });
  }
});
