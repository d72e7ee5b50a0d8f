// The DirectoryStore contract (src/store/directory.ts), against every backend:
// parents must exist, deletes cascade, updates are conditional on revision,
// lists page by parent. PostgreSQL runs on a fresh schema, dropped afterwards.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Code, KmsError } from '../../src/errors';
import type { DirectoryStore, EndpointRecord } from '../../src/store/directory';
import { PgDirectoryStore } from '../../src/store/pg-directory';
import { openSqliteStore } from '../../src/store/sqlite';
import { tempDir } from '../helpers/kms';
import { openTestPgDb } from '../helpers/pg-db';
import { ENDPOINT_FILTER_FIELDS, listFieldsOf, NAMESPACE_FILTER_FIELDS, SERVICE_FILTER_FIELDS } from '../../src/services/service-directory/filter';
import { listQuery } from '../helpers/list-query';

interface Opened {
  directory: DirectoryStore;
  close(): Promise<void>;
}

/** A backend's store, and for those that keep records, a second store opened on the same records. */
type Backend = () => Promise<Opened & { reopen?: () => Opened }>;

const BACKENDS: [string, Backend][] = [
  ['sqlite in memory', async () => openSqliteStore(':memory:')],
  [
    'sqlite file',
    async () => {
      const file = path.join(tempDir('openekm-sd-store-'), 'kms.sqlite');
      const store = openSqliteStore(file);
      return { directory: store.directory, close: () => store.close(), reopen: () => openSqliteStore(file) };
    },
  ],
  [
    'postgres',
    async () => {
      const pg = await openTestPgDb();
      return {
        directory: new PgDirectoryStore(pg.db),
        close: () => pg.close(),
        reopen: () => ({ directory: new PgDirectoryStore(pg.more()), close: async () => undefined }),
      };
    },
  ],
];

const ENDPOINTS = listFieldsOf(ENDPOINT_FILTER_FIELDS);
const LOC = 'projects/p/locations/us-east1';
const NS = `${LOC}/namespaces/ns`;
const SVC = `${NS}/services/svc`;

const times = { createTime: 1000, updateTime: 1000 };

const endpointRecord = (id: string, extra: Partial<EndpointRecord> = {}): Omit<EndpointRecord, 'revision'> => ({
  name: `${SVC}/endpoints/${id}`, parent: SVC, uid: `uid-${id}`, address: '10.0.0.1', port: 443,
  annotations: { region: 'eu' }, network: '', ...times, ...extra,
});

async function rejectsCode(p: Promise<unknown>, code: Code): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof KmsError && err.code === code);
}

