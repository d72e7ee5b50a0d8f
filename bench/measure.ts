// One measured case: an h2load run against one server, with the checks that
// make its figure trustworthy (every request a success, the server still
// answering right afterwards) and the CPU accounting that says whose limit
// the figure is (the server's, the generator's, or other tenants').
import * as fs from 'node:fs';
import * as path from 'node:path';
import { busySeconds, processSeconds, waitForQuiet } from './cpu';
import { runH2load } from './h2load';
import type { BenchWorkload } from './ekm-workloads';
import { readLatencyLog } from './latency';
import { LOADGEN_CPU, SERVER_CPU, type ServerProcess } from './processes';
import type { RunResult, ServerKind } from './report';

// Above this the generator's core is the bottleneck, not the server.
const GENERATOR_SATURATED_PERCENT = 90;
// Other processes on the two cores (a shared machine): before each run the
// bench waits, up to QUIET_WAIT_S, for them to use less than OTHER_MAX_PERCENT
// of a core; a run during which they used more is repeated, up to ATTEMPTS
// runs in all, and the one kept is flagged with a warning.
const OTHER_MAX_PERCENT = 20;
const QUIET_WAIT_S = 30;
const ATTEMPTS = 2;
const BENCH_CPUS = [SERVER_CPU, LOADGEN_CPU];

export interface Case {
  kind: ServerKind;
  server: ServerProcess;
  workload: BenchWorkload;
  concurrency: number;
  round: number;
  bodyFile: string;
  /** Directory for h2load's log file. */
  tmp: string;
  durationS: number;
}

export interface Measured {
  result: RunResult;
  warnings: string[];
}

export async function measureCase(c: Case, progress: (line: string) => void): Promise<Measured> {
  const tag = `round ${c.round} ${c.workload.id} c=${c.concurrency} ${c.kind}`;
  let result = await measureOnce(c, progress);
  for (let attempt = 2; attempt <= ATTEMPTS && result.otherCpuPercent >= OTHER_MAX_PERCENT; attempt++) {
    progress(`${tag}: other processes used ${result.otherCpuPercent.toFixed(0)}% of a core; repeating`);
    result = await measureOnce(c, progress);
  }
  progress(
    `${tag}: ${Math.round(result.rps)} req/s, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, ` +
      `RSS ${result.rssMiB.toFixed(0)} MiB, h2load CPU ${result.h2loadCpuPercent.toFixed(0)}%, ` +
      `server CPU ${result.serverCpuPercent.toFixed(0)}%, other CPU ${result.otherCpuPercent.toFixed(0)}%`,
  );
  const warnings: string[] = [];
  if (result.h2loadCpuPercent >= GENERATOR_SATURATED_PERCENT) {
    warnings.push(`WARNING: h2load used ${result.h2loadCpuPercent.toFixed(0)}% of its core (${tag}): that figure is the generator's limit, not the server's.`);
  }
  if (result.otherCpuPercent >= OTHER_MAX_PERCENT) {
    warnings.push(`WARNING: other processes used ${result.otherCpuPercent.toFixed(0)}% of a core on CPUs ${BENCH_CPUS.join(',')} (${tag}).`);
  }
  warnings.forEach(progress);
  return { result, warnings };
}

async function measureOnce(c: Case, progress: (line: string) => void): Promise<RunResult> {
  const { server, workload: w, concurrency } = c;
  const quiet = await waitForQuiet(BENCH_CPUS, OTHER_MAX_PERCENT, QUIET_WAIT_S);
  if (quiet >= OTHER_MAX_PERCENT) progress(`other processes still use ${quiet.toFixed(0)}% of a core after ${QUIET_WAIT_S} s; running anyway`);

  const logFile = path.join(c.tmp, `${c.kind}-${w.id}-${concurrency}-${c.round}.tsv`);
  const busyBefore = busySeconds(BENCH_CPUS);
  // The system under test: the server, and its companion processes (the EKM of an external key, ours or the floor's).
  const companions = c.kind === 'ours' || c.kind === 'baseline' ? w.companions : c.kind === 'floor' ? w.floorCompanions : undefined;
  const under = [server, ...(companions ?? [])];
  const cpuOfUnder = () => under.reduce((sum, p) => sum + processSeconds(p.pid), 0);
  const serverBefore = cpuOfUnder();
  const ownBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  const port = server.port(w.protocol);
  // The EKM protocol is over TLS, with a bearer token on every request.
  const scheme = w.protocol === 'ekm' ? 'https' : 'http';
  const headers = 'headers' in w ? w.headers : [];
  const run = await runH2load({
    protocol: w.protocol, url: `${scheme}://127.0.0.1:${port}${w.path}`, headers, bodyFile: c.bodyFile, logFile, concurrency, durationS: c.durationS,
  });
  const wallS = Number(process.hrtime.bigint() - started) / 1e9;
  const serverS = cpuOfUnder() - serverBefore;
  const own = process.cpuUsage(ownBefore);
  // What the two cores did beyond the server, h2load and this process.
  const otherS = busySeconds(BENCH_CPUS) - busyBefore - serverS - run.cpuSeconds - (own.user + own.system) / 1e6;
  const latency = readLatencyLog(logFile);
  fs.rmSync(logFile);

  // All requests succeeded: none failed or had a status other than 2xx, in
  // h2load's summary and in its log (where only the requests straddling the
  // warm-up's end, at most one per stream or connection, have status 0).
  const allSucceeded =
    run.done > 0 && run.succeeded === run.done && run.failed === 0 && run.not2xx === 0 &&
    latency.non200 === 0 && latency.straddling <= concurrency;
  if (!allSucceeded) throw new Error(`${c.kind} ${w.id} c=${concurrency}: not every request succeeded:\n${run.stdout}`);
  const rssMiB = server.rssMiB();
  // h2load can't see gRPC errors (HTTP 200 with grpc-status != 0) nor what a
  // 200 carries: one call by hand after the load shows the server still
  // answers this body right.
  await w.verify(c.kind, port);

  return {
    round: c.round,
    server: c.kind,
    workload: w.id,
    concurrency,
    rps: run.rps,
    requests: run.done,
    p50Ms: latency.p50Ms,
    p99Ms: latency.p99Ms,
    rssMiB,
    h2loadCpuPercent: run.cpuPercent,
    serverCpuPercent: (serverS / wallS) * 100,
    otherCpuPercent: Math.max(0, (otherS / wallS) * 100),
  };
}
