// Service Directory through the official Node client, over gRPC and over
// REST: namespaces, services and endpoints from creation to deletion, lists
// with filter, order_by and paging, update masks, and ResolveService with
// endpoint_filter and max_endpoints.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Code } from '../../src/errors';
import { type Harness, rejectsWithCode, startKms, TRANSPORTS } from '../helpers/kms';
import { type DirectoryClients, directoryClients } from './clients';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

type Endpoint = { name?: string | null; address?: string | null; port?: number | null; annotations?: Record<string, string> | null };

for (const transport of TRANSPORTS) {
  describe(`Service Directory API over ${transport}`, () => {
    const PROJECT = `sd-${transport}`;
    const LOC = `projects/${PROJECT}/locations/us-east1`;
    const NS = `${LOC}/namespaces/ekm`;
    const SVC = `${NS}/services/replicas`;
    let kms: Harness;
    let sd: DirectoryClients;

    before(async () => {
      kms = await startKms();
      sd = directoryClients(kms.server, transport);
    });
    after(async () => {
      await sd?.close();
      await kms?.close();
    });

    test('namespaces: create, get, list (filter, order, pages), update labels', async () => {
      const r = sd.registration;
      const [created] = await r.createNamespace({ parent: LOC, namespaceId: 'ekm', namespace: { labels: { team: 'crypto' } } });
      assert.equal(created.name, NS);
      assert.deepEqual(created.labels, { team: 'crypto' });
      assert.match(String(created.uid), UUID);
      await r.createNamespace({ parent: LOC, namespaceId: 'other', namespace: {} });
      await r.createNamespace({ parent: LOC, namespaceId: 'zeta', namespace: { labels: { team: 'web' } } });

      const [got] = await r.getNamespace({ name: NS });
      assert.deepEqual(got, created);

      const [all] = await r.listNamespaces({ parent: LOC }, { autoPaginate: false });
      assert.deepEqual(all.map((n) => n.name), [NS, `${LOC}/namespaces/other`, `${LOC}/namespaces/zeta`]);
      const [crypto] = await r.listNamespaces({ parent: LOC, filter: 'labels.team=crypto' }, { autoPaginate: false });
      assert.deepEqual(crypto.map((n) => n.name), [NS]);
      const [labelled] = await r.listNamespaces({ parent: LOC, filter: 'labels:team', orderBy: 'name desc' }, { autoPaginate: false });
      assert.deepEqual(labelled.map((n) => n.name), [`${LOC}/namespaces/zeta`, NS]);
      const [none] = await r.listNamespaces({ parent: LOC, filter: 'doesnotexist.foo=bar' }, { autoPaginate: false });
      assert.deepEqual(none, []);

      const [first, , response] = await r.listNamespaces({ parent: LOC, pageSize: 2 }, { autoPaginate: false });
      assert.equal(first.length, 2);
      assert.ok(response?.nextPageToken);
      const [second, , last] = await r.listNamespaces(
        { parent: LOC, pageSize: 2, pageToken: response.nextPageToken },
        { autoPaginate: false },
      );
      assert.deepEqual(second.map((n) => n.name), [`${LOC}/namespaces/zeta`]);
      assert.ok(!last?.nextPageToken);

      const [updated] = await r.updateNamespace({
        namespace: { name: `${LOC}/namespaces/other`, labels: { team: 'ops' } },
        updateMask: { paths: ['labels'] },
      });
      assert.deepEqual(updated.labels, { team: 'ops' });
      const [again] = await r.getNamespace({ name: `${LOC}/namespaces/other` });
      assert.deepEqual(again.labels, { team: 'ops' });
      assert.equal(again.uid, updated.uid);
    });

    test('services: create, get, list, update annotations', async () => {
      const r = sd.registration;
      const [created] = await r.createService({
        parent: NS,
        serviceId: 'replicas',
        service: { annotations: { protocol: 'https', 'example.com/tier': 'gold' } },
      });
      assert.equal(created.name, SVC);
      assert.deepEqual(created.annotations, { protocol: 'https', 'example.com/tier': 'gold' });
      assert.match(String(created.uid), UUID);
      assert.deepEqual(created.endpoints, []);
      await r.createService({ parent: NS, serviceId: 'spare', service: {} });

      assert.deepEqual((await r.getService({ name: SVC }))[0], created);
      const [services] = await r.listServices({ parent: NS }, { autoPaginate: false });
      assert.deepEqual(services.map((s) => s.name), [SVC, `${NS}/services/spare`]);
      const [https] = await r.listServices({ parent: NS, filter: 'annotations.protocol=https' }, { autoPaginate: false });
      assert.deepEqual(https.map((s) => s.name), [SVC]);

      const [updated] = await r.updateService({
        service: { name: `${NS}/services/spare`, annotations: { protocol: 'grpc' } },
        updateMask: { paths: ['annotations'] },
      });
      assert.deepEqual(updated.annotations, { protocol: 'grpc' });
    });

    test('endpoints: create, get, list (filter on port, address, annotations; order by port), update with a mask', async () => {
      const r = sd.registration;
      const make = (id: string, endpoint: Endpoint & { network?: string }) =>
        r.createEndpoint({ parent: SVC, endpointId: id, endpoint });
      const [a] = await make('eu-a', { address: '10.0.0.1', port: 443, annotations: { region: 'eu' } });
      assert.equal(a.name, `${SVC}/endpoints/eu-a`);
      assert.equal(a.address, '10.0.0.1');
      assert.equal(a.port, 443);
      assert.deepEqual(a.annotations, { region: 'eu' });
      assert.match(String(a.uid), UUID);
      await make('eu-b', { address: '10.0.0.2', port: 8443, annotations: { region: 'eu', canary: 'true' } });
      const [us] = await make('us-a', {
        address: '2001:db8::1', port: 443, annotations: { region: 'us' }, network: 'projects/123/locations/global/networks/vpc',
      });
      assert.equal(us.network, 'projects/123/locations/global/networks/vpc');
      await make('bare', {});

      assert.deepEqual((await r.getEndpoint({ name: a.name! }))[0], a);

      const list = async (filter: string, orderBy = '') =>
        (await r.listEndpoints({ parent: SVC, filter, orderBy }, { autoPaginate: false }))[0].map((e) => e.name!.split('/').pop());
      assert.deepEqual(await list(''), ['bare', 'eu-a', 'eu-b', 'us-a']);
      assert.deepEqual(await list('port=443'), ['eu-a', 'us-a']);
      assert.deepEqual(await list('port>1000'), ['eu-b']);
      assert.deepEqual(await list('address=10.0.0.2'), ['eu-b']);
      assert.deepEqual(await list('annotations.region=eu AND NOT annotations:canary'), ['eu-a']);
      assert.deepEqual(await list('annotations.region=us OR port=8443'), ['eu-b', 'us-a']);
      assert.deepEqual(await list('', 'port desc, name'), ['eu-b', 'eu-a', 'us-a', 'bare']);

      // Only the masked field changes: the address stays.
      const [moved] = await r.updateEndpoint({
        endpoint: { name: `${SVC}/endpoints/eu-b`, port: 9443, address: '10.9.9.9' },
        updateMask: { paths: ['port'] },
      });
      assert.equal(moved.port, 9443);
      assert.equal(moved.address, '10.0.0.2');
      assert.deepEqual(moved.annotations, { region: 'eu', canary: 'true' });
      const [readdressed] = await r.updateEndpoint({
        endpoint: { name: `${SVC}/endpoints/bare`, address: '192.0.2.7', port: 80, annotations: { region: 'eu' } },
        updateMask: { paths: ['address', 'port', 'annotations'] },
      });
      assert.deepEqual(
        { address: readdressed.address, port: readdressed.port, annotations: readdressed.annotations },
        { address: '192.0.2.7', port: 80, annotations: { region: 'eu' } },
      );
    });

    test('ResolveService: the service with its endpoints, filtered and capped', async () => {
      const l = sd.lookup;
      const names = (endpoints: Endpoint[] | null | undefined) => (endpoints ?? []).map((e) => e.name!.split('/').pop());
      const [all] = await l.resolveService({ name: SVC });
      assert.equal(all.service?.name, SVC);
      assert.deepEqual(all.service?.annotations, { protocol: 'https', 'example.com/tier': 'gold' });
      assert.deepEqual(names(all.service?.endpoints), ['bare', 'eu-a', 'eu-b', 'us-a']);
      const eu = all.service!.endpoints!.find((e) => e.name!.endsWith('/eu-a'))!;
      assert.equal(eu.address, '10.0.0.1');
      assert.equal(eu.port, 443);
      assert.deepEqual(eu.annotations, { region: 'eu' });

      const resolve = async (endpointFilter: string, maxEndpoints?: number) =>
        names((await l.resolveService({ name: SVC, endpointFilter, maxEndpoints }))[0].service?.endpoints);
      assert.deepEqual(await resolve('port=443'), ['eu-a', 'us-a']);
      assert.deepEqual(await resolve('annotations.region=eu'), ['bare', 'eu-a', 'eu-b']);
      assert.deepEqual(await resolve('annotations.region=eu AND port=443'), ['eu-a']);
      assert.deepEqual(await resolve('annotations.region=us OR port>9000'), ['eu-b', 'us-a']);
      assert.deepEqual(await resolve('annotations.canary!=true'), []);
      assert.deepEqual(await resolve('doesnotexist.foo=bar'), []);
      assert.deepEqual(await resolve('', 2), ['bare', 'eu-a']);
      assert.deepEqual(await resolve('', -5), ['bare', 'eu-a', 'eu-b', 'us-a']);
    });

    test('ResolveService: max_endpoints defaults to 25 and stops at 100', async () => {
      const r = sd.registration;
      const svc = `${NS}/services/many`;
      await r.createService({ parent: NS, serviceId: 'many', service: {} });
      for (let i = 0; i < 101; i++) {
        await r.createEndpoint({ parent: svc, endpointId: `e${String(i).padStart(3, '0')}`, endpoint: { port: i } });
      }
      const count = async (maxEndpoints?: number) =>
        (await sd.lookup.resolveService({ name: svc, maxEndpoints }))[0].service?.endpoints?.length;
      assert.equal(await count(), 25);
      assert.equal(await count(0), 25);
      assert.equal(await count(60), 60);
      assert.equal(await count(1000), 100);
    });

    test('deletes: endpoint, service (with its endpoints), namespace (with everything in it)', async () => {
      const r = sd.registration;
      await r.deleteEndpoint({ name: `${SVC}/endpoints/us-a` });
      await rejectsWithCode(r.getEndpoint({ name: `${SVC}/endpoints/us-a` }), Code.NOT_FOUND);
      await rejectsWithCode(r.deleteEndpoint({ name: `${SVC}/endpoints/us-a` }), Code.NOT_FOUND);

      await r.deleteService({ name: `${NS}/services/spare` });
      await rejectsWithCode(r.getService({ name: `${NS}/services/spare` }), Code.NOT_FOUND);

      await r.deleteNamespace({ name: NS });
      await rejectsWithCode(r.getNamespace({ name: NS }), Code.NOT_FOUND);
      await rejectsWithCode(r.getService({ name: SVC }), Code.NOT_FOUND);
      await rejectsWithCode(r.getEndpoint({ name: `${SVC}/endpoints/eu-a` }), Code.NOT_FOUND);
      await rejectsWithCode(sd.lookup.resolveService({ name: SVC }), Code.NOT_FOUND);
      // Re-created, the namespace is empty.
      await r.createNamespace({ parent: LOC, namespaceId: 'ekm', namespace: {} });
      const [services] = await r.listServices({ parent: NS }, { autoPaginate: false });
      assert.deepEqual(services, []);
    });
  });
}
