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
}

export const TARGETS: Target[] = [
  // gRPC: Encrypt at 64 streams in flight carries at least 0.75 of what the bare grpc-js transport carries.
  { workload: 'encrypt', concurrency: 64, minRatio: 0.75, subject: 'Encrypt 1 KiB', against: 'the grpc-js echo', alsoAt: [] },
  // REST: Encrypt at 64 requests in flight carries at least 0.6 of a bare node:http echo.
  { workload: 'rest-encrypt', concurrency: 64, minRatio: 0.6, subject: 'Encrypt over REST', against: 'the bare HTTP echo', alsoAt: [16] },
];

interface Figures {
  concurrency: number;
  pairedRatio: number;
  ratioOfMedians: number;
  roundRatios: number[];
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
  met: boolean | null;
  also: Figures[];
  /** The verdict line: PASS, MISS, or why it was not measured. */
  verdict: string;
}

function figures(rows: Row[], workload: string, concurrency: number): Figures | undefined {
  const row = rows.find((r) => r.workload === workload && r.concurrency === concurrency);
  return row && { concurrency, pairedRatio: row.pairedRatio, ratioOfMedians: row.ratio, roundRatios: row.roundRatios };
}

function verdict(t: Target, main: Figures | undefined, also: Figures[]): string {
  if (!main) return `target not measured: ${t.subject} at concurrency ${t.concurrency} (needs --workloads ${t.workload} and concurrency ${t.concurrency})`;
  const met = main.pairedRatio >= t.minRatio;
  const beside = also.map((f) => `; at concurrency ${f.concurrency}: ${f.pairedRatio.toFixed(2)} paired, ${f.ratioOfMedians.toFixed(2)} ratio of medians`);
  return (
    `${met ? 'PASS' : 'MISS'}: ${t.subject} at concurrency ${t.concurrency} carries ${main.pairedRatio.toFixed(2)} of ${t.against}, paired ` +
    `(ratio of medians ${main.ratioOfMedians.toFixed(2)}; per round: ${main.roundRatios.map((r) => r.toFixed(2)).join(', ')}` +
    `${beside.join('')}; target >= ${t.minRatio})`
  );
}

/** Every target against the rows of this run. */
export function judge(rows: Row[]): Judged[] {
  return TARGETS.map((t) => {
    const main = figures(rows, t.workload, t.concurrency);
    const also = t.alsoAt.flatMap((c) => figures(rows, t.workload, c) ?? []);
    return {
      workload: t.workload,
      concurrency: t.concurrency,
      minRatio: t.minRatio,
      against: t.against,
      pairedRatio: main?.pairedRatio ?? null,
      ratioOfMedians: main?.ratioOfMedians ?? null,
      roundRatios: main?.roundRatios ?? [],
      met: main ? main.pairedRatio >= t.minRatio : null,
      also,
      verdict: verdict(t, main, also),
    };
  });
}
