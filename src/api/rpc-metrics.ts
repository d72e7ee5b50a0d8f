// Per-RPC request counts and latencies, by method, canonical code and
// transport (docs/ekm-protocol.md, "Metrics"): the method table wrapped once
// per transport, so every call that reaches a method is counted once. Each
// method's series are found when the table is wrapped, not per call.
import { Code, KmsError } from '../errors';
import type { CounterSeries, Metrics } from '../metrics';
import type { Handler } from './methods';

export const RPC_REQUESTS_TOTAL = 'kms_rpc_requests_total';
export const RPC_REQUEST_SECONDS = 'kms_rpc_request_duration_seconds';

export interface RpcMetrics {
  /** The table with each handler counted and timed under `transport`. */
  instrument(table: ReadonlyMap<string, Handler>, transport: 'grpc' | 'rest'): ReadonlyMap<string, Handler>;
}

export function rpcMetrics(metrics: Metrics): RpcMetrics {
  const requests = metrics.counter(RPC_REQUESTS_TOTAL, 'RPCs answered, by method, canonical code and transport.', ['method', 'code', 'transport']);
  const latencies = metrics.histogram(RPC_REQUEST_SECONDS, 'Duration of RPCs, by method and transport, in seconds.', ['method', 'transport']);

  function counted(method: string, transport: string, handler: Handler): Handler {
    const byCode = new Map<string, CounterSeries>();
    const count = (code: string) => {
      let series = byCode.get(code);
      if (!series) byCode.set(code, (series = requests.labels({ method, code, transport })));
      series.inc();
    };
    const timer = latencies.labels({ method, transport });
    return async (request, call) => {
      const started = performance.now();
      try {
        const response = await handler(request, call);
        count('OK');
        return response;
      } catch (err) {
        count(err instanceof KmsError ? Code[err.code] : 'INTERNAL');
        throw err;
      } finally {
        timer.observe((performance.now() - started) / 1000);
      }
    };
  }

  return {
    instrument(table, transport) {
      const out = new Map<string, Handler>();
      for (const [method, handler] of table) out.set(method, counted(method, transport, handler));
      return out;
    },
  };
}
