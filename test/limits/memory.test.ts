// The report's memory case, against real processes: 30 gRPC streams and 30
// REST requests of about 8 MiB each, and 90 unfinished 1 MiB bodies to the
// EKM, all held open. Before the limits, the KMS grew by 460 MB and the EKM by
// 100 MB, and the requests stayed open past 135 s. Now each process's resident
// memory stays within its byte cap plus a margin for the runtime, and every
// held request is answered and closed once the body timeout passes.
import '../helpers/env';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import * as path from 'node:path';
import * as readline from 'node:readline';
import * as tls from 'node:tls';
import { tempDir } from '../helpers/kms';

const MAIN = path.resolve(__dirname, '../../src/cli/main.js');
const MiB = 1024 * 1024;
const CAP = 16 * MiB;
/** What a Node process may grow by for reasons of its own (heap, TLS, sockets) while the requests are held. */
const RUNTIME_MARGIN = 96 * MiB;
const LIMIT_FLAGS = ['--max-buffered-bytes', String(CAP), '--body-timeout-ms', '3000', '--headers-timeout-ms', '3000', '--idle-timeout-ms', '3000'];

interface Child {
  process: ChildProcess;
  first: Record<string, unknown>;
}

/** Starts `openekm ARGS` and reads the JSON line it prints once listening. */
async function start(args: string[]): Promise<Child> {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
  const line = await new Promise<string>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`openekm ${args[0]} exited with ${code}`)));
  });
  return { process: child, first: JSON.parse(line) as Record<string, unknown> };
}

/** Resident memory of a process, from /proc. */
function rss(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

/** The highest resident memory seen every 50 ms while `during` runs. */
async function peakRss(pid: number, during: Promise<unknown>): Promise<number> {
  let peak = rss(pid);
  const timer = setInterval(() => {
    peak = Math.max(peak, rss(pid));
  }, 50);
  try {
    await during;
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, rss(pid));
}

/**
 * Connections the server side of `ports` holds open (ESTABLISHED or
 * CLOSE_WAIT), from the kernel's tables: what the server did, whatever
 * state the test's own sockets are in.
 */
function serverConnections(ports: readonly number[]): number {
  const hex = new Set(ports.map((p) => p.toString(16).toUpperCase().padStart(4, '0')));
  let count = 0;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!fs.existsSync(table)) continue;
    for (const line of fs.readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 4) continue;
      const localPort = fields[1].split(':').pop()!;
      if (hex.has(localPort) && (fields[3] === '01' || fields[3] === '08')) count++;
    }
  }
  return count;
}

/** Resolves once the server holds no connection on ports (call it once the test's connections are up); fails after ms. */
async function allClosed(ports: readonly number[], ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (serverConnections(ports) > 0) {
    if (Date.now() > deadline) throw new Error(`the server still holds ${serverConnections(ports)} connections after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const connected = (socket: net.Socket, event = 'connect'): Promise<unknown> => new Promise((resolve) => socket.once(event, resolve));

const CHUNK = Buffer.alloc(64 * 1024, 0x41);

/** Writes `total` bytes in 64 KiB chunks as fast as the peer takes them, never ending the request. */
function pump(stream: { write(chunk: Buffer): boolean; once(event: 'drain', listener: () => void): unknown; destroyed: boolean }, total: number): void {
  let sent = 0;
  const next = (): void => {
    while (sent < total && !stream.destroyed) {
      const size = Math.min(CHUNK.length, total - sent);
      sent += size;
      if (!stream.write(size === CHUNK.length ? CHUNK : CHUNK.subarray(0, size))) {
        stream.once('drain', next);
        return;
      }
    }
  };
  next();
}

describe('held requests hold no more memory than the cap', { skip: process.platform !== 'linux' && 'reads /proc' }, () => {
  let kms: Child;
  let ekm: Child;
  let ekmDir: string;
  before(async () => {
    ekmDir = tempDir('openekm-memory-ekm-');
    kms = await start(['serve', '--in-memory', '--grpc-port', '0', '--rest-port', '0', ...LIMIT_FLAGS]);
    ekm = await start(['ekm', 'serve', '--data', ekmDir, '--port', '0', ...LIMIT_FLAGS]);
  });
  after(() => {
    kms.process.kill('SIGTERM');
    ekm.process.kill('SIGTERM');
    fs.rmSync(ekmDir, { recursive: true, force: true });
  });

  test('30 gRPC streams and 30 REST bodies of 8 MiB at the KMS', async (t) => {
    const [, grpcPort] = String(kms.first.grpc).split(':');
    const restPort = new URL(String(kms.first.rest)).port;
    const before = rss(kms.process.pid!);
    const sessions: http2.ClientHttp2Session[] = [];
    for (let i = 0; i < 30; i++) {
      const session = http2.connect(`http://127.0.0.1:${grpcPort}`);
      session.on('error', () => undefined);
      sessions.push(session);
      await new Promise((resolve) => session.once('connect', resolve));
      const req = session.request({ ':method': 'POST', ':path': '/google.cloud.kms.v1.KeyManagementService/Encrypt', 'content-type': 'application/grpc' });
      req.on('error', () => undefined);
      const frame = Buffer.alloc(5);
      frame.writeUInt32BE(8 * MiB, 1);
      req.write(frame);
      pump(req, 8 * MiB);
    }
    const sockets: net.Socket[] = [];
    for (let i = 0; i < 30; i++) {
      const socket = net.connect(Number(restPort), '127.0.0.1');
      socket.on('error', () => undefined);
      sockets.push(socket);
      await connected(socket);
      socket.write(`POST /v1/projects/p/locations/l/keyRings/r/cryptoKeys/k:encrypt HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${8 * MiB}\r\n\r\n`);
      pump(socket, 8 * MiB - 1);
    }
    // Each is refused (over the cap) or answered at the 3 s body timeout, then its connection closed (idle, 3 s).
    const peak = await peakRss(kms.process.pid!, allClosed([Number(grpcPort), Number(restPort)], 30_000));
    for (const s of sessions) s.destroy();
    for (const s of sockets) s.destroy();
    const growth = peak - before;
    t.diagnostic(`KMS resident memory grew by ${(growth / MiB).toFixed(1)} MiB`);
    assert.ok(growth < 2 * CAP + RUNTIME_MARGIN, `the KMS grew by ${Math.round(growth / MiB)} MiB (cap ${(2 * CAP) / MiB} MiB for both listeners)`);
  });

  test('90 unfinished 1 MiB bodies at the EKM', async (t) => {
    const port = Number(new URL(String(ekm.first.url)).port);
    const ca = fs.readFileSync(path.join(ekmDir, 'tls-self-signed-cert.pem'), 'utf8');
    const before = rss(ekm.process.pid!);
    const sockets: tls.TLSSocket[] = [];
    for (let i = 0; i < 90; i++) {
      const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca });
      socket.on('error', () => undefined);
      sockets.push(socket);
      await connected(socket, 'secureConnect');
      socket.write(`POST /v0/cryptospaces/s/keys/k:wrap HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: ${MiB}\r\n\r\n`);
      pump(socket, MiB - 1);
    }
    const peak = await peakRss(ekm.process.pid!, allClosed([port], 30_000));
    for (const s of sockets) s.destroy();
    const growth = peak - before;
    t.diagnostic(`EKM resident memory grew by ${(growth / MiB).toFixed(1)} MiB`);
    assert.ok(growth < CAP + RUNTIME_MARGIN, `the EKM grew by ${Math.round(growth / MiB)} MiB (cap ${CAP / MiB} MiB)`);
  });
});
