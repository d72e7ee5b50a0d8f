// `npm run bench`: throughput and latency of the KMS over gRPC and over REST,
// and of the reference EKM (wrap, unwrap over TLS with a bearer token), each
// against the limit of its transport (a bare grpc-js echo server, a bare
// node:http echo server, a bare node:https echo server), each server in its
// own process on CPU 0, loaded by h2load on CPU 1. See docs/benchmark.md.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { prepareWorkloads } from './bodies';
import { EKM_WORKLOAD_IDS, ekmSetup, prepareEkmWorkloads, type BenchWorkload } from './ekm-workloads';
import { EXTERNAL_WORKLOAD_ID, type ExternalFloorSetup, prepareExternalEncrypt, startExternalFloor } from './external-encrypt';
import { ensureH2load } from './h2load';
import { measureCase } from './measure';
import { type Options, parseOptions, USAGE, UsageError } from './options';
import { LOADGEN_CPU, type Protocol, SERVER_CPU, startPinned, type ServerProcess } from './processes';
import { markdownTable, type RunResult, type ServerKind, summarize, writeJson } from './report';
import { judge } from './targets';
import { measureWrites, type PgBench, PG_URL, startPgKms, summarizeWrites, type WriteRun } from './postgres';

/** Encrypt on a KMS whose store is PostgreSQL, judged against 'encrypt' (SQLite) in the same rounds. */
const PG_ENCRYPT_ID = 'encrypt-pg';
/** CreateCryptoKeyVersion per second on each store (bench/postgres.ts). */
const WRITES_ID = 'create-version';

const ROOT = path.resolve(__dirname, '..', '..');
const SERVER_MAIN = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
const GRPC_ECHO_MAIN = path.join(__dirname, 'echo-server.js');
const HTTP_ECHO_MAIN = path.join(__dirname, 'http-echo-server.js');
const HTTPS_ECHO_MAIN = path.join(__dirname, 'https-echo-server.js');
const REST_FLOOR_MAIN = path.join(__dirname, 'rest-floor-server.js');
const EKM_FLOOR_MAIN = path.join(__dirname, 'ekm-floor-server.js');
const KMS_FLOOR_MAIN = path.join(__dirname, 'kms-floor-server.js');
/** The workloads served by the KMS (`openekm serve`); the EKM's are EKM_WORKLOAD_IDS. */
const KMS_WORKLOAD_IDS: readonly string[] = ['encrypt', 'decrypt', 'sign', 'rest-encrypt', EXTERNAL_WORKLOAD_ID, PG_ENCRYPT_ID, WRITES_ID];
const RESULTS = path.join(ROOT, 'bench', 'results', 'latest.json');

// Progress goes to stderr so that stdout is the table and the verdict.
const progress = (line: string) => process.stderr.write(`${line}\n`);
const say = (line: string) => process.stdout.write(`${line}\n`);

function h2loadVersion(): string {
  return spawnSync('h2load', ['--version'], { encoding: 'utf8' }).stdout.trim();
}

/** The workload ids to run: --workloads (checked) or all of them. */
function selectIds(ids: string[] | undefined): string[] {
  const all: string[] = [...KMS_WORKLOAD_IDS, ...EKM_WORKLOAD_IDS];
  if (!ids) return all;
  const unknown = ids.filter((id) => !all.includes(id));
  if (unknown.length) throw new UsageError(`--workloads: unknown ${unknown.join(', ')}`);
  return all.filter((id) => ids.includes(id));
}

/** The concurrencies a workload runs at: --concurrency if given, else its own. */
const concurrenciesOf = (opts: Options, w: BenchWorkload) => opts.concurrencies ?? w.concurrencies;

/** The EKM's certificate and key, which the HTTPS echo serves too. */
interface TlsFiles {
  certFile: string;
  keyFile: string;
}

/** The servers a workload is compared with, by protocol. */
interface Limits {
  echoes: Map<Protocol, ServerProcess>;
  /**
   * The work floors, by workload id: gRPC Encrypt (SOFTWARE), REST Encrypt,
   * EKM wrap and unwrap (one process), EXTERNAL_VPC Encrypt. Decrypt and
   * sign have none.
   */
  floors: Map<string, ServerProcess>;
}

/**
 * The echo servers the selected workloads need (one per protocol) and the
 * work floors of the gRPC Encrypt, REST, EKM and external-key workloads, each started pinned, added to
 * `servers` at once (so that it is stopped even if a later step fails), and
 * checked with every body.
 */
