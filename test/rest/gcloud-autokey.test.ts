// gcloud's Autokey commands against the REST port: `kms autokey-config
// update/describe/show-effective-config` and `kms key-handles
// create/describe/list`, with a resource hierarchy from the operator; outputs
// checked, and the key a handle made is used.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Gcloud, gcloudSkip, startGcloud } from '../helpers/gcloud';
import { type Harness, startKms, tempDir } from '../helpers/kms';

type Config = { name: string; keyProject?: string; state?: string; etag?: string };
type Handle = { name: string; kmsKey: string; resourceTypeSelector: string };

describe('gcloud kms autokey-config and key-handles against the REST port', { skip: gcloudSkip() }, () => {
  let kms: Harness;
  let gcloud: Gcloud;
  let dir: string;

  before(async () => {
    kms = await startKms({ resourceHierarchy: { projects: { 'gc-app': 'folders/77' }, folders: { 77: 'organizations/9' } } });
    dir = tempDir('openekm-gcloud-autokey-');
    gcloud = startGcloud({ cloudkms: kms.server.addresses.rest }, 'gc-app', dir);
  });
  after(async () => {
    gcloud?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    await kms?.close();
  });

  test('autokey-config update from a file, describe, show-effective-config', async () => {
    const before = await gcloud.resource<Config>(['kms', 'autokey-config', 'describe', '--folder', '77']);
    assert.equal(before.name, 'folders/77/autokeyConfig');
    assert.equal(before.state, 'UNINITIALIZED');
    const file = path.join(dir, 'config.yaml');
    fs.writeFileSync(file, 'name: folders/77/autokeyConfig\nkeyProject: projects/gc-keys\n');
    const updated = await gcloud.resource<Config>(['kms', 'autokey-config', 'update', file]);
    assert.equal(updated.keyProject, 'projects/gc-keys');
    assert.equal(updated.state, 'ACTIVE');
    const described = await gcloud.resource<Config>(['kms', 'autokey-config', 'describe', '--folder', '77']);
    assert.equal(described.etag, updated.etag);
    const effective = await gcloud.resource<{ keyProject: string }>(['kms', 'autokey-config', 'show-effective-config', '--project', 'gc-app']);
    assert.equal(effective.keyProject, 'projects/gc-keys');
    // A stale etag in the file: ABORTED (409), which gcloud words as a conflict.
    fs.writeFileSync(file, 'name: folders/77/autokeyConfig\nkeyProject: projects/gc-keys\netag: stale\n');
    assert.match(await gcloud.fails(['kms', 'autokey-config', 'update', file]), /subject of a conflict: autokey_config.etag/);
  });

  test('key-handles create (waits on the operation), describe, list; the key works', async () => {
    const created = await gcloud.resource<Handle>([
      'kms', 'key-handles', 'create', '--location', 'us-east1', '--key-handle-id', 'vm-disk', '--resource-type', 'compute.googleapis.com/Disk',
    ]);
    assert.equal(created.name, 'projects/gc-app/locations/us-east1/keyHandles/vm-disk');
    assert.match(created.kmsKey, /^projects\/gc-keys\/locations\/us-east1\/keyRings\/autokey\/cryptoKeys\/gc-app-compute-disk-/);
    const described = await gcloud.resource<Handle>(['kms', 'key-handles', 'describe', 'vm-disk', '--location', 'us-east1']);
    assert.equal(described.kmsKey, created.kmsKey);
    await gcloud.resource<Handle>(['kms', 'key-handles', 'create', '--location', 'us-east1', '--generate-key-handle-id', '--resource-type', 'storage.googleapis.com/Bucket']);
    const disks = await gcloud.json<Handle[]>(['kms', 'key-handles', 'list', '--location', 'us-east1', '--resource-type', 'compute.googleapis.com/Disk']);
    assert.deepEqual(disks.map((h) => h.name), [created.name]);
    const [enc] = await kms.client.encrypt({ name: created.kmsKey, plaintext: Buffer.from('cmek') });
    assert.ok(enc.ciphertext);
  });
});
