// The pieces under the listener limits, alone: the JSON depth scan (strings,
// escapes, unterminated text), the body-deadline sweep (fires, never early,
// removed ones never), the byte budget and a request's hold on it, and the
// limit values a caller may set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonDepthWithin } from '../../src/http-intake';
import { BodyBudget, BodyHold, Deadlines, limitsWith, limitsFromFlags } from '../../src/limits';

test('jsonDepthWithin counts brackets outside strings only, escapes included', () => {
  const deep = (n: number) => Buffer.from(`${'['.repeat(n)}${']'.repeat(n)}`);
  assert.equal(jsonDepthWithin(deep(64), 64), true);
  assert.equal(jsonDepthWithin(deep(65), 64), false);
  assert.equal(jsonDepthWithin(deep(10_000), 64), false);
  const pad = `"${'x'.repeat(200)}"`;
  // Brackets in strings, with escaped quotes and backslashes before the closing quote.
  assert.equal(jsonDepthWithin(Buffer.from(`{"a":${pad},"b":"${'['.repeat(500)}\\"${'{'.repeat(500)}"}`), 64), true);
  assert.equal(jsonDepthWithin(Buffer.from(`{"a":${pad},"b":"\\\\","c":${'['.repeat(80)}${']'.repeat(80)}}`), 64), false, 'an escaped backslash ends the string');
  assert.equal(jsonDepthWithin(Buffer.from(`{"a":${pad},"b":"\\\\\\"${'['.repeat(80)}"}`), 64), true, 'an escaped quote does not');
  assert.equal(jsonDepthWithin(Buffer.from(`{"a":${pad},"b":"unterminated ${'['.repeat(80)}`), 64), true, 'left to the parser to refuse');
  assert.equal(jsonDepthWithin(Buffer.from('[[['), 2), true, 'too short to nest 3 deep and be JSON: not scanned');
});

test('Deadlines fire once, never before their timeout, and not once removed', async () => {
  const deadlines = new Deadlines(80);
  const fired: string[] = [];
  const started = performance.now();
  const firedAt = new Map<string, number>();
  deadlines.add(80, () => {
    fired.push('a');
    firedAt.set('a', performance.now() - started);
  });
  const removed = deadlines.add(80, () => fired.push('removed'));
  deadlines.add(80, () => fired.push('c'));
  deadlines.remove(removed);
  deadlines.remove(removed);
  await new Promise((resolve) => setTimeout(resolve, 400));
  deadlines.stop();
  assert.deepEqual(fired.sort(), ['a', 'c']);
  assert.ok(firedAt.get('a')! >= 80, `fired after ${firedAt.get('a')} ms`);
});

test('BodyBudget and BodyHold: nothing past the capacity, everything given back once', () => {
  const budget = new BodyBudget(100);
  const a = new BodyHold(budget);
  const b = new BodyHold(budget);
  assert.equal(a.take(60), true);
  assert.equal(b.take(50), false, 'over the capacity');
  assert.equal(b.take(40), true);
  assert.equal(budget.used, 100);
  a.releaseAll();
  a.releaseAll();
  assert.equal(budget.used, 40);
  b.releaseAll();
  assert.equal(budget.used, 0);
  assert.equal(budget.peak, 100);
  assert.equal(new BodyHold(undefined).take(1e12), true, 'no budget: no cap');
});

test('limits: defaults, overrides, and values refused', () => {
  assert.equal(limitsWith({ bodyTimeoutMs: 5 }).bodyTimeoutMs, 5);
  assert.equal(limitsWith(undefined).maxConnections, 1024);
  assert.throws(() => limitsWith({ maxConnections: 0 }), /maxConnections must be a positive integer/);
  assert.throws(() => limitsWith({ idleTimeoutMs: 1.5 }), /idleTimeoutMs/);
  assert.deepEqual(limitsFromFlags({ 'max-connections': '7' }, (m) => new Error(m)), { maxConnections: 7 });
  for (const bad of ['0', '-1', '1e3', 'x', '']) {
    assert.throws(() => limitsFromFlags({ 'body-timeout-ms': bad }, (m) => new Error(m)), /--body-timeout-ms: not a positive integer/);
  }
});
