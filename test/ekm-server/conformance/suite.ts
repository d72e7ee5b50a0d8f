// The EKM conformance suite, in the spirit of the public XKS test client:
// everything the protocol (docs/ekm-protocol.md) promises, checked over real
// HTTPS against any EKM URL. registerConformanceSuite registers node:test
// tests; run.ts feeds it a target from EKM_CONFORMANCE_CONFIG, and
// test/ekm-server/conformance.test.ts runs it against the reference EKM.
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { INFO_PATH, WELL_KNOWN_PATH, HEALTH_PATH, operationPath, type EkmOperation } from '../../../src/protocol/ekm';
import { auditChecks } from './audit';
import { expectError, expectOk, openSession, secretPlaintext, wrapOk, type Session } from './session';
import { signingChecks } from './signing';
import type { ConformanceTarget, ReasonOperation } from './target';
import { TokenSigner } from './tokens';

function flipBit(blobB64: string, index: number): string {
  const blob = Buffer.from(blobB64, 'base64');
  blob[(index + blob.length) % blob.length] ^= 0x01;
  return blob.toString('base64');
}

function transportChecks(get: () => Session): void {
  test('GET /healthz answers 200 without a token, over TLS 1.2 or newer', async () => {
    const res = await get().client.request('GET', HEALTH_PATH);
    expectOk(res);
    assert.ok(res.tlsVersion === 'TLSv1.2' || res.tlsVersion === 'TLSv1.3', `negotiated ${res.tlsVersion}`);
  });

  test('GET /info and the well-known path describe the EKM', async () => {
    const s = get();
    for (const path of [INFO_PATH, WELL_KNOWN_PATH]) {
      const res = await s.client.request('GET', path, { token: s.token() });
      expectOk(res);
      assert.equal(typeof res.body.vendor, 'string');
      assert.equal(typeof res.body.version, 'string');
      assert.ok(Array.isArray(res.body.operations) && res.body.operations.includes('wrap') && res.body.operations.includes('unwrap'));
      assert.ok(Array.isArray(res.body.algorithms));
    }
  });

  test('a wrong method on an operation path is 405', async () => {
    const s = get();
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const res = await s.client.request(method, operationPath(s.target.keys.wrapA, 'wrap'), { token: s.token() });
      expectError(res, 405);
    }
  });
}

