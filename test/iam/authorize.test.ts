// The authorizer on the real store: a role matrix (each predefined role
// against the permissions representative RPCs of every service check),
// inheritance from key ring and project, conditions on time and resource,
// domain and allAuthenticatedUsers members, the server's admins, another
// project's principal denied, and the policy holders of each resource kind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Authorizer, policyHolders, resourceType, type Principal } from '../../src/services/iam/authorize';
import { requirementOf } from '../../src/services/iam/permissions';
import { openSqliteStore } from '../../src/store/sqlite';

const P = 'projects/p/locations/us-east1';
const RING = `${P}/keyRings/r`;
const KEY = `${RING}/cryptoKeys/k`;
const VERSION = `${KEY}/cryptoKeyVersions/1`;
const CONN = `${P}/ekmConnections/c`;
const alice: Principal = { member: 'user:alice@example.com', email: 'alice@example.com' };

async function withPolicies(policies: Record<string, { bindings: unknown[] }>, now = Date.UTC(2030, 0, 1), admins: string[] = []): Promise<Authorizer> {
  const store = openSqliteStore(':memory:');
  for (const [resource, policy] of Object.entries(policies)) {
    await store.iam.putIamPolicy({ resource, policy: JSON.stringify({ version: 3, auditConfigs: [], ...policy }), etag: 'AA==', revision: 0 });
  }
  return new Authorizer(store.iam, () => now, new Set(admins));
}

// Representative calls of every service, as the RPC table reads them.
const CALLS: Record<string, [string, Record<string, unknown>]> = {
  encrypt: ['google.cloud.kms.v1.KeyManagementService.Encrypt', { name: KEY }],
  decrypt: ['google.cloud.kms.v1.KeyManagementService.Decrypt', { name: KEY }],
  sign: ['google.cloud.kms.v1.KeyManagementService.AsymmetricSign', { name: VERSION }],
  publicKey: ['google.cloud.kms.v1.KeyManagementService.GetPublicKey', { name: VERSION }],
  macVerify: ['google.cloud.kms.v1.KeyManagementService.MacVerify', { name: VERSION }],
  getKey: ['google.cloud.kms.v1.KeyManagementService.GetCryptoKey', { name: KEY }],
  listKeys: ['google.cloud.kms.v1.KeyManagementService.ListCryptoKeys', { parent: RING }],
  createKey: ['google.cloud.kms.v1.KeyManagementService.CreateCryptoKey', { parent: RING }],
  destroy: ['google.cloud.kms.v1.KeyManagementService.DestroyCryptoKeyVersion', { name: VERSION }],
  setPolicy: ['google.iam.v1.IAMPolicy.SetIamPolicy', { resource: KEY }],
  getPolicy: ['google.iam.v1.IAMPolicy.GetIamPolicy', { resource: KEY }],
  getConn: ['google.cloud.kms.v1.EkmService.GetEkmConnection', { name: CONN }],
  verifyConn: ['google.cloud.kms.v1.EkmService.VerifyConnectivity', { name: CONN }],
  random: ['google.cloud.kms.v1.KeyManagementService.GenerateRandomBytes', { location: P }],
};

// Role -> the calls above it allows; every other call is denied.
const MATRIX: Record<string, string[]> = {
  'roles/cloudkms.admin': ['getKey', 'listKeys', 'createKey', 'destroy', 'setPolicy', 'getPolicy', 'getConn', 'verifyConn'],
  'roles/cloudkms.cryptoKeyEncrypterDecrypter': ['encrypt', 'decrypt'],
  'roles/cloudkms.cryptoKeyEncrypter': ['encrypt'],
  'roles/cloudkms.cryptoKeyDecrypter': ['decrypt'],
  'roles/cloudkms.signerVerifier': ['sign', 'publicKey', 'macVerify'],
  'roles/cloudkms.signer': ['sign'],
  'roles/cloudkms.verifier': ['publicKey', 'macVerify'],
  'roles/cloudkms.publicKeyViewer': ['publicKey'],
  'roles/cloudkms.viewer': ['getKey', 'listKeys', 'getConn'],
  'roles/cloudkms.cryptoOperator': ['encrypt', 'decrypt', 'sign', 'publicKey', 'macVerify', 'random'],
  'roles/cloudkms.importer': [],
  'roles/cloudkms.ekmConnectionsAdmin': ['getConn', 'verifyConn'],
  'roles/owner': Object.keys(CALLS),
  'roles/editor': ['getKey', 'listKeys', 'createKey', 'getPolicy', 'getConn', 'verifyConn', 'random'],
  'roles/viewer': ['getKey', 'listKeys', 'getPolicy', 'getConn', 'verifyConn', 'random'],
};

void test('role matrix: each role granted on the project allows exactly its calls', async () => {
  for (const [role, allowed] of Object.entries(MATRIX)) {
    const authz = await withPolicies({ 'projects/p': { bindings: [{ role, members: [alice.member] }] } });
    for (const [call, [method, request]] of Object.entries(CALLS)) {
      const need = requirementOf(method, request)!;
      assert.equal(await authz.allowed(alice, need.permission, need.resource), allowed.includes(call), `${role} ${call} (${need.permission} on ${need.resource})`);
    }
  }
});

