// The server's metrics in Prometheus's text exposition format, on
// prom-client: one registry per server (tests run many in a process), names
// in Prometheus's conventions (`_total` counters, `_seconds` histograms in
// base units). docs/ekm-protocol.md ("Metrics") maps them to Cloud Monitoring's names.
import { Counter, Histogram, Registry } from 'prom-client';

/** Seconds: from a fast in-process call up past Cloud EKM's 10 s failure point. */
export const LATENCY_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] as const;

export class Metrics {
  readonly registry = new Registry();

  counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  histogram<L extends string>(name: string, help: string, labelNames: readonly L[], buckets: readonly number[] = LATENCY_BUCKETS_SECONDS): Histogram<L> {
    return new Histogram({ name, help, labelNames, buckets: [...buckets], registers: [this.registry] });
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
 * A labelled series kept by its label values: prom-client hashes a label set
 * on every inc() or observe(); the hot path looks its series up in a map.
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
