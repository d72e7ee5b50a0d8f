// Autokey through the official clients, over gRPC and REST: a folder's
// AutokeyConfig names a key project; a KeyHandle in a project under that
// folder (the operator's resource hierarchy) makes an HSM key on the key
// project's `autokey` key ring, in the handle's location; the key works;
// effective configs follow the hierarchy; rules and codes as the protos say.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AutokeyAdminClient, AutokeyClient } from '@google-cloud/kms';
import { Code } from '../../src/errors';
import { clientOptions, type Harness, rejectsWithCode, startKms, TRANSPORTS } from '../helpers/kms';

const HIERARCHY = {
  projects: { 'app-one': 'folders/100', 'app-two': 'folders/200', 'app-off': 'folders/300' },
  folders: { 100: 'folders/200', 200: 'organizations/1', 300: 'folders/200' },
};

for (const transport of TRANSPORTS) {
  describe(`Autokey over ${transport}`, () => {
    let kms: Harness;
    let admin: AutokeyAdminClient;
    let autokey: AutokeyClient;
    before(async () => {
      kms = await startKms({ transport, resourceHierarchy: HIERARCHY });
      const port = transport === 'rest' ? kms.server.restPort : kms.server.grpcPort;
      admin = new AutokeyAdminClient(clientOptions(port, transport));
      autokey = new AutokeyClient(clientOptions(port, transport));
    });
    after(async () => {
      await admin.close();
      await autokey.close();
      await kms.close();
    });

    test('a folder config, a key handle in a project below it, and the key it made', async () => {
      const [empty] = await admin.getAutokeyConfig({ name: 'folders/200/autokeyConfig' });
      assert.equal(empty.state, 'UNINITIALIZED');
      const [none] = await admin.showEffectiveAutokeyConfig({ parent: 'projects/app-one' });
      assert.equal(none.keyProject, '');
      await rejectsWithCode(
        autokey.createKeyHandle({ parent: 'projects/app-one/locations/us-east1', keyHandle: { resourceTypeSelector: 'compute.googleapis.com/Disk' } }),
        Code.FAILED_PRECONDITION,
      );

      const [config] = await admin.updateAutokeyConfig({
        autokeyConfig: { name: 'folders/200/autokeyConfig', keyProject: 'projects/key-vault' },
        updateMask: { paths: ['key_project'] },
      });
      assert.equal(config.keyProject, 'projects/key-vault');
      assert.equal(config.state, 'ACTIVE');
      assert.ok(config.etag);
      // app-one is under folder 100, which is under folder 200.
      const [effective] = await admin.showEffectiveAutokeyConfig({ parent: 'projects/app-one' });
      assert.equal(effective.keyProject, 'projects/key-vault');

      const [operation] = await autokey.createKeyHandle({
        parent: 'projects/app-one/locations/us-east1',
        keyHandleId: 'disk-1',
        keyHandle: { resourceTypeSelector: 'compute.googleapis.com/Disk' },
      });
      const [handle] = await operation.promise();
      assert.equal(handle.name, 'projects/app-one/locations/us-east1/keyHandles/disk-1');
      assert.match(handle.kmsKey!, /^projects\/key-vault\/locations\/us-east1\/keyRings\/autokey\/cryptoKeys\/app-one-compute-disk-[0-9a-f]{8}$/);

      const [key] = await kms.client.getCryptoKey({ name: handle.kmsKey });
      assert.equal(key.purpose, 'ENCRYPT_DECRYPT');
      assert.equal(key.versionTemplate?.protectionLevel, 'HSM');
      assert.equal(Number(key.rotationPeriod?.seconds), 365 * 24 * 3600);
      const [enc] = await kms.client.encrypt({ name: key.name, plaintext: Buffer.from('disk key') });
      const [dec] = await kms.client.decrypt({ name: key.name, ciphertext: enc.ciphertext });
      assert.equal(Buffer.from(dec.plaintext as Uint8Array).toString(), 'disk key');

      // A second handle reuses the autokey key ring and gets its own key.
      const [second] = await autokey.createKeyHandle({
        parent: 'projects/app-one/locations/us-east1',
        keyHandle: { resourceTypeSelector: 'storage.googleapis.com/Bucket' },
      });
      const [bucket] = await second.promise();
      assert.notEqual(bucket.kmsKey, handle.kmsKey);

      const [got] = await autokey.getKeyHandle({ name: handle.name });
      assert.equal(got.kmsKey, handle.kmsKey);
      const [all] = await autokey.listKeyHandles({ parent: 'projects/app-one/locations/us-east1' });
      assert.equal(all.length, 2);
      const [disks] = await autokey.listKeyHandles({ parent: 'projects/app-one/locations/us-east1', filter: 'resource_type_selector="compute.googleapis.com/Disk"' });
      assert.deepEqual(disks.map((h) => h.name), [handle.name]);
      await rejectsWithCode(autokey.createKeyHandle({
        parent: 'projects/app-one/locations/us-east1', keyHandleId: 'disk-1', keyHandle: { resourceTypeSelector: 'compute.googleapis.com/Disk' },
      }), Code.ALREADY_EXISTS);
    });

    test('nearest config wins; DISABLED stops the search; RESOURCE_PROJECT keeps keys at home; etags', async () => {
      await admin.updateAutokeyConfig({ autokeyConfig: { name: 'folders/200/autokeyConfig', keyProject: 'projects/key-vault' }, updateMask: { paths: ['key_project'] } });
      const [off] = await admin.updateAutokeyConfig({
        autokeyConfig: { name: 'folders/300/autokeyConfig', keyProjectResolutionMode: 'DISABLED' },
        updateMask: { paths: ['key_project_resolution_mode'] },
      });
      assert.equal(off.keyProjectResolutionMode, 'DISABLED');
      const [disabled] = await admin.showEffectiveAutokeyConfig({ parent: 'projects/app-off' });
      assert.equal(disabled.keyProject, '');
      const [home] = await admin.updateAutokeyConfig({
        autokeyConfig: { name: 'projects/app-two/autokeyConfig', keyProjectResolutionMode: 'RESOURCE_PROJECT' },
        updateMask: { paths: ['key_project_resolution_mode'] },
      });
      const [own] = await admin.showEffectiveAutokeyConfig({ parent: 'projects/app-two' });
      assert.equal(own.keyProject, 'projects/app-two');
      const [op] = await autokey.createKeyHandle({ parent: 'projects/app-two/locations/global', keyHandle: { resourceTypeSelector: 'bigquery.googleapis.com/Dataset' } });
      const [handle] = await op.promise();
      assert.match(handle.kmsKey!, /^projects\/app-two\/locations\/global\/keyRings\/autokey\//);

      // A stale etag is ABORTED; RESOURCE_PROJECT takes no key project; masks and names are checked.
      await rejectsWithCode(admin.updateAutokeyConfig({
        autokeyConfig: { name: 'projects/app-two/autokeyConfig', keyProjectResolutionMode: 'DISABLED', etag: 'stale' },
        updateMask: { paths: ['key_project_resolution_mode'] },
      }), Code.ABORTED);
      await admin.updateAutokeyConfig({
        autokeyConfig: { name: 'projects/app-two/autokeyConfig', keyProjectResolutionMode: 'DISABLED', etag: home.etag },
        updateMask: { paths: ['key_project_resolution_mode'] },
      });
      await rejectsWithCode(admin.updateAutokeyConfig({
        autokeyConfig: { name: 'folders/100/autokeyConfig', keyProject: 'projects/x', keyProjectResolutionMode: 'RESOURCE_PROJECT' },
        updateMask: { paths: ['key_project', 'key_project_resolution_mode'] },
      }), Code.INVALID_ARGUMENT);
      await rejectsWithCode(admin.updateAutokeyConfig({ autokeyConfig: { name: 'folders/100/autokeyConfig' }, updateMask: { paths: ['state'] } }), Code.INVALID_ARGUMENT);
      await rejectsWithCode(autokey.createKeyHandle({ parent: 'projects/app-one/locations/us-east1', keyHandle: { resourceTypeSelector: 'disks' } }), Code.INVALID_ARGUMENT);
      await rejectsWithCode(autokey.getKeyHandle({ name: 'projects/app-one/locations/us-east1/keyHandles/absent' }), Code.NOT_FOUND);
      if (transport === 'grpc') {
        await rejectsWithCode(admin.getAutokeyConfig({ name: 'organizations/1/autokeyConfig' }), Code.INVALID_ARGUMENT);
      }
    });
  });
}
