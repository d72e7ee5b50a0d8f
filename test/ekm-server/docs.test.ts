// Keeps the docs and the code in step: docs/ekm-protocol.md carries the shared
// protocol text verbatim and names every reason, operation, error domain and
// algorithm of src/protocol/ekm.ts and src/ekm; docs/ekm-server.md names every
// operator command and admin method.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ACCESS_REASONS, CRYPTO_SPACE_OPERATIONS, EKM_ERROR_DOMAINS, KEY_OPERATIONS } from '../../src/protocol/ekm';
import { EKM_ALGORITHMS } from '../../src/ekm-server/algorithms';
import { EKM_USAGE } from '../../src/ekm-server/cli';

const ROOT = path.resolve(__dirname, '../../..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');
const SHARED = path.join(ROOT, '..', 'shared', 'EKM-PROTOCOL.md');

void test('docs/ekm-protocol.md holds the shared protocol text verbatim', { skip: !fs.existsSync(SHARED) && 'no ../shared/EKM-PROTOCOL.md beside the repository' }, () => {
  assert.ok(read('docs/ekm-protocol.md').includes(fs.readFileSync(SHARED, 'utf8').trim()), 'docs/ekm-protocol.md and ../shared/EKM-PROTOCOL.md have drifted apart');
});

void test('docs/ekm-protocol.md names every reason, operation, error domain and algorithm', () => {
  const doc = read('docs/ekm-protocol.md');
  const names = [...ACCESS_REASONS, ...KEY_OPERATIONS, ...CRYPTO_SPACE_OPERATIONS, ...EKM_ERROR_DOMAINS, ...EKM_ALGORITHMS.map((a) => a.name)];
  assert.deepEqual(names.filter((n) => !doc.includes(n)), []);
  for (const [i, reason] of ACCESS_REASONS.entries()) assert.match(doc, new RegExp(`\\| ${i} \\| ${reason}`));
  for (const a of EKM_ALGORITHMS) assert.ok(doc.includes(`${a.name}\` (${a.number}`), `${a.name} and its number`);
});

void test('docs/ekm-server.md names every operator command and admin method', () => {
  const doc = read('docs/ekm-server.md');
  const commands = ['crypto-spaces create', 'crypto-spaces list', 'keys create', 'keys list', 'keys describe', 'keys disable', 'keys enable', 'keys destroy', 'policy get', 'policy set', 'audit tail'];
  for (const c of commands) {
    assert.ok(doc.includes(c), `docs/ekm-server.md lacks ${c}`);
    assert.ok(EKM_USAGE.includes(c.split(' ')[0]), `usage lacks ${c}`);
  }
  const adminSource = read('src/ekm-server/admin.ts');
  const methods = [...adminSource.matchAll(/^ {4}(\w+): async/gm)].map((m) => m[1]);
  assert.ok(methods.length >= 10);
  assert.deepEqual(methods.filter((m) => !doc.includes(`\`${m}\``)), []);
});