void test('inheritance: a binding on the key ring reaches its keys and versions, not another ring; nothing reaches upward', async () => {
  const authz = await withPolicies({ [RING]: { bindings: [{ role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter', members: [alice.member] }] } });
  assert.ok(await authz.allowed(alice, 'cloudkms.cryptoKeyVersions.useToEncrypt', KEY));
  assert.ok(await authz.allowed(alice, 'cloudkms.cryptoKeyVersions.useToEncrypt', VERSION));
  assert.equal(await authz.allowed(alice, 'cloudkms.cryptoKeyVersions.useToEncrypt', `${P}/keyRings/other/cryptoKeys/k`), false);
  const onKey = await withPolicies({ [KEY]: { bindings: [{ role: 'roles/cloudkms.viewer', members: [alice.member] }] } });
  assert.equal(await onKey.allowed(alice, 'cloudkms.cryptoKeys.list', RING), false);
});

void test('cross-project: a principal bound in one project holds nothing in another', async () => {
  const authz = await withPolicies({ 'projects/p': { bindings: [{ role: 'roles/owner', members: [alice.member] }] } });
  assert.equal(await authz.allowed(alice, 'cloudkms.cryptoKeyVersions.useToEncrypt', 'projects/q/locations/us-east1/keyRings/r/cryptoKeys/k'), false);
});

void test('conditions: time-bounded and resource-bound bindings hold only while true; one that errors grants nothing', async () => {
  const binding = (expression: string) => ({ role: 'roles/cloudkms.cryptoKeyEncrypter', members: [alice.member], condition: { title: 't', expression } });
  const until2031 = binding('request.time < timestamp("2031-01-01T00:00:00Z")');
  assert.ok(await (await withPolicies({ [RING]: { bindings: [until2031] } }, Date.UTC(2030, 5, 1))).allowed(alice, 'cloudkms.cryptoKeyVersions.useToEncrypt', KEY));
  assert.equal(await (await withPolicies({ [RING]: { bindings: [until2031] } }, Date.UTC(2031, 5, 1))).allowed(alice, 'cloudkms.cryptoKeyVersions.useToEncrypt', KEY), false);
  const onlyK = await withPolicies({ [RING]: { bindings: [binding(`resource.name.startsWith("${KEY}") && resource.type == "cloudkms.googleapis.com/CryptoKey"`)] } });
  assert.ok(await onlyK.allowed(alice, 'cloudkms.cryptoKeyVersions.useToEncrypt', KEY));
  assert.equal(await onlyK.allowed(alice, 'cloudkms.cryptoKeyVersions.useToEncrypt', `${RING}/cryptoKeys/other`), false);
  const broken = await withPolicies({ [RING]: { bindings: [binding('request.nothing == 1')] } });
  assert.equal(await broken.allowed(alice, 'cloudkms.cryptoKeyVersions.useToEncrypt', KEY), false);
});

void test('members: domain:, allAuthenticatedUsers; another user is not named; --admin principals hold everything', async () => {
  const byDomain = await withPolicies({ 'projects/p': { bindings: [{ role: 'roles/cloudkms.viewer', members: ['domain:example.com'] }] } });
  assert.ok(await byDomain.allowed(alice, 'cloudkms.cryptoKeys.get', KEY));
  assert.equal(await byDomain.allowed({ member: 'user:eve@example.org', email: 'eve@example.org' }, 'cloudkms.cryptoKeys.get', KEY), false);
  const anyone = await withPolicies({ [KEY]: { bindings: [{ role: 'roles/cloudkms.publicKeyViewer', members: ['allAuthenticatedUsers'] }] } });
  assert.ok(await anyone.allowed(alice, 'cloudkms.cryptoKeyVersions.viewPublicKey', VERSION));
  const bob = await withPolicies({ [KEY]: { bindings: [{ role: 'roles/owner', members: ['user:bob@example.com'] }] } });
  assert.equal(await bob.allowed(alice, 'cloudkms.cryptoKeys.get', KEY), false);
  const admin = await withPolicies({}, undefined, [alice.member]);
  assert.ok(await admin.allowed(alice, 'cloudkms.cryptoKeys.setIamPolicy', KEY));
});

void test('policy holders and resource types of each kind', () => {
  assert.deepEqual(policyHolders(VERSION), [KEY, RING, 'projects/p']);
  assert.deepEqual(policyHolders(`${P}/ekmConfig`), [`${P}/ekmConfig`, 'projects/p']);
  assert.deepEqual(policyHolders(CONN), [CONN, 'projects/p']);
  assert.deepEqual(policyHolders(P), ['projects/p']);
  assert.equal(resourceType(VERSION), 'cloudkms.googleapis.com/CryptoKeyVersion');
  assert.equal(resourceType(`${P}/ekmConfig`), 'cloudkms.googleapis.com/EkmConfig');
  assert.equal(resourceType(RING), 'cloudkms.googleapis.com/KeyRing');
});
