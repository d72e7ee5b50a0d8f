// `openekm serve` as a user runs it: a process that prints its addresses as a
// JSON line, serves the official client, exits cleanly on SIGTERM, and loses
// no acknowledged write when killed with SIGKILL under load.
import '../helpers/env';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { grpcClient, LOCATION, tempDir } from '../helpers/kms';

const MAIN = path.resolve(__dirname, '../../src/cli/main.js');

interface Running {
  child: ChildProcess;
  addresses: { grpc: string; rest: string };
}

function serve(args: string[]): Promise<Running> {
  const child = spawn(process.execPath, [MAIN, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout! });
    lines.once('line', (line) => resolve({ child, addresses: JSON.parse(line) as Running['addresses'] }));
    child.once('exit', (code) => reject(new Error(`openekm serve exited with ${code} before listening`)));
  });
}

const exited = (child: ChildProcess) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );

const portOf = (address: string) => Number(address.slice(address.lastIndexOf(':') + 1));

void test('serve prints its addresses, serves gRPC and REST, and exits 0 on SIGTERM', async () => {
  const { child, addresses } = await serve(['--data', tempDir(), '--grpc-port', '0', '--rest-port', '0']);
  assert.match(addresses.grpc, /^127\.0\.0\.1:\d+$/);
  assert.match(addresses.rest, /^http:\/\/127\.0\.0\.1:\d+$/);
  const client = grpcClient(portOf(addresses.grpc));
  const [ring] = await client.createKeyRing({ parent: LOCATION, keyRingId: 'cli', keyRing: {} });
  assert.equal(ring.name, `${LOCATION}/keyRings/cli`);
  await client.close();
  const response = await fetch(`${addresses.rest}/v1/${LOCATION}/keyRings/cli`);
  assert.equal(response.status, 200);
  assert.equal(((await response.json()) as { name: string }).name, `${LOCATION}/keyRings/cli`);
  const done = exited(child);
  child.kill('SIGTERM');
  assert.deepEqual(await done, { code: 0, signal: null });
});

void test('bad flags exit 2 with usage', async () => {
  for (const args of [['--data', 'x', '--in-memory'], ['--grpc-port', 'abc'], ['--rest-port', '70000'], ['--no-such-flag']]) {
    const child = spawn(process.execPath, [MAIN, 'serve', ...args], { stdio: 'ignore' });
    assert.equal((await exited(child)).code, 2, args.join(' '));
  }
});

void test('kill -9 under load loses no acknowledged write', async () => {
  const dataDir = tempDir();
  const first = await serve(['--data', dataDir, '--grpc-port', '0', '--rest-port', '0']);
  const firstExit = exited(first.child);
  const client = grpcClient(portOf(first.addresses.grpc));
  const acknowledged: string[] = [];
  let killed = false;
  // Four writers create key rings until the process dies under them.
  const writer = async (w: number) => {
    for (let i = 0; !killed; i++) {
      const id = `w${w}-${i}`;
      try {
        // No client retries: once the process is gone, a call must fail rather than wait for it.
        await client.createKeyRing({ parent: LOCATION, keyRingId: id, keyRing: {} }, { maxRetries: 0, timeout: 5000 });
        acknowledged.push(id);
      } catch {
        return;
      }
      if (acknowledged.length === 200) {
        killed = true;
        first.child.kill('SIGKILL');
      }
    }
  };
  await Promise.all([0, 1, 2, 3].map(writer));
  assert.equal((await firstExit).signal, 'SIGKILL');
  await client.close();

  const second = await serve(['--data', dataDir, '--grpc-port', '0', '--rest-port', '0']);
  const again = grpcClient(portOf(second.addresses.grpc));
  try {
    const [rings] = await again.listKeyRings({ parent: LOCATION, pageSize: 1000 });
    const stored = new Set(rings.map((r) => r.name!.split('/').pop()));
    const lost = acknowledged.filter((id) => !stored.has(id));
    assert.deepEqual(lost, []);
    assert.ok(acknowledged.length >= 200);
  } finally {
    await again.close();
    second.child.kill('SIGTERM');
    await exited(second.child);
  }
});
