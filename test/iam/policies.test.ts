// The IAMPolicy mixin through the official client, over gRPC and REST: an
// empty policy's etag, set then get, read-modify-write with a stale etag
// (ABORTED), conditional bindings (version 3; a version-1 reader sees
// _withcond_ roles), TestIamPermissions, the
// five resource kinds, and a table of bad requests, each answered with the
// right code and our words naming the field. (The client's IAM protos
// predate update_mask and audit_configs: rest-json.test.ts covers those.)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { type Harness, startKms, TRANSPORTS, uniqueId } from '../helpers/kms';

const LOCATION = 'projects/iam-test/locations/us-east1';
const ACAB = Buffer.from('ACAB', 'base64');

type Policy = { version?: number | null; bindings?: { role?: string | null; members?: string[] | null; condition?: Record<string, unknown> | null }[] | null; etag?: Uint8Array | string | null; auditConfigs?: unknown[] | null };
type IamCalls = {
  getIamPolicy(r: object): Promise<[Policy]>;
  setIamPolicy(r: object): Promise<[Policy]>;
  testIamPermissions(r: object): Promise<[{ permissions?: string[] | null }]>;
};
const etagBytes = (p: Policy): Buffer => (typeof p.etag === 'string' ? Buffer.from(p.etag, 'base64') : Buffer.from(p.etag ?? []));

async function rejectsWith(promise: Promise<unknown>, code: number, words: RegExp): Promise<void> {
  await assert.rejects(promise, (err: { code?: number; details?: unknown; message?: string }) => {
    assert.equal(err.code, code, `code of: ${err.message}`);
    assert.match(typeof err.details === 'string' ? err.details : (err.message ?? ''), words);
    return true;
  });
}

