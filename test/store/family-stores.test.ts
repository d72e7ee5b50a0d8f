// The EKM, IAM and lifecycle table families (src/store/ekm.ts, iam.ts,
// lifecycle.ts), each store on its own, against every backend: SQLite in
// memory, and PostgreSQL on a fresh schema per suite, dropped afterwards.
// PostgreSQL also runs as two replicas on one schema: each sees the other's
// acknowledged writes through its read cache, and of two read-modify-writes
// from the same state only one wins.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type Database from 'better-sqlite3';
import { Code, KmsError } from '../../src/errors';
import { EKM_CONNECTION_FIELDS } from '../../src/services/list-fields';
import type { EkmConnectionRecord, EkmStore } from '../../src/store/ekm';
import type { IamStore } from '../../src/store/iam';
import type { LifecycleStore } from '../../src/store/lifecycle';
import { Statement } from '../../src/store/pg-common';
import { PgEkmStore } from '../../src/store/pg-ekm';
import { PgIamStore } from '../../src/store/pg-iam';
import { PgLifecycleStore } from '../../src/store/pg-lifecycle';
import { ReadCache } from '../../src/store/sqlite-common';
import { SqliteEkmStore } from '../../src/store/sqlite-ekm';
import { SqliteIamStore } from '../../src/store/sqlite-iam';
import { SqliteLifecycleStore } from '../../src/store/sqlite-lifecycle';
import { openDatabase } from '../../src/store/sqlite-open';
import { listQuery } from '../helpers/list-query';
import { openTestPgDb, type TestPgDb } from '../helpers/pg-db';

interface Families {
  ekm: EkmStore;
  iam: IamStore;
  lifecycle: LifecycleStore;
  /** The sealed key stored under `name` in key_material. */
  material(name: string): Promise<Buffer | undefined>;
  close(): Promise<void>;
}

const MATERIAL = 'SELECT sealed FROM key_material WHERE version_name = ?';

function sqliteFamilies(): Families {
  const db: Database.Database = openDatabase(':memory:');
  const cache = new ReadCache(db);
  return {
    ekm: new SqliteEkmStore(db, cache),
    iam: new SqliteIamStore(db, cache),
    lifecycle: new SqliteLifecycleStore(db, cache),
    material: async (name) => (db.prepare(MATERIAL).get(name) as { sealed: Buffer } | undefined)?.sealed,
    close: async () => {
      db.close();
    },
  };
}

async function pgFamilies(): Promise<Families> {
  const pg = await openTestPgDb();
  return {
    ekm: new PgEkmStore(pg.db),
    iam: new PgIamStore(pg.db),
    lifecycle: new PgLifecycleStore(pg.db),
    material: async (name) => (await pg.db.one(new Statement(MATERIAL), [name]))?.sealed as Buffer | undefined,
    close: () => pg.close(),
  };
}

const BACKENDS: [string, () => Promise<Families>][] = [
  ['sqlite', async () => sqliteFamilies()],
  ['postgres', pgFamilies],
];

const LOC = 'projects/p/locations/us-east1';

const connection = (id: string, extra: Partial<EkmConnectionRecord> = {}): Omit<EkmConnectionRecord, 'revision'> => ({
  name: `${LOC}/ekmConnections/${id}`,
  parent: LOC,
  createTime: 1000,
  serviceResolvers: [{
    serviceDirectoryService: `${LOC}/namespaces/ns/services/ekm`,
    endpointFilter: 'port=443',
    hostname: 'ekm.example',
    serverCertificates: [Buffer.from([0x30, 0x82, 0x01]), Buffer.from('second')],
  }],
  keyManagementMode: 'MANUAL',
  cryptoSpacePath: '',
  etag: 'e1',
  ...extra,
});

async function rejectsCode(p: Promise<unknown>, code: Code, message?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof KmsError, String(err));
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}

