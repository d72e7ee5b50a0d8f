import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { RootKey, loadOrCreateRootKeyFile } from '../../src/crypto/root-key';

const CONTEXT = 'projects/p/locations/global/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1';

function withTempDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'openekm-rootkey-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void test('seal/open round trip for several sizes', () => {
  const root = RootKey.generate();
  for (const size of [0, 1, 32, 2500]) {
    const pt = randomBytes(size);
    const sealed = root.seal(pt, CONTEXT);
    assert.equal(sealed.length, size + 29);
    assert.deepEqual(root.open(sealed, CONTEXT), pt);
  }
});

void test('open fails on wrong context, other root key, tampering and truncation', () => {
  const root = RootKey.generate();
  const sealed = root.seal(randomBytes(32), CONTEXT);
  assert.throws(() => root.open(sealed, CONTEXT.replace(/1$/, '2')));
  assert.throws(() => root.open(sealed, ''));
  assert.throws(() => RootKey.generate().open(sealed, CONTEXT));
  for (let i = 0; i < sealed.length; i++) {
    const bad = Buffer.from(sealed);
    bad[i] ^= 1;
    assert.throws(() => root.open(bad, CONTEXT));
  }
  for (const len of [0, 1, 28, sealed.length - 1]) assert.throws(() => root.open(sealed.subarray(0, len), CONTEXT));
});

void test('fromBase64 accepts exactly 32 bytes and rejects anything else', () => {
  const text = randomBytes(32).toString('base64');
  const a = RootKey.fromBase64(text);
  const b = RootKey.fromBase64(`  ${text}\n`);
  assert.deepEqual(b.open(a.seal(Buffer.from('x'), 'c'), 'c'), Buffer.from('x'));
  assert.throws(() => RootKey.fromBase64(randomBytes(31).toString('base64')));
  assert.throws(() => RootKey.fromBase64(randomBytes(33).toString('base64')));
  assert.throws(() => RootKey.fromBase64(''));
  assert.throws(() => RootKey.fromBase64(`${text.slice(0, 10)}!${text.slice(11)}`));
});

void test('deriveSecret is deterministic, 32 bytes, and label-separated', () => {
  const text = randomBytes(32).toString('base64');
  const a = RootKey.fromBase64(text);
  const b = RootKey.fromBase64(text);
  assert.equal(a.deriveSecret('page-token').length, 32);
  assert.deepEqual(a.deriveSecret('page-token'), b.deriveSecret('page-token'));
  assert.notDeepEqual(a.deriveSecret('page-token'), a.deriveSecret('page-token2'));
  assert.notDeepEqual(a.deriveSecret('page-token'), RootKey.generate().deriveSecret('page-token'));
});

void test('loadOrCreateRootKeyFile creates a 0600 file and reloads the same key', () => {
  withTempDir((dir) => {
    const path = join(dir, 'root.key');
    const first = loadOrCreateRootKeyFile(path);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const text = readFileSync(path, 'utf8');
    assert.match(text, /^[A-Za-z0-9+/]{43}=\n$/);
    assert.equal(Buffer.from(text.trim(), 'base64').length, 32);
    const again = loadOrCreateRootKeyFile(path);
    assert.deepEqual(again.open(first.seal(Buffer.from('m'), 'c'), 'c'), Buffer.from('m'));
    assert.deepEqual(again.deriveSecret('l'), first.deriveSecret('l'));
  });
});

void test('loadOrCreateRootKeyFile refuses a file readable by group or others', () => {
  withTempDir((dir) => {
    const path = join(dir, 'root.key');
    writeFileSync(path, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    chmodSync(path, 0o644);
    assert.throws(() => loadOrCreateRootKeyFile(path));
    chmodSync(path, 0o640);
    assert.throws(() => loadOrCreateRootKeyFile(path));
    chmodSync(path, 0o600);
    assert.ok(loadOrCreateRootKeyFile(path));
  });
});

void test('loadOrCreateRootKeyFile rejects a malformed existing file', () => {
  withTempDir((dir) => {
    const path = join(dir, 'root.key');
    writeFileSync(path, 'not a key\n', { mode: 0o600 });
    assert.throws(() => loadOrCreateRootKeyFile(path));
  });
});
