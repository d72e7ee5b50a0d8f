// EndpointLookup.resolve: the in-process lookup the EKM client is given (no
// transport, no other service), over a store of its own; the directory
// service only fills the store.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ManualClock } from '../../src/clock';
import { Code, KmsError } from '../../src/errors';
import { PageTokenCodec } from '../../src/list/page-token';
import { silentLogger } from '../../src/log';
import { createDirectoryServices, type DirectoryServices, EndpointLookup } from '../../src/services/service-directory';
import type { ServiceContext } from '../../src/services/context';
import { openSqliteStore } from '../../src/store/sqlite';
import type { Store } from '../../src/store/store';

const LOC = 'projects/p/locations/europe-west1';
const NS = `${LOC}/namespaces/ekm`;
const SVC = `${NS}/services/replicas`;

async function rejects(p: Promise<unknown>, code: Code, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof KmsError, String(err));
    assert.equal(err.code, code);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('EndpointLookup.resolve', () => {
  let store: Store;
  let directory: DirectoryServices;
  let lookup: EndpointLookup;
  const clock = new ManualClock(Date.UTC(2030, 0, 1));

  before(async () => {
    store = openSqliteStore(':memory:');
    const ctx: ServiceContext = {
      store,
      clock,
      material: undefined as never,
      ekm: undefined as never,
      pageTokens: new PageTokenCodec(randomBytes(32)),
      log: silentLogger,
    };
    directory = createDirectoryServices(ctx);
    lookup = new EndpointLookup(store.directory);
    await directory.createNamespace({ parent: LOC, namespaceId: 'ekm', namespace: {} });
    await directory.createService({ parent: NS, serviceId: 'replicas', service: { annotations: { owner: 'hsm-team' } } });
    const replicas: [string, string, number, Record<string, string>][] = [
      ['a', '10.1.0.1', 443, { region: 'eu', zone: 'b' }],
      ['b', '10.1.0.2', 443, { region: 'eu', zone: 'c' }],
      ['c', 'fd00::3', 8443, { region: 'us' }],
    ];
    for (const [id, address, port, annotations] of replicas) {
      await directory.createEndpoint({ parent: SVC, endpointId: id, endpoint: { address, port, annotations } });
    }
  });
  after(() => store.close());

  test('returns name, address, port and annotations of the matching endpoints, by name', async () => {
    assert.deepEqual(await lookup.resolve(SVC, 'annotations.region=eu'), [
      { name: `${SVC}/endpoints/a`, address: '10.1.0.1', port: 443, annotations: { region: 'eu', zone: 'b' } },
      { name: `${SVC}/endpoints/b`, address: '10.1.0.2', port: 443, annotations: { region: 'eu', zone: 'c' } },
    ]);
    assert.deepEqual((await lookup.resolve(SVC, '')).map((e) => e.address), ['10.1.0.1', '10.1.0.2', 'fd00::3']);
    assert.deepEqual((await lookup.resolve(SVC, 'port=8443 OR annotations.zone=c')).map((e) => e.name.slice(-1)), ['b', 'c']);
    assert.deepEqual(await lookup.resolve(SVC, 'doesnotexist=1'), []);
    assert.equal((await lookup.resolve(SVC, '', 1)).length, 1);
  });

  test('sees registrations as they change', async () => {
    await directory.updateEndpoint({ endpoint: { name: `${SVC}/endpoints/c`, port: 443 }, updateMask: { paths: ['port'] } });
    assert.deepEqual((await lookup.resolve(SVC, 'port=443')).map((e) => e.name.slice(-1)), ['a', 'b', 'c']);
    await directory.deleteEndpoint({ name: `${SVC}/endpoints/a` });
    assert.deepEqual((await lookup.resolve(SVC, 'port=443')).map((e) => e.name.slice(-1)), ['b', 'c']);
  });

  test('errors: bad name or filter INVALID_ARGUMENT naming the field, a missing service NOT_FOUND', async () => {
    await rejects(lookup.resolve('replicas', ''), Code.INVALID_ARGUMENT, /^name: /);
    await rejects(lookup.resolve(SVC, 'port=='), Code.INVALID_ARGUMENT, /^endpoint_filter: /);
    await rejects(lookup.resolve(`${NS}/services/none`, ''), Code.NOT_FOUND, /services\/none not found/);
  });

  test('the v1 resources carry no timestamps (the v1 protos have none); the uid is stable', async () => {
    const [first, second] = [
      await directory.getService({ name: SVC }),
      await directory.resolveService({ name: SVC }),
    ];
    assert.equal('createTime' in first, false);
    assert.equal(first.uid, second.service?.uid);
  });
});