async function startLimits(
  workloads: BenchWorkload[],
  servers: ServerProcess[],
  tls: TlsFiles | undefined,
  externalFloor: ExternalFloorSetup | undefined,
  tmp: string,
): Promise<Limits> {
  const limits: Limits = { echoes: new Map(), floors: new Map() };
  const start = async (label: string, args: string[]) => {
    const server = await startPinned(label, args);
    servers.push(server);
    return server;
  };
  const of = (protocol: Protocol) => workloads.filter((w) => w.protocol === protocol);
  const grpcPaths = of('grpc').map((w) => w.path);
  if (grpcPaths.length) limits.echoes.set('grpc', await start('grpc echo', [GRPC_ECHO_MAIN, '0', ...grpcPaths]));
  const encrypt = workloads.find((w) => w.id === 'encrypt');
  if (encrypt) limits.floors.set(encrypt.id, await start('grpc floor', [KMS_FLOOR_MAIN, '0']));
  if (of('rest').length) {
    limits.echoes.set('rest', await start('http echo', [HTTP_ECHO_MAIN, '0']));
    const floor = await start('rest floor', [REST_FLOOR_MAIN, '0']);
    for (const w of of('rest')) limits.floors.set(w.id, floor);
  }
  if (of('ekm').length) {
    limits.echoes.set('ekm', await start('https echo', [HTTPS_ECHO_MAIN, '0', tls!.certFile, tls!.keyFile]));
    const floor = await start('ekm floor', [EKM_FLOOR_MAIN, '0', tls!.certFile, tls!.keyFile, path.join(tmp, 'ekm-floor-audit.log')]);
    for (const w of of('ekm')) limits.floors.set(w.id, floor);
  }
  const external = workloads.find((w) => w.id === EXTERNAL_WORKLOAD_ID);
  if (external && externalFloor) {
    const { floor, ekm } = await startExternalFloor(externalFloor, tmp, servers);
    external.floorCompanions = [ekm];
    limits.floors.set(external.id, floor);
  }
  for (const w of workloads) {
    await w.verify('echo', limits.echoes.get(w.protocol)!.port(w.protocol));
    const floor = floorOf(limits, w);
    if (!floor) continue;
    await w.prepareFloor?.(floor.port(w.protocol));
    await w.verify('floor', floor.port(w.protocol));
  }
  return limits;
}

