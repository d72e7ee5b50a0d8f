// The load generator: h2load (nghttp2-client), a native HTTP/2 client, pinned
// to its own core. A load generator in Node would saturate its core before the
// server does and every server would look alike (see BENCHMARKING.md).
import { spawn, spawnSync } from 'node:child_process';
import { LOADGEN_CPU, type Protocol } from './processes';

function hasH2load(): boolean {
  return spawnSync('h2load', ['--version'], { stdio: 'ignore' }).status === 0;
}

function apt(args: string[]): boolean {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env });
  return run.status === 0;
}

/**
 * Makes sure h2load is on PATH, installing the Debian package if not (the
 * bench installs what it needs). Retries after `apt-get update` because a
 * fresh image often has no package lists. Returns false if it still can't.
 */
export function ensureH2load(log: (line: string) => void): boolean {
  if (hasH2load()) return true;
  log('h2load not found: installing nghttp2-client with apt-get');
  if (!apt(['install', '-y', 'nghttp2-client'])) {
    if (apt(['update'])) apt(['install', '-y', 'nghttp2-client']);
  }
  return hasH2load();
}

export interface H2loadRun {
  /** Requests per second over the measured duration (warm-up excluded), as h2load reports it. */
  rps: number;
  done: number;
  /** Done requests that h2load counts as succeeded: done, not failed, errored or timed out. */
  succeeded: number;
  failed: number;
  /** Responses with a 3xx, 4xx or 5xx status. */
  not2xx: number;
  /** h2load's user+system CPU time over its wall time, in percent of one core. */
  cpuPercent: number;
  cpuSeconds: number;
  stdout: string;
}

export interface H2loadOptions {
  protocol: Protocol;
  url: string;
  bodyFile: string;
  logFile: string;
  concurrency: number;
  durationS: number;
  /** More request headers, as `name: value` (the EKM workloads' bearer token). */
  headers?: readonly string[];
}

function count(text: string, re: RegExp, what: string): number[] {
  const m = re.exec(text);
  if (!m) throw new Error(`h2load output has no ${what} line:\n${text}`);
  return m.slice(1).map(Number);
}

// bash's `times` reports the CPU its children used, exactly, once they have
// exited; /proc/PID/stat is gone by then. It writes to fd 3 so that h2load's
// own output stays unmixed.
const WRAPPER = 'taskset -c "$0" "$@"; rc=$?; times >&3; exit $rc';

function childCpuSeconds(times: string): number {
  // Second line: children's user and system time, as "1m2.345s 0m0.678s".
  const line = times.trim().split('\n')[1] ?? '';
  let total = 0;
  for (const m of line.matchAll(/(\d+)m([\d.]+)s/g)) total += Number(m[1]) * 60 + Number(m[2]);
  return total;
}

/** How `concurrency` requests are kept in flight, and the headers, per protocol. */
function loadArgs(protocol: Protocol, concurrency: number): string[] {
  // gRPC: one HTTP/2 connection with that many streams, as a gRPC channel
  // multiplexes its calls.
  if (protocol === 'grpc') return ['-c', '1', '-m', String(concurrency), '-H', 'content-type: application/grpc', '-H', 'te: trailers'];
  // REST over HTTP/1.1: one request at a time per connection, as HTTP clients
  // send them (Node's, gax's, curl, browsers: none pipelines), so that many
  // keep-alive connections with one request each. With --h1, -m is the
  // pipelining depth: 1 means none. The EKM protocol is the same over TLS
  // (the https URL): each connection's handshake happens once, before the
  // warm-up ends, and the connection is kept for the whole run.
  return ['--h1', '-c', String(concurrency), '-m', '1', '-H', 'content-type: application/json'];
}

/** One h2load run: `concurrency` requests in flight (see loadArgs), 1 s warm-up. */
export function runH2load(o: H2loadOptions): Promise<H2loadRun> {
  const args = [
    String(LOADGEN_CPU), 'h2load',
    '-D', String(o.durationS), '--warm-up-time', '1',
    ...loadArgs(o.protocol, o.concurrency),
    ...(o.headers ?? []).flatMap((h) => ['-H', h]),
    '-d', o.bodyFile, '--log-file', o.logFile,
    o.url,
  ];
  const started = process.hrtime.bigint();
  const child = spawn('bash', ['-c', WRAPPER, ...args], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  const out: string[] = [];
  const err: string[] = [];
  const times: string[] = [];
  child.stdout!.setEncoding('utf8').on('data', (c: string) => out.push(c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => err.push(c));
  (child.stdio[3] as NodeJS.ReadableStream).setEncoding('utf8').on('data', (c: string) => times.push(c));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const wallS = Number(process.hrtime.bigint() - started) / 1e9;
      const stdout = out.join('');
      if (code !== 0) {
        reject(new Error(`h2load exited with ${code}:\n${stdout}${err.join('')}`));
        return;
      }
      try {
        const [rps] = count(stdout, /finished in [\d.]+m?s, ([\d.]+) req\/s/, 'finished');
        const [, , done, succeeded, failed, errored, timeout] = count(
          stdout,
          /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/,
          'requests',
        );
        // The 2xx count itself is not compared with `done`: h2load's counters
        // disagree by the requests in flight when the warm-up ends.
        const [, s3xx, s4xx, s5xx] = count(stdout, /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/, 'status codes');
        const cpuSeconds = childCpuSeconds(times.join(''));
        resolve({ rps, done, succeeded, failed: failed + errored + timeout, not2xx: s3xx + s4xx + s5xx, cpuPercent: (cpuSeconds / wallS) * 100, cpuSeconds, stdout });
      } catch (e) {
        reject(e as Error);
      }
    });
  });
}
