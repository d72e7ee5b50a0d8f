// The enforcement wrappers on their own: a call without the permission never
// reaches its service (so an external key's EKM is never asked), a call with
// it does; a call with no principal is UNAUTHENTICATED; and `--auth none` on
// an address off loopback logs the warning line before it binds (the address
// here is TEST-NET, which this machine does not have: the bind fails).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withAuthorization } from '../../src/api/auth';
import type { Handler } from '../../src/api/methods';
import { Code, KmsError } from '../../src/errors';
import { createServer } from '../../src/server';
import { Authorizer } from '../../src/services/iam/authorize';
import { openSqliteStore } from '../../src/store/sqlite';

const ENCRYPT = 'google.cloud.kms.v1.KeyManagementService.Encrypt';
const KEY = 'projects/p/locations/us-east1/keyRings/r/cryptoKeys/external';

void test('a call without its permission never reaches the service (nor an EKM behind it); one with it does', async () => {
  const store = openSqliteStore(':memory:');
  await store.iam.putIamPolicy({
    resource: 'projects/p/locations/us-east1/keyRings/r', etag: 'AA==', revision: 0,
    policy: JSON.stringify({ version: 1, auditConfigs: [], bindings: [{ role: 'roles/cloudkms.cryptoKeyEncrypter', members: ['user:alice@example.com'] }] }),
  });
  let reached = 0;
  const service: Handler = async () => {
    reached++;
    return { ciphertext: Buffer.alloc(0) };
  };
  const table = withAuthorization(new Map([[ENCRYPT, service]]), new Authorizer(store.iam, () => Date.now()), new Set());
  const handler = table.get(ENCRYPT)!;
  const request = { name: KEY, plaintext: Buffer.from('x') };
  await assert.rejects(handler(request, { headers: {}, principal: { member: 'user:eve@example.com', email: 'eve@example.com' } }), (err: KmsError) =>
    err.code === Code.PERMISSION_DENIED && err.message === `Permission 'cloudkms.cryptoKeyVersions.useToEncrypt' denied on resource '${KEY}' (or it may not exist).`);
  assert.equal(reached, 0);
  await assert.rejects(handler(request, { headers: {} }), (err: KmsError) => err.code === Code.UNAUTHENTICATED);
  assert.equal(reached, 0);
  await handler(request, { headers: {}, principal: { member: 'user:alice@example.com', email: 'alice@example.com' } });
  assert.equal(reached, 1);
  // The second call of the same caller on the same key is decided without reading the policies again, with the same answer.
  await handler(request, { headers: {}, principal: { member: 'user:alice@example.com', email: 'alice@example.com' } });
  assert.equal(reached, 2);
  await store.close();
});

void test('--auth none off loopback logs that anyone may do anything', async () => {
  const lines: string[] = [];
  const logger = { info: () => undefined, error: (message: string) => void lines.push(message) };
  await assert.rejects(createServer({ inMemory: true, logger, host: '192.0.2.1' }));
  assert.ok(lines.some((l) => /--auth none on a non-loopback address: anyone who reaches these ports may use, disable or destroy any key/.test(l)), lines.join('\n'));
});
