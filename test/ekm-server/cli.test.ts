// `openekm ekm` as an operator runs it: serve prints its JSON line (with a
// fingerprint matching the DER file it names), the operator commands work
// against the running server, a revocation takes effect on the next request,
// and SIGTERM stops it cleanly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { EkmHttpClient } from './conformance/client';
import { TokenSigner } from './conformance/tokens';
import { AUDIENCE, CALLER, ISSUER, STRANGER, tempDir, withReason, writeJwks } from './helpers';
import { statusName } from './conformance/session';

const MAIN = path.resolve(__dirname, '../../src/cli/main.js');

interface Served {
  url: string;
  hostname: string;
  certificateDer: string;
  sha256Fingerprint: string;
  adminSocket: string;
  auditLog: string;
}

function serve(args: string[]): Promise<{ child: ChildProcess; line: Served }> {
  const child = spawn(process.execPath, [MAIN, 'ekm', 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).once('line', (line) => resolve({ child, line: JSON.parse(line) as Served }));
    child.once('exit', (code) => reject(new Error(`openekm ekm serve exited with ${code} before listening`)));
  });
}

function ekm(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, 'ekm', ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function ok(args: string[]): Promise<string> {
  const r = await ekm(args);
  assert.equal(r.code, 0, `openekm ekm ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

void test('serve prints its JSON line; operator commands manage keys and policy while it runs; SIGTERM exits 0', async () => {
  const dataDir = tempDir();
  const signer = TokenSigner.generate(ISSUER);
  const trustDir = tempDir('openekm-ekm-trust-');
  const jwks = writeJwks(trustDir, signer);
  const { child, line } = await serve(['--data', dataDir, '--port', '0', '--hostname', 'ekm.test', '--trust-issuer', `${ISSUER}=${jwks}`]);
  const data = ['--data', dataDir];
  const client = new EkmHttpClient(line.url, { pinnedSha256: line.sha256Fingerprint });
  try {
    assert.match(line.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const cert = new X509Certificate(fs.readFileSync(line.certificateDer));
    assert.equal(cert.fingerprint256.replace(/:/g, '').toLowerCase(), line.sha256Fingerprint);
    assert.ok(cert.checkHost('ekm.test'));

    await ok(['crypto-spaces', 'create', 'cli', '--caller', CALLER, '--caller', STRANGER, '--reasons', 'default=CUSTOMER_INITIATED_ACCESS', ...data]);
    const spaces = JSON.parse(await ok(['crypto-spaces', 'list', ...data])) as Array<{ path: string; policy: { callers: string[] } }>;
    assert.deepEqual(spaces.map((s) => s.path), ['v0/cryptospaces/cli']);
    const key = (await ok(['keys', 'create', '--crypto-space', 'cli', '--algorithm', 'EXTERNAL_SYMMETRIC_ENCRYPTION', ...data])).trim();
    assert.match(key, /^v0\/cryptospaces\/cli\/keys\/[A-Za-z0-9_-]+$/);
    const described = JSON.parse(await ok(['keys', 'describe', key, ...data])) as { state: string; algorithm: string };
    assert.equal(described.state, 'ENABLED');
    assert.equal((JSON.parse(await ok(['keys', 'list', '--crypto-space', 'cli', ...data])) as unknown[]).length, 1);

    const wrap = async (email: string) => {
      const res = await client.request('POST', `/${key}:wrap`, { token: signer.token({ email, audience: AUDIENCE }), body: withReason({ plaintext: 'AAEC' }) });
      return statusName(res.body) ?? String(res.status);
    };
    assert.equal(await wrap(STRANGER), '200');
    await ok(['policy', 'set', '--crypto-space', 'cli', '--remove-caller', STRANGER, ...data]);
    assert.equal(await wrap(STRANGER), 'PERMISSION_DENIED', 'revocation applies to the next request');
    assert.equal(await wrap(CALLER), '200');
    await ok(['policy', 'set', '--key', key, '--reasons', 'wrap=GOOGLE_INITIATED_SERVICE', ...data]);
    assert.equal(await wrap(CALLER), 'PERMISSION_DENIED', 'a key-level reason policy');
    const keyPolicy = JSON.parse(await ok(['policy', 'get', '--key', key, ...data])) as { policy: { reasons: Record<string, string[]> } };
    assert.deepEqual(keyPolicy.policy.reasons.wrap, ['GOOGLE_INITIATED_SERVICE']);
    await ok(['policy', 'set', '--key', key, '--inherit', ...data]);
    assert.equal(await wrap(CALLER), '200');

    await ok(['keys', 'disable', key, ...data]);
    assert.equal(await wrap(CALLER), 'FAILED_PRECONDITION');
    await ok(['keys', 'enable', key, ...data]);
    assert.equal(await wrap(CALLER), '200');
    await ok(['keys', 'destroy', key, ...data]);
    assert.equal(await wrap(CALLER), 'FAILED_PRECONDITION');

    const tail = (await ok(['audit', 'tail', '-n', '3', ...data])).trim().split('\n');
    assert.equal(tail.length, 3);
    assert.equal((JSON.parse(tail[2]) as { decision: string; status: string }).status, 'FAILED_PRECONDITION');
  } finally {
    client.close();
    const done = exited(child);
    child.kill('SIGTERM');
    assert.equal(await done, 0);
    for (const dir of [dataDir, trustDir]) fs.rmSync(dir, { recursive: true, force: true });
  }
});

void test('bad usage exits 2; a command without a running server exits 1', async () => {
  for (const args of [['serve', '--port', 'abc'], ['serve', '--no-such-flag'], ['frob'], ['keys', 'create'], ['policy', 'get'], ['serve', '--trust-issuer', 'no-equals']]) {
    assert.equal((await ekm(args)).code, 2, args.join(' '));
  }
  const empty = tempDir();
  const r = await ekm(['keys', 'list', '--data', empty]);
  fs.rmSync(empty, { recursive: true, force: true });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no EKM is running/);
  assert.match((await ekm(['help'])).stdout, /openekm ekm serve/);
});
