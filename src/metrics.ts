// The server's metrics in Prometheus's text exposition format, on
// prom-client: one registry per server (tests run many in a process), names
// in Prometheus's conventions (`_total` counters, `_seconds` histograms in
// base units). docs/ekm-protocol.md ("Metrics") maps them to Cloud
// Monitoring's names.
//
// prom-client's own Counter and Histogram hash and validate the label set on
// every inc() and observe(): about 6 µs of each gRPC Encrypt (12%, measured
// by CPU per request with the per-RPC metrics on and off). The series here
// are plain cells that a call bumps, looked up once by their label values;
// prom-client reads them at scrape time through its metric interface (get())
// and does the text format, escaping included.
import { Registry } from 'prom-client';

/** Seconds: from a fast in-process call up past Cloud EKM's 10 s failure point. */
export const LATENCY_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] as const;

type Labels = Readonly<Record<string, string>>;
interface Sample { metricName?: string; labels: Labels; value: number }

/** One counter series: what a call increments. */
export interface CounterSeries { inc(by?: number): void }
/** One histogram series: what a call observes. */
export interface HistogramSeries { observe(value: number): void }

const keyOf = (labelNames: readonly string[], labels: Labels) => labelNames.map((n) => labels[n] ?? '').join('\u0000');

/** A counter whose series are cells; prom-client renders it. */
export class CellCounter<L extends string> {
  readonly type = 'counter';
  readonly aggregator = 'sum';
  readonly #series = new Map<string, { labels: Labels; value: number }>();

  constructor(readonly name: string, readonly help: string, readonly labelNames: readonly L[]) {}

  /** The series of these label values, made on first use. */
  labels(labels: Readonly<Record<L, string>>): CounterSeries {
    const key = keyOf(this.labelNames, labels);
    let cell = this.#series.get(key);
    if (!cell) {
      cell = { labels: { ...labels }, value: 0 };
      this.#series.set(key, cell);
    }
    const series = cell;
    return { inc: (by = 1) => { series.value += by; } };
  }

  inc(labels: Readonly<Record<L, string>>, by = 1): void {
    this.labels(labels).inc(by);
  }

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Sample[] }> {
    const values = [...this.#series.values()].map(({ labels, value }) => ({ labels, value }));
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

/** A histogram whose series are bucket arrays; prom-client renders it. */
export class CellHistogram<L extends string> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();

  constructor(readonly name: string, readonly help: string, readonly labelNames: readonly L[], readonly buckets: readonly number[]) {}

  labels(labels: Readonly<Record<L, string>>): HistogramSeries {
    const key = keyOf(this.labelNames, labels);
    let cell = this.#series.get(key);
    if (!cell) {
      cell = { labels: { ...labels }, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.#series.set(key, cell);
    }
    const series = cell;
    const bounds = this.buckets;
    return {
      observe: (value) => {
        let i = 0;
        while (i < bounds.length && value > bounds[i]) i++;
        if (i < bounds.length) series.counts[i]++;
        series.sum += value;
        series.count++;
      },
    };
  }

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Sample[] }> {
    const values: Sample[] = [];
    for (const { labels, counts, sum, count } of this.#series.values()) {
      // Buckets are cumulative: each counts every observation at or below its bound.
      let cumulative = 0;
      this.buckets.forEach((bound, i) => {
        cumulative += counts[i];
        values.push({ metricName: `${this.name}_bucket`, labels: { le: String(bound), ...labels }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf', ...labels }, value: count });
      values.push({ metricName: `${this.name}_sum`, labels, value: sum });
      values.push({ metricName: `${this.name}_count`, labels, value: count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

export class Metrics {
  readonly registry = new Registry();

  /** A counter on this registry; a name registered twice throws. */
  counter<L extends string>(name: string, help: string, labelNames: readonly L[]): CellCounter<L> {
    const metric = new CellCounter(name, help, labelNames);
    this.registry.registerMetric(metric as never);
    return metric;
  }

  histogram<L extends string>(name: string, help: string, labelNames: readonly L[], buckets: readonly number[] = LATENCY_BUCKETS_SECONDS): CellHistogram<L> {
    const metric = new CellHistogram(name, help, labelNames, buckets);
    this.registry.registerMetric(metric as never);
    return metric;
  }

  /** Every metric, as a scrape answers it. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/**
 * Series kept by their label values in order: a call finds its series with
 * one map lookup, and the label object is made once per series.
 */
export class SeriesCache<T> {
  readonly #series = new Map<string, T>();

  constructor(private readonly make: (key: readonly string[]) => T) {}

  get(...key: string[]): T {
    const id = key.join('\u0000');
    let series = this.#series.get(id);
    if (series === undefined) {
      series = this.make(key);
      this.#series.set(id, series);
    }
    return series;
  }
}