function wrapChecks(get: () => Session): void {
  test('wrap then unwrap returns the plaintext, without AAD', async () => {
    const s = get();
    const plaintext = secretPlaintext(s);
    const blob = await wrapOk(s, s.target.keys.wrapA, plaintext);
    const res = await s.call(s.target.keys.wrapA, 'unwrap', { wrappedBlob: blob });
    expectOk(res);
    assert.equal(res.body.plaintext, plaintext);
  });

  test('wrap then unwrap returns the plaintext, with AAD', async () => {
    const s = get();
    const plaintext = secretPlaintext(s);
    const aad = Buffer.from('conformance-aad').toString('base64');
    const blob = await wrapOk(s, s.target.keys.wrapA, plaintext, aad);
    const res = await s.call(s.target.keys.wrapA, 'unwrap', { wrappedBlob: blob, additionalAuthenticatedData: aad });
    expectOk(res);
    assert.equal(res.body.plaintext, plaintext);
  });

  test('unwrap with changed, missing or added AAD is INVALID_ARGUMENT', async () => {
    const s = get();
    const aad = Buffer.from('aad-one').toString('base64');
    const withAad = await wrapOk(s, s.target.keys.wrapA, secretPlaintext(s), aad);
    const without = await wrapOk(s, s.target.keys.wrapA, secretPlaintext(s));
    const cases = [
      { wrappedBlob: withAad, additionalAuthenticatedData: Buffer.from('aad-two').toString('base64') },
      { wrappedBlob: withAad },
      { wrappedBlob: without, additionalAuthenticatedData: aad },
    ];
    for (const body of cases) expectError(await s.call(s.target.keys.wrapA, 'unwrap', body), 400, 'INVALID_ARGUMENT');
  });

  test('unwrap of a tampered or truncated blob is INVALID_ARGUMENT', async () => {
    const s = get();
    const blob = await wrapOk(s, s.target.keys.wrapA, secretPlaintext(s));
    const length = Buffer.from(blob, 'base64').length;
    const tampered = [0, 1, 13, Math.floor(length / 2), -17, -1].map((i) => flipBit(blob, i));
    tampered.push(Buffer.from(blob, 'base64').subarray(0, length - 1).toString('base64'), '', 'AA==');
    for (const wrappedBlob of tampered) {
      expectError(await s.call(s.target.keys.wrapA, 'unwrap', { wrappedBlob }), 400, 'INVALID_ARGUMENT');
    }
  });

  test("unwrap of another key's blob is INVALID_ARGUMENT", async () => {
    const s = get();
    const blob = await wrapOk(s, s.target.keys.wrapB, secretPlaintext(s));
    expectError(await s.call(s.target.keys.wrapA, 'unwrap', { wrappedBlob: blob }), 400, 'INVALID_ARGUMENT');
  });

  test('64 KiB of plaintext and 64 KiB of AAD are accepted', async () => {
    const s = get();
    const plaintext = secretPlaintext(s, randomBytes(64 * 1024));
    const aad = randomBytes(64 * 1024).toString('base64');
    const blob = await wrapOk(s, s.target.keys.wrapA, plaintext, aad);
    const res = await s.call(s.target.keys.wrapA, 'unwrap', { wrappedBlob: blob, additionalAuthenticatedData: aad });
    expectOk(res);
    assert.equal(res.body.plaintext, plaintext);
  });

  test('a malformed body is INVALID_ARGUMENT', async () => {
    const s = get();
    const path = operationPath(s.target.keys.wrapA, 'wrap');
    expectError(await s.client.request('POST', path, { token: s.token(), raw: '{"plaintext": ' }), 400, 'INVALID_ARGUMENT');
    expectError(await s.call(s.target.keys.wrapA, 'wrap', { plaintext: '***not base64***' }), 400, 'INVALID_ARGUMENT');
    expectError(await s.call(s.target.keys.wrapA, 'wrap', {}), 400, 'INVALID_ARGUMENT');
  });
}

