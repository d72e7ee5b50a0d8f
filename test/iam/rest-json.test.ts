// The IAM mixin over REST as gcloud and other JSON clients send it (the
// official Node client's IAM protos predate audit_configs, so these are
// plain HTTP): GetIamPolicy by GET with options.requestedPolicyVersion in the
// query and by POST with a body, audit configs set and kept per update_mask
// (a JSON FieldMask string), and bad audit configs refused naming the field.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type Harness, startKms, uniqueId } from '../helpers/kms';

const LOCATION = 'projects/iam-rest/locations/us-east1';

describe('IAM policies over REST JSON', () => {
  let kms: Harness;
  let ring: string;
  // The answers' JSON, read loosely: each test checks the fields it needs.
  type Json = Record<string, unknown> & { error: { status: string; message: string }; etag?: string; bindings?: unknown; auditConfigs?: unknown };
  const call = async (method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: Json }> => {
    const res = await fetch(`${kms.server.addresses.rest}/v1/${path}`, {
      method, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    return { status: res.status, json: (await res.json()) as Json };
  };

  before(async () => {
    kms = await startKms();
    const [r] = await kms.client.createKeyRing({ parent: LOCATION, keyRingId: uniqueId('ring'), keyRing: {} });
    ring = r.name!;
  });
  after(() => kms?.close());

  test('GET and POST getIamPolicy both answer; the empty policy is {"etag":"ACAB"}', async () => {
    assert.deepEqual((await call('GET', `${ring}:getIamPolicy`)).json, { etag: 'ACAB' });
    assert.deepEqual((await call('GET', `${ring}:getIamPolicy?options.requestedPolicyVersion=3`)).json, { etag: 'ACAB' });
    assert.deepEqual((await call('POST', `${ring}:getIamPolicy`, { options: { requestedPolicyVersion: 3 } })).json, { etag: 'ACAB' });
  });

  test('audit configs are set when the mask names them and kept by the default mask', async () => {
    const auditConfigs = [{ service: 'allServices', auditLogConfigs: [{ logType: 'DATA_READ', exemptedMembers: ['user:quiet@example.com'] }, { logType: 'ADMIN_READ' }] }];
    const set = await call('POST', `${ring}:setIamPolicy`, {
      policy: { bindings: [{ role: 'roles/cloudkms.viewer', members: ['user:a@example.com'] }], auditConfigs },
      updateMask: 'bindings,auditConfigs',
    });
    assert.equal(set.status, 200, JSON.stringify(set.json));
    assert.deepEqual(set.json.auditConfigs, auditConfigs);
    const next = await call('POST', `${ring}:setIamPolicy`, { policy: { bindings: [], etag: set.json.etag, auditConfigs: [] } });
    assert.equal(next.status, 200, JSON.stringify(next.json));
    assert.deepEqual(next.json.auditConfigs, auditConfigs, 'the default mask (bindings, etag) leaves them');
    assert.equal(next.json.bindings, undefined);
  });

  test('bad audit configs are 400 naming the field', async () => {
    const cases: [unknown, RegExp][] = [
      [[{ service: 'storage.googleapis.com' }], /policy\.audit_configs\[0\]\.service: 'storage\.googleapis\.com' is not allServices or cloudkms\.googleapis\.com/],
      [[{ service: 'allServices', auditLogConfigs: [{ logType: 'LOG_TYPE_UNSPECIFIED' }] }], /audit_log_configs\[0\]\.log_type: must be ADMIN_READ, DATA_WRITE or DATA_READ/],
      [[{ service: 'allServices', auditLogConfigs: [{ logType: 'DATA_READ', exemptedMembers: ['nobody'] }] }], /exempted_members\[0\]: 'nobody' is not a principal/],
    ];
    for (const [auditConfigs, words] of cases) {
      const res = await call('POST', `${ring}:setIamPolicy`, { policy: { auditConfigs }, updateMask: 'auditConfigs' });
      assert.equal(res.status, 400);
      assert.equal(res.json.error.status, 'INVALID_ARGUMENT');
      assert.match(res.json.error.message, words);
    }
  });

  test('update_mask: a path other than bindings, etag, audit_configs and version is 400 naming it', async () => {
    const res = await call('POST', `${ring}:setIamPolicy`, { policy: {}, updateMask: 'bindings,name' });
    assert.equal(res.status, 400);
    assert.match(res.json.error.message, /update_mask: unknown field 'name'/);
  });

  test('a route other than the five resource kinds is not an IAM route', async () => {
    const res = await call('GET', `${ring}/cryptoKeys/k/cryptoKeyVersions/1:getIamPolicy`);
    assert.equal(res.status, 404);
  });
});
