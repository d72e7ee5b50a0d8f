// Turning the runs into the table: medians over the rounds per (workload,
// concurrency, server), the ours/echo ratio (echo: the bare server of the
// workload's protocol), and the JSON written beside it.
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * ours: the server under test. echo: the bare transport, the limit the
 * targets are stated against. floor: the work floor, a bare server on the
 * same transport doing only the request's own work (REST and EKM workloads).
 * baseline: another build of our server (--baseline), for an A/B of two builds.
 */
export type ServerKind = 'ours' | 'echo' | 'floor' | 'baseline';

export interface RunResult {
  round: number;
  server: ServerKind;
  workload: string;
  concurrency: number;
  rps: number;
  requests: number;
  p50Ms: number;
  p99Ms: number;
  rssMiB: number;
  h2loadCpuPercent: number;
  /** The server process's CPU use over the run, in percent of one core. */
  serverCpuPercent: number;
  /** CPU the two benchmark cores gave to anything else over the run, in percent of one core. */
  otherCpuPercent: number;
}

export interface Row {
  workload: string;
  label: string;
  concurrency: number;
  oursRps: number;
  echoRps: number;
  /** median ours req/s over median echo req/s */
  ratio: number;
  /** ours / echo within each round (the two runs of a round are back to back), in round order. */
  roundRatios: number[];
  /**
   * Median of roundRatios: the paired comparison. The machine's speed drifts
   * between rounds (shared host); a round's two runs are back to back, so
   * their ratio cancels most of that drift. The target is judged on this.
   */
  pairedRatio: number;
  /** The work floor's median req/s, for workloads that have one (else null). */
  floorRps: number | null;
  /** floor / echo within each round: what the request's own work leaves of the transport's limit. */
  floorRoundRatios: number[];
  /** Median of floorRoundRatios (null without a floor). */
  floorPairedRatio: number | null;
  /** Median over rounds of ours / floor: what our server costs beyond the request's own work (null without a floor). */
  oursOfFloor: number | null;
  /** The baseline build's median req/s (null without --baseline). */
  baselineRps: number | null;
  /** Median over rounds of ours / baseline: the A/B of two builds (null without --baseline). */
  oursOfBaseline: number | null;
  p50Ms: number;
  p99Ms: number;
  rssMiB: number;
  h2loadCpuOurs: number;
  h2loadCpuEcho: number;
  serverCpuOurs: number;
  serverCpuEcho: number;
  /** Median over both servers' runs of this case. */
  otherCpu: number;
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Rows in the order of `cases`: each workload with the concurrencies it ran at. */
export function summarize(runs: RunResult[], cases: { id: string; label: string; concurrencies: number[] }[]): Row[] {
  const rows: Row[] = [];
  for (const w of cases) {
    for (const c of w.concurrencies) {
      const of = (server: ServerKind) => runs.filter((r) => r.workload === w.id && r.concurrency === c && r.server === server);
      const ours = of('ours');
      const echo = of('echo');
      const floor = of('floor');
      const baseline = of('baseline');
      if (ours.length === 0 || echo.length === 0) continue;
      const m = (rs: RunResult[], f: (r: RunResult) => number) => median(rs.map(f));
      const oursRps = m(ours, (r) => r.rps);
      const echoRps = m(echo, (r) => r.rps);
      // a / b within each round where both ran.
      const perRound = (a: RunResult[], b: RunResult[]) => a.flatMap((x) => b.filter((y) => y.round === x.round).map((y) => x.rps / y.rps));
      const floorRoundRatios = perRound(floor, echo);
      rows.push({
        workload: w.id,
        label: w.label,
        concurrency: c,
        oursRps,
        echoRps,
        ratio: oursRps / echoRps,
        roundRatios: perRound(ours, echo),
        pairedRatio: NaN,
        floorRps: floor.length ? m(floor, (r) => r.rps) : null,
        floorRoundRatios,
        floorPairedRatio: floor.length ? median(floorRoundRatios) : null,
        oursOfFloor: floor.length ? median(perRound(ours, floor)) : null,
        baselineRps: baseline.length ? m(baseline, (r) => r.rps) : null,
        oursOfBaseline: baseline.length ? median(perRound(ours, baseline)) : null,
        p50Ms: m(ours, (r) => r.p50Ms),
        p99Ms: m(ours, (r) => r.p99Ms),
        rssMiB: m(ours, (r) => r.rssMiB),
        h2loadCpuOurs: m(ours, (r) => r.h2loadCpuPercent),
        h2loadCpuEcho: m(echo, (r) => r.h2loadCpuPercent),
        serverCpuOurs: m(ours, (r) => r.serverCpuPercent),
        serverCpuEcho: m(echo, (r) => r.serverCpuPercent),
        otherCpu: m([...ours, ...echo], (r) => r.otherCpuPercent),
      });
    }
  }
  for (const row of rows) row.pairedRatio = median(row.roundRatios);
  return rows;
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => n.toFixed(n < 10 ? 2 : 1);

export function markdownTable(rows: Row[]): string {
  const ab = rows.some((r) => r.baselineRps !== null);
  const lines = [
    `| workload | concurrency | ours req/s | echo req/s | ratio of medians | paired ratio | floor req/s | floor / echo | ours / floor |${ab ? ' baseline req/s | ours / baseline |' : ''} p50 ms (ours) | p99 ms (ours) | RSS MiB (ours) | h2load CPU % (ours / echo) | server CPU % (ours / echo) | other CPU % |`,
    `|---|---:|---:|---:|---:|---:|---:|---:|---:|${ab ? '---:|---:|' : ''}---:|---:|---:|---:|---:|---:|`,
  ];
  const opt = (n: number | null, f: (n: number) => string) => (n === null ? '-' : f(n));
  const two = (n: number) => n.toFixed(2);
  for (const r of rows) {
    lines.push(
      `| ${r.label} | ${r.concurrency} | ${int(r.oursRps)} | ${int(r.echoRps)} | ${r.ratio.toFixed(2)} | ${r.pairedRatio.toFixed(2)} | ` +
        `${opt(r.floorRps, int)} | ${opt(r.floorPairedRatio, two)} | ${opt(r.oursOfFloor, two)} | ` +
        `${ab ? `${opt(r.baselineRps, int)} | ${opt(r.oursOfBaseline, two)} | ` : ''}${ms(r.p50Ms)} | ${ms(r.p99Ms)} | ${r.rssMiB.toFixed(0)} | ${r.h2loadCpuOurs.toFixed(0)} / ${r.h2loadCpuEcho.toFixed(0)} | ${r.serverCpuOurs.toFixed(0)} / ${r.serverCpuEcho.toFixed(0)} | ${r.otherCpu.toFixed(0)} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

export function writeJson(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}
