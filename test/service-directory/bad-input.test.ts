// Service Directory refusing bad input: each case asserts the canonical code
// and that the message names the request field at fault.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Code } from '../../src/errors';
import { type Harness, rejectsWithCode, startKms } from '../helpers/kms';
import { type DirectoryClients, directoryClients, errorText } from './clients';

const LOC = 'projects/bad-input/locations/us-east1';
const NS = `${LOC}/namespaces/ns`;
const SVC = `${NS}/services/svc`;
const EP = `${SVC}/endpoints/ep`;

/** Asserts the code, that the message names `field` (a request field, or a resource name), and `pattern`. */
async function fails(call: Promise<unknown>, code: Code, field: string, pattern?: RegExp): Promise<void> {
  const err = await rejectsWithCode(call, code);
  const text = errorText(err);
  // A request field is named as "field: …"; a resource (NOT_FOUND, ALREADY_EXISTS) by its name.
  const named = field.includes('/') ? text.includes(field) : text.startsWith(`${field}:`);
  assert.ok(named, `expected '${field}' in: ${text}`);
  if (pattern) assert.match(text, pattern);
}

describe('Service Directory: bad input', () => {
  let kms: Harness;
  let sd: DirectoryClients;

  before(async () => {
    kms = await startKms();
    sd = directoryClients(kms.server);
    await sd.registration.createNamespace({ parent: LOC, namespaceId: 'ns', namespace: {} });
    await sd.registration.createService({ parent: NS, serviceId: 'svc', service: {} });
    await sd.registration.createEndpoint({ parent: SVC, endpointId: 'ep', endpoint: { address: '10.0.0.1', port: 443 } });
  });
  after(async () => {
    await sd?.close();
    await kms?.close();
  });

  test('bad resource names: INVALID_ARGUMENT naming the field', async () => {
    const r = sd.registration;
    await fails(r.createNamespace({ parent: 'projects/bad-input', namespaceId: 'x', namespace: {} }), Code.INVALID_ARGUMENT, 'parent', /projects\/\*\/locations\/\*/);
    await fails(r.listNamespaces({ parent: 'locations/us-east1' }), Code.INVALID_ARGUMENT, 'parent');
    await fails(r.getNamespace({ name: `${LOC}/namespace/ns` }), Code.INVALID_ARGUMENT, 'name', /namespaces\/\*/);
    await fails(r.getNamespace({ name: `${LOC}/namespaces/NS` }), Code.INVALID_ARGUMENT, 'name', /RFC 1035/);
    await fails(r.getService({ name: `${NS}/services/svc/extra` }), Code.INVALID_ARGUMENT, 'name');
    await fails(r.getService({ name: `${NS}/services/under_score` }), Code.INVALID_ARGUMENT, 'name');
    await fails(r.deleteEndpoint({ name: `${SVC}/endpoints/` }), Code.INVALID_ARGUMENT, 'name');
    await fails(r.createEndpoint({ parent: `${NS}/services`, endpointId: 'x', endpoint: {} }), Code.INVALID_ARGUMENT, 'parent');
    await fails(sd.lookup.resolveService({ name: NS }), Code.INVALID_ARGUMENT, 'name');
    await fails(r.getNamespace({ name: '' }), Code.INVALID_ARGUMENT, 'name', /required/);
  });

  test('locations: Service Directory is regional', async () => {
    const r = sd.registration;
    await fails(r.createNamespace({ parent: 'projects/bad-input/locations/global', namespaceId: 'x', namespace: {} }), Code.INVALID_ARGUMENT, 'parent', /'global' is not a Service Directory location/);
    await fails(r.createNamespace({ parent: 'projects/bad-input/locations/us', namespaceId: 'x', namespace: {} }), Code.INVALID_ARGUMENT, 'parent', /regional/);
    await fails(r.listNamespaces({ parent: 'projects/bad-input/locations/moon-1' }), Code.INVALID_ARGUMENT, 'parent');
  });

  test('bad ids: RFC 1035 labels only', async () => {
    const r = sd.registration;
    for (const id of ['Upper', '1starts-with-digit', 'ends-with-dash-', 'under_score', 'a'.repeat(64), 'dot.ted']) {
      await fails(r.createNamespace({ parent: LOC, namespaceId: id, namespace: {} }), Code.INVALID_ARGUMENT, 'namespace_id', /RFC 1035/);
    }
    await fails(r.createNamespace({ parent: LOC, namespaceId: '', namespace: {} }), Code.INVALID_ARGUMENT, 'namespace_id', /required/);
    await fails(r.createService({ parent: NS, serviceId: 'Svc', service: {} }), Code.INVALID_ARGUMENT, 'service_id');
    await fails(r.createEndpoint({ parent: SVC, endpointId: '-x', endpoint: {} }), Code.INVALID_ARGUMENT, 'endpoint_id');
    // 63 characters is the longest id.
    const [longest] = await r.createNamespace({ parent: LOC, namespaceId: `a${'b'.repeat(62)}`, namespace: {} });
    assert.equal(longest.name, `${LOC}/namespaces/a${'b'.repeat(62)}`);
  });

  test('field rules: labels, annotations, address, port, network', async () => {
    const r = sd.registration;
    await fails(r.createNamespace({ parent: LOC, namespaceId: 'l', namespace: { labels: { Team: 'x' } } }), Code.INVALID_ARGUMENT, 'namespace.labels');
    await fails(r.createService({ parent: NS, serviceId: 's1', service: { annotations: { '-bad': 'x' } } }), Code.INVALID_ARGUMENT, 'service.annotations');
    await fails(r.createService({ parent: NS, serviceId: 's1', service: { annotations: { 'Not_A.Domain/x': 'x' } } }), Code.INVALID_ARGUMENT, 'service.annotations', /DNS subdomain/);
    await fails(r.createService({ parent: NS, serviceId: 's1', service: { annotations: { big: 'x'.repeat(2000) } } }), Code.INVALID_ARGUMENT, 'service.annotations', /at most 2000/);
    const [fits] = await r.createService({ parent: NS, serviceId: 's1', service: { annotations: { big: 'x'.repeat(1997) } } });
    assert.equal(fits.annotations?.big?.length, 1997);
    await fails(r.createEndpoint({ parent: SVC, endpointId: 'e1', endpoint: { annotations: { big: 'x'.repeat(510) } } }), Code.INVALID_ARGUMENT, 'endpoint.annotations', /at most 512/);
    for (const address of ['8.8.8', '8.8.8.8:53', 'test:bad:address', '[::1]', '[::1]:8080', 'example.com']) {
      await fails(r.createEndpoint({ parent: SVC, endpointId: 'e1', endpoint: { address } }), Code.INVALID_ARGUMENT, 'endpoint.address');
    }
    for (const port of [-1, 65536]) {
      await fails(r.createEndpoint({ parent: SVC, endpointId: 'e1', endpoint: { port } }), Code.INVALID_ARGUMENT, 'endpoint.port', /\[0, 65535\]/);
    }
    await fails(
      r.createEndpoint({ parent: SVC, endpointId: 'e1', endpoint: { network: 'projects/my-project/locations/global/networks/default' } }),
      Code.INVALID_ARGUMENT, 'endpoint.network', /project number/,
    );
    await fails(
      r.updateEndpoint({ endpoint: { name: EP, port: 70000 }, updateMask: { paths: ['port'] } }),
      Code.INVALID_ARGUMENT, 'endpoint.port',
    );
  });

  test('existence: ALREADY_EXISTS, NOT_FOUND for missing resources and parents', async () => {
    const r = sd.registration;
    await fails(r.createNamespace({ parent: LOC, namespaceId: 'ns', namespace: {} }), Code.ALREADY_EXISTS, NS);
    await fails(r.createService({ parent: NS, serviceId: 'svc', service: {} }), Code.ALREADY_EXISTS, SVC);
    await fails(r.createEndpoint({ parent: SVC, endpointId: 'ep', endpoint: {} }), Code.ALREADY_EXISTS, EP);
    await fails(r.createService({ parent: `${LOC}/namespaces/none`, serviceId: 's', service: {} }), Code.NOT_FOUND, 'namespaces/none');
    await fails(r.createEndpoint({ parent: `${NS}/services/none`, endpointId: 'e', endpoint: {} }), Code.NOT_FOUND, 'services/none');
    await fails(r.listServices({ parent: `${LOC}/namespaces/none` }), Code.NOT_FOUND, 'namespaces/none');
    await fails(r.listEndpoints({ parent: `${NS}/services/none` }), Code.NOT_FOUND, 'services/none');
    await fails(r.getEndpoint({ name: `${SVC}/endpoints/none` }), Code.NOT_FOUND, 'endpoints/none');
    await fails(r.deleteService({ name: `${NS}/services/none` }), Code.NOT_FOUND, 'services/none');
    await fails(r.deleteNamespace({ name: `${LOC}/namespaces/none` }), Code.NOT_FOUND, 'namespaces/none');
    await fails(r.updateNamespace({ namespace: { name: `${LOC}/namespaces/none` }, updateMask: { paths: ['labels'] } }), Code.NOT_FOUND, 'namespaces/none');
    await fails(sd.lookup.resolveService({ name: `${NS}/services/none` }), Code.NOT_FOUND, 'services/none');
  });

  test('update masks: required, known, mutable', async () => {
    const r = sd.registration;
    await fails(r.updateEndpoint({ endpoint: { name: EP, port: 1 } }), Code.INVALID_ARGUMENT, 'update_mask', /required/);
    await fails(r.updateEndpoint({ endpoint: { name: EP }, updateMask: { paths: ['network'] } }), Code.INVALID_ARGUMENT, 'update_mask', /cannot be updated/);
    await fails(r.updateEndpoint({ endpoint: { name: EP }, updateMask: { paths: ['metadata'] } }), Code.INVALID_ARGUMENT, 'update_mask', /unknown field/);
    await fails(r.updateService({ service: { name: SVC }, updateMask: { paths: ['endpoints'] } }), Code.INVALID_ARGUMENT, 'update_mask');
    await fails(r.updateNamespace({ namespace: { name: NS }, updateMask: { paths: ['uid'] } }), Code.INVALID_ARGUMENT, 'update_mask');
    await fails(r.updateNamespace({ namespace: { name: 'ns' }, updateMask: { paths: ['labels'] } }), Code.INVALID_ARGUMENT, 'namespace.name');
    await fails(r.updateService({ service: {}, updateMask: { paths: ['annotations'] } }), Code.INVALID_ARGUMENT, 'service.name', /required/);
  });

  test('filter and endpoint_filter syntax errors; order_by; page_token', async () => {
    const r = sd.registration;
    await fails(r.listEndpoints({ parent: SVC, filter: 'port=' }), Code.INVALID_ARGUMENT, 'filter', /expected a value/);
    await fails(r.listEndpoints({ parent: SVC, filter: '(port=443' }), Code.INVALID_ARGUMENT, 'filter', /missing '\)'/);
    await fails(r.listEndpoints({ parent: SVC, filter: 'port=https' }), Code.INVALID_ARGUMENT, 'filter', /integer/);
    await fails(r.listServices({ parent: NS, filter: 'annotations=x' }), Code.INVALID_ARGUMENT, 'filter', /takes a key/);
    await fails(r.listNamespaces({ parent: LOC, filter: 'labels.a = "b' }), Code.INVALID_ARGUMENT, 'filter', /unterminated/);
    await fails(r.listEndpoints({ parent: SVC, orderBy: 'annotations' }), Code.INVALID_ARGUMENT, 'order_by');
    await fails(r.listNamespaces({ parent: LOC, orderBy: 'name sideways' }), Code.INVALID_ARGUMENT, 'order_by');
    await fails(r.listNamespaces({ parent: LOC, pageToken: 'bogus' }), Code.INVALID_ARGUMENT, 'page_token');

    const l = sd.lookup;
    await fails(l.resolveService({ name: SVC, endpointFilter: 'port=' }), Code.INVALID_ARGUMENT, 'endpoint_filter', /at position 5/);
    await fails(l.resolveService({ name: SVC, endpointFilter: 'port=443 AND' }), Code.INVALID_ARGUMENT, 'endpoint_filter');
    await fails(l.resolveService({ name: SVC, endpointFilter: 'annotations.region=eu OR OR port=1' }), Code.INVALID_ARGUMENT, 'endpoint_filter');
    await fails(l.resolveService({ name: SVC, endpointFilter: 'port>"high"' }), Code.INVALID_ARGUMENT, 'endpoint_filter', /integer/);
    await fails(l.resolveService({ name: SVC, endpointFilter: 'annotations:*' }), Code.INVALID_ARGUMENT, 'endpoint_filter', /takes a key/);
  });

  test('IAM methods are not served: UNIMPLEMENTED', async () => {
    await rejectsWithCode(sd.registration.getIamPolicy({ resource: NS }), Code.UNIMPLEMENTED);
  });

  test('over REST: the same errors with their HTTP status and google.rpc status', async () => {
    const base = kms.server.addresses.rest;
    const post = (path: string, body: unknown) =>
      fetch(`${base}/v1/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const cases: [Promise<Response>, number, string, string][] = [
      [post(`${LOC}/namespaces?namespaceId=Bad`, {}), 400, 'INVALID_ARGUMENT', 'namespace_id:'],
      [post(`${SVC}:resolve`, { endpointFilter: 'port=' }), 400, 'INVALID_ARGUMENT', 'endpoint_filter:'],
      [post(`${NS}/services/none:resolve`, {}), 404, 'NOT_FOUND', 'services/none'],
      [fetch(`${base}/v1/${SVC}/endpoints?filter=${encodeURIComponent('port>x')}`), 400, 'INVALID_ARGUMENT', 'filter:'],
      [post(`${SVC}/endpoints?endpointId=ep`, {}), 409, 'ALREADY_EXISTS', EP],
    ];
    for (const [response, status, code, text] of cases) {
      const res = await response;
      const body = (await res.json()) as { error: { code: number; status: string; message: string } };
      assert.equal(res.status, status, body.error.message);
      assert.equal(body.error.status, code);
      assert.ok(body.error.message.includes(text), body.error.message);
    }
  });
});
