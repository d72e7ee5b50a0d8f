// Service Directory filters (src/services/service-directory/filter.ts): how request
// text is rewritten, which errors name which field, and what the rewritten
// filters select when the store runs them over real endpoint rows.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, KmsError } from '../../src/errors';
import { checkFilter, checkOrderBy } from '../../src/list/check';
import { filterSql, type ListColumns, orderTerms } from '../../src/list/query';
import {
  checkEndpointFilter,
  directoryFilter,
  ENDPOINT_FILTER_FIELDS,
  type FilterFields,
  listFieldsOf,
  NAMESPACE_FILTER_FIELDS,
  SERVICE_FILTER_FIELDS,
} from '../../src/services/service-directory/filter';
import type { DirectoryStore } from '../../src/store/directory';
import { ENDPOINT_LIST, NAMESPACE_LIST, SERVICE_LIST } from '../../src/store/sqlite-directory';
import { PgDirectoryStore } from '../../src/store/pg-directory';
import { openSqliteStore } from '../../src/store/sqlite';
import { openTestPgDb } from '../helpers/pg-db';

const E = ENDPOINT_FILTER_FIELDS;

function invalid(fn: () => unknown, field: string, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof KmsError, String(err));
    assert.equal(err.code, Code.INVALID_ARGUMENT);
    assert.ok(err.message.startsWith(`${field}: `), err.message);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('directory filter: rewriting', () => {
  test('no filter, blank filter: everything', () => {
    assert.deepEqual(directoryFilter(undefined, E, 'filter'), { match: 'all' });
    assert.deepEqual(directoryFilter('   ', E, 'filter'), { match: 'all' });
  });

  test('known fields keep their comparison; values are quoted; ":" with a value is "="', () => {
    assert.deepEqual(directoryFilter('port=443', E, 'filter'), { match: 'some', text: 'port="443"' });
    assert.deepEqual(directoryFilter('port:443', E, 'filter'), { match: 'some', text: 'port="443"' });
    assert.deepEqual(directoryFilter('annotations.region:eu', E, 'filter'), { match: 'some', text: 'annotations.region="eu"' });
    assert.deepEqual(directoryFilter('address:*', E, 'filter'), { match: 'some', text: 'address:*' });
    assert.deepEqual(directoryFilter('annotations:owner', E, 'filter'), { match: 'some', text: 'annotations:"owner"' });
    assert.deepEqual(directoryFilter('name="a\\"b"', E, 'filter'), { match: 'some', text: 'name="a\\"b"' });
  });

  test('AND/OR/NOT keep their grouping with as few parentheses as the grammar needs', () => {
    assert.equal(
      (directoryFilter('port=443 AND (annotations.region=eu OR annotations.region=us)', E, 'f') as { text: string }).text,
      'port="443" AND annotations.region="eu" OR annotations.region="us"',
    );
    assert.equal(
      (directoryFilter('(port=1 AND address=a) OR port=2', E, 'f') as { text: string }).text,
      '(port="1" AND address="a") OR port="2"',
    );
    assert.equal((directoryFilter('NOT (port=1 OR port=2)', E, 'f') as { text: string }).text, 'NOT (port="1" OR port="2")');
    assert.equal((directoryFilter('-port=1', E, 'f') as { text: string }).text, 'NOT port="1"');
  });

  test('annotations.KEY!=v requires the key (as Service Directory documents)', () => {
    assert.deepEqual(directoryFilter('annotations.owner!=sd', E, 'filter'), {
      match: 'some',
      text: 'annotations.owner:* AND annotations.owner!="sd"',
    });
  });

  test('fields the resource does not have match nothing, and fold away', () => {
    assert.deepEqual(directoryFilter('doesnotexist.foo=bar', E, 'filter'), { match: 'none' });
    assert.deepEqual(directoryFilter('NOT doesnotexist.foo=bar', E, 'filter'), { match: 'all' });
    assert.deepEqual(directoryFilter('labels.env=prod', E, 'filter'), { match: 'none' });
    assert.deepEqual(directoryFilter('port=443 OR uid=x', E, 'filter'), { match: 'some', text: 'port="443"' });
    assert.deepEqual(directoryFilter('port=443 AND uid=x', E, 'filter'), { match: 'none' });
    // The same text is a real filter on namespaces, whose map is labels.
    assert.deepEqual(directoryFilter('labels.env=prod', NAMESPACE_FILTER_FIELDS, 'filter'), {
      match: 'some',
      text: 'labels.env="prod"',
    });
  });

  test('syntax errors name the request field and the position', () => {
    invalid(() => directoryFilter('port=', E, 'endpoint_filter'), 'endpoint_filter', /expected a value .* at position 5/);
    invalid(() => directoryFilter('(port=1', E, 'endpoint_filter'), 'endpoint_filter', /missing '\)'/);
    invalid(() => directoryFilter('port 443', E, 'endpoint_filter'), 'endpoint_filter', /expected a comparison operator/);
    invalid(() => directoryFilter('port=1 AND', E, 'filter'), 'filter', /expected a field name/);
    invalid(() => directoryFilter('name="open', E, 'filter'), 'filter', /unterminated string/);
    invalid(() => directoryFilter(42, E, 'endpoint_filter'), 'endpoint_filter', /must be a string/);
  });

  test('values must suit the field; maps take keys', () => {
    invalid(() => directoryFilter('port=https', E, 'endpoint_filter'), 'endpoint_filter', /invalid value 'https' for field 'port'.*integer at position 0/);
    invalid(() => directoryFilter('address=1 AND port>x', E, 'filter'), 'filter', /field 'port'.* at position 14/);
    invalid(() => directoryFilter('annotations=eu', E, 'endpoint_filter'), 'endpoint_filter', /map field 'annotations' takes a key/);
    invalid(() => directoryFilter('annotations:*', E, 'endpoint_filter'), 'endpoint_filter', /takes a key/);
    invalid(() => directoryFilter('annotations:"a\\"b"', E, 'endpoint_filter'), 'endpoint_filter', /invalid map key/);
    invalid(() => checkEndpointFilter('port=x', 'ekm_connection.service_resolvers[0].endpoint_filter'),
      'ekm_connection.service_resolvers[0].endpoint_filter', /integer/);
  });

  test('every filter field is one the store compiles, with the type the rewrite assumes', () => {
    const pairs: [FilterFields, ListColumns][] = [
      [NAMESPACE_FILTER_FIELDS, NAMESPACE_LIST],
      [SERVICE_FILTER_FIELDS, SERVICE_LIST],
      [ENDPOINT_FILTER_FIELDS, ENDPOINT_LIST],
    ];
    for (const [fields, columns] of pairs) {
      const api = listFieldsOf(fields);
      for (const f of fields.strings) assert.equal(api.fields[f]?.type, 'string', f);
      for (const f of fields.integers) assert.equal(api.fields[f]?.type, 'integer', f);
      for (const m of fields.maps) assert.ok(columns.mapColumns?.[m], m);
      assert.deepEqual(Object.keys(columns.columns).sort(), [...fields.strings, ...fields.integers].sort());
      for (const f of [...fields.strings, ...fields.integers]) orderTerms(checkOrderBy(`${f} desc`, api), columns);
      for (const m of fields.maps) filterSql(checkFilter(`${m}.k="v" AND ${m}:"k"`, api), columns);
    }
  });
});

