// One request on the EKM's HTTPS front: route, read the body, verify the
// token, run the operation, write the audit line, answer. The handler only
// parses, calls and maps; the rules live in access.ts and the operations.
//
// Two paths share every rule. A data-plane request whose token, key and
// crypto space are all cached runs synchronously from the end of its body to
// its audit line (no promise hops; this is the steady state of a KMS reusing
// its token). Anything else takes the asynchronous path, which loads what is
// missing and reports why a token or key is refused.
//
// Audit lines are written in batches: the answers of the requests that
// finished in one turn of the event loop wait until their lines are written
// together (one write(2)), then go out. A line is still written before its
// answer, and if the write fails every answer of the batch becomes INTERNAL.
import { randomUUID } from 'node:crypto';
import type * as http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Clock } from '../clock';
import { KmsError } from '../errors';
import { onRefusedConnection } from '../http-intake';
import type { BodyBudget, Deadlines } from '../limits';
import type { Logger } from '../log';
import type { OperationContext } from './access';
import { auditLine, type AuditFields, type AuditSink } from './audit';
import { controlPlane } from './control-plane';
import { isDataOperation, runDataOperation } from './data-plane';
import { HttpFault, errorAnswer, internal } from './errors';
import { collectBody, sendJson } from './http';
import { isHealthCheck, kmsResource, parseRequestBody, type JsonObject } from './json';
import type { TokenVerifier, VerifiedCaller } from '../jwt';
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
  /** The listener's body timeout. */
  bodyTimeoutMs: number;
  /** Bytes of unfinished bodies held across requests. */
  budget: BodyBudget;
  /** The listener's body-timeout sweep. */
  deadlines: Deadlines;
}

interface Answer {
  httpStatus: number;
  status: string;
  body: unknown;
  headers: Readonly<Record<string, string>>;
}

type OperationRoute = Exclude<Route, { kind: 'health' }>;

interface Exchange {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  started: number;
  /** Read at the start: a socket that has closed no longer knows its peer. */
  remoteAddress: string | undefined;
  audit: AuditFields;
  answer?: Answer;
  line?: string;
  requestId?: string;
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

function ok(body: object): Answer {
  return { httpStatus: 200, status: 'OK', body, headers: NO_HEADERS };
}

/**
 * The audit lines of the answers made in one event-loop turn, written in
 * one write before any of those answers goes out: nothing is answered
 * unrecorded, and a failed write turns the answers into INTERNAL.
 */
class AuditBatch {
  #exchanges: Exchange[] = [];
  #lastMs = -1;
  #lastIso = '';

  constructor(private readonly deps: HandlerDeps) {}

  /** Records the exchange's audit line in the current batch; its answer goes out when the batch is written. */
  finish(e: Exchange, answer: Answer): void {
    e.answer = answer;
    e.requestId = randomUUID();
    e.line = auditLine(e.audit, {
      time: this.#isoTime(),
      requestId: e.requestId,
      status: answer.status,
      httpStatus: answer.httpStatus,
      latencyMs: Math.round((performance.now() - e.started) * 1000) / 1000,
      remoteAddress: e.remoteAddress,
    });
    if (this.#exchanges.push(e) === 1) setImmediate(this.#flush);
  }

  /** The answer for an error: ours as it is, anything else logged and INTERNAL. */
  failure(err: unknown, req: http.IncomingMessage): Answer {
    if (!(err instanceof KmsError) && !(err instanceof HttpFault)) {
      this.deps.logger.error('EKM request failed', { url: req.url?.slice(0, 200), error: String((err as Error)?.stack ?? err) });
    }
    const a = errorAnswer(err);
    return { httpStatus: a.httpStatus, status: a.status, body: a.body, headers: a.headers };
  }

  #isoTime(): string {
    const now = this.deps.clock.now();
    if (now !== this.#lastMs) {
      this.#lastMs = now;
      this.#lastIso = new Date(now).toISOString();
    }
    return this.#lastIso;
  }

  readonly #flush = (): void => {
    const exchanges = this.#exchanges;
    this.#exchanges = [];
    try {
      this.deps.audit.write(exchanges.length === 1 ? exchanges[0].line! : exchanges.map((e) => e.line).join(''));
    } catch (err) {
      this.deps.logger.error('EKM audit write failed; failing the requests', {
        requestIds: exchanges.map((e) => e.requestId).join(' '), error: String((err as Error)?.message ?? err),
      });
      for (const e of exchanges) e.answer = this.failure(internal(INTERNAL_MESSAGE), e.req);
    }
    for (const e of exchanges) this.#send(e);
  };

