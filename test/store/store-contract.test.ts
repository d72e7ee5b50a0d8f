// The Store contract, one suite run against every backend: SQLite in memory
// and in a file, and PostgreSQL on a fresh schema dropped afterwards.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { Code, KmsError } from '../../src/errors';
import { openPgStore } from '../../src/store/pg-store';
import { openSqliteStore } from '../../src/store/sqlite';
import { freshSchema } from '../helpers/pg';
import type { CryptoKeyRecord, NewVersion, Store } from '../../src/store/store';
import { tempDir } from '../helpers/kms';
import { CRYPTO_KEY_FIELDS, KEY_RING_FIELDS } from '../../src/services/list-fields';
import { listQuery } from '../helpers/list-query';

interface Opened {
  store: Store;
  drop?: () => Promise<void>;
}

const BACKENDS: [string, () => Promise<Opened>][] = [
  ['sqlite in memory', async () => ({ store: openSqliteStore(':memory:') })],
  ['sqlite file', async () => ({ store: openSqliteStore(path.join(tempDir('openekm-store-'), 'kms.sqlite')) })],
  ['postgresql', async () => {
    const schema = await freshSchema();
    return { store: await openPgStore(schema.url), drop: schema.drop };
  }],
];

const RING = 'projects/p/locations/us-east1/keyRings/r';

function keyRecord(id: string, extra: Partial<CryptoKeyRecord> = {}): Omit<CryptoKeyRecord, 'revision'> {
  return {
    name: `${RING}/cryptoKeys/${id}`, keyRing: RING, createTime: 1000, purpose: 'ENCRYPT_DECRYPT',
    protectionLevel: 'SOFTWARE', algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION', labels: {}, rotationPeriodMs: null,
    nextRotationTime: null, destroyScheduledDurationMs: 86_400_000, importOnly: false, cryptoKeyBackend: '',
    allowedAccessReasons: null, primaryVersion: null, ...extra,
  };
}

const newVersion = (extra: Partial<NewVersion> = {}): NewVersion => ({
  state: 'ENABLED', protectionLevel: 'SOFTWARE', algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION', createTime: 1000,
  generateTime: 1000, destroyTime: null, destroyEventTime: null, externalKeyUri: '', ekmConnectionKeyPath: '', ...extra,
});

const seal = (name: string) => Buffer.from(`sealed:${name}`);

async function rejectsCode(p: Promise<unknown>, code: Code): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof KmsError && err.code === code);
}

