// `--auth required` end to end, with the official client over gRPC and REST:
// tokens from a trusted issuer authenticate; missing, expired, foreign-issuer,
// wrong-audience and badly signed tokens are UNAUTHENTICATED; a principal
// granted a role on a key ring may use its keys and nothing else; Cloud KMS's
// PERMISSION_DENIED wording, the same for a key that does not exist; another
// project is denied; the server's --admin may do anything; TestIamPermissions
// answers what the caller holds; a start off loopback without TLS is
// refused.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { PassThroughClient } from 'google-auth-library';
import { createServer, KMS_AUDIENCE, type OpenEkmServer } from '../../src/server';
import { silentLogger } from '../../src/log';
import { TokenSigner } from '../../src/ekm-conformance/tokens';
import { tempDir, writeJwks } from '../ekm-server/helpers';
import { TRANSPORTS, type Transport } from '../helpers/kms';

const ISSUER = 'https://issuer.auth.test';
const ADMIN = 'admin@example.com';
const ALICE = 'alice@example.com';
const LOCATION = 'projects/auth-p/locations/us-east1';

type Kms = KeyManagementServiceClient;
type Call = (request: object, options: object) => Promise<unknown[]>;

/**
 * The official client, its calls carrying `Authorization: Bearer` through
 * gax's per-call headers (gRPC metadata, or HTTP headers over REST). The KMS
 * serves plaintext gRPC on loopback, where grpc-js sends no call credentials.
 */
function clientFor(server: OpenEkmServer, transport: Transport): Kms {
  return transport === 'grpc'
    ? new KeyManagementServiceClient({ apiEndpoint: '127.0.0.1', port: server.grpcPort, sslCreds: grpc.credentials.createInsecure() })
    : new KeyManagementServiceClient({ apiEndpoint: '127.0.0.1', port: server.restPort, protocol: 'http', fallback: 'rest', authClient: new PassThroughClient() });
}

async function rejectsCode(promise: Promise<unknown>, code: number, words?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: { code?: number; message?: string; details?: unknown }) => {
    assert.equal(err.code, code, err.message);
    if (words) assert.match(typeof err.details === 'string' ? err.details : (err.message ?? ''), words);
    return true;
  });
}

