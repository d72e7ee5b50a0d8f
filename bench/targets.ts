// The targets, judged on the paired ratio (see report.ts: the two
// runs of a round are back to back, so their ratio cancels the host's drift
// between rounds), with the verdict lines and what the results JSON records.
import type { Row } from './report';

export interface Target {
  workload: string;
  concurrency: number;
  minRatio: number;
  /** How the verdict names the workload and the server it is compared with. */
  subject: string;
  against: string;
  /** Other concurrencies whose ratios the verdict quotes beside, for context. */
  alsoAt: number[];
  /** A latency budget the case's median p99 must stay under too (ms). */
  p99BudgetMs?: number;
  /**
   * Judge against another of our workloads at the same concurrency instead of
   * the echo: per round, (ours/echo) over (theirs/echo), which is ours/theirs
   * with each measured beside the same echo in the same round.
   */
  relativeTo?: string;
}

export const TARGETS: Target[] = [
  // gRPC: Encrypt at 64 streams in flight carries at least 0.75 of what the bare grpc-js transport carries.
  { workload: 'encrypt', concurrency: 64, minRatio: 0.75, subject: 'Encrypt 1 KiB', against: 'the grpc-js echo', alsoAt: [] },
  // REST: Encrypt at 64 requests in flight carries at least 0.6 of a bare node:http echo.
  { workload: 'rest-encrypt', concurrency: 64, minRatio: 0.6, subject: 'Encrypt over REST', against: 'the bare HTTP echo', alsoAt: [16] },
  // EKM: wrap and unwrap at 64 requests in flight carry at least 0.6 of a bare
  // node:https echo, with p99 under the protocol's 250 ms per-call budget.
  { workload: 'ekm-wrap', concurrency: 64, minRatio: 0.6, subject: 'EKM wrap', against: 'the bare HTTPS echo', alsoAt: [16], p99BudgetMs: 250 },
  { workload: 'ekm-unwrap', concurrency: 64, minRatio: 0.6, subject: 'EKM unwrap', against: 'the bare HTTPS echo', alsoAt: [16], p99BudgetMs: 250 },
  // External keys: EXTERNAL_VPC Encrypt (two hops) carries at least 0.4 of SOFTWARE Encrypt, p99 under 50 ms.
  // PostgreSQL: Encrypt at 64 on a KMS whose store is PostgreSQL carries at least 0.9 of the same on SQLite.
  {
    workload: 'encrypt-pg', concurrency: 64, minRatio: 0.9, subject: 'Encrypt on the PostgreSQL store',
    against: 'Encrypt on the SQLite store', alsoAt: [16], relativeTo: 'encrypt',
  },
  {
    workload: 'encrypt-external', concurrency: 64, minRatio: 0.4, subject: 'EXTERNAL_VPC Encrypt',
    against: 'SOFTWARE Encrypt', alsoAt: [16], p99BudgetMs: 50, relativeTo: 'encrypt',
  },
];

interface Figures {
  concurrency: number;
  pairedRatio: number;
  ratioOfMedians: number;
  roundRatios: number[];
  /** Median over rounds of our p99 latency, ms. */
  p99Ms: number;
  /** The work floor's paired ratio to the same limit, and ours to the floor (null where there is no floor). */
  floorPairedRatio: number | null;
  oursOfFloor: number | null;
}