for (const [backend, open] of BACKENDS) {
  describe(`table families: ${backend}`, () => {
    let f: Families;
    before(async () => {
      f = await open();
    });
    after(() => f.close());

    test('EKM connections: create, get, list, conditional update; duplicates ALREADY_EXISTS', async () => {
      const created = await f.ekm.createEkmConnection(connection('c1'));
      assert.deepEqual(created, { ...connection('c1'), revision: 1 });
      assert.deepEqual(await f.ekm.getEkmConnection(created.name), created);
      assert.ok(Object.isFrozen(await f.ekm.getEkmConnection(created.name)), 'cached reads are frozen');
      assert.equal(await f.ekm.getEkmConnection(`${created.name}-none`), undefined);
      await rejectsCode(f.ekm.createEkmConnection(connection('c1')), Code.ALREADY_EXISTS, /^EkmConnection .*c1 already exists\.$/);

      const updated = await f.ekm.updateEkmConnection({ ...created, keyManagementMode: 'CLOUD_KMS', cryptoSpacePath: 'v0/cs', etag: 'e2' });
      assert.equal(updated.revision, 2);
      assert.equal(updated.keyManagementMode, 'CLOUD_KMS');
      assert.deepEqual(await f.ekm.getEkmConnection(created.name), updated, 'a write drops the cached record');
      await rejectsCode(f.ekm.updateEkmConnection(created), Code.ABORTED, /changed concurrently/);
      await rejectsCode(f.ekm.updateEkmConnection({ ...created, name: `${LOC}/ekmConnections/ghost` }), Code.NOT_FOUND, /not found/);

      await f.ekm.createEkmConnection(connection('c2', { parent: LOC, keyManagementMode: 'CLOUD_KMS' }));
      await f.ekm.createEkmConnection(connection('c3', { name: 'projects/p/locations/europe-west1/ekmConnections/c3', parent: 'projects/p/locations/europe-west1' }));
      const page = await f.ekm.listEkmConnections(listQuery(EKM_CONNECTION_FIELDS, { parent: LOC, pageSize: 1, filter: 'key_management_mode=CLOUD_KMS', orderBy: 'name desc' }));
      assert.deepEqual(page.items.map((c) => c.name), [`${LOC}/ekmConnections/c2`]);
      assert.equal(page.totalSize, 2);
      const rest = await f.ekm.listEkmConnections(listQuery(EKM_CONNECTION_FIELDS, { parent: LOC, pageSize: 1, filter: 'key_management_mode=CLOUD_KMS', orderBy: 'name desc', after: page.next }));
      assert.deepEqual(rest.items.map((c) => c.name), [created.name]);
      assert.equal(rest.next, undefined);
    });

    test('EKM config: written once from revision 0, then only over the revision read', async () => {
      const name = `${LOC}/ekmConfig`;
      assert.equal(await f.ekm.getEkmConfig(name), undefined);
      const first = await f.ekm.putEkmConfig({ name, defaultEkmConnection: `${LOC}/ekmConnections/c1`, revision: 0 });
      assert.deepEqual(first, { name, defaultEkmConnection: `${LOC}/ekmConnections/c1`, revision: 1 });
      await rejectsCode(f.ekm.putEkmConfig({ name, defaultEkmConnection: '', revision: 0 }), Code.ABORTED, /^EkmConfig .* was changed concurrently/);
      const second = await f.ekm.putEkmConfig({ ...first, defaultEkmConnection: '' });
      assert.equal(second.revision, 2);
      await rejectsCode(f.ekm.putEkmConfig(first), Code.ABORTED);
      assert.deepEqual(await f.ekm.getEkmConfig(name), second);
    });

    test('IAM policies: absent until written; written from revision 0, then over the revision read', async () => {
      const key = `${LOC}/keyRings/r/cryptoKeys/k`;
      const ring = `${LOC}/keyRings/r`;
      assert.deepEqual(await f.iam.getIamPolicies([key, ring]), [undefined, undefined]);
      const put = await f.iam.putIamPolicy({ resource: ring, policy: '{"bindings":[]}', etag: 'AA==', revision: 0 });
      assert.deepEqual(put, { resource: ring, policy: '{"bindings":[]}', etag: 'AA==', revision: 1 });
      assert.deepEqual(await f.iam.getIamPolicies([key, ring]), [undefined, put], 'a write drops cached absences');
      assert.deepEqual(await f.iam.getIamPolicy(ring), put);
      await rejectsCode(f.iam.putIamPolicy({ ...put, revision: 0 }), Code.ABORTED, /concurrent policy changes/);
      const again = await f.iam.putIamPolicy({ ...put, policy: '{"bindings":[{}]}', etag: 'AQ==' });
      assert.equal(again.revision, 2);
      await rejectsCode(f.iam.putIamPolicy(put), Code.ABORTED, /concurrent policy changes/);
      await rejectsCode(f.iam.putIamPolicy({ ...put, resource: key, revision: 3 }), Code.ABORTED);
      assert.deepEqual(await f.iam.getIamPolicies([ring]), [again]);
    });

    test('IAM: service account keys are registered by id, replaced on a second put', async () => {
      assert.equal(await f.iam.getServiceAccountKey('sa@p.iam.gserviceaccount.com', 'k1'), undefined);
      await f.iam.putServiceAccountKey('sa@p.iam.gserviceaccount.com', 'k1', 'PEM 1');
      await f.iam.putServiceAccountKey('sa@p.iam.gserviceaccount.com', 'k1', 'PEM 2');
      await f.iam.putServiceAccountKey('sa@p.iam.gserviceaccount.com', 'k2', 'PEM 3');
      assert.equal(await f.iam.getServiceAccountKey('sa@p.iam.gserviceaccount.com', 'k1'), 'PEM 2');
      assert.equal(await f.iam.getServiceAccountKey('sa@p.iam.gserviceaccount.com', 'k2'), 'PEM 3');
    });

    test('import jobs: made pending, completed once with their sealed key, listed by key ring', async () => {
      const ring = `${LOC}/keyRings/r`;
      const job = { name: `${ring}/importJobs/j1`, keyRing: ring, importMethod: 'RSA_OAEP_3072_SHA256', protectionLevel: 'SOFTWARE', createTime: 10, generateTime: null, expireTime: 99 };
      assert.deepEqual(await f.lifecycle.createImportJob(job), job);
      await rejectsCode(f.lifecycle.createImportJob(job), Code.ALREADY_EXISTS, /^ImportJob .*j1 already exists\.$/);
      await f.lifecycle.createImportJob({ ...job, name: `${ring}/importJobs/j0`, createTime: 5 });
      assert.deepEqual((await f.lifecycle.pendingImportJobs(10)).map((j) => j.name), [`${ring}/importJobs/j0`, job.name]);
      assert.deepEqual((await f.lifecycle.pendingImportJobs(1)).map((j) => j.name), [`${ring}/importJobs/j0`]);
      const done = await f.lifecycle.completeImportJob(job.name, 20, Buffer.from('sealed job key'));
      assert.deepEqual(done, { ...job, generateTime: 20 });
      assert.deepEqual(await f.lifecycle.getImportJob(job.name), done);
      assert.deepEqual(await f.material(job.name), Buffer.from('sealed job key'));
      await rejectsCode(f.lifecycle.completeImportJob(job.name, 30, Buffer.from('again')), Code.ABORTED);
      await rejectsCode(f.lifecycle.completeImportJob(`${ring}/importJobs/none`, 30, Buffer.from('x')), Code.NOT_FOUND);
      assert.deepEqual(await f.material(job.name), Buffer.from('sealed job key'));
      assert.deepEqual((await f.lifecycle.pendingImportJobs(10)).map((j) => j.name), [`${ring}/importJobs/j0`]);
      const page = await f.lifecycle.listImportJobs({ parent: ring, order: [], pageSize: 10 });
      assert.deepEqual(page.items.map((j) => j.name), [`${ring}/importJobs/j0`, job.name]);
      assert.equal(page.totalSize, 2);
      assert.equal(await f.lifecycle.getImportJob(`${ring}/importJobs/none`), undefined);
    });

    test('retired resources and key handles: read and listed by parent', async () => {
      assert.equal(await f.lifecycle.getRetiredResource(`${LOC}/retiredResources/none`), undefined);
      assert.deepEqual((await f.lifecycle.listRetiredResources({ parent: LOC, order: [], pageSize: 10 })).items, []);
      const handle = { name: `${LOC}/keyHandles/h`, parent: LOC, kmsKey: `${LOC}/keyRings/autokey/cryptoKeys/k`, resourceTypeSelector: 'compute.googleapis.com/Disk', createTime: 1 };
      await f.lifecycle.createKeyHandle(handle);
      await rejectsCode(f.lifecycle.createKeyHandle(handle), Code.ALREADY_EXISTS, /^KeyHandle .* already exists\.$/);
      assert.deepEqual(await f.lifecycle.getKeyHandle(handle.name), handle);
      assert.equal(await f.lifecycle.getKeyHandle(`${handle.name}x`), undefined);
      const page = await f.lifecycle.listKeyHandles({ parent: LOC, order: [], pageSize: 10 });
      assert.deepEqual(page.items, [handle]);
    });

    test('operations are kept as given; a second put replaces the operation, not its create time', async () => {
      const op = { name: `${LOC}/operations/o1`, createTime: 1, operation: '{"done":false}' };
      await f.lifecycle.putOperation(op);
      assert.deepEqual(await f.lifecycle.getOperation(op.name), op);
      await f.lifecycle.putOperation({ ...op, createTime: 2, operation: '{"done":true}' });
      assert.deepEqual(await f.lifecycle.getOperation(op.name), { ...op, operation: '{"done":true}' });
      assert.equal(await f.lifecycle.getOperation(`${op.name}x`), undefined);
    });

    test('autokey configs: written only over the etag that was read', async () => {
      const config = { name: 'folders/1/autokeyConfig', config: '{}', etag: 'e1' };
      assert.equal(await f.lifecycle.getAutokeyConfig(config.name), undefined);
      await f.lifecycle.putAutokeyConfig(config, null);
      await rejectsCode(f.lifecycle.putAutokeyConfig({ ...config, etag: 'e2' }, null), Code.ABORTED, /changed since it was read/);
      await rejectsCode(f.lifecycle.putAutokeyConfig({ ...config, etag: 'e2' }, 'stale'), Code.ABORTED);
      await rejectsCode(f.lifecycle.putAutokeyConfig({ name: 'folders/2/autokeyConfig', config: '{}', etag: 'e2' }, 'e1'), Code.ABORTED);
      await f.lifecycle.putAutokeyConfig({ ...config, config: '{"keyProject":"projects/k"}', etag: 'e2' }, 'e1');
      assert.deepEqual(await f.lifecycle.getAutokeyConfig(config.name), { ...config, config: '{"keyProject":"projects/k"}', etag: 'e2' });
    });
  });
}