for (const transport of TRANSPORTS) {
  describe(`--auth required (${transport})`, () => {
    const signer = TokenSigner.generate(ISSUER, 'ES256');
    const stranger = TokenSigner.generate('https://other.issuer.test', 'ES256');
    const tokenFor = (email: string, extra: { audience?: string; expiresIn?: number } = {}) =>
      signer.token({ email, audience: extra.audience ?? KMS_AUDIENCE, expiresIn: extra.expiresIn });
    let server: OpenEkmServer;
    let current: string | undefined;
    let client: Kms;
    /** Calls `method` with the current token. */
    const as = async <T = Record<string, unknown>>(method: string, request: object): Promise<T> => {
      const headers = current === undefined ? {} : { authorization: `Bearer ${current}` };
      const [answer] = await (client as unknown as Record<string, Call>)[method].call(client, request, { otherArgs: { headers } });
      return answer as T;
    };
    let ring: string;
    let key: string;

    before(async () => {
      const dir = tempDir('openekm-auth-');
      server = await createServer({
        inMemory: true, logger: silentLogger, schedulerIntervalMs: 0,
        auth: { mode: 'required', trustedIssuers: [{ issuer: ISSUER, jwks: writeJwks(dir, signer) }], admins: [`user:${ADMIN}`] },
      });
      client = clientFor(server, transport);
      current = tokenFor(ADMIN);
      ring = (await as<{ name: string }>('createKeyRing', { parent: LOCATION, keyRingId: 'ring', keyRing: {} })).name;
      key = (await as<{ name: string }>('createCryptoKey', { parent: ring, cryptoKeyId: 'k', cryptoKey: { purpose: 'ENCRYPT_DECRYPT' } })).name;
      await as('setIamPolicy', { resource: ring, policy: { bindings: [{ role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter', members: [`user:${ALICE}`] }] } });
    });
    after(async () => {
      await client?.close();
      await server?.close();
    });

    test('missing, expired, foreign, wrong-audience and tampered tokens are UNAUTHENTICATED in our words', async () => {
      const cases: [string | undefined, RegExp][] = [
        [undefined, /no Authorization: Bearer token/],
        [tokenFor(ALICE, { expiresIn: -120 }), /expired/],
        [stranger.token({ email: ALICE, audience: KMS_AUDIENCE }), /issuer is not trusted by this KMS/],
        [tokenFor(ALICE, { audience: 'https://elsewhere.test/' }), /audience is not this KMS/],
        [`${tokenFor(ALICE).slice(0, -4)}AAAA`, /signature does not verify/],
      ];
      for (const [token, words] of cases) {
        current = token;
        await rejectsCode(as('getKeyRing', { name: ring }), grpc.status.UNAUTHENTICATED, words);
      }
    });

    test('a role on the key ring lets its holder use the keys, and nothing else; denial reads as Cloud KMS words it', async () => {
      current = tokenFor(ALICE);
      const enc = await as<{ ciphertext: Uint8Array }>('encrypt', { name: key, plaintext: Buffer.from('hi') });
      const dec = await as<{ plaintext: Uint8Array }>('decrypt', { name: key, ciphertext: enc.ciphertext });
      assert.equal(Buffer.from(dec.plaintext).toString(), 'hi');
      await rejectsCode(as('getCryptoKey', { name: key }), grpc.status.PERMISSION_DENIED, new RegExp(`Permission 'cloudkms\\.cryptoKeys\\.get' denied on resource '${key}' \\(or it may not exist\\)\\.`));
      await rejectsCode(as('destroyCryptoKeyVersion', { name: `${key}/cryptoKeyVersions/1` }), grpc.status.PERMISSION_DENIED, /cloudkms\.cryptoKeyVersions\.destroy/);
      // A key that does not exist reads the same: nothing leaks whether it does.
      await rejectsCode(as('getCryptoKey', { name: `${ring}/cryptoKeys/absent` }), grpc.status.PERMISSION_DENIED, /\(or it may not exist\)/);
      await rejectsCode(as('encrypt', { name: 'projects/other-p/locations/us-east1/keyRings/ring/cryptoKeys/k', plaintext: Buffer.from('x') }), grpc.status.PERMISSION_DENIED, /useToEncrypt' denied on resource 'projects\/other-p\//);
    });

    test('TestIamPermissions answers what the caller holds', async () => {
      current = tokenFor(ALICE);
      const held = await as<{ permissions?: string[] }>('testIamPermissions', {
        resource: key, permissions: ['cloudkms.cryptoKeyVersions.useToEncrypt', 'cloudkms.cryptoKeys.get', 'cloudkms.cryptoKeys.setIamPolicy'],
      });
      assert.deepEqual(held.permissions, ['cloudkms.cryptoKeyVersions.useToEncrypt']);
    });

    test('a decision follows the policy: a binding removed denies the next call, restored allows it again', async () => {
      current = tokenFor(ALICE);
      await as('encrypt', { name: key, plaintext: Buffer.from('a') });
      current = tokenFor(ADMIN);
      const before = await as<{ etag: Uint8Array }>('getIamPolicy', { resource: ring });
      await as('setIamPolicy', { resource: ring, policy: { bindings: [] } });
      current = tokenFor(ALICE);
      await rejectsCode(as('encrypt', { name: key, plaintext: Buffer.from('b') }), grpc.status.PERMISSION_DENIED);
      current = tokenFor(ADMIN);
      await as('setIamPolicy', { resource: ring, policy: { bindings: [{ role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter', members: [`user:${ALICE}`] }] } });
      current = tokenFor(ALICE);
      await as('encrypt', { name: key, plaintext: Buffer.from('c') });
      assert.ok(before.etag);
    });

    test('role matrix over the wire: each role bound on the key ring allows exactly its calls of the key ring\'s keys', async () => {
      // Role -> the calls below it allows (the evaluator-level matrix in authorize.test.ts covers EkmService and Locations too).
      const matrix: Record<string, string[]> = {
        'roles/cloudkms.admin': ['getCryptoKey', 'listCryptoKeys', 'getIamPolicy', 'setIamPolicy'],
        'roles/cloudkms.cryptoKeyEncrypterDecrypter': ['encrypt', 'decrypt'],
        'roles/cloudkms.cryptoKeyEncrypter': ['encrypt'],
        'roles/cloudkms.cryptoKeyDecrypter': ['decrypt'],
        'roles/cloudkms.signerVerifier': [],
        'roles/cloudkms.viewer': ['getCryptoKey', 'listCryptoKeys'],
        'roles/cloudkms.cryptoOperator': ['encrypt', 'decrypt'],
        'roles/owner': ['encrypt', 'decrypt', 'getCryptoKey', 'listCryptoKeys', 'getIamPolicy', 'setIamPolicy'],
        'roles/editor': ['getCryptoKey', 'listCryptoKeys', 'getIamPolicy'],
        'roles/viewer': ['getCryptoKey', 'listCryptoKeys', 'getIamPolicy'],
      };
      current = tokenFor(ADMIN);
      const matrixRing = (await as<{ name: string }>('createKeyRing', { parent: LOCATION, keyRingId: `matrix-${transport}`, keyRing: {} })).name;
      const matrixKey = (await as<{ name: string }>('createCryptoKey', { parent: matrixRing, cryptoKeyId: 'k', cryptoKey: { purpose: 'ENCRYPT_DECRYPT' } })).name;
      const { ciphertext } = await as<{ ciphertext: Uint8Array }>('encrypt', { name: matrixKey, plaintext: Buffer.from('m') });
      const members = Object.keys(matrix).map((_, i) => `role${i}@example.com`);
      await as('setIamPolicy', { resource: matrixRing, policy: { bindings: Object.keys(matrix).map((role, i) => ({ role, members: [`user:${members[i]}`] })) } });
      const calls: Record<string, [string, () => object]> = {
        encrypt: ['encrypt', () => ({ name: matrixKey, plaintext: Buffer.from('x') })],
        decrypt: ['decrypt', () => ({ name: matrixKey, ciphertext })],
        getCryptoKey: ['getCryptoKey', () => ({ name: matrixKey })],
        listCryptoKeys: ['listCryptoKeys', () => ({ parent: matrixRing })],
        getIamPolicy: ['getIamPolicy', () => ({ resource: matrixKey })],
        // An empty policy on the key: the ring's bindings still apply.
        setIamPolicy: ['setIamPolicy', () => ({ resource: matrixKey, policy: { bindings: [] } })],
      };
      for (const [i, [role, allowed]] of Object.entries(matrix).entries()) {
        current = tokenFor(members[i]);
        for (const [name, [method, request]] of Object.entries(calls)) {
          const outcome = await as(method, request()).then(() => 'allowed', (err: { code?: number }) => (err.code === grpc.status.PERMISSION_DENIED ? 'denied' : `code ${err.code}`));
          assert.equal(outcome, allowed.includes(name) ? 'allowed' : 'denied', `${role} ${name}`);
        }
      }
    });

    test('the --admin principal may do anything, in any project', async () => {
      current = tokenFor(ADMIN);
      const other = await as<{ name: string }>('createKeyRing', { parent: 'projects/another/locations/us-east1', keyRingId: 'r2', keyRing: {} });
      assert.match(other.name, /keyRings\/r2$/);
    });
  });
}

void test('--auth required refuses to start off loopback without TLS', async () => {
  const signer = TokenSigner.generate(ISSUER, 'ES256');
  const jwks = writeJwks(tempDir('openekm-auth-'), signer);
  await assert.rejects(
    createServer({ inMemory: true, logger: silentLogger, host: '0.0.0.0', auth: { mode: 'required', trustedIssuers: [{ issuer: ISSUER, jwks }] } }),
    /needs --tls-cert and --tls-key/,
  );
});
