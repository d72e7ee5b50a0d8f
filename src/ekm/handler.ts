// One request on the EKM's HTTPS front: route, read the body, verify the
// token, run the operation, write the audit line, answer. The handler only
// parses, calls and maps; the rules live in access.ts and the operations.
import { randomUUID } from 'node:crypto';
import type * as http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Clock } from '../clock';
import { KmsError } from '../errors';
import type { Logger } from '../log';
import type { OperationContext } from './access';
import { auditLine, type AuditFields, type AuditSink } from './audit';
import { controlPlane } from './control-plane';
import { dataPlane, type Handler } from './data-plane';
import { HttpFault, errorAnswer, internal } from './errors';
import { readBody, sendJson } from './http';
import { isHealthCheck, kmsResource, parseJsonObject, type JsonObject } from './json';
import type { TokenVerifier } from './jwt';
import type { KeyManager } from './keys';
import { describeRoute, resolveRoute, type Route } from './routes';
import { INTERNAL_MESSAGE } from '../errors';

export interface HandlerDeps {
  keys: KeyManager;
  verifier: TokenVerifier;
  audit: AuditSink;
  clock: Clock;
  logger: Logger;
  maxBodyBytes: number;
}

interface Answer {
  httpStatus: number;
  status: string;
  body: unknown;
  headers: Readonly<Record<string, string>>;
}

export function ekmRequestHandler(deps: HandlerDeps): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const operations: Record<string, Handler> = { ...dataPlane(deps.keys), ...controlPlane(deps.keys) };

  async function run(req: http.IncomingMessage, route: Exclude<Route, { kind: 'health' }>, audit: AuditFields): Promise<object> {
    const body: JsonObject = route.kind === 'info' ? {} : parseJsonObject(await readBody(req, deps.maxBodyBytes));
    audit.kmsResource = kmsResource(body);
    if (isHealthCheck(body)) audit.healthCheck = true;
    const caller = await deps.verifier.verify(req.headers.authorization).catch((err: unknown) => {
      audit.decision = 'DENIED';
      throw err;
    });
    audit.caller = caller.email;
    const ctx: OperationContext = { caller, target: route.kind === 'info' ? '' : route.target, body, audit };
    return operations[route.kind === 'info' ? 'info' : route.operation](ctx);
  }

  function failure(err: unknown, req: http.IncomingMessage): Answer {
    if (!(err instanceof KmsError) && !(err instanceof HttpFault)) {
      deps.logger.error('EKM request failed', { url: req.url?.slice(0, 200), error: String((err as Error)?.stack ?? err) });
    }
    const a = errorAnswer(err);
    return { httpStatus: a.httpStatus, status: a.status, body: a.body, headers: a.headers };
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = performance.now();
    const requestId = randomUUID();
    const audit: AuditFields = { operation: 'unknown', keyPath: null, caller: null, reason: null, decision: 'NOT_EVALUATED' };
    let answer: Answer;
    try {
      const route = resolveRoute(req.method ?? '', req.url ?? '');
      if (route.kind === 'health') {
        // Health probes are not audited: load balancers send them every few seconds.
        sendJson(res, 200, { status: 'SERVING' });
        return;
      }
      Object.assign(audit, describeRoute(route));
      answer = { httpStatus: 200, status: 'OK', body: await run(req, route, audit), headers: {} };
    } catch (err) {
      if (!req.complete) req.resume();
      answer = failure(err, req);
    }
    try {
      deps.audit.write(auditLine({
        time: new Date(deps.clock.now()).toISOString(),
        requestId,
        ...audit,
        status: answer.status,
        httpStatus: answer.httpStatus,
        latencyMs: Math.round((performance.now() - started) * 1000) / 1000,
        remoteAddress: req.socket.remoteAddress,
      }));
    } catch (err) {
      // Nothing leaves unrecorded: the answer becomes INTERNAL.
      deps.logger.error('EKM audit write failed; failing the request', { requestId, error: String((err as Error)?.message ?? err) });
      answer = failure(internal(INTERNAL_MESSAGE), req);
    }
    sendJson(res, answer.httpStatus, answer.body, { ...answer.headers, 'x-request-id': requestId });
  }

  return (req, res) => {
    handle(req, res).catch((err: unknown) => {
      deps.logger.error('EKM handler crashed', { error: String((err as Error)?.stack ?? err) });
      if (!res.headersSent) sendJson(res, 500, errorAnswer(err).body);
    });
  };
}