// Each backend's store, and how to close it (PostgreSQL: a fresh schema, dropped).
const BACKENDS: [string, () => Promise<{ directory: DirectoryStore; close(): Promise<void> }>][] = [
  ['sqlite', async () => {
    const store = openSqliteStore(':memory:');
    return { directory: store.directory, close: () => store.close() };
  }],
  ['postgres', async () => {
    const pg = await openTestPgDb();
    return { directory: new PgDirectoryStore(pg.db), close: () => pg.close() };
  }],
];

for (const [backend, open] of BACKENDS) describe(`directory filter: what it selects (run by the ${backend} store)`, () => {
  const SERVICE = 'projects/p/locations/us-east1/namespaces/ns/services/ekm';
  let close: () => Promise<void>;
  let directory: DirectoryStore;

  const endpoint = (id: string, address: string, port: number, annotations: Record<string, string>) =>
    directory.createEndpoint({
      name: `${SERVICE}/endpoints/${id}`, parent: SERVICE, uid: id, address, port, annotations, network: '',
      createTime: 1, updateTime: 1,
    });

  before(async () => {
    ({ directory, close } = await open());
    await directory.createNamespace({
      name: 'projects/p/locations/us-east1/namespaces/ns', parent: 'projects/p/locations/us-east1', uid: 'n',
      labels: {}, createTime: 1, updateTime: 1,
    });
    await directory.createService({
      name: SERVICE, parent: 'projects/p/locations/us-east1/namespaces/ns', uid: 's', annotations: {}, createTime: 1, updateTime: 1,
    });
    await endpoint('eu-a', '10.0.0.1', 443, { region: 'eu', owner: 'sd' });
    await endpoint('eu-b', '10.0.0.2', 8443, { region: 'eu', owner: 'ops' });
    await endpoint('us-a', '2001:db8::1', 443, { region: 'us' });
    await endpoint('bare', '', 0, {});
    await endpoint('high', '10.0.0.9', 10000, { region: 'Europe' });
  });
  after(() => close());

  async function select(filter: string): Promise<string[]> {
    const f = directoryFilter(filter, ENDPOINT_FILTER_FIELDS, 'endpoint_filter');
    if (f.match === 'none') return [];
    const page = await directory.listEndpoints({
      parent: SERVICE,
      filter: f.match === 'some' ? checkFilter(f.text, listFieldsOf(ENDPOINT_FILTER_FIELDS)) : undefined,
      order: [],
      pageSize: 100,
    });
    return page.items.map((e) => e.name.slice(e.name.lastIndexOf('/') + 1));
  }

  test('port: equality and numeric (not textual) order', async () => {
    assert.deepEqual(await select('port=443'), ['eu-a', 'us-a']);
    assert.deepEqual(await select('port:443'), ['eu-a', 'us-a']);
    assert.deepEqual(await select('port>8080'), ['eu-b', 'high']);
    assert.deepEqual(await select('port<1000'), ['bare', 'eu-a', 'us-a']);
    assert.deepEqual(await select('port!=443'), ['bare', 'eu-b', 'high']);
  });

  test('annotations: value, presence, "!=" only where present, exact (case-sensitive) ":"', async () => {
    assert.deepEqual(await select('annotations.region=eu'), ['eu-a', 'eu-b']);
    assert.deepEqual(await select('annotations.region:eu'), ['eu-a', 'eu-b']);
    assert.deepEqual(await select('annotations:owner'), ['eu-a', 'eu-b']);
    assert.deepEqual(await select('annotations.owner:*'), ['eu-a', 'eu-b']);
    assert.deepEqual(await select('annotations.owner!=sd'), ['eu-b']);
    assert.deepEqual(await select('NOT annotations.owner=sd'), ['bare', 'eu-b', 'high', 'us-a']);
  });

  test('AND, OR, NOT, parentheses and juxtaposition', async () => {
    assert.deepEqual(await select('annotations.region=eu AND port=443'), ['eu-a']);
    assert.deepEqual(await select('annotations.region=eu port=443'), ['eu-a']);
    assert.deepEqual(await select('annotations.region=us OR port=8443'), ['eu-b', 'us-a']);
    assert.deepEqual(await select('(annotations.region=eu OR annotations.region=us) AND port=443'), ['eu-a', 'us-a']);
    assert.deepEqual(await select('port=443 AND NOT annotations.region=us'), ['eu-a']);
    assert.deepEqual(await select('-address:*'), ['bare']);
  });

  test('address and name', async () => {
    assert.deepEqual(await select('address=10.0.0.2'), ['eu-b']);
    assert.deepEqual(await select('address="2001:db8::1"'), ['us-a']);
    assert.deepEqual(await select(`name>${SERVICE}/endpoints/eu-b`), ['high', 'us-a']);
    assert.deepEqual(await select(`name=${SERVICE}/endpoints/bare`), ['bare']);
  });

  test('unknown fields match nothing, and their negation everything', async () => {
    assert.deepEqual(await select('doesnotexist.foo=bar'), []);
    assert.deepEqual(await select('port=443 OR doesnotexist=1'), ['eu-a', 'us-a']);
    assert.equal((await select('NOT doesnotexist=1')).length, 5);
  });
});
