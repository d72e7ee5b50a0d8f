// In-memory filtering (ListLocations): same meaning as the SQL compiler for
// text, and unknown fields refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, KmsError } from '../../src/errors';
import { parseFilter } from '../../src/list/filter';
import { matchesFilter, validateFilterFields } from '../../src/list/query';

interface Location {
  name: string;
  location_id: string;
  display_name: string;
  labels: Record<string, string>;
}

const LOCATIONS: Location[] = [
  { name: 'projects/p/locations/us-east1', location_id: 'us-east1', display_name: 'South Carolina', labels: { region: 'us', tier: 'a' } },
  { name: 'projects/p/locations/europe-west1', location_id: 'europe-west1', display_name: 'Belgium', labels: { region: 'europe' } },
  { name: 'projects/p/locations/europe-north1', location_id: 'europe-north1', display_name: 'Finland', labels: { region: 'europe', tier: 'b' } },
  { name: 'projects/p/locations/global', location_id: 'global', display_name: '', labels: {} },
];
const FIELDS = ['name', 'location_id', 'display_name'];

function select(filter: string): string[] {
  const node = parseFilter(filter);
  return LOCATIONS.filter((loc) =>
    matchesFilter(
      node,
      (field) => (FIELDS.includes(field) ? loc[field as keyof Omit<Location, 'labels'>] : undefined),
      (map, key) => (map === 'labels' && Object.hasOwn(loc.labels, key) ? loc.labels[key] : undefined),
    ),
  ).map((loc) => loc.location_id);
}

const isInvalidArgument = (err: unknown): boolean => err instanceof KmsError && err.code === Code.INVALID_ARGUMENT;

void test('matchesFilter: equality, containment, presence and negation', () => {
  assert.deepEqual(select(''), ['us-east1', 'europe-west1', 'europe-north1', 'global']);
  assert.deepEqual(select('location_id=us-east1'), ['us-east1']);
  assert.deepEqual(select('name:EUROPE'), ['europe-west1', 'europe-north1']);
  assert.deepEqual(select('labels.region=europe'), ['europe-west1', 'europe-north1']);
  assert.deepEqual(select('labels.tier:*'), ['us-east1', 'europe-north1']);
  assert.deepEqual(select('labels.tier!=a'), ['europe-west1', 'europe-north1', 'global']);
  assert.deepEqual(select('NOT labels.tier=a'), ['europe-west1', 'europe-north1', 'global']);
  assert.deepEqual(select('display_name:*'), ['us-east1', 'europe-west1', 'europe-north1']);
  assert.deepEqual(select('labels.region=europe labels.tier=b OR location_id=global'), ['europe-north1']);
  assert.deepEqual(select('(labels.region=europe labels.tier=b) OR location_id=global'), ['europe-north1', 'global']);
  assert.deepEqual(select('location_id>=europe location_id<f'), ['europe-west1', 'europe-north1']);
  assert.deepEqual(select('-name:europe'), ['us-east1', 'global']);
  assert.deepEqual(select('name:"%"'), []);
});

void test('matchesFilter: unknown fields are refused even when earlier terms decide', () => {
  assert.throws(() => select('foo=1'), isInvalidArgument);
  assert.throws(() => select('location_id=global OR foo=1'), isInvalidArgument);
  assert.throws(() => select('location_id=nowhere foo=1'), isInvalidArgument);
  assert.throws(() => matchesFilter(parseFilter('labels.a=b'), () => undefined), isInvalidArgument, 'no map getter, no maps');
});

void test('validateFilterFields checks names without any item to match', () => {
  assert.doesNotThrow(() => validateFilterFields(parseFilter('name:x labels.region=us'), FIELDS, ['labels']));
  assert.doesNotThrow(() => validateFilterFields(undefined, FIELDS));
  assert.throws(() => validateFilterFields(parseFilter('NOT (name:x OR tags.a=b)'), FIELDS, ['labels']), isInvalidArgument);
  assert.throws(() => validateFilterFields(parseFilter('labels=x'), FIELDS, ['labels']), isInvalidArgument);
});
