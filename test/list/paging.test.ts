// End to end against SQLite: compileFilter + compileOrderBy + keysetAfter +
// page tokens, paging with several page sizes, must return exactly the rows,
// in exactly the order, that a plain JavaScript filter and sort give.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import {
  CollectionSpec,
  SqlFragment,
  compileFilter,
  compileOrderBy,
  keysetAfter,
  orderBySql,
  readOrderValues,
  selectOrderValues,
} from '../../src/list/query';
import { PageTokenCodec, listScope } from '../../src/list/page-token';
import { BASE_TIME, KeyRow, SPEC, TRICKY_NOTES, makeRows, openDatabase, referenceSort } from './fixture';

const ROWS = makeRows();
const DB = openDatabase(ROWS);
const CODEC = new PageTokenCodec(randomBytes(32));
const PAGE_SIZES = [1, 7, 50];
const STATEMENTS = new Map<string, Database.Statement>();

function prepare(sql: string): Database.Statement {
  let statement = STATEMENTS.get(sql);
  if (!statement) STATEMENTS.set(sql, (statement = DB.prepare(sql)));
  return statement;
}

/** Lists everything the way a List RPC would, one page per query; returns the names page by page. */
function listPages(spec: CollectionSpec, filter: string, orderBy: string, size: number): string[][] {
  const where = compileFilter(filter, spec);
  const terms = compileOrderBy(orderBy, spec);
  const scope = listScope('ListCryptoKeys', 'projects/p/locations/global/keyRings/ring', filter, orderBy);
  const pages: string[][] = [];
  let token = '';
  do {
    const after: SqlFragment = token ? keysetAfter(terms, CODEC.decode(token, scope)) : { sql: '1', params: [] };
    const sql = `SELECT k.name AS name, ${selectOrderValues(terms)} FROM keys k
      WHERE ${where.sql} AND ${after.sql} ${orderBySql(terms)} LIMIT ?`;
    // One row more than the page tells whether another page exists.
    const rows = prepare(sql).all(...where.params, ...after.params, size + 1) as Record<string, unknown>[];
    const page = rows.slice(0, size);
    pages.push(page.map((r) => r.name as string));
    token = rows.length > size ? CODEC.encode(scope, readOrderValues(terms, page[page.length - 1])) : '';
  } while (token);
  return pages;
}

function assertPagingMatches(filter: string, orderBy: string, order: readonly { field: string; desc?: boolean }[], keep: (r: KeyRow) => boolean): void {
  const expected = referenceSort(ROWS.filter(keep), order).map((r) => r.name);
  for (const size of PAGE_SIZES) {
    const pages = listPages(SPEC, filter, orderBy, size);
    const context = `filter ${JSON.stringify(filter)}, order_by ${JSON.stringify(orderBy)}, page size ${size}`;
    assert.deepEqual(pages.flat(), expected, context);
    pages.slice(0, -1).forEach((page) => assert.equal(page.length, size, `${context}: short page before the end`));
    assert.ok(pages[pages.length - 1].length <= size, context);
  }
}

const env = (r: KeyRow): string | undefined => r.labels?.env;
const asciiLower = (s: string): string => s.replace(/[A-Z]/g, (c) => c.toLowerCase());
const rotatesSlower = (r: KeyRow): boolean => r.rotationMs !== null && r.rotationMs > 86_400_000;

const FILTERS: readonly [string, (r: KeyRow) => boolean][] = [
  ['', () => true],
  ['primary.state=ENABLED', (r) => r.state === 'ENABLED'],
  ['labels.env=prod', (r) => env(r) === 'prod'],
  ['NOT labels.env=prod', (r) => env(r) !== 'prod'],
  ['labels.env != prod', (r) => env(r) !== 'prod'],
  ['labels.env:prod', (r) => asciiLower(env(r) ?? '\0').includes('prod')],
  ['labels.team:*', (r) => r.labels?.team !== undefined],
  ['-labels.team:*', (r) => r.labels?.team === undefined],
  ['name:KEY-01', (r) => r.name.includes('key-01')],
  [
    'create_time >= 2024-01-01T00:00:05Z AND create_time < "2024-01-01T01:00:12+01:00"',
    (r) => r.createTime >= BASE_TIME + 5000 && r.createTime < BASE_TIME + 12_000,
  ],
  [
    'primary.state=ENABLED OR primary.state=DISABLED purpose=MAC',
    (r) => (r.state === 'ENABLED' || r.state === 'DISABLED') && r.purpose === 'MAC',
  ],
  ['-(purpose=ENCRYPT_DECRYPT) import_only=true', (r) => r.purpose !== 'ENCRYPT_DECRYPT' && r.importOnly],
  ['rotation_period > 86400s', rotatesSlower],
  ['NOT rotation_period > 86400s', (r) => !rotatesSlower(r)],
  ['rotation_period:*', (r) => r.rotationMs !== null],
  ['version_count <= 2 OR labels.cost-center=cc-1', (r) => r.versionCount <= 2 || r.labels?.['cost-center'] === 'cc-1'],
  ['purpose=1', (r) => r.purpose === 'ENCRYPT_DECRYPT'],
  ['create_time > 2024-01-01T00:00:04.0005Z', (r) => r.createTime > BASE_TIME + 4000.5],
  ['create_time <= 2024-01-01T00:00:04.0005Z', (r) => r.createTime <= BASE_TIME + 4000.5],
  ['create_time = 2024-01-01T00:00:04.0005Z', () => false],
  ['NOT create_time = 2024-01-01T00:00:04.0005Z', () => true],
];

