// Latency percentiles from h2load's --log-file: one line per request of the
// measured phase, tab-separated: start time (µs), HTTP status, µs from the
// start of the request to the end of the response. h2load logs the requests
// in flight when the warm-up ends with status 0 (their stats were reset
// mid-request): at most one per stream, they are left out, not failures.
import * as fs from 'node:fs';

export interface Latency {
  count: number;
  p50Ms: number;
  p99Ms: number;
  /** Lines with status 0: requests straddling the end of the warm-up. */
  straddling: number;
  /** Lines with a status other than 200 or 0 (a second check beside h2load's summary). */
  non200: number;
}

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function readLatencyLog(file: string): Latency {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const micros = new Float64Array(lines.length);
  let n = 0;
  let straddling = 0;
  let non200 = 0;
  for (const line of lines) {
    if (line === '') continue;
    const [, status, duration] = line.split('\t');
    if (status === '0') straddling++;
    else if (status !== '200') non200++;
    else micros[n++] = Number(duration);
  }
  const sorted = micros.subarray(0, n).sort();
  return { count: n, p50Ms: percentile(sorted, 50) / 1000, p99Ms: percentile(sorted, 99) / 1000, straddling, non200 };
}
