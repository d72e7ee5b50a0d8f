// Compilation of filters and order_by for one collection: what is accepted,
// what is refused with INVALID_ARGUMENT, and the shape of the SQL pieces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, KmsError } from '../../src/errors';
import { compileFilter, compileOrderBy, keysetAfter, orderBySql, selectOrderValues } from '../../src/list/query';
import { parseDuration, parseTimestamp } from '../../src/list/values';
import { SPEC, makeRows, openDatabase } from './fixture';

const isInvalidArgument = (err: unknown): boolean => err instanceof KmsError && err.code === Code.INVALID_ARGUMENT;

function assertFilterInvalid(filter: string): void {
  assert.throws(() => compileFilter(filter, SPEC), isInvalidArgument, `expected INVALID_ARGUMENT for filter ${filter}`);
}

function assertOrderInvalid(orderBy: string): void {
  assert.throws(() => compileOrderBy(orderBy, SPEC), isInvalidArgument, `expected INVALID_ARGUMENT for order_by ${orderBy}`);
}

void test('no filter selects every row', () => {
  assert.deepEqual(compileFilter(undefined, SPEC), { sql: '1', params: [] });
  assert.deepEqual(compileFilter('   ', SPEC), { sql: '1', params: [] });
});

void test('values are bound parameters, never SQL text', () => {
  const where = compileFilter('name="abc" labels.env:Prod purpose=5 create_time>2024-01-01T00:00:00Z', SPEC);
  assert.ok(!/abc|prod|ASYMMETRIC|2024/i.test(where.sql), where.sql);
  assert.deepEqual(where.params, [
    'abc',
    '$."env"',
    '$."env"',
    'prod',
    'ASYMMETRIC_SIGN',
    Date.UTC(2024, 0, 1),
  ]);
});

void test('unknown fields are refused, including Object.prototype names', () => {
  for (const field of ['foo', 'constructor', 'toString', '__proto__', 'hasOwnProperty', 'name.first', 'labelsx.env', 'primary']) {
    assertFilterInvalid(`${field}=1`);
  }
});

void test('bad timestamps are refused', () => {
  for (const value of [
    '2024-13-01T00:00:00Z',
    '2023-02-29T00:00:00Z',
    '2024-01-01',
    '1700000000',
    '2024-01-01T24:00:00Z',
    '2024-01-01T00:60:00Z',
    '2024-01-01T00:00:60Z',
    '2024-01-01T00:00:00',
    '2024-01-01T00:00:00+24:00',
    '2024-01-01T00:00:00.1234567890Z',
    'yesterday',
  ]) {
    assertFilterInvalid(`create_time>${value}`);
  }
});

void test('bad enum values are refused, numbers map through enumNumbers', () => {
  for (const filter of ['purpose=FOO', 'purpose=7', 'purpose=ENABLED', 'purpose=encrypt_decrypt', 'primary.state=0']) {
    assertFilterInvalid(filter);
  }
  assert.deepEqual(compileFilter('purpose=9', SPEC).params, ['MAC']);
  assert.deepEqual(compileFilter('purpose:"MAC"', SPEC).params, ['MAC']);
});

void test('operators and values that do not fit the type are refused', () => {
  for (const filter of [
    'import_only<true',
    'import_only=maybe',
    'purpose>MAC',
    'primary.state<=ENABLED',
    'version_count=1.5',
    'version_count=abc',
    'version_count=99999999999999999',
    'rotation_period=86400',
    'rotation_period="1d"',
    'rotation_period>99999999999999s',
    'labels=prod',
    'labels:*',
    'labels:"a\\"b"',
  ]) {
    assertFilterInvalid(filter);
  }
});

void test('map fields: KEY comparisons, KEY presence and map:KEY', () => {
  const rows = makeRows();
  const db = openDatabase(rows);
  const count = (filter: string): number => {
    const where = compileFilter(filter, SPEC);
    return (db.prepare(`SELECT count(*) AS n FROM keys k WHERE ${where.sql}`).get(...where.params) as { n: number }).n;
  };
  const withTeam = rows.filter((r) => r.labels?.team !== undefined).length;
  assert.ok(withTeam > 0);
  assert.equal(count('labels.team:*'), withTeam);
  assert.equal(count('labels:team'), withTeam);
  assert.equal(count('labels.team:"*"'), 0, 'a quoted star is a literal');
  assert.equal(count('labels.nope:*'), 0);
  assert.equal(count('labels.nope!=x'), rows.length, 'an absent key is unequal to everything');
  assert.equal(count('NOT labels.nope=x'), rows.length);
  db.close();
});