const ORDERS: readonly [string, { field: string; desc?: boolean }[]][] = [
  ['', [{ field: 'name' }]],
  ['name desc', [{ field: 'name', desc: true }]],
  ['create_time desc', [{ field: 'create_time', desc: true }]],
  ['create_time, primary.state DESC', [{ field: 'create_time' }, { field: 'primary.state', desc: true }]],
  ['purpose desc, create_time', [{ field: 'purpose', desc: true }, { field: 'create_time' }]],
  ['rotation_period desc, create_time desc', [{ field: 'rotation_period', desc: true }, { field: 'create_time', desc: true }]],
  [
    ' import_only , version_count desc,create_time ',
    [{ field: 'import_only' }, { field: 'version_count', desc: true }, { field: 'create_time' }],
  ],
];

for (const [filter, keep] of FILTERS) {
  void test(`paging with filter ${JSON.stringify(filter)} matches a JavaScript filter and sort`, () => {
    assert.ok(ROWS.some(keep) || filter.includes('.0005Z'), 'each filter should keep some rows to be meaningful');
    for (const [orderBy, order] of ORDERS) assertPagingMatches(filter, orderBy, order, keep);
  });
}

const quote = (value: string): string => `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

void test('filter values with quotes, %, _, backslashes and SQL text match literally', () => {
  for (const note of TRICKY_NOTES) {
    const keep = (r: KeyRow): boolean => r.labels?.note === note;
    assert.ok(ROWS.some(keep), `the fixture should hold a note ${note}`);
    assertPagingMatches(`labels.note=${quote(note)}`, '', [{ field: 'name' }], keep);
  }
  assertPagingMatches('labels.note:"%"', '', [{ field: 'name' }], (r) => r.labels?.note?.includes('%') === true);
  assertPagingMatches('labels.note:"_"', '', [{ field: 'name' }], (r) => r.labels?.note?.includes('_') === true);
  assertPagingMatches(`labels.note:"'"`, '', [{ field: 'name' }], (r) => r.labels?.note?.includes("'") === true);
  assertPagingMatches('labels.note:"upper CASE"', '', [{ field: 'name' }], (r) => r.labels?.note === 'UPPER case');
});

void test('SQL text in a filter is only ever a value', () => {
  const attacks = [`name="x' OR '1'='1"`, `name:"'; DROP TABLE keys; --"`, 'labels.env="prod\') OR (1=1"', `name:"%"`];
  for (const filter of attacks) {
    const where = compileFilter(filter, SPEC);
    assert.ok(!where.sql.includes("'1'") && !where.sql.includes('DROP') && !where.sql.includes('%'), where.sql);
    assert.deepEqual(listPages(SPEC, filter, '', 50).flat(), []);
  }
  assert.equal((DB.prepare('SELECT count(*) AS n FROM keys').get() as { n: number }).n, ROWS.length);
});

void test('a later page seeks through an index instead of scanning earlier rows', () => {
  for (const orderBy of ['name', 'create_time']) {
    const terms = compileOrderBy(orderBy, SPEC);
    const after = keysetAfter(terms, orderBy === 'name' ? ['k'] : [BASE_TIME, 'k']);
    const sql = `SELECT k.name FROM keys k WHERE ${after.sql} ${orderBySql(terms)} LIMIT 10`;
    const plan = (DB.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...after.params) as { detail: string }[]).map((r) => r.detail).join('\n');
    assert.match(plan, /SEARCH k USING (COVERING )?INDEX/, plan);
    assert.doesNotMatch(plan, /TEMP B-TREE/, plan);
  }
});
