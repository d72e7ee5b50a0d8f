// The EKM client's metrics (docs/ekm-protocol.md, "Metrics the KMS keeps for
// EKM calls"): one sample per attempt, on the server's prom-client registry
// (src/metrics.ts). Cloud Monitoring's counterparts are
// cloudkms.googleapis.com/ekm/external/request_count and request_latencies.
import { Metrics, SeriesCache } from '../../metrics';

/** The outcome label of one attempt (protocol doc: OK|TIMEOUT|DNS|TLS|CONNECTION|NOT_ALLOWED|CANCELLED|HTTP_ERROR). */
export type AttemptStatus = 'OK' | 'TIMEOUT' | 'DNS' | 'TLS' | 'CONNECTION' | 'NOT_ALLOWED' | 'CANCELLED' | 'HTTP_ERROR';

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

export const EKM_REQUESTS_TOTAL = 'ekm_external_requests_total';
export const EKM_REQUEST_SECONDS = 'ekm_external_request_duration_seconds';

export class EkmMetrics {
  readonly #requests: SeriesCache<{ inc(): void }>;
  readonly #latencies: SeriesCache<{ observe(value: number): void }>;

  constructor(readonly metrics: Metrics = new Metrics()) {
    const requests = metrics.counter(
      EKM_REQUESTS_TOTAL,
      'Attempts of requests from the KMS to external key managers (Cloud Monitoring: ekm/external/request_count).',
      ['method', 'final', 'response_code', 'status', 'ekm_connection'],
    );
    const latencies = metrics.histogram(
      EKM_REQUEST_SECONDS,
      'Duration of attempts from the KMS to external key managers, in seconds (Cloud Monitoring: ekm/external/request_latencies, in ms).',
      ['method', 'final'],
    );
    this.#requests = new SeriesCache(([method, final, code, status, connection]) =>
      requests.labels({ method, final, response_code: code, status, ekm_connection: connection }));
    this.#latencies = new SeriesCache(([method, final]) => latencies.labels({ method, final }));
  }

  record(sample: AttemptSample): void {
    const final = String(sample.final);
    this.#requests.get(sample.method, final, String(sample.responseCode), sample.status, sample.ekmConnection).inc();
    this.#latencies.get(sample.method, final).observe(sample.latencyMs / 1000);
  }

  /** The registry's metrics as Prometheus text. */
  prometheusText(): Promise<string> {
    return this.metrics.text();
  }
}
