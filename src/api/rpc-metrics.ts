// Per-RPC request counts and latencies, by method, canonical code and
// transport (docs/ekm-protocol.md, "Metrics"): the method table wrapped once
// per transport, so every call that reaches a method is counted once.
import { Code, KmsError } from '../errors';
import { type Metrics, SeriesCache } from '../metrics';
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
  const counted = new SeriesCache(([method, code, transport]) => requests.labels({ method, code, transport }));
  const timed = new SeriesCache(([method, transport]) => latencies.labels({ method, transport }));
  const record = (method: string, transport: string, code: string, started: number) => {
    counted.get(method, code, transport).inc();
    timed.get(method, transport).observe((performance.now() - started) / 1000);
  };
  return {
    instrument(table, transport) {
      const out = new Map<string, Handler>();
      for (const [method, handler] of table) {
        out.set(method, async (request, call) => {
          const started = performance.now();
          try {
            const response = await handler(request, call);
            record(method, transport, 'OK', started);
            return response;
          } catch (err) {
            record(method, transport, err instanceof KmsError ? Code[err.code] : 'INTERNAL', started);
            throw err;
          }
        });
      }
      return out;
    },
  };
}
