// `node dist/bench/auth-ab.js [CALLS] [ROUNDS]` (after `npm run build`):
// issue 16's figure, Encrypt of 1 KiB at 64 in flight on a server with
// `--auth required` against one with `--auth none`, in one run. Both serve
// from memory on CPU 0; h2load on CPU 1 sends CALLS gRPC Encrypts to each in
// turn (the guarded one with the same ES256 token on every call, from a
// caller granted roles/cloudkms.cryptoKeyEncrypterDecrypter on the key
// ring), the order alternated per round after a warm-up. Prints each round,
// the medians and the paired ratios (docs/benchmark.md, "--auth required").
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { jwksDocument, TokenSigner } from '../src/ekm-conformance/tokens';
import { encodeMessage, messageType } from '../src/proto/registry';
import { processSeconds } from './cpu';
import { LOADGEN_CPU, startPinned, type ServerProcess } from './processes';

const MAIN = path.join(__dirname, '..', 'src', 'cli', 'main.js');
const ISSUER = 'https://issuer.bench.test';
const AUDIENCE = 'https://cloudkms.googleapis.com/';

interface Measure { rps: number; usPerCall: number }

/** A key ring and key made through the official client; the Encrypt body as a gRPC frame file. */
async function prepare(server: ServerProcess, tmp: string, adminToken?: string): Promise<string> {
  const client = new KeyManagementServiceClient({ apiEndpoint: '127.0.0.1', port: server.port('grpc'), sslCreds: grpc.credentials.createInsecure() });
  const options = { otherArgs: { headers: adminToken ? { authorization: `Bearer ${adminToken}` } : {} } };
  try {
    const [ring] = await client.createKeyRing({ parent: 'projects/bench/locations/us-east1', keyRingId: 'r', keyRing: {} }, options);
    const [key] = await client.createCryptoKey({ parent: ring.name!, cryptoKeyId: 'k', cryptoKey: { purpose: 'ENCRYPT_DECRYPT' } }, options);
    if (adminToken) {
      const iam = client as unknown as { setIamPolicy(r: object, o: object): Promise<unknown> };
      await iam.setIamPolicy({ resource: ring.name, policy: { bindings: [{ role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter', members: ['user:app@example.com'] }] } }, options);
    }
    const body = encodeMessage(messageType('google.cloud.kms.v1.EncryptRequest'), { name: key.name!, plaintext: Buffer.alloc(1024, 1) });
    const frame = Buffer.alloc(5 + body.length);
    frame.writeUInt32BE(body.length, 1);
    body.copy(frame, 5);
    const file = path.join(tmp, `${server.label}.bin`);
    fs.writeFileSync(file, frame);
    return file;
  } finally {
    await client.close();
  }
}

function measure(server: ServerProcess, bodyFile: string, calls: number, token?: string): Measure {
  const args = [
    '-c', String(LOADGEN_CPU), 'h2load', '-n', String(calls), '-c', '1', '-m', '64',
    '-H', 'content-type: application/grpc', '-H', 'te: trailers', ...(token ? ['-H', `authorization: Bearer ${token}`] : []),
    '-d', bodyFile, `http://127.0.0.1:${server.port('grpc')}/google.cloud.kms.v1.KeyManagementService/Encrypt`,
  ];
  const cpu0 = processSeconds(server.pid);
  const started = Date.now();
  const out = execFileSync('taskset', args, { encoding: 'utf8' });
  const wallS = (Date.now() - started) / 1000;
  const ok = Number(/status codes: (\d+) 2xx/.exec(out)?.[1] ?? 0);
  if (ok !== calls) throw new Error(`${server.label}: ${ok} of ${calls} calls answered 2xx`);
  return { rps: calls / wallS, usPerCall: ((processSeconds(server.pid) - cpu0) / calls) * 1e6 };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

async function main(): Promise<void> {
  const calls = Number(process.argv[2] ?? 30_000);
  const rounds = Number(process.argv[3] ?? 8);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'openekm-auth-ab-'));
  const signer = TokenSigner.generate(ISSUER, 'ES256');
  const jwks = path.join(tmp, 'jwks.json');
  fs.writeFileSync(jwks, JSON.stringify(jwksDocument(signer)));
  const token = signer.token({ email: 'app@example.com', audience: AUDIENCE, expiresIn: 3000 });
  const servers: ServerProcess[] = [];
  try {
    const open = await startPinned('auth-none', [MAIN, 'serve', '--in-memory', '--grpc-port', '0', '--rest-port', '0']);
    servers.push(open);
    const guarded = await startPinned('auth-required', [
      MAIN, 'serve', '--in-memory', '--grpc-port', '0', '--rest-port', '0', '--auth', 'required',
      '--trust-issuer', `${ISSUER}=${jwks}`, '--admin', 'user:admin@example.com',
    ]);
    servers.push(guarded);
    const files = {
      none: await prepare(open, tmp),
      required: await prepare(guarded, tmp, signer.token({ email: 'admin@example.com', audience: AUDIENCE, expiresIn: 3000 })),
    };
    const run = (which: 'none' | 'required', n: number) => (which === 'none' ? measure(open, files.none, n) : measure(guarded, files.required, n, token));
    run('none', 5000);
    run('required', 5000);
    const results: Record<'none' | 'required', Measure[]> = { none: [], required: [] };
    for (let round = 1; round <= rounds; round++) {
      for (const which of round % 2 ? (['none', 'required'] as const) : (['required', 'none'] as const)) {
        const m = run(which, calls);
        results[which].push(m);
        process.stdout.write(`round ${round} ${which}: ${m.rps.toFixed(0)} calls/s, ${m.usPerCall.toFixed(1)} us CPU/call\n`);
      }
    }
    const paired = results.required.map((m, i) => m.rps / results.none[i].rps);
    const rps = (which: 'none' | 'required') => median(results[which].map((m) => m.rps));
    process.stdout.write(`median calls/s: none ${rps('none').toFixed(0)}, required ${rps('required').toFixed(0)}; ratio of medians ${(rps('required') / rps('none')).toFixed(3)}\n`);
    process.stdout.write(`paired required/none: ${paired.map((r) => r.toFixed(3)).join(' ')}; median ${median(paired).toFixed(3)}\n`);
  } finally {
    for (const server of servers) await server.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`auth-ab: ${(err as Error).message}\n`);
  process.exit(1);
});