/** Tokens the EKM must refuse, each with why. */
function badTokens(s: Session): Array<[string, string | null]> {
  const now = Math.floor(Date.now() / 1000);
  const stranger = TokenSigner.generate(s.signer.issuer, s.signer.alg, s.signer.kid);
  const unknownIssuer = TokenSigner.generate('https://unknown-issuer.invalid', s.signer.alg, s.signer.kid);
  const claims = { iss: s.signer.issuer, aud: s.target.audience, email: s.target.callerEmail, email_verified: true, iat: now, exp: now + 300 };
  const header = { alg: s.signer.alg, typ: 'JWT', ...(s.signer.kid ? { kid: s.signer.kid } : {}) };
  const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const unsigned = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.`;
  const [head, , signature] = s.signer.signRaw(header, claims).split('.');
  const forged = `${head}.${b64url({ ...claims, exp: now + 99_999 })}.${signature}`;
  return [
    ['no token', null],
    ['a token that is not a JWT', 'not-a-jwt'],
    ['an expired token', s.token({ issuedAt: now - 3600, expiresIn: -600 })],
    ['a token for another audience', s.token({ audience: 'https://another-ekm.invalid' })],
    ['a token from the right issuer signed by another key', s.token({}, stranger)],
    ['a token from an unknown issuer', s.token({}, unknownIssuer)],
    ['an unsigned token (alg none)', unsigned],
    ['a token whose email is not verified', s.token({ emailVerified: false })],
    ['a token with its claims changed after signing', forged],
  ];
}

function authenticationChecks(get: () => Session): void {
  test('requests without a valid token are UNAUTHENTICATED', async (t) => {
    const s = get();
    for (const [why, token] of badTokens(s)) {
      await t.test(why, async () => {
        if (token) s.secrets.add(token);
        expectError(await s.call(s.target.keys.wrapA, 'wrap', { plaintext: secretPlaintext(s) }, token), 401, 'UNAUTHENTICATED');
      });
    }
  });
}

type Request = () => [string, EkmOperation, Record<string, unknown>];

/** One request per operation a denied reason is tried on (operations the target cannot exercise are left out). */
async function deniedReasonRequests(s: Session): Promise<Partial<Record<ReasonOperation, Request>>> {
  const { keys, cryptoSpace } = s.target;
  const blob = await wrapOk(s, keys.wrapA, secretPlaintext(s));
  const requests: Partial<Record<ReasonOperation, Request>> = {
    wrap: () => [keys.wrapA, 'wrap', { plaintext: secretPlaintext(s) }],
    unwrap: () => [keys.wrapA, 'unwrap', { wrappedBlob: blob }],
  };
  const signing = keys.signing?.[0];
  if (signing) {
    requests.getPublicKey = () => [signing.path, 'getPublicKey', {}];
    requests.asymmetricSign = () => [signing.path, 'asymmetricSign', { data: Buffer.from('x').toString('base64') }];
  }
  if (cryptoSpace) {
    requests.createKey = () => [cryptoSpace, 'createKey', { algorithm: 'EXTERNAL_SYMMETRIC_ENCRYPTION', requestId: randomBytes(8).toString('hex') }];
    // destroyKey is tried on a key made for the purpose, so a faulty EKM cannot destroy a fixture key.
    const created = await s.call(cryptoSpace, 'createKey', { algorithm: 'EXTERNAL_SYMMETRIC_ENCRYPTION', requestId: randomBytes(8).toString('hex') });
    expectOk(created);
    requests.destroyKey = () => [created.body.keyPath as string, 'destroyKey', {}];
  }
  return requests;
}

function authorizationChecks(get: () => Session): void {
  test('a caller not on the allow-list is PERMISSION_DENIED', async () => {
    const s = get();
    const token = s.token({ email: s.target.deniedCallerEmail });
    expectError(await s.call(s.target.keys.wrapA, 'wrap', { plaintext: secretPlaintext(s) }, token), 403, 'PERMISSION_DENIED');
    const blob = await wrapOk(s, s.target.keys.wrapA, secretPlaintext(s));
    expectError(await s.call(s.target.keys.wrapA, 'unwrap', { wrappedBlob: blob }, token), 403, 'PERMISSION_DENIED');
  });

  test('each reason the policy denies is PERMISSION_DENIED', async (t) => {
    const s = get();
    const requests = await deniedReasonRequests(s);
    for (const [op, reasons] of Object.entries(s.target.deniedReasons)) {
      for (const reason of reasons ?? []) {
        const request = requests[op as ReasonOperation];
        if (!request) continue;
        await t.test(`${op} with ${reason}`, async () => {
          const [path, operation, body] = request();
          expectError(await s.call(path, operation, { ...body, additionalContext: s.context(reason) }), 403, 'PERMISSION_DENIED');
        });
      }
    }
  });

  test('a missing or unrecognized reason is PERMISSION_DENIED', async () => {
    const s = get();
    const wrap = (reason: unknown) => s.call(s.target.keys.wrapA, 'wrap', { plaintext: secretPlaintext(s), additionalContext: s.context(reason as string) });
    if (s.target.missingReasonDenied !== false) {
      expectError(await wrap(null), 403, 'PERMISSION_DENIED');
      expectError(await wrap('REASON_UNSPECIFIED'), 403, 'PERMISSION_DENIED');
    }
    expectError(await wrap('NOT_A_REASON'), 403, 'PERMISSION_DENIED');
  });
}

function keyStateChecks(get: () => Session): void {
  test('a disabled key is FAILED_PRECONDITION', async () => {
    const s = get();
    expectError(await s.call(s.target.keys.disabled, 'wrap', { plaintext: secretPlaintext(s) }), 400, 'FAILED_PRECONDITION');
  });

  test('a destroyed key is FAILED_PRECONDITION', async () => {
    const s = get();
    expectError(await s.call(s.target.keys.destroyed, 'wrap', { plaintext: secretPlaintext(s) }), 400, 'FAILED_PRECONDITION');
  });

  test('an unknown key is NOT_FOUND', async () => {
    const s = get();
    expectError(await s.call(s.target.keys.unknown, 'wrap', { plaintext: secretPlaintext(s) }), 404, 'NOT_FOUND');
  });
}

/** The session, or undefined after marking the test skipped when the target has no crypto space. */
function withSpace(get: () => Session, t: TestContext): Session | undefined {
  const s = get();
  if (s.target.cryptoSpace) return s;
  t.skip('the target names no cryptoSpace');
  return undefined;
}

function controlPlaneChecks(get: () => Session): void {
  const space = () => get().target.cryptoSpace!;
  const algorithm = () => get().target.createKeyAlgorithm ?? 'EXTERNAL_SYMMETRIC_ENCRYPTION';

  test('createKey twice with the same requestId returns one key', async (t) => {
    const s = withSpace(get, t);
    if (!s) return;
    const requestId = `conformance-${randomBytes(8).toString('hex')}`;
    const first = await s.call(space(), 'createKey', { algorithm: algorithm(), requestId });
    expectOk(first);
    const second = await s.call(space(), 'createKey', { algorithm: algorithm(), requestId });
    expectOk(second);
    assert.equal(typeof first.body.keyPath, 'string');
    assert.equal(second.body.keyPath, first.body.keyPath);
    if (algorithm() === 'EXTERNAL_SYMMETRIC_ENCRYPTION') await wrapOk(s, first.body.keyPath as string, secretPlaintext(s));
  });

  test('destroyKey twice succeeds, and the key is then FAILED_PRECONDITION', async (t) => {
    const s = withSpace(get, t);
    if (!s) return;
    const created = await s.call(space(), 'createKey', { algorithm: 'EXTERNAL_SYMMETRIC_ENCRYPTION', requestId: randomBytes(8).toString('hex') });
    expectOk(created);
    const key = created.body.keyPath as string;
    expectOk(await s.call(key, 'destroyKey'));
    expectOk(await s.call(key, 'destroyKey'));
    expectError(await s.call(key, 'wrap', { plaintext: secretPlaintext(s) }), 400, 'FAILED_PRECONDITION');
  });

  test('createKey by a caller not on the allow-list is PERMISSION_DENIED', async (t) => {
    const s = withSpace(get, t);
    if (!s) return;
    const token = s.token({ email: s.target.deniedCallerEmail });
    expectError(await s.call(space(), 'createKey', { algorithm: algorithm(), requestId: randomBytes(8).toString('hex') }, token), 403, 'PERMISSION_DENIED');
  });

  test('checkCryptoSpacePermissions answers the subset the caller holds', async (t) => {
    const s = withSpace(get, t);
    if (!s) return;
    const asked = ['createKey', 'wrap', 'no.such.permission'];
    const mine = await s.call(space(), 'checkCryptoSpacePermissions', { permissions: asked });
    expectOk(mine);
    assert.ok(Array.isArray(mine.body.permissions) && mine.body.permissions.every((p: string) => asked.includes(p)));
    assert.ok(mine.body.permissions.includes('createKey'), mine.text);
    assert.ok(!mine.body.permissions.includes('no.such.permission'));
    const theirs = await s.call(space(), 'checkCryptoSpacePermissions', { permissions: asked }, s.token({ email: s.target.deniedCallerEmail }));
    if (theirs.status === 200) assert.deepEqual(theirs.body.permissions ?? [], []);
    else expectError(theirs, 403, 'PERMISSION_DENIED');
  });
}

/** Registers the whole suite; getTarget runs in `before`, teardown in `after`. */
export function registerConformanceSuite(
  name: string,
  getTarget: () => ConformanceTarget | Promise<ConformanceTarget>,
  teardown?: () => void | Promise<void>,
): void {
  void describe(`EKM conformance: ${name}`, () => {
    let session: Session | undefined;
    const get = () => {
      if (!session) throw new Error('the conformance target did not start');
      return session;
    };
    before(async () => {
      session = openSession(await getTarget());
    });
    after(async () => {
      session?.client.close();
      await teardown?.();
    });
    void describe('transport', () => transportChecks(get));
    void describe('wrap and unwrap', () => wrapChecks(get));
    void describe('authentication', () => authenticationChecks(get));
    void describe('authorization', () => authorizationChecks(get));
    void describe('key states', () => keyStateChecks(get));
    void describe('signing', () => signingChecks(get));
    void describe('control plane', () => controlPlaneChecks(get));
    // Last: it checks what every test before it left in the audit log.
    void describe('audit log', () => auditChecks(get));
  });
}
