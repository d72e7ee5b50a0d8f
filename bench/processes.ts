// Starting and stopping the servers under load. Each runs as its own process
// pinned to one core with taskset (which execs, so the child's PID is the
// server's own: RSS is read from it and SIGTERM goes to it, never by name).
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';

export const SERVER_CPU = 0;
export const LOADGEN_CPU = 1;

/**
 * How a workload reaches a server: gRPC over HTTP/2, REST/JSON over HTTP/1.1,
 * or the EKM protocol (JSON over HTTP/1.1 over TLS, with a bearer token).
 */
export type Protocol = 'grpc' | 'rest' | 'ekm';

export interface ServerProcess {
  label: string;
  pid: number;
  /** The port this server serves `protocol` on; throws if it announced none. */
  port(protocol: Protocol): number;
  /** Resident set size now, in MiB, from /proc/PID/status. */
  rssMiB(): number;
  /** SIGTERM to this PID, then wait for the exit (SIGKILL after a grace period). */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;

/**
 * The ports in a server's first line: `{"grpc":"HOST:PORT","rest":"http://HOST:PORT"}`,
 * either key optional (an echo server serves one protocol), at least one present.
 * An EKM (`openekm ekm serve`) announces `{"url":"https://HOST:PORT",...}`,
 * the HTTPS echo `{"ekm":"https://HOST:PORT"}`: both are the ekm port.
 */
function parsePorts(line: string): Partial<Record<Protocol, number>> {
  const announced = JSON.parse(line) as { grpc?: unknown; rest?: unknown; ekm?: unknown; url?: unknown };
  if (announced.ekm === undefined && typeof announced.url === 'string' && announced.url.startsWith('https://')) announced.ekm = announced.url;
  const ports: Partial<Record<Protocol, number>> = {};
  for (const protocol of ['grpc', 'rest', 'ekm'] as const) {
    const address = announced[protocol];
    if (address === undefined) continue;
    const port = typeof address === 'string' ? Number(address.slice(address.lastIndexOf(':') + 1)) : NaN;
    if (!Number.isInteger(port) || port <= 0) throw new Error(`bad ${protocol} address`);
    ports[protocol] = port;
  }
  if (Object.keys(ports).length === 0) throw new Error('no address');
  return ports;
}

/** Spawns `taskset -c SERVER_CPU node ARGS...` and waits for its address line (see parsePorts). */
export function startPinned(label: string, nodeArgs: string[]): Promise<ServerProcess> {
  const child = spawn('taskset', ['-c', String(SERVER_CPU), process.execPath, ...nodeArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Keep only the last lines of stderr: enough to say why a start failed,
  // without echoing a server's logs over the bench's output.
  const stderrTail: string[] = [];
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderrTail.push(chunk);
    if (stderrTail.length > 20) stderrTail.shift();
  });
  return new Promise((resolve, reject) => {
    let buffered = '';
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (child.exitCode === null) child.kill('SIGKILL');
      reject(new Error(`${label}: ${why}\n${stderrTail.join('').trim()}`));
    };
    const timer = setTimeout(() => fail('no address line within 20 s'), START_TIMEOUT_MS);
    child.on('error', (err) => fail(err.message));
    child.on('exit', (code, signal) => fail(`exited (${signal ?? code}) before listening`));
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      // Output after the first line is read and dropped: a full pipe would stall the server.
      if (settled) return;
      buffered += chunk;
      const nl = buffered.indexOf('\n');
      if (nl < 0) return;
      let ports: Partial<Record<Protocol, number>>;
      try {
        ports = parsePorts(buffered.slice(0, nl));
      } catch {
        fail(`unexpected first line: ${buffered.slice(0, nl)}`);
        return;
      }
      settled = true;
      clearTimeout(timer);
      resolve(serverProcess(label, child, ports));
    });
  });
}

function serverProcess(label: string, child: ChildProcess, ports: Partial<Record<Protocol, number>>): ServerProcess {
  const pid = child.pid!;
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    label,
    pid,
    port: (protocol) => {
      const port = ports[protocol];
      if (port === undefined) throw new Error(`${label}: serves no ${protocol}`);
      return port;
    },
    rssMiB: () => {
      const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
      const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
      if (!kb) throw new Error(`${label}: no VmRSS in /proc/${pid}/status`);
      return Number(kb[1]) / 1024;
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}