export interface Judged {
  workload: string;
  concurrency: number;
  minRatio: number;
  against: string;
  /** null when the run did not measure the target's case. */
  pairedRatio: number | null;
  ratioOfMedians: number | null;
  roundRatios: number[];
  /** Our p99 at the target's concurrency (ms) and its budget, for targets that have one. */
  p99Ms?: number | null;
  p99BudgetMs?: number;
  /** The work floor's paired ratio to the same limit, and ours to the floor, where the workload has a floor. */
  floorPairedRatio: number | null;
  oursOfFloor: number | null;
  met: boolean | null;
  also: Figures[];
  /** The verdict line: PASS, MISS, or why it was not measured. */
  verdict: string;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function figures(rows: Row[], workload: string, concurrency: number, relativeTo?: string): Figures | undefined {
  const row = rows.find((r) => r.workload === workload && r.concurrency === concurrency);
  if (!row || !relativeTo) {
    return row && {
      concurrency, pairedRatio: row.pairedRatio, ratioOfMedians: row.ratio, roundRatios: row.roundRatios, p99Ms: row.p99Ms,
      floorPairedRatio: row.floorPairedRatio, oursOfFloor: row.oursOfFloor,
    };
  }
  const base = rows.find((r) => r.workload === relativeTo && r.concurrency === concurrency);
  if (!base) return undefined;
  const roundRatios = row.roundRatios.map((r, i) => r / base.roundRatios[i]);
  // The floor against the same base: per round (floor/echo) over (base/echo).
  const floorRatios = row.floorRoundRatios.map((r, i) => r / base.roundRatios[i]);
  return {
    concurrency, pairedRatio: median(roundRatios), ratioOfMedians: row.oursRps / base.oursRps, roundRatios, p99Ms: row.p99Ms,
    floorPairedRatio: floorRatios.length ? median(floorRatios) : null, oursOfFloor: row.oursOfFloor,
  };
}

/** The ratio is at least the target's, and the p99 under its budget when it has one. */
const isMet = (t: Target, f: Figures) => f.pairedRatio >= t.minRatio && (t.p99BudgetMs === undefined || f.p99Ms < t.p99BudgetMs);

function verdict(t: Target, main: Figures | undefined, also: Figures[]): string {
  if (!main) {
    const needs = t.relativeTo ? `${t.workload},${t.relativeTo}` : t.workload;
    return `target not measured: ${t.subject} at concurrency ${t.concurrency} (needs --workloads ${needs} and concurrency ${t.concurrency})`;
  }
  const met = isMet(t, main);
  const floor = (f: Figures) =>
    f.floorPairedRatio === null || f.oursOfFloor === null ? '' : `, work floor ${f.floorPairedRatio.toFixed(2)}, ours/floor ${f.oursOfFloor.toFixed(2)}`;
  const beside = also.map((f) => `; at concurrency ${f.concurrency}: ${f.pairedRatio.toFixed(2)} paired, ${f.ratioOfMedians.toFixed(2)} ratio of medians${floor(f)}`);
  return (
    `${met ? 'PASS' : 'MISS'}: ${t.subject} at concurrency ${t.concurrency} carries ${main.pairedRatio.toFixed(2)} of ${t.against}, paired ` +
    `(ratio of medians ${main.ratioOfMedians.toFixed(2)}; per round: ${main.roundRatios.map((r) => r.toFixed(2)).join(', ')}${floor(main)}` +
    `${beside.join('')}; target >= ${t.minRatio})` +
    (t.p99BudgetMs === undefined ? '' : `; p99 ${main.p99Ms.toPrecision(3)} ms (budget ${t.p99BudgetMs} ms)`)
  );
}

/** Every target against the rows of this run. */
export function judge(rows: Row[]): Judged[] {
  return TARGETS.map((t) => {
    const main = figures(rows, t.workload, t.concurrency, t.relativeTo);
    const also = t.alsoAt.flatMap((c) => figures(rows, t.workload, c, t.relativeTo) ?? []);
    return {
      workload: t.workload,
      concurrency: t.concurrency,
      minRatio: t.minRatio,
      against: t.against,
      pairedRatio: main?.pairedRatio ?? null,
      ratioOfMedians: main?.ratioOfMedians ?? null,
      roundRatios: main?.roundRatios ?? [],
      ...(t.p99BudgetMs === undefined ? {} : { p99Ms: main?.p99Ms ?? null, p99BudgetMs: t.p99BudgetMs }),
      floorPairedRatio: main?.floorPairedRatio ?? null,
      oursOfFloor: main?.oursOfFloor ?? null,
      met: main ? isMet(t, main) : null,
      also,
      verdict: verdict(t, main, also),
    };
  });
}