  #send(e: Exchange): void {
    try {
      const a = e.answer!;
      sendJson(e.res, a.httpStatus, a.body, a.headers, e.requestId);
    } catch (err) {
      this.deps.logger.error('EKM answer failed', { requestId: e.requestId, error: String((err as Error)?.stack ?? err) });
    }
  }
}

/**
 * What an exchange asks of the keys: the caller's token verified, the key
 * and its policy found, the operation run. Everything cached answers
 * synchronously; anything else is loaded first.
 */
class Operations {
  readonly #controlOps: Record<string, (ctx: OperationContext) => Promise<object>>;

  constructor(private readonly deps: HandlerDeps, private readonly batch: AuditBatch) {
    this.#controlOps = controlPlane(deps.keys) as unknown as Record<string, (ctx: OperationContext) => Promise<object>>;
  }

  /** Runs the operation on the body and finishes the exchange with its answer. */
  proceed(e: Exchange, route: OperationRoute, raw: Buffer): void {
    let body: JsonObject;
    let cached: object | undefined;
    const authorization = e.req.headers.authorization;
    try {
      body = route.kind === 'info' ? {} : parseRequestBody(raw);
      e.audit.kmsResource = kmsResource(body);
      if (isHealthCheck(body)) e.audit.healthCheck = true;
      cached = this.#runCached(route, body, e.audit, authorization, e.req.socket);
    } catch (err) {
      this.batch.finish(e, this.batch.failure(err, e.req));
      return;
    }
    if (cached) {
      this.batch.finish(e, ok(cached));
      return;
    }
    this.#runLoading(route, body, e.audit, authorization).then(
      (result) => this.batch.finish(e, ok(result)),
      (err: unknown) => this.batch.finish(e, this.batch.failure(err, e.req)),
    );
  }

  /** The synchronous path: an answer, or undefined when something it needs is not cached. */
  #runCached(route: OperationRoute, body: JsonObject, audit: AuditFields, authorization: string | undefined, connection: object): object | undefined {
    if (route.kind !== 'key' || !isDataOperation(route.operation)) return undefined;
    const caller = this.deps.verifier.cachedCaller(authorization, connection);
    if (!caller) return undefined;
    const key = this.deps.keys.cachedKey(route.target);
    const policy = key && this.deps.keys.cachedPolicy(key.record);
    if (!policy) return undefined;
    audit.caller = caller.email;
    return runDataOperation({ caller, target: route.target, body, audit }, route.operation, key!, policy);
  }

  async #runLoading(route: OperationRoute, body: JsonObject, audit: AuditFields, authorization: string | undefined): Promise<object> {
    let caller: VerifiedCaller;
    try {
      caller = await this.deps.verifier.verify(authorization);
    } catch (err) {
      audit.decision = 'DENIED';
      throw err;
    }
    audit.caller = caller.email;
    const ctx: OperationContext = { caller, target: route.kind === 'info' ? '' : route.target, body, audit };
    if (route.kind === 'key' && isDataOperation(route.operation)) {
      const key = await this.deps.keys.key(route.target);
      return runDataOperation(ctx, route.operation, key, await this.deps.keys.policyFor(key.record));
    }
    return this.#controlOps[route.kind === 'info' ? 'info' : route.operation](ctx);
  }
}

/** The EKM's request handler: route, body under the listener's limits, operation, audited answer. */
export function ekmRequestHandler(deps: HandlerDeps): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const batch = new AuditBatch(deps);
  const operations = new Operations(deps, batch);
  const bodyOptions = { maxBytes: deps.maxBodyBytes, timeoutMs: deps.bodyTimeoutMs, budget: deps.budget, deadlines: deps.deadlines };
  return (req, res) => {
    if (onRefusedConnection(req)) return;
    const e: Exchange = {
      req, res, started: performance.now(), remoteAddress: req.socket.remoteAddress,
      audit: { operation: 'unknown', keyPath: null, caller: null, reason: null, decision: 'NOT_EVALUATED' },
    };
    let route: Route;
    try {
      route = resolveRoute(req.method ?? '', req.url ?? '');
    } catch (err) {
      req.resume();
      batch.finish(e, batch.failure(err, req));
      return;
    }
    if (route.kind === 'health') {
      // Health probes are not audited: load balancers send them every few seconds.
      sendJson(res, 200, { status: 'SERVING' });
      return;
    }
    const described = describeRoute(route);
    e.audit.operation = described.operation;
    e.audit.keyPath = described.keyPath;
    if (route.kind === 'info') {
      req.resume();
      operations.proceed(e, route, Buffer.alloc(0));
      return;
    }
    const operationRoute: OperationRoute = route;
    collectBody(req, res, bodyOptions, (err, raw) => {
      if (err) batch.finish(e, batch.failure(err, req));
      else operations.proceed(e, operationRoute, raw);
    });
  };
}