for (const [backend, open] of BACKENDS) {
  describe(`Store contract: ${backend}`, () => {
    let store: Store;
    let opened: Opened;
    before(async () => {
      opened = await open();
      store = opened.store;
      await store.createKeyRing({ name: RING, createTime: 1000 });
    });
    after(async () => {
      await store.close();
      await opened.drop?.();
    });

    test('key rings: create, get, duplicate is ALREADY_EXISTS, list by parent', async () => {
      assert.deepEqual(await store.getKeyRing(RING), { name: RING, createTime: 1000 });
      await rejectsCode(store.createKeyRing({ name: RING, createTime: 2 }), Code.ALREADY_EXISTS);
      await store.createKeyRing({ name: 'projects/p/locations/europe-west1/keyRings/other', createTime: 3 });
      const page = await store.listKeyRings(listQuery(KEY_RING_FIELDS, { parent: 'projects/p/locations/us-east1', pageSize: 10 }));
      assert.deepEqual(page.items.map((r) => r.name), [RING]);
      assert.equal(page.totalSize, 1);
      assert.equal(await store.getKeyRing(`${RING}-missing`), undefined);
    });

    test('a key and its first version are created together, or not at all', async () => {
      const { key, version } = await store.createCryptoKey(keyRecord('atomic', { primaryVersion: 1 }), {
        version: newVersion(),
        seal,
      });
      assert.equal(key.revision, 1);
      assert.equal(version?.name, `${key.name}/cryptoKeyVersions/1`);
      assert.deepEqual(await store.getSealedMaterial(version!.name), seal(version!.name));
      const failing = () => {
        throw new Error('sealing failed');
      };
      await assert.rejects(store.createCryptoKey(keyRecord('half'), { version: newVersion(), seal: failing }));
      assert.equal(await store.getCryptoKey(`${RING}/cryptoKeys/half`), undefined);
      await rejectsCode(store.createCryptoKey(keyRecord('atomic')), Code.ALREADY_EXISTS);
    });

    test('versions are numbered in sequence; setPrimary and the rotation time move with them', async () => {
      const { key } = await store.createCryptoKey(keyRecord('numbered'));
      const a = await store.createCryptoKeyVersion(key.name, newVersion(), seal);
      const b = await store.createCryptoKeyVersion(key.name, newVersion(), seal, { setPrimary: true, nextRotationTime: 5000 });
      assert.deepEqual([a.version.version, b.version.version], [1, 2]);
      assert.equal(b.key.primaryVersion, 2);
      assert.equal(b.key.nextRotationTime, 5000);
      await rejectsCode(store.createCryptoKeyVersion(`${RING}/cryptoKeys/none`, newVersion(), seal), Code.NOT_FOUND);
      await rejectsCode(
        store.createCryptoKeyVersion(key.name, newVersion(), seal, { expectKeyRevision: b.key.revision - 1 }),
        Code.ABORTED,
      );
    });

    test('getKeyAndVersion reads a key with its primary or a named version', async () => {
      const { key } = await store.createCryptoKey(keyRecord('pair'));
      assert.deepEqual(await store.getKeyAndVersion(key.name, null), { key });
      const { version: v1 } = await store.createCryptoKeyVersion(key.name, newVersion(), seal, { setPrimary: true });
      await store.createCryptoKeyVersion(key.name, newVersion(), seal);
      const primary = await store.getKeyAndVersion(key.name, null);
      assert.equal(primary.version?.name, v1.name);
      assert.equal((await store.getKeyAndVersion(key.name, 2)).version?.version, 2);
      assert.equal((await store.getKeyAndVersion(key.name, 3)).version, undefined);
      assert.deepEqual(await store.getKeyAndVersion(`${RING}/cryptoKeys/none`, 1), { key: undefined });
    });

    test('updates are conditional on the revision read', async () => {
      const { key } = await store.createCryptoKey(keyRecord('conditional'));
      const updated = await store.updateCryptoKey({ ...key, labels: { env: 'prod' } });
      assert.equal(updated.revision, key.revision + 1);
      assert.deepEqual(updated.labels, { env: 'prod' });
      await rejectsCode(store.updateCryptoKey({ ...key, labels: { env: 'stale' } }), Code.ABORTED);
      await rejectsCode(store.updateCryptoKey({ ...key, name: `${RING}/cryptoKeys/ghost` }), Code.NOT_FOUND);
      const { version } = await store.createCryptoKeyVersion(key.name, newVersion(), seal);
      const disabled = await store.updateCryptoKeyVersion({ ...version, state: 'DISABLED' });
      assert.equal(disabled.state, 'DISABLED');
      await rejectsCode(store.updateCryptoKeyVersion({ ...version, state: 'ENABLED' }), Code.ABORTED);
    });

    test('destroying a version erases its material in the same write', async () => {
      const { key } = await store.createCryptoKey(keyRecord('destroyed'));
      const { version } = await store.createCryptoKeyVersion(key.name, newVersion(), seal);
      const scheduled = await store.updateCryptoKeyVersion({ ...version, state: 'DESTROY_SCHEDULED', destroyTime: 2000 });
      assert.deepEqual((await store.dueDestructions(1999, 10)).filter((v) => v.name === version.name), []);
      assert.deepEqual((await store.dueDestructions(2000, 10)).map((v) => v.name), [version.name]);
      const done = await store.destroyCryptoKeyVersion({ ...scheduled, state: 'DESTROYED', destroyTime: null, destroyEventTime: 2000 });
      assert.equal(done.state, 'DESTROYED');
      assert.equal(await store.getSealedMaterial(version.name), undefined);
      assert.deepEqual(await store.dueDestructions(9999, 10), []);
    });

    test('due rotations by next_rotation_time', async () => {
      await store.createCryptoKey(keyRecord('rotating', { nextRotationTime: 3000, rotationPeriodMs: 86_400_000 }));
      assert.deepEqual((await store.dueRotations(2999, 10)).map((k) => k.name), []);
      assert.deepEqual((await store.dueRotations(3000, 10)).map((k) => k.name), [`${RING}/cryptoKeys/rotating`]);
    });

    test('lists page by keyset with filters and total_size', async () => {
      const ring = 'projects/p/locations/us-east1/keyRings/paged';
      await store.createKeyRing({ name: ring, createTime: 1 });
      for (let i = 0; i < 25; i++) {
        const id = `k${String(i).padStart(2, '0')}`;
        await store.createCryptoKey({ ...keyRecord(id), name: `${ring}/cryptoKeys/${id}`, keyRing: ring, labels: { parity: i % 2 ? 'odd' : 'even' } });
      }
      const seen: string[] = [];
      let after: (string | number | null)[] | undefined;
      do {
        const page = await store.listCryptoKeys(listQuery(CRYPTO_KEY_FIELDS, { parent: ring, filter: 'labels.parity=odd', pageSize: 4, after }));
        assert.equal(page.totalSize, 12);
        seen.push(...page.items.map((k) => k.name.split('/').pop()!));
        after = page.next;
      } while (after);
      assert.deepEqual(seen, Array.from({ length: 12 }, (_, i) => `k${String(2 * i + 1).padStart(2, '0')}`));
    });

    test('settings: the first value set wins', async () => {
      assert.equal(await store.initSetting('s', 'one'), 'one');
      assert.equal(await store.initSetting('s', 'two'), 'one');
      assert.equal(await store.getSetting('s'), 'one');
    });

    test('deletion: a version goes with its material (and its key\'s primary); a key with versions stays; a retired name is never made again', async () => {
      const { key } = await store.createCryptoKey(keyRecord('doomed', { primaryVersion: 1 }), { version: newVersion({ state: 'DESTROYED' }), seal });
      const v1 = (await store.getCryptoKeyVersion(`${key.name}/cryptoKeyVersions/1`))!;
      const retired = { name: 'projects/p/locations/us-east1/retiredResources/r1', originalResource: key.name, resourceType: 'cloudkms.googleapis.com/CryptoKey', deleteTime: 5 };
      await rejectsCode(store.deleteCryptoKey(key, retired), Code.ABORTED);
      await rejectsCode(store.deleteCryptoKeyVersion({ ...v1, revision: v1.revision + 1 }), Code.ABORTED);
      await store.deleteCryptoKeyVersion(v1);
      assert.equal(await store.getCryptoKeyVersion(v1.name), undefined);
      assert.equal(await store.getSealedMaterial(v1.name), undefined);
      const primaryless = (await store.getCryptoKey(key.name))!;
      assert.equal(primaryless.primaryVersion, null);
      await store.deleteCryptoKey(primaryless, retired);
      assert.equal(await store.getCryptoKey(key.name), undefined);
      assert.deepEqual(await store.lifecycle.getRetiredResource(retired.name), retired);
      const page = await store.lifecycle.listRetiredResources({ parent: 'projects/p/locations/us-east1', order: [], pageSize: 10 });
      assert.deepEqual(page.items.map((r) => r.originalResource), [key.name]);
      await rejectsCode(store.createCryptoKey(keyRecord('doomed')), Code.ALREADY_EXISTS);
    });

    test('import jobs: made pending, completed once with their sealed key; operations kept as given', async () => {
      const name = `${RING}/importJobs/j1`;
      const job = { name, keyRing: RING, importMethod: 'RSA_OAEP_3072_SHA256', protectionLevel: 'SOFTWARE', createTime: 10, generateTime: null, expireTime: 99 };
      assert.deepEqual(await store.lifecycle.createImportJob(job), job);
      await rejectsCode(store.lifecycle.createImportJob(job), Code.ALREADY_EXISTS);
      assert.deepEqual((await store.lifecycle.pendingImportJobs(10)).map((j) => j.name), [name]);
      const done = await store.lifecycle.completeImportJob(name, 20, Buffer.from('sealed job key'));
      assert.equal(done.generateTime, 20);
      assert.deepEqual(await store.getSealedMaterial(name), Buffer.from('sealed job key'));
      await rejectsCode(store.lifecycle.completeImportJob(name, 30, Buffer.from('again')), Code.ABORTED);
      assert.deepEqual((await store.lifecycle.listImportJobs({ parent: RING, order: [], pageSize: 10 })).items.map((j) => j.name), [name]);
      const op = { name: 'projects/p/locations/us-east1/operations/o1', createTime: 1, operation: '{"done":true}' };
      await store.lifecycle.putOperation(op);
      assert.deepEqual(await store.lifecycle.getOperation(op.name), op);
      assert.equal(await store.lifecycle.getOperation(`${op.name}x`), undefined);
    });

    test('autokey configs: written only over the etag that was read; key handles unique', async () => {
      const config = { name: 'folders/1/autokeyConfig', config: '{}', etag: 'e1' };
      await store.lifecycle.putAutokeyConfig(config, null);
      await rejectsCode(store.lifecycle.putAutokeyConfig({ ...config, etag: 'e2' }, null), Code.ABORTED);
      await rejectsCode(store.lifecycle.putAutokeyConfig({ ...config, etag: 'e2' }, 'stale'), Code.ABORTED);
      await store.lifecycle.putAutokeyConfig({ ...config, etag: 'e2' }, 'e1');
      assert.equal((await store.lifecycle.getAutokeyConfig(config.name))?.etag, 'e2');
      const handle = { name: 'projects/p/locations/l/keyHandles/h', parent: 'projects/p/locations/l', kmsKey: 'k', resourceTypeSelector: 'compute.googleapis.com/Disk', createTime: 1 };
      await store.lifecycle.createKeyHandle(handle);
      await rejectsCode(store.lifecycle.createKeyHandle(handle), Code.ALREADY_EXISTS);
      assert.deepEqual(await store.lifecycle.getKeyHandle(handle.name), handle);
    });

    test('re-import replaces a version\'s material and its import facts together', async () => {
      const { key } = await store.createCryptoKey(keyRecord('imported', { primaryVersion: null }));
      const { version } = await store.createCryptoKeyVersion(key.name, newVersion({ state: 'IMPORT_FAILED', importJob: `${RING}/importJobs/j1`, importFailureReason: 'bad' }), () => null);
      assert.equal(version.importFailureReason, 'bad');
      const back = await store.reimportCryptoKeyVersion({ ...version, state: 'ENABLED', importFailureReason: '', importFingerprint: 'fp' }, (n) => Buffer.from(`new:${n}`));
      assert.equal(back.state, 'ENABLED');
      assert.equal(back.importFingerprint, 'fp');
      assert.deepEqual(await store.getSealedMaterial(version.name), Buffer.from(`new:${version.name}`));
    });

    test('concurrent new versions of one key get distinct numbers, none lost', async () => {
      const { key } = await store.createCryptoKey(keyRecord('busy', { primaryVersion: null }));
      const made = await Promise.all(Array.from({ length: 12 }, () => store.createCryptoKeyVersion(key.name, newVersion(), seal)));
      assert.deepEqual(made.map((m) => m.version.version).sort((x, y) => x - y), Array.from({ length: 12 }, (_, i) => i + 1));
      for (const m of made) assert.deepEqual(await store.getSealedMaterial(m.version.name), seal(m.version.name));
    });

    test('claims: one holder at a time; free again when its work settles, whatever the outcome', async () => {
      let release!: () => void;
      const holding = store.claim('rotate k', () => new Promise<string>((resolve) => (release = () => resolve('first'))));
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(await store.claim('rotate k', async () => 'second'), undefined);
      assert.equal(await store.claim('rotate other', async () => 'other'), 'other');
      release();
      assert.equal(await holding, 'first');
      await assert.rejects(store.claim('rotate k', async () => { throw new Error('job failed'); }), /job failed/);
      assert.equal(await store.claim('rotate k', async () => 'third'), 'third');
      await store.ping();
    });
  });
}