for (const transport of TRANSPORTS) {
  describe(`IAM policies (${transport})`, () => {
    let kms: Harness;
    let ring: string;
    let key: string;
    // The official client's IAM mixin (its request types are protobufjs classes; plain objects are what it takes).
    const iam = (): IamCalls => kms.client as unknown as IamCalls;

    before(async () => {
      kms = await startKms({ transport });
      const [r] = await kms.client.createKeyRing({ parent: LOCATION, keyRingId: uniqueId('ring'), keyRing: {} });
      ring = r.name!;
      const [k] = await kms.client.createCryptoKey({ parent: ring, cryptoKeyId: 'k', cryptoKey: { purpose: 'ENCRYPT_DECRYPT' } });
      key = k.name!;
    });
    after(() => kms?.close());

    test('a resource never given a policy has the empty one: etag ACAB, no version, no bindings', async () => {
      const [policy] = await iam().getIamPolicy({ resource: ring });
      assert.deepEqual(etagBytes(policy as Policy), ACAB);
      assert.ok(!policy.version);
      assert.equal(policy.bindings?.length ?? 0, 0);
    });

    test('set then get; an etag from before is ABORTED; one from the last read succeeds', async () => {
      const bindings = [{ role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter', members: ['serviceAccount:app@p.iam.gserviceaccount.com', 'user:a@example.com'] }];
      const [set] = await iam().setIamPolicy({ resource: key, policy: { bindings, etag: ACAB } });
      assert.equal(set.version, 1);
      assert.deepEqual(set.bindings?.map((b) => [b.role, b.members]), bindings.map((b) => [b.role, b.members]));
      const [got] = await iam().getIamPolicy({ resource: key });
      assert.deepEqual(etagBytes(got as Policy), etagBytes(set as Policy));
      await rejectsWith(iam().setIamPolicy({ resource: key, policy: { bindings: [], etag: ACAB } }), GrpcStatus.ABORTED, /concurrent policy changes/);
      const [cleared] = await iam().setIamPolicy({ resource: key, policy: { bindings: [], etag: got.etag } });
      assert.equal(cleared.bindings?.length ?? 0, 0);
    });

    test('bindings of one role merge and members are unique; bindings left empty are dropped', async () => {
      const [set] = await iam().setIamPolicy({
        resource: ring,
        policy: { bindings: [
          { role: 'roles/cloudkms.viewer', members: ['user:a@example.com'] },
          { role: 'roles/cloudkms.viewer', members: ['user:a@example.com', 'group:g@example.com'] },
          { role: 'roles/cloudkms.signer', members: [] },
        ] },
      });
      assert.deepEqual(set.bindings?.map((b) => [b.role, b.members]), [['roles/cloudkms.viewer', ['user:a@example.com', 'group:g@example.com']]]);
    });

    test('a conditional binding needs version 3; a version-1 reader sees the role with _withcond_', async () => {
      const condition = { title: 'until 2031', expression: 'request.time < timestamp("2031-01-01T00:00:00Z")' };
      await rejectsWith(
        iam().setIamPolicy({ resource: ring, policy: { version: 1, bindings: [{ role: 'roles/cloudkms.viewer', members: ['user:a@example.com'], condition }] } }),
        GrpcStatus.INVALID_ARGUMENT, /policy\.version: a policy with a conditional binding/,
      );
      const [set] = await iam().setIamPolicy({ resource: ring, policy: { version: 3, bindings: [{ role: 'roles/cloudkms.viewer', members: ['user:a@example.com'], condition }] } });
      assert.equal(set.version, 3);
      const [v3] = await iam().getIamPolicy({ resource: ring, options: { requestedPolicyVersion: 3 } });
      assert.equal(v3.version, 3);
      assert.equal(v3.bindings?.[0].condition?.expression, condition.expression);
      const [v1] = await iam().getIamPolicy({ resource: ring, options: { requestedPolicyVersion: 1 } });
      assert.equal(v1.version, 1);
      assert.match(v1.bindings?.[0].role ?? '', /^roles\/cloudkms\.viewer_withcond_[0-9a-f]{20}$/);
      assert.ok(!v1.bindings?.[0].condition);
    });

    test('TestIamPermissions: every valid permission is held without authentication; none on a resource that does not exist', async () => {
      const [held] = await iam().testIamPermissions({ resource: key, permissions: ['cloudkms.cryptoKeyVersions.useToEncrypt', 'cloudkms.cryptoKeys.get'] });
      assert.deepEqual(held.permissions, ['cloudkms.cryptoKeyVersions.useToEncrypt', 'cloudkms.cryptoKeys.get']);
      const [none] = await iam().testIamPermissions({ resource: `${ring}/cryptoKeys/absent`, permissions: ['cloudkms.cryptoKeys.get'] });
      assert.equal(none.permissions?.length ?? 0, 0);
    });

    test('EkmConfig and EkmConnections hold policies too; an absent resource is NOT_FOUND', async () => {
      const config = `${LOCATION}/ekmConfig`;
      const [set] = await iam().setIamPolicy({ resource: config, policy: { bindings: [{ role: 'roles/cloudkms.ekmConnectionsAdmin', members: ['user:ops@example.com'] }] } });
      assert.equal(set.bindings?.[0].role, 'roles/cloudkms.ekmConnectionsAdmin');
      await rejectsWith(iam().getIamPolicy({ resource: `${LOCATION}/ekmConnections/absent` }), GrpcStatus.NOT_FOUND, /EkmConnection .* not found/);
      await rejectsWith(iam().getIamPolicy({ resource: `${ring}/importJobs/absent` }), GrpcStatus.NOT_FOUND, /ImportJob .* not found/);
      await rejectsWith(iam().getIamPolicy({ resource: `${ring}/cryptoKeys/absent` }), GrpcStatus.NOT_FOUND, /CryptoKey .* not found/);
    });

    // Each bad request: its code and words naming the field, never a library's message.
    const BAD: ReadonlyArray<readonly [string, () => { resource: string; policy?: Policy; permissions?: string[] }, 'set' | 'get' | 'test', RegExp]> = [
      ['empty resource', () => ({ resource: '' }), 'get', /resource: required field is empty/],
      ['a version is not a resource with a policy', () => ({ resource: `${key}/cryptoKeyVersions/1` }), 'get', /resource: .* is not the name of a resource with an IAM policy/],
      ['unknown role', () => ({ resource: ring, policy: { bindings: [{ role: 'roles/storage.admin', members: ['user:a@example.com'] }] } }), 'set', /bindings\[0\]\.role: Role roles\/storage\.admin is not supported for this resource/],
      ['the MAC roles Cloud KMS does not define', () => ({ resource: ring, policy: { bindings: [{ role: 'roles/cloudkms.macSigner', members: ['user:a@example.com'] }] } }), 'set', /Role roles\/cloudkms\.macSigner is not supported/],
      ['empty role', () => ({ resource: ring, policy: { bindings: [{ role: '', members: ['user:a@example.com'] }] } }), 'set', /bindings\[0\]\.role: required field is empty/],
      ['member without a kind', () => ({ resource: ring, policy: { bindings: [{ role: 'roles/cloudkms.viewer', members: ['a@example.com'] }] } }), 'set', /bindings\[0\]\.members\[0\]: 'a@example\.com' is not a principal/],
      ['user without an email', () => ({ resource: ring, policy: { bindings: [{ role: 'roles/cloudkms.viewer', members: ['user:nobody'] }] } }), 'set', /members\[0\]: 'user:nobody' is not a principal/],
      ['policy version 2', () => ({ resource: ring, policy: { version: 2 } }), 'set', /policy\.version: 2 is not a policy version/],
      ['condition without a title', () => ({ resource: ring, policy: { version: 3, bindings: [{ role: 'roles/cloudkms.viewer', members: ['user:a@example.com'], condition: { expression: 'true' } }] } }), 'set', /condition\.title: required field is empty/],
      ['condition that is not CEL', () => ({ resource: ring, policy: { version: 3, bindings: [{ role: 'roles/cloudkms.viewer', members: ['user:a@example.com'], condition: { title: 't', expression: 'request.time <' } }] } }), 'set', /condition\.expression: not a valid CEL expression \(syntax error at line 1, column \d+\)/],
      ['condition on a basic role', () => ({ resource: ring, policy: { version: 3, bindings: [{ role: 'roles/viewer', members: ['user:a@example.com'], condition: { title: 't', expression: 'true' } }] } }), 'set', /IAM Conditions can't be used with the basic role roles\/viewer/],
      ['wildcard permission', () => ({ resource: ring, permissions: ['cloudkms.*'] }), 'test', /permissions\[0\]: permissions with wildcards/],
      ['unknown permission', () => ({ resource: ring, permissions: ['storage.objects.get'] }), 'test', /permissions\[0\]: 'storage\.objects\.get' is not a Cloud KMS permission/],
      ['permission of another resource kind', () => ({ resource: `${LOCATION}/ekmConfig`, permissions: ['cloudkms.cryptoKeys.get'] }), 'test', /permission 'cloudkms\.cryptoKeys\.get' is not valid for a EkmConfig/],
    ];
    test('bad requests are INVALID_ARGUMENT in our words, naming the field', async () => {
      for (const [name, make, call, words] of BAD) {
        const req = make();
        // The REST client builds no request for an empty resource (its path template needs one).
        // Over REST, a name of no IAM resource kind matches no route: 404 (rest-json.test.ts).
        if (transport === 'rest' && (req.resource === '' || name.startsWith('a version'))) continue;
        const run = call === 'set'
          ? iam().setIamPolicy({ resource: req.resource, policy: req.policy })
          : call === 'test' ? iam().testIamPermissions({ resource: req.resource, permissions: req.permissions })
            : iam().getIamPolicy({ resource: req.resource });
        await rejectsWith(run, GrpcStatus.INVALID_ARGUMENT, words).catch((err: Error) => {
          throw new Error(`${name}: ${err.message}`);
        });
      }
    });
  });
}
