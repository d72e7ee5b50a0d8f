// `openekm demo` runs Cloud EKM's usage flow to the end; `openekm dev` starts
// the KMS and a reference EKM with their data in the working directory and
// says how to reach them.
import '../helpers/env';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { promisify } from 'node:util';
import { tempDir } from '../helpers/kms';

const MAIN = path.resolve(__dirname, '../../src/cli/main.js');

void test('openekm demo: every step, ending with FAILED_PRECONDITION once the EKM is stopped', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [MAIN, 'demo'], { cwd: tempDir(), encoding: 'utf8', timeout: 60_000 });
  const steps = stdout.split('\n').filter((l) => /^\d\. /.test(l));
  assert.deepEqual(steps.map((l) => l[0]), ['1', '2', '3', '4', '5', '6', '7', '8'], stdout);
  assert.match(steps[6], /decrypted: "card 4111/);
  assert.match(steps[7], /FAILED_PRECONDITION/);
});

void test('openekm demo does not look for the cloud metadata server, even when the environment does not say so', async () => {
  // A loopback listener stands in for the metadata server: any probe lands here.
  let probes = 0;
  const listener = net.createServer((socket) => {
    probes++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, GCE_METADATA_HOST: `127.0.0.1:${(listener.address() as net.AddressInfo).port}` };
    for (const name of ['METADATA_SERVER_DETECTION', 'GCE_METADATA_IP', 'NO_GCE_CHECK']) delete env[name];
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [MAIN, 'demo'], { cwd: tempDir(), env, encoding: 'utf8', timeout: 60_000 });
    assert.match(stdout, /^8\. EKM stopped/m);
    assert.equal(probes, 0, 'the demo probed the metadata server');
    assert.doesNotMatch(stderr, /MetadataLookupWarning/);
  } finally {
    listener.close();
  }
});

void test('openekm dev: both servers, data in ./.openekm and ./.openekm-ekm, instructions printed', async () => {
  const cwd = tempDir();
  const child = spawn(process.execPath, [MAIN, 'dev', '--grpc-port', '0', '--rest-port', '0', '--ekm-port', '0'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const rl = readline.createInterface({ input: child.stdout! });
    rl.on('line', (line) => {
      lines.push(line);
      if (line.startsWith('Then:')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`openekm dev exited ${code}`)));
  });
  const first = JSON.parse(lines[0]) as { grpc: string; rest: string; ekm: string };
  assert.match(first.ekm, /^https:\/\/127\.0\.0\.1:\d+$/);
  const health = await fetch(`${first.rest}/v1/projects/p/locations`);
  assert.equal(health.status, 200);
  assert.ok(lines.some((l) => l.includes('api_endpoint_overrides/cloudkms')));
  assert.ok(fs.existsSync(path.join(cwd, '.openekm', 'kms-jwks.json')));
  assert.ok(fs.existsSync(path.join(cwd, '.openekm-ekm', 'ekm.sqlite')));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
});
