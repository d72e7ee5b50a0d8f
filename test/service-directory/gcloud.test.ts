// gcloud, unchanged, against the REST port with
// api_endpoint_overrides/servicedirectory: the GA `gcloud service-directory`
// commands (which speak v1) for namespaces, services and endpoints, and
// `services resolve`, with outputs checked, and bad input refused with its
// code and a message naming the field.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type Gcloud, gcloudSkip, startGcloud } from '../helpers/gcloud';
import { type Harness, startKms } from '../helpers/kms';

const PROJECT = 'sd-gcloud';
const LOC = 'us-east1';
const NS_NAME = `projects/${PROJECT}/locations/${LOC}/namespaces/ekm`;
const SVC_NAME = `${NS_NAME}/services/replicas`;
const inNs = ['--namespace', 'ekm', '--location', LOC];
const inSvc = ['--service', 'replicas', ...inNs];

type Resource = Record<string, unknown> & { name: string };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('gcloud service-directory against the REST port', { skip: gcloudSkip() }, () => {
  let kms: Harness;
  let gcloud: Gcloud;

  before(async () => {
    kms = await startKms();
    gcloud = startGcloud({ servicedirectory: kms.server.addresses.rest }, PROJECT);
  });
  after(async () => {
    gcloud?.close();
    await kms?.close();
  });

  test('namespaces create, list, describe, update', async () => {
    const created = await gcloud.resource<Resource>([
      'service-directory', 'namespaces', 'create', 'ekm', '--location', LOC, '--labels', 'team=crypto,env=prod',
    ]);
    assert.equal(created.name, NS_NAME);
    assert.deepEqual(created.labels, { team: 'crypto', env: 'prod' });
    assert.match(String(created.uid), UUID);
    await gcloud.run(['service-directory', 'namespaces', 'create', 'spare', '--location', LOC]);

    const listed = await gcloud.json<Resource[]>(['service-directory', 'namespaces', 'list', '--location', LOC]);
    assert.deepEqual(listed.map((n) => n.name), [NS_NAME, `projects/${PROJECT}/locations/${LOC}/namespaces/spare`]);
    const filtered = await gcloud.json<Resource[]>([
      'service-directory', 'namespaces', 'list', '--location', LOC, '--filter', 'labels.team=crypto',
    ]);
    assert.deepEqual(filtered.map((n) => n.name), [NS_NAME]);

    const described = await gcloud.resource<Resource>(['service-directory', 'namespaces', 'describe', 'ekm', '--location', LOC]);
    assert.deepEqual(described, created);

    const updated = await gcloud.resource<Resource>([
      'service-directory', 'namespaces', 'update', 'spare', '--location', LOC, '--labels', 'team=ops',
    ]);
    assert.deepEqual(updated.labels, { team: 'ops' });
  });

  test('services create, list, describe, update', async () => {
    const created = await gcloud.resource<Resource>([
      'service-directory', 'services', 'create', 'replicas', ...inNs, '--annotations', 'protocol=https,owner=hsm',
    ]);
    assert.equal(created.name, SVC_NAME);
    assert.deepEqual(created.annotations, { protocol: 'https', owner: 'hsm' });
    await gcloud.run(['service-directory', 'services', 'create', 'spare', ...inNs]);

    const listed = await gcloud.json<Resource[]>(['service-directory', 'services', 'list', ...inNs]);
    assert.deepEqual(listed.map((s) => s.name), [SVC_NAME, `${NS_NAME}/services/spare`]);
    const described = await gcloud.resource<Resource>(['service-directory', 'services', 'describe', 'replicas', ...inNs]);
    assert.deepEqual(described, created);

    const updated = await gcloud.resource<Resource>([
      'service-directory', 'services', 'update', 'spare', ...inNs, '--annotations', 'protocol=grpc',
    ]);
    assert.deepEqual(updated.annotations, { protocol: 'grpc' });
  });

  test('endpoints create, list (with --filter and --sort-by), describe, update', async () => {
    const eu = await gcloud.resource<Resource>([
      'service-directory', 'endpoints', 'create', 'eu-a', ...inSvc,
      '--address', '10.0.0.1', '--port', '443', '--annotations', 'region=eu',
    ]);
    assert.equal(eu.name, `${SVC_NAME}/endpoints/eu-a`);
    assert.equal(eu.address, '10.0.0.1');
    assert.equal(eu.port, 443);
    assert.deepEqual(eu.annotations, { region: 'eu' });
    assert.match(String(eu.uid), UUID);
    await gcloud.run([
      'service-directory', 'endpoints', 'create', 'eu-b', ...inSvc, '--address', '10.0.0.2', '--port', '8443',
      '--annotations', 'region=eu',
    ]);
    const us = await gcloud.resource<Resource>([
      'service-directory', 'endpoints', 'create', 'us-a', ...inSvc, '--address', '2001:db8::1', '--port', '443',
      '--annotations', 'region=us', '--network', 'projects/123456789/locations/global/networks/default',
    ]);
    assert.equal(us.network, 'projects/123456789/locations/global/networks/default');

    const listed = await gcloud.json<Resource[]>(['service-directory', 'endpoints', 'list', ...inSvc]);
    assert.deepEqual(listed.map((e) => e.name.split('/').pop()), ['eu-a', 'eu-b', 'us-a']);
    const on443 = await gcloud.json<Resource[]>(['service-directory', 'endpoints', 'list', ...inSvc, '--filter', 'port=443']);
    assert.deepEqual(on443.map((e) => e.name.split('/').pop()), ['eu-a', 'us-a']);
    const euByPort = await gcloud.json<Resource[]>([
      'service-directory', 'endpoints', 'list', ...inSvc, '--filter', 'annotations.region=eu', '--sort-by', '~port',
    ]);
    assert.deepEqual(euByPort.map((e) => e.name.split('/').pop()), ['eu-b', 'eu-a']);

    const described = await gcloud.resource<Resource>(['service-directory', 'endpoints', 'describe', 'eu-a', ...inSvc]);
    assert.deepEqual(described, eu);

    const moved = await gcloud.resource<Resource>(['service-directory', 'endpoints', 'update', 'eu-b', ...inSvc, '--port', '9443']);
    assert.equal(moved.port, 9443);
    assert.equal(moved.address, '10.0.0.2');
    assert.deepEqual(moved.annotations, { region: 'eu' });
  });

  test('services resolve with --endpoint-filter and --max-endpoints', async () => {
    const resolve = async (...flags: string[]) => {
      const out = await gcloud.json<{ service: Resource & { endpoints?: Resource[] } }>([
        'service-directory', 'services', 'resolve', 'replicas', ...inNs, ...flags,
      ]);
      assert.equal(out.service.name, SVC_NAME);
      return (out.service.endpoints ?? []).map((e) => e.name.split('/').pop());
    };
    assert.deepEqual(await resolve(), ['eu-a', 'eu-b', 'us-a']);
    assert.deepEqual(await resolve('--endpoint-filter', 'port=443'), ['eu-a', 'us-a']);
    assert.deepEqual(await resolve('--endpoint-filter', 'annotations.region=eu AND port>1000'), ['eu-b']);
    assert.deepEqual(await resolve('--endpoint-filter', 'annotations.region=us OR port=9443'), ['eu-b', 'us-a']);
    assert.deepEqual(await resolve('--max-endpoints', '1'), ['eu-a']);
  });

  test('bad input: codes and messages naming the field', async () => {
    const sd = (...args: string[]) => gcloud.fails(['service-directory', ...args]);
    let stderr = await sd('namespaces', 'create', 'Bad_Name', '--location', LOC);
    assert.match(stderr, /INVALID_ARGUMENT/);
    assert.match(stderr, /namespace_id: 'Bad_Name'/);
    stderr = await sd('namespaces', 'create', 'ekm', '--location', 'global');
    assert.match(stderr, /INVALID_ARGUMENT/);
    assert.match(stderr, /parent: 'global' is not a Service Directory location/);
    stderr = await sd('namespaces', 'create', 'ekm', '--location', LOC);
    assert.match(stderr, /ALREADY_EXISTS|already exists/i);
    stderr = await sd('services', 'describe', 'none', ...inNs);
    assert.match(stderr, /NOT_FOUND/);
    assert.match(stderr, /Service projects\/sd-gcloud\/locations\/us-east1\/namespaces\/ekm\/services\/none not found/);
    stderr = await sd('endpoints', 'create', 'bad-address', ...inSvc, '--address', '10.0.0.1:443');
    assert.match(stderr, /INVALID_ARGUMENT/);
    assert.match(stderr, /endpoint\.address: '10\.0\.0\.1:443' is not an IPv4 or IPv6 address/);
    stderr = await sd('services', 'resolve', 'replicas', ...inNs, '--endpoint-filter', 'port=');
    assert.match(stderr, /INVALID_ARGUMENT/);
    assert.match(stderr, /endpoint_filter: expected a value/);
    stderr = await sd('services', 'resolve', 'replicas', ...inNs, '--endpoint-filter', 'port>high');
    assert.match(stderr, /endpoint_filter: invalid value 'high' for field 'port'/);
    stderr = await sd('endpoints', 'list', ...inSvc, '--filter', 'port>high');
    assert.match(stderr, /INVALID_ARGUMENT/);
    assert.match(stderr, /filter: invalid value 'high' for field 'port'/);
  });

  test('delete: endpoint, service, namespace (with what it holds)', async () => {
    await gcloud.run(['service-directory', 'endpoints', 'delete', 'us-a', ...inSvc]);
    const left = await gcloud.json<Resource[]>(['service-directory', 'endpoints', 'list', ...inSvc]);
    assert.deepEqual(left.map((e) => e.name.split('/').pop()), ['eu-a', 'eu-b']);
    let stderr = await gcloud.fails(['service-directory', 'endpoints', 'describe', 'us-a', ...inSvc]);
    assert.match(stderr, /NOT_FOUND/);

    await gcloud.run(['service-directory', 'services', 'delete', 'spare', ...inNs]);
    const services = await gcloud.json<Resource[]>(['service-directory', 'services', 'list', ...inNs]);
    assert.deepEqual(services.map((s) => s.name), [SVC_NAME]);

    await gcloud.run(['service-directory', 'namespaces', 'delete', 'ekm', '--location', LOC]);
    const namespaces = await gcloud.json<Resource[]>(['service-directory', 'namespaces', 'list', '--location', LOC]);
    assert.deepEqual(namespaces.map((n) => n.name), [`projects/${PROJECT}/locations/${LOC}/namespaces/spare`]);
    stderr = await gcloud.fails(['service-directory', 'services', 'describe', 'replicas', ...inNs]);
    assert.match(stderr, /NOT_FOUND/);
    stderr = await gcloud.fails(['service-directory', 'endpoints', 'describe', 'eu-a', ...inSvc]);
    assert.match(stderr, /NOT_FOUND/);
  });
});