for (const [backend, open] of BACKENDS) {
  describe(`DirectoryStore: ${backend}`, () => {
    let store: Opened;
    let reopen: (() => Opened) | undefined;
    before(async () => {
      const opened = await open();
      store = opened;
      reopen = opened.reopen;
      await store.directory.createNamespace({ name: NS, parent: LOC, uid: 'u-ns', labels: { team: 'a' }, ...times });
      await store.directory.createService({ name: SVC, parent: NS, uid: 'u-svc', annotations: { a: 'b' }, ...times });
    });
    after(() => store.close());

    test('create and get round-trip every field; duplicates are ALREADY_EXISTS', async () => {
      const d = store.directory;
      assert.deepEqual(await d.getNamespace(NS), { name: NS, parent: LOC, uid: 'u-ns', labels: { team: 'a' }, ...times, revision: 1 });
      assert.deepEqual(await d.getService(SVC), { name: SVC, parent: NS, uid: 'u-svc', annotations: { a: 'b' }, ...times, revision: 1 });
      const created = await d.createEndpoint(endpointRecord('e1', { network: 'projects/1/locations/global/networks/n' }));
      assert.deepEqual(created, { ...endpointRecord('e1', { network: 'projects/1/locations/global/networks/n' }), revision: 1 });
      assert.deepEqual(await d.getEndpoint(created.name), created);
      await rejectsCode(d.createNamespace({ name: NS, parent: LOC, uid: 'x', labels: {}, ...times }), Code.ALREADY_EXISTS);
      await rejectsCode(d.createService({ name: SVC, parent: NS, uid: 'x', annotations: {}, ...times }), Code.ALREADY_EXISTS);
      await rejectsCode(d.createEndpoint(endpointRecord('e1')), Code.ALREADY_EXISTS);
      assert.equal(await d.getEndpoint(`${SVC}/endpoints/missing`), undefined);
    });

    test('children need an existing parent (NOT_FOUND)', async () => {
      const d = store.directory;
      await rejectsCode(
        d.createService({ name: `${LOC}/namespaces/none/services/s`, parent: `${LOC}/namespaces/none`, uid: 'x', annotations: {}, ...times }),
        Code.NOT_FOUND,
      );
      await rejectsCode(
        d.createEndpoint(endpointRecord('x', { name: `${NS}/services/none/endpoints/x`, parent: `${NS}/services/none` })),
        Code.NOT_FOUND,
      );
    });

    test('updates are conditional on revision: stale is ABORTED, missing is NOT_FOUND', async () => {
      const d = store.directory;
      const e = await d.createEndpoint(endpointRecord('upd'));
      const updated = await d.updateEndpoint({ ...e, port: 8443, address: '::1', annotations: {}, updateTime: 2000 });
      assert.equal(updated.revision, 2);
      assert.equal(updated.port, 8443);
      assert.equal(updated.address, '::1');
      assert.deepEqual(updated.annotations, {});
      assert.equal(updated.createTime, 1000);
      assert.equal(updated.updateTime, 2000);
      await rejectsCode(d.updateEndpoint({ ...e, port: 1 }), Code.ABORTED);
      await rejectsCode(d.updateEndpoint({ ...e, name: `${SVC}/endpoints/gone` }), Code.NOT_FOUND);
      const ns = (await d.getNamespace(NS))!;
      assert.equal((await d.updateNamespace({ ...ns, labels: { team: 'b' } })).revision, ns.revision + 1);
      await rejectsCode(d.updateNamespace(ns), Code.ABORTED);
      const svc = (await d.getService(SVC))!;
      assert.deepEqual((await d.updateService({ ...svc, annotations: { x: 'y' } })).annotations, { x: 'y' });
      await rejectsCode(d.updateService(svc), Code.ABORTED);
    });

    test('lists are per parent, ordered and paged by the query', async () => {
      const d = store.directory;
      const other = `${NS}/services/other`;
      await d.createService({ name: other, parent: NS, uid: 'u-o', annotations: {}, ...times });
      await d.createEndpoint(endpointRecord('elsewhere', { name: `${other}/endpoints/elsewhere`, parent: other }));
      for (const id of ['p1', 'p2', 'p3']) await d.createEndpoint(endpointRecord(id, { port: Number(id.slice(1)) }));
      const all = await d.listEndpoints(listQuery(ENDPOINTS, { parent: SVC, pageSize: 100 }));
      assert.ok(all.items.every((e) => e.parent === SVC));
      assert.deepEqual(all.items.map((e) => e.name), [...all.items.map((e) => e.name)].sort());
      const page = await d.listEndpoints(listQuery(ENDPOINTS, { parent: SVC, pageSize: 2, filter: 'port<"10"', orderBy: 'port desc' }));
      assert.deepEqual(page.items.map((e) => e.port), [3, 2]);
      assert.equal(page.totalSize, 3);
      assert.ok(page.next);
      const rest = await d.listEndpoints(listQuery(ENDPOINTS, { parent: SVC, pageSize: 2, filter: 'port<"10"', orderBy: 'port desc', after: page.next }));
      assert.deepEqual(rest.items.map((e) => e.port), [1]);
      assert.equal(rest.next, undefined);
      const services = await d.listServices(listQuery(listFieldsOf(SERVICE_FILTER_FIELDS), { parent: NS, pageSize: 10, filter: 'annotations:"x"' }));
      assert.deepEqual(services.items.map((s) => s.name), [SVC]);
      const namespaces = await d.listNamespaces(listQuery(listFieldsOf(NAMESPACE_FILTER_FIELDS), { parent: LOC, pageSize: 10, filter: 'labels.team="b"' }));
      assert.deepEqual(namespaces.items.map((n) => n.name), [NS]);
    });

    test('deleting a service deletes its endpoints; deleting a namespace deletes everything in it', async () => {
      const d = store.directory;
      const ns2 = `${LOC}/namespaces/doomed`;
      const svc2 = `${ns2}/services/s`;
      await d.createNamespace({ name: ns2, parent: LOC, uid: 'u', labels: {}, ...times });
      await d.createService({ name: svc2, parent: ns2, uid: 'u', annotations: {}, ...times });
      await d.createService({ name: `${ns2}/services/t`, parent: ns2, uid: 'u', annotations: {}, ...times });
      await d.createEndpoint(endpointRecord('e', { name: `${svc2}/endpoints/e`, parent: svc2 }));
      await d.createEndpoint(endpointRecord('e', { name: `${ns2}/services/t/endpoints/e`, parent: `${ns2}/services/t` }));

      assert.equal(await d.deleteService(`${ns2}/services/t`), true);
      assert.equal(await d.getEndpoint(`${ns2}/services/t/endpoints/e`), undefined);
      assert.equal(await d.deleteService(`${ns2}/services/t`), false);

      assert.equal(await d.deleteNamespace(ns2), true);
      assert.equal(await d.getNamespace(ns2), undefined);
      assert.equal(await d.getService(svc2), undefined);
      assert.equal(await d.getEndpoint(`${svc2}/endpoints/e`), undefined);
      assert.equal(await d.deleteNamespace(ns2), false);
      // Re-creating the names starts afresh, with nothing left over.
      await d.createNamespace({ name: ns2, parent: LOC, uid: 'u2', labels: {}, ...times });
      await d.createService({ name: svc2, parent: ns2, uid: 'u2', annotations: {}, ...times });
      assert.equal((await d.listEndpoints(listQuery(ENDPOINTS, { parent: svc2, pageSize: 10 }))).items.length, 0);
      // Other namespaces are untouched.
      assert.ok(await d.getService(SVC));

      assert.equal(await d.deleteEndpoint(`${SVC}/endpoints/e1`), true);
      assert.equal(await d.deleteEndpoint(`${SVC}/endpoints/e1`), false);
    });

    if (backend !== 'sqlite in memory') test('records survive a reopen (another connection, another replica)', async () => {
      assert.ok(reopen);
      const again = reopen();
      try {
        assert.deepEqual(await again.directory.getService(SVC), await store.directory.getService(SVC));
      } finally {
        await again.close();
      }
    });

    if (backend !== 'sqlite in memory') test("the other connection's writes reach the cached reads", async () => {
      assert.ok(reopen);
      const again = reopen();
      try {
        const query = listQuery(ENDPOINTS, { parent: SVC, pageSize: 100 });
        const before = await store.directory.getService(SVC);
        const listed = (await store.directory.listEndpoints(query)).items.length;
        const service = (await again.directory.getService(SVC))!;
        await again.directory.updateService({ ...service, annotations: { by: 'other' } });
        await again.directory.createEndpoint(endpointRecord('from-other'));
        await nextTurn(); // SQLite's cache looks at other connections' commits once per turn
        assert.deepEqual((await store.directory.getService(SVC))?.annotations, { by: 'other' });
        assert.notDeepEqual(before?.annotations, { by: 'other' });
        assert.equal((await store.directory.listEndpoints(query)).items.length, listed + 1);
      } finally {
        await again.close();
      }
    });
  });
}
