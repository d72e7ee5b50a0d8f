// The AIP-160 parser: tree shapes for precedence and negation, values, and
// INVALID_ARGUMENT for every malformed filter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, KmsError } from '../../src/errors';
import { FilterNode, MAX_FILTER_COMPARISONS, MAX_FILTER_DEPTH, MAX_FILTER_LENGTH, parseFilter } from '../../src/list/filter';

/** The tree without positions, written compactly so expectations stay readable. */
function shape(node: FilterNode | undefined): unknown {
  if (node === undefined) return undefined;
  switch (node.kind) {
    case 'and':
    case 'or':
      return { [node.kind]: node.items.map(shape) };
    case 'not':
      return { not: shape(node.item) };
    case 'cmp':
      return `${node.field}${node.op}${node.quoted ? JSON.stringify(node.value) : node.value}`;
  }
}

const parsed = (text: string): unknown => shape(parseFilter(text));

function assertInvalid(text: string): void {
  assert.throws(
    () => parseFilter(text),
    (err: unknown) => err instanceof KmsError && err.code === Code.INVALID_ARGUMENT,
    `expected INVALID_ARGUMENT for ${JSON.stringify(text)}`,
  );
}

void test('empty and whitespace filters mean no filter', () => {
  assert.equal(parseFilter(''), undefined);
  assert.equal(parseFilter('  \t\n '), undefined);
});

void test('a single comparison with each operator', () => {
  for (const op of ['=', '!=', '<', '<=', '>', '>=', ':']) {
    assert.equal(parsed(`state${op}ENABLED`), `state${op}ENABLED`);
    assert.equal(parsed(`  state ${op}  ENABLED `), `state${op}ENABLED`);
  }
  assert.equal(parsed('version_count => 3'), 'version_count>=3', 'the Cloud KMS docs spell >= as =>');
});

void test('OR binds tighter than AND, and juxtaposition is AND', () => {
  assert.deepEqual(parsed('a=1 AND b=2 OR c=3'), { and: ['a=1', { or: ['b=2', 'c=3'] }] });
  assert.deepEqual(parsed('a=1 OR b=2 AND c=3'), { and: [{ or: ['a=1', 'b=2'] }, 'c=3'] });
  assert.deepEqual(parsed('a=1 b=2 OR c=3'), { and: ['a=1', { or: ['b=2', 'c=3'] }] });
  assert.deepEqual(parsed('a=1 OR b=2 OR c=3'), { or: ['a=1', 'b=2', 'c=3'] });
});

void test('parentheses override precedence', () => {
  assert.deepEqual(parsed('(a=1 AND b=2) OR c=3'), { or: [{ and: ['a=1', 'b=2'] }, 'c=3'] });
  assert.deepEqual(parsed('((a=1))'), 'a=1');
  assert.deepEqual(parsed('(a=1)(b=2)'), { and: ['a=1', 'b=2'] });
});

void test('NOT and - negate the following term only', () => {
  assert.deepEqual(parsed('NOT a=1'), { not: 'a=1' });
  assert.deepEqual(parsed('-a=1'), { not: 'a=1' });
  assert.deepEqual(parsed('NOT a=1 b=2'), { and: [{ not: 'a=1' }, 'b=2'] });
  assert.deepEqual(parsed('-a=1 OR b=2'), { or: [{ not: 'a=1' }, 'b=2'] });
  assert.deepEqual(parsed('NOT(a=1 OR b=2)'), { not: { or: ['a=1', 'b=2'] } });
  assert.deepEqual(parsed('-(a=1)'), { not: 'a=1' });
  assert.deepEqual(parsed('NOT NOT a=1'), { not: { not: 'a=1' } });
});

void test('keywords are whole uppercase words', () => {
  assert.equal(parsed('NOTE=1'), 'NOTE=1');
  assert.deepEqual(parsed('ORDER=1 ANDROID=2'), { and: ['ORDER=1', 'ANDROID=2'] });
  assert.deepEqual(parsed('a=1 and=2'), { and: ['a=1', 'and=2'] });
});

void test('dotted paths and dashes inside names and values', () => {
  assert.equal(parsed('primary.state=ENABLED'), 'primary.state=ENABLED');
  assert.equal(parsed('version_template.protection_level=HSM'), 'version_template.protection_level=HSM');
  assert.equal(parsed('labels.cost-center=a-b'), 'labels.cost-center=a-b');
  assert.equal(parsed('n=-5'), 'n=-5');
  assert.equal(parsed('create_time>2021-01-01T00:00:00Z'), 'create_time>2021-01-01T00:00:00Z');
  assert.equal(parsed('create_time>=2021-01-01T00:00:00.123+05:30'), 'create_time>=2021-01-01T00:00:00.123+05:30');
});

void test('quoted strings keep spaces and operators and honour escapes', () => {
  assert.equal(parsed('name="a b AND c=d"'), 'name="a b AND c=d"');
  const node = parseFilter(String.raw`name="say \"hi\"\\ \n\t"`);
  assert.ok(node && node.kind === 'cmp');
  assert.equal(node.value, 'say "hi"\\ \n\t');
  assert.equal(node.quoted, true);
  const single = parseFilter(String.raw`name='it\'s'`);
  assert.ok(single && single.kind === 'cmp');
  assert.equal(single.value, "it's");
  assert.equal(parsed('name=""'), 'name=""');
});

void test(':* means present, but a quoted "*" is a literal star', () => {
  const bare = parseFilter('labels.env:*');
  assert.ok(bare && bare.kind === 'cmp');
  assert.deepEqual([bare.value, bare.quoted], ['*', false]);
  const quoted = parseFilter('labels.env:"*"');
  assert.ok(quoted && quoted.kind === 'cmp');
  assert.deepEqual([quoted.value, quoted.quoted], ['*', true]);
});

void test('comparisons record where they start', () => {
  const node = parseFilter('a=1 AND  bb=2');
  assert.ok(node && node.kind === 'and');
  assert.deepEqual(
    node.items.map((item) => (item.kind === 'cmp' ? item.pos : -1)),
    [0, 9],
  );
});

void test('malformed filters are INVALID_ARGUMENT', () => {
  const bad = [
    '(a=1',
    'a=1)',
    '((a=1)',
    '()',
    'a=',
    'a= ',
    'a=1 AND',
    'a=1 OR',
    'AND a=1',
    'OR',
    'NOT',
    '-',
    'a=1 AND OR b=2',
    'a',
    'a b',
    '=1',
    'a==1',
    'a=AND',
    'a="unterminated',
    String.raw`a="bad \q escape"`,
    'a="trailing backslash\\',
    'a=1 , b=2',
    '.a=1',
  ];
  for (const text of bad) assertInvalid(text);
});

void test('size limits hold hostile filters off', () => {
  assertInvalid('x'.repeat(MAX_FILTER_LENGTH + 1));
  assertInvalid(`${'('.repeat(MAX_FILTER_DEPTH + 1)}a=1${')'.repeat(MAX_FILTER_DEPTH + 1)}`);
  assertInvalid(`${'NOT '.repeat(MAX_FILTER_DEPTH + 1)}a=1`);
  assertInvalid(Array.from({ length: MAX_FILTER_COMPARISONS + 1 }, (_, i) => `a=${i}`).join(' '));
  assert.ok(parseFilter(Array.from({ length: MAX_FILTER_COMPARISONS }, (_, i) => `a=${i}`).join(' OR ')));
});