void test('sub-millisecond timestamps and durations compare exactly', () => {
  assert.deepEqual(parseTimestamp('1970-01-01T00:00:00.0015Z'), { floor: 1, exact: false });
  assert.deepEqual(parseTimestamp('1970-01-01T00:00:00.001000000Z'), { floor: 1, exact: true });
  assert.deepEqual(parseTimestamp('1970-01-01T05:30:00+05:30'), { floor: 0, exact: true });
  assert.deepEqual(parseTimestamp('1969-12-31T23:00:00-01:00'), { floor: 0, exact: true });
  assert.deepEqual(parseTimestamp('0050-01-01T00:00:00Z'), { floor: new Date('0050-01-01T00:00:00Z').getTime(), exact: true });
  assert.deepEqual(parseTimestamp('2024-02-29T00:00:00z'), { floor: Date.UTC(2024, 1, 29), exact: true });
  assert.deepEqual(parseDuration('86400s'), { floor: 86_400_000, exact: true });
  assert.deepEqual(parseDuration('1.5s'), { floor: 1500, exact: true });
  assert.deepEqual(parseDuration('-1.0005s'), { floor: -1001, exact: false });
  assert.deepEqual(parseDuration('0.000000001s'), { floor: 0, exact: false });
  assert.equal(parseDuration('1.5'), undefined);
  assert.equal(parseDuration('s'), undefined);
});

void test('order_by: fields, directions, and the unique tiebreak', () => {
  assert.deepEqual(compileOrderBy('', SPEC), [{ field: 'name', column: 'k.name', desc: false }]);
  assert.deepEqual(compileOrderBy(undefined, SPEC), [{ field: 'name', column: 'k.name', desc: false }]);
  assert.deepEqual(compileOrderBy('name desc', SPEC), [{ field: 'name', column: 'k.name', desc: true }]);
  assert.deepEqual(compileOrderBy('create_time DESC', SPEC), [
    { field: 'create_time', column: 'k.create_time', desc: true },
    { field: 'name', column: 'k.name', desc: false },
  ]);
  assert.deepEqual(
    compileOrderBy('version_count asc, name desc, create_time', SPEC).map((t) => t.field),
    ['version_count', 'name'],
    'terms after the unique key decide nothing and are dropped',
  );
  const [purpose] = compileOrderBy('purpose', SPEC);
  assert.match(purpose.column, /^\(CASE k\.purpose WHEN 'ENCRYPT_DECRYPT' THEN 1 .* ELSE -1 END\)$/);
});

void test('order_by: malformed input is refused', () => {
  for (const orderBy of [
    'foo',
    'name up',
    'name desc extra',
    'name,,create_time',
    'name,',
    ',name',
    'labels.env',
    'labels',
    'name, name desc',
    'constructor',
    'create_time desc; DROP TABLE keys',
  ]) {
    assertOrderInvalid(orderBy);
  }
});

void test('ORDER BY, select list and keyset conditions', () => {
  const terms = compileOrderBy('create_time desc, version_count', SPEC);
  assert.equal(orderBySql(terms), 'ORDER BY k.create_time DESC, k.version_count ASC, k.name ASC');
  assert.equal(orderBySql([]), '');
  assert.equal(selectOrderValues(terms), 'k.create_time AS o0, k.version_count AS o1, k.name AS o2');
  const after = keysetAfter(terms, [10, 2, 'n']);
  assert.equal(
    after.sql,
    '(k.create_time <= ? AND ((k.create_time < ?) OR (k.create_time = ? AND k.version_count > ?) OR ' +
      '(k.create_time = ? AND k.version_count = ? AND k.name > ?)))',
  );
  assert.deepEqual(after.params, [10, 10, 10, 2, 10, 2, 'n']);
  assert.deepEqual(keysetAfter(compileOrderBy('name', SPEC), ['n']), { sql: '((k.name > ?))', params: ['n'] });
});

void test('keyset values that do not fit the ordering are refused', () => {
  const terms = compileOrderBy('create_time', SPEC);
  assert.throws(() => keysetAfter(terms, ['only one']), isInvalidArgument);
  assert.throws(() => keysetAfter(terms, [1, 'a', 'extra']), isInvalidArgument);
  // NULL in an order column is a spec bug, not a client error: it must not pass as INVALID_ARGUMENT.
  assert.throws(
    () => keysetAfter(terms, [null, 'a']),
    (err: unknown) => !(err instanceof KmsError),
  );
});