/** The work floor a workload is compared with, if it has one. */
const floorOf = (limits: Limits, w: BenchWorkload) => limits.floors.get(w.id);

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  if (opts.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (os.cpus().length < 2) {
    say('bench: needs 2 cores (server on CPU 0, h2load on CPU 1); this machine has 1.');
    return 1;
  }
  if (!ensureH2load(progress)) {
    say('bench: h2load is missing and `apt-get install -y nghttp2-client` failed; install it and retry.');
    return 1;
  }
  if (!fs.existsSync(SERVER_MAIN)) {
    say(`bench: ${SERVER_MAIN} is missing; run \`npm run build\` (npm run bench does).`);
    return 1;
  }

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'openekm-bench-'));
  const servers: ServerProcess[] = [];
  const stopAll = () => Promise.all(servers.map((s) => s.stop()));
  let dropSchema: (() => Promise<void>) | undefined;
  // Ctrl-C: stop the servers this bench started (by PID) before leaving.
  process.once('SIGINT', () => {
    void stopAll().finally(() => process.exit(130));
  });
  try {
    const profArgs = opts.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfDir] : [];
    const ids = selectIds(opts.workloads);
    // The servers under test, by the protocol of the workloads they serve.
    const ours = new Map<Protocol, ServerProcess>();
    const workloads: BenchWorkload[] = [];
    let externalFloor: ExternalFloorSetup | undefined;
    let pg: PgBench | undefined;
    let sqliteKms: ServerProcess | undefined;
    if (ids.some((id) => KMS_WORKLOAD_IDS.includes(id))) {
      // The default mode, as `npm start` runs it: SQLite in a data directory.
      const dataDir = path.join(tmp, 'data');
      const kms = await startPinned('openekm', [...profArgs, SERVER_MAIN, 'serve', '--data', dataDir, '--grpc-port', '0', '--rest-port', '0']);
      servers.push(kms);
      sqliteKms = kms;
      ours.set('grpc', kms).set('rest', kms);
      workloads.push(...(await prepareWorkloads(kms)).filter((w) => ids.includes(w.id)));
      if (ids.includes(PG_ENCRYPT_ID) || ids.includes(WRITES_ID)) {
        pg = await startPgKms(SERVER_MAIN, tmp, profArgs);
        dropSchema = pg.drop;
        servers.push(pg.server);
        progress(`PostgreSQL store: ${PG_URL} (its server processes are not pinned)`);
      }
      if (pg && ids.includes(PG_ENCRYPT_ID)) {
        const encrypt = (await prepareWorkloads(pg.server)).find((w) => w.id === 'encrypt')!;
        workloads.push({ ...encrypt, id: PG_ENCRYPT_ID, label: `${encrypt.label} (PostgreSQL store)`, server: pg.server });
      }
      if (ids.includes(EXTERNAL_WORKLOAD_ID)) {
        // The EKM of the KMS's external key, in its own process, trusting the KMS's JWKS.
        const external = await prepareExternalEncrypt(kms, dataDir, tmp, SERVER_MAIN, profArgs);
        servers.push(external.ekm);
        workloads.push({ ...external.workload, companions: [external.ekm] });
        externalFloor = external.floor;
      }
    }
    let tls: TlsFiles | undefined;
    if (ids.some((id) => (EKM_WORKLOAD_IDS as readonly string[]).includes(id))) {
      // The reference EKM, SQLite in its own data directory, trusting the bench's token issuer.
      const setup = ekmSetup(SERVER_MAIN, tmp);
      const ekm = await startPinned('openekm ekm', [...profArgs, ...setup.serveArgs]);
      servers.push(ekm);
      ours.set('ekm', ekm);
      workloads.push(...(await prepareEkmWorkloads(ekm, setup, SERVER_MAIN)).filter((w) => ids.includes(w.id)));
      tls = setup;
    }
    // --baseline: another build's KMS, with keys and bodies of its own, measured beside ours.
    const baseline = new Map<string, BenchWorkload>();
    let baselineServer: ServerProcess | undefined;
    if (opts.baseline && workloads.some((w) => w.protocol === 'grpc' || w.protocol === 'rest')) {
      if (!fs.existsSync(opts.baseline)) throw new UsageError(`--baseline: ${opts.baseline} is missing`);
      baselineServer = await startPinned('openekm (baseline)', [opts.baseline, 'serve', '--data', path.join(tmp, 'baseline-data'), '--grpc-port', '0', '--rest-port', '0']);
      servers.push(baselineServer);
      for (const w of await prepareWorkloads(baselineServer)) if (workloads.some((o) => o.id === w.id)) baseline.set(w.id, w);
      if (ids.includes(EXTERNAL_WORKLOAD_ID)) {
        // The baseline's external key lives in an EKM of the baseline build, trusting the baseline KMS.
        const baseTmp = fs.mkdtempSync(path.join(tmp, 'baseline-'));
        const external = await prepareExternalEncrypt(baselineServer, path.join(tmp, 'baseline-data'), baseTmp, opts.baseline, []);
        servers.push(external.ekm);
        baseline.set(EXTERNAL_WORKLOAD_ID, { ...external.workload, companions: [external.ekm] });
      }
    }
    const limits = await startLimits(workloads, servers, tls, externalFloor, tmp);
    const pids = (m: Map<string, ServerProcess>) => [...new Set(m.values())].map((s) => `${s.label} pid ${s.pid}`).join(', ');
    const floorPids = limits.floors.size ? `; work floors: ${pids(limits.floors)}` : '';
    progress(`under test: ${pids(ours)}; limits: ${pids(limits.echoes)}${floorPids}; all on CPU ${SERVER_CPU}; h2load on CPU ${LOADGEN_CPU}`);
    const { runs, warnings } = await runRounds(opts, workloads, ours, limits, tmp, { server: baselineServer, workloads: baseline });
    const writes = pg && sqliteKms && ids.includes(WRITES_ID)
      ? await measureWrites([['sqlite', sqliteKms], ['postgresql', pg.server]], opts.rounds, opts.durationS, progress)
      : [];
    report(opts, workloads, runs, warnings, writes);
    return 0;
  } finally {
    await stopAll();
    await dropSchema?.();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

interface Baseline {
  server: ServerProcess | undefined;
  /** The baseline's own workloads (its keys, its bodies), by id. */
  workloads: Map<string, BenchWorkload>;
}

async function runRounds(opts: Options, workloads: BenchWorkload[], oursBy: Map<Protocol, ServerProcess>, limits: Limits, tmp: string, baseline: Baseline) {
  const runsPerRound = workloads.reduce((n, w) => n + concurrenciesOf(opts, w).length * (2 + (floorOf(limits, w) ? 1 : 0) + (baseline.workloads.has(w.id) ? 1 : 0)), 0);
  progress(`${opts.rounds} round(s) x ${runsPerRound} runs (each case on ours and its echo, its work floor if it has one, and the baseline build if given), ${opts.durationS} s each + 1 s warm-up`);
  const bodyFiles = new Map<string, string>();
  const bodyFile = (w: BenchWorkload, kind: ServerKind) =>
    bodyFiles.get(kind === 'baseline' ? `${w.id}-baseline` : kind === 'floor' && w.floorBody ? `${w.id}-floor` : w.id)!;
  for (const w of workloads) {
    for (const [name, body] of [[w.id, w.body], [`${w.id}-floor`, w.floorBody], [`${w.id}-baseline`, baseline.workloads.get(w.id)?.body]] as const) {
      if (!body) continue;
      const file = path.join(tmp, `${name}.bin`);
      fs.writeFileSync(file, body);
      bodyFiles.set(name, file);
    }
  }
  const runs: RunResult[] = [];
  const warnings: string[] = [];
  for (let round = 1; round <= opts.rounds; round++) {
    for (const workload of workloads) {
      const echo = limits.echoes.get(workload.protocol)!;
      const ours = workload.server ?? oursBy.get(workload.protocol)!;
      const floor = floorOf(limits, workload);
      const theirs = baseline.workloads.get(workload.id);
      const servers: [ServerKind, ServerProcess][] = [
        ['ours', ours], ['echo', echo],
        ...(floor ? [['floor', floor] as [ServerKind, ServerProcess]] : []),
        ...(theirs && baseline.server ? [['baseline', baseline.server] as [ServerKind, ServerProcess]] : []),
      ];
      // Alternate who goes first so that drift (thermal, other tenants) falls on all alike.
      const order = round % 2 ? servers : [...servers].reverse();
      for (const concurrency of concurrenciesOf(opts, workload)) {
        for (const [kind, server] of order) {
          const w = kind === 'baseline' ? theirs! : workload;
          const m = await measureCase({ kind, server, workload: w, concurrency, round, bodyFile: bodyFile(workload, kind), tmp, durationS: opts.durationS }, progress);
          runs.push(m.result);
          warnings.push(...m.warnings);
        }
      }
    }
  }
  return { runs, warnings };
}

function report(opts: Options, workloads: BenchWorkload[], runs: RunResult[], warnings: string[], writeRuns: WriteRun[]): void {
  const rows = summarize(runs, workloads.map((w) => ({ ...w, concurrencies: concurrenciesOf(opts, w) })));
  say(`\n${markdownTable(rows)}`);
  say(
    `medians of ${opts.rounds} round(s), ${opts.durationS} s each; ratio of medians = median ours / median echo req/s; ` +
      `paired ratio = median over rounds of ours / echo in that round; echo = bare grpc-js echo for gRPC rows, ` +
      `bare node:http echo for REST rows, bare node:https echo for EKM rows; concurrency = streams on one HTTP/2 connection (gRPC), ` +
      `keep-alive HTTP/1.1 connections with one request each (REST), the same over TLS (EKM); ` +
      `${os.cpus().length} cores, node ${process.version}, ${h2loadVersion()}`,
  );
  warnings.forEach(say);
  const writes = writeRuns.length ? { runs: writeRuns, ...summarizeWrites(writeRuns) } : undefined;
  if (writes) {
    say(
      `CreateCryptoKeyVersion/s, 16 clients each on its own key, official client over gRPC: SQLite ${writes.medians.sqlite.toFixed(0)}, ` +
        `PostgreSQL ${writes.medians.postgresql.toFixed(0)} (medians of ${opts.rounds}); PostgreSQL/SQLite paired ${writes.pairedRatio.toFixed(2)} ` +
        `(per round: ${writes.roundRatios.map((r) => r.toFixed(2)).join(', ')}); failed calls: ${writeRuns.reduce((n, r) => n + r.failed, 0)}`,
    );
  }

  const targets = judge(rows);
  // A profiled server is slower than a real one: its figures must not
  // replace the last real results.
  if (opts.cpuProfDir) {
    say(`profiled run: results not written; profiles in ${opts.cpuProfDir}`);
  } else {
    writeJson(RESULTS, {
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version, h2load: h2loadVersion() },
      options: { durationS: opts.durationS, warmUpS: 1, rounds: opts.rounds, serverCpu: SERVER_CPU, loadgenCpu: LOADGEN_CPU },
      targets,
      rows,
      runs,
      warnings,
      ...(writes ? { writes } : {}),
    });
    say(`results: ${path.relative(process.cwd(), RESULTS)}`);
  }
  for (const t of targets) say(t.verdict);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    const usage = err instanceof UsageError;
    say(`bench: ${(err as Error).message}${usage ? `\n${USAGE}` : ''}`);
    process.exit(usage ? 2 : 1);
  },
);
