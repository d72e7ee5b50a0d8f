// Counters and histograms kept in memory and rendered in the Prometheus text
// exposition format (version 0.0.4). The EKM client records one sample per
// attempt (docs/ekm-protocol.md, "Metrics the KMS keeps for EKM calls"); other
// modules may register their own metrics on the same registry so one scrape
// shows them all.

type LabelValues = readonly string[];

/** Prometheus label values escape backslash, double quote and newline. */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function labelText(names: readonly string[], values: LabelValues, extra?: [string, string]): string {
  const pairs = names.map((n, i) => `${n}="${escapeLabel(values[i])}"`);
  if (extra) pairs.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
  return pairs.length ? `{${pairs.join(',')}}` : '';
}

function formatNumber(n: number): string {
  if (n === Infinity) return '+Inf';
  return Number.isInteger(n) ? String(n) : String(Math.round(n * 1000) / 1000);
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

abstract class Metric {
  protected constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {
    if (!NAME.test(name) || !labelNames.every((l) => /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(l))) {
      throw new Error(`invalid metric or label name in ${name}`);
    }
  }

  protected values(labels: Readonly<Record<string, string>>): LabelValues {
    return this.labelNames.map((n) => labels[n] ?? '');
  }

  abstract render(): string;
}

export class Counter extends Metric {
  readonly #series = new Map<string, { values: LabelValues; count: number }>();

  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    super(name, help, labelNames);
  }

  inc(labels: Readonly<Record<string, string>> = {}, by = 1): void {
    const values = this.values(labels);
    const key = JSON.stringify(values);
    const s = this.#series.get(key) ?? { values, count: 0 };
    s.count += by;
    this.#series.set(key, s);
  }

  /** The current value of one series (0 if never incremented). */
  get(labels: Readonly<Record<string, string>> = {}): number {
    return this.#series.get(JSON.stringify(this.values(labels)))?.count ?? 0;
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} counter`];
    for (const s of this.#series.values()) lines.push(`${this.name}${labelText(this.labelNames, s.values)} ${formatNumber(s.count)}`);
    return `${lines.join('\n')}\n`;
  }
}

export class Histogram extends Metric {
  readonly #buckets: readonly number[];
  readonly #series = new Map<string, { values: LabelValues; counts: number[]; sum: number; count: number }>();

  constructor(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]) {
    super(name, help, labelNames);
    this.#buckets = [...buckets].sort((a, b) => a - b);
  }

  observe(labels: Readonly<Record<string, string>>, value: number): void {
    const values = this.values(labels);
    const key = JSON.stringify(values);
    const s = this.#series.get(key) ?? { values, counts: this.#buckets.map(() => 0), sum: 0, count: 0 };
    this.#buckets.forEach((bound, i) => {
      if (value <= bound) s.counts[i]++;
    });
    s.sum += value;
    s.count++;
    this.#series.set(key, s);
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} histogram`];
    for (const s of this.#series.values()) {
      // Bucket counts are cumulative: each counts every observation at or below its bound.
      this.#buckets.forEach((bound, i) => {
        lines.push(`${this.name}_bucket${labelText(this.labelNames, s.values, ['le', formatNumber(bound)])} ${s.counts[i]}`);
      });
      lines.push(`${this.name}_bucket${labelText(this.labelNames, s.values, ['le', '+Inf'])} ${s.count}`);
      lines.push(`${this.name}_sum${labelText(this.labelNames, s.values)} ${formatNumber(s.sum)}`);
      lines.push(`${this.name}_count${labelText(this.labelNames, s.values)} ${s.count}`);
    }
    return `${lines.join('\n')}\n`;
  }
}

/** A set of metrics rendered together. Names are unique: registering one twice returns the first. */
export class MetricsRegistry {
  readonly #metrics = new Map<string, Metric>();

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.#register(name, () => new Counter(name, help, labelNames), Counter);
  }

  histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]): Histogram {
    return this.#register(name, () => new Histogram(name, help, labelNames, buckets), Histogram);
  }

  /** Every registered metric in the Prometheus text exposition format. */
  prometheusText(): string {
    return [...this.#metrics.values()].map((m) => m.render()).join('');
  }

  #register<T extends Metric>(name: string, make: () => T, kind: abstract new (...args: never[]) => T): T {
    const existing = this.#metrics.get(name);
    if (existing) {
      if (!(existing instanceof kind)) throw new Error(`metric ${name} is already registered with another type`);
      return existing;
    }
    const metric = make();
    this.#metrics.set(name, metric);
    return metric;
  }
}

/** The outcome label of one attempt (protocol doc: OK|TIMEOUT|DNS|TLS|CONNECTION|HTTP_ERROR). */
export type AttemptStatus = 'OK' | 'TIMEOUT' | 'DNS' | 'TLS' | 'CONNECTION' | 'NOT_ALLOWED' | 'HTTP_ERROR';

export interface AttemptSample {
  /** The EKM operation: wrap, unwrap, …, info. */
  method: string;
  /** False when another attempt of the same request follows. */
  final: boolean;
  /** The HTTP status, 0 when none came back. */
  responseCode: number;
  status: AttemptStatus;
  /** The EkmConnection's name, '' for EXTERNAL (URI) keys. */
  ekmConnection: string;
  latencyMs: number;
}

/** Milliseconds: from a fast in-region EKM (XKS budgets 250 ms) up past Cloud EKM's 10 s failure point. */
export const EKM_LATENCY_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000] as const;

export class EkmMetrics {
  readonly registry: MetricsRegistry;
  readonly requests: Counter;
  readonly latencies: Histogram;

  constructor(registry: MetricsRegistry = new MetricsRegistry()) {
    this.registry = registry;
    this.requests = registry.counter(
      'ekm_external_request_count',
      'Attempts of requests from the KMS to external key managers.',
      ['method', 'final', 'response_code', 'status', 'ekm_connection'],
    );
    this.latencies = registry.histogram(
      'ekm_external_request_latencies',
      'Latency of attempts from the KMS to external key managers, in milliseconds.',
      ['method', 'final'],
      EKM_LATENCY_BUCKETS_MS,
    );
  }

  record(sample: AttemptSample): void {
    const final = String(sample.final);
    this.requests.inc({
      method: sample.method, final, response_code: String(sample.responseCode), status: sample.status, ekm_connection: sample.ekmConnection,
    });
    this.latencies.observe({ method: sample.method, final }, sample.latencyMs);
  }

  prometheusText(): string {
    return this.registry.prometheusText();
  }
}