describe('table families: two PostgreSQL replicas on one schema', () => {
  let pg: TestPgDb;
  let a: { ekm: EkmStore; iam: IamStore; lifecycle: LifecycleStore };
  let b: { ekm: EkmStore; iam: IamStore; lifecycle: LifecycleStore };
  before(async () => {
    pg = await openTestPgDb();
    a = { ekm: new PgEkmStore(pg.db), iam: new PgIamStore(pg.db), lifecycle: new PgLifecycleStore(pg.db) };
    const other = pg.more();
    b = { ekm: new PgEkmStore(other), iam: new PgIamStore(other), lifecycle: new PgLifecycleStore(other) };
  });
  after(() => pg.close());

  test("one replica's acknowledged writes are seen by the other's next cached read", async () => {
    const created = await a.ekm.createEkmConnection(connection('shared'));
    assert.equal((await b.ekm.getEkmConnection(created.name))?.etag, 'e1');
    await a.ekm.updateEkmConnection({ ...created, etag: 'e2' });
    assert.equal((await b.ekm.getEkmConnection(created.name))?.etag, 'e2');

    const resource = `${LOC}/keyRings/shared`;
    assert.deepEqual(await b.iam.getIamPolicies([resource]), [undefined]);
    await a.iam.putIamPolicy({ resource, policy: '{}', etag: 'AA==', revision: 0 });
    assert.equal((await b.iam.getIamPolicies([resource]))[0]?.revision, 1, 'a cached absence is dropped');
  });

  test('the IAM store has no generation(): its answer could not be exact across replicas', () => {
    assert.equal(a.iam.generation, undefined);
  });

  test('of concurrent writes from the same state, one wins and the others are ABORTED', async () => {
    const resource = `${LOC}/keyRings/raced`;
    const outcomes = await Promise.allSettled(
      [a, b, a, b].map((r, i) => r.iam.putIamPolicy({ resource, policy: `{"by":${i}}`, etag: `E${i}`, revision: 0 })),
    );
    assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
    for (const o of outcomes) {
      if (o.status === 'rejected') assert.ok(o.reason instanceof KmsError && o.reason.code === Code.ABORTED, String(o.reason));
    }

    const name = 'projects/raced/autokeyConfig';
    const configs = await Promise.allSettled(
      [a, b, a, b].map((r, i) => r.lifecycle.putAutokeyConfig({ name, config: '{}', etag: `E${i}` }, null)),
    );
    assert.equal(configs.filter((o) => o.status === 'fulfilled').length, 1);
    for (const o of configs) {
      if (o.status === 'rejected') assert.ok(o.reason instanceof KmsError && o.reason.code === Code.ABORTED, String(o.reason));
    }

    const ekmConfig = `${LOC}/ekmConfig`;
    const puts = await Promise.allSettled(
      [a, b, a, b].map((r, i) => r.ekm.putEkmConfig({ name: ekmConfig, defaultEkmConnection: `c${i}`, revision: 0 })),
    );
    assert.equal(puts.filter((o) => o.status === 'fulfilled').length, 1);
    for (const o of puts) {
      if (o.status === 'rejected') assert.ok(o.reason instanceof KmsError && o.reason.code === Code.ABORTED, String(o.reason));
    }
  });
});
