// The REST/JSON transport on node:http. Routes come from the protos'
// google.api.http annotations (routes.ts); bodies and query parameters are
// mapped with the proto3 JSON mapping (json/), read by exchange.ts and
// body.ts; the same method table as the gRPC side answers. It holds no
// rules: parse (path, query, JSON → request object), call, map (response →
// JSON; KmsError → Google's error body).
import * as http from 'node:http';
import * as https from 'node:https';
import { type Handler, handlerFor, SERVICES } from '../api/methods';
import { asKmsError, Code, invalidArgument, KmsError } from '../errors';
import { applyHttpLimits, type BodyReadOptions, onRefusedConnection, rawAnswers, readBody } from '../http-intake';
import { BodyBudget, Deadlines, limitsWith, type ListenerLimits } from '../limits';
import { TLS_SERVER_POLICY } from '../tls-policy';
import { listen } from '../listen';
import type { Logger } from '../log';
import { type Msg, service } from '../proto/registry';
import type { CallContext } from '../services/context';
import { httpStatus } from './errors';
import { HostGuard } from './host-guard';
import { toJson } from './json';
import { MIXIN_RULES } from './mixin-rules';
import { type Match, PathError, type Route, Router, routesOf } from './routes';
import { ClientGone, hasBody, isJson, readRequestBody } from './body';
import {
  buildRequest, DEFAULT_FORMAT, HttpError, MAX_REQUEST_BYTES, parseQuery, type ResponseFormat, responseFormat, send, sendError, stringify,
} from './exchange';

export { MAX_REQUEST_BYTES } from './exchange';

interface Bound {
  handler: Handler;
  route: Route;
}

export interface RestTransport {
  port: number;
  /** Bytes of request bodies held now, and the most held at once. */
  buffered(): { used: number; peak: number };
  close(): Promise<void>;
}

/** A plain GET resource served beside the API (the JWKS, /metrics, health): its content type, body and status (200 unless said), made per request. */
export interface PlainAnswer {
  contentType: string;
  body: string;
  status?: number;
}
export type PlainResource = () => PlainAnswer | Promise<PlainAnswer>;


const CORS_ALLOW_HEADERS = 'authorization, content-type, content-encoding, x-goog-api-client, x-goog-request-params, x-goog-user-project, x-http-method-override';
const CORS_ALLOW_METHODS = 'GET, POST, PATCH, PUT, DELETE';

class RestDispatcher {
  private readonly router: Router;
  private readonly handlers = new Map<Route, Bound>();
  private readonly bodyOptions: BodyReadOptions;

  constructor(
    table: ReadonlyMap<string, Handler>,
    private readonly log: Logger,
    private readonly guard: HostGuard,
    limits: ListenerLimits,
    budget: BodyBudget,
    deadlines: Deadlines,
    private readonly plain: ReadonlyMap<string, PlainResource> = new Map(),
  ) {
    this.router = new Router(routesOf(SERVICES, service, MIXIN_RULES));
    for (const route of this.router.routes) {
      this.handlers.set(route, { route, handler: handlerFor(table, route.fullMethod) });
    }
    this.bodyOptions = { maxBytes: MAX_REQUEST_BYTES, budget, timeoutMs: limits.bodyTimeoutMs, deadlines };
  }

  onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    res.on('error', () => undefined);
    if (onRefusedConnection(req) || !this.guarded(req, res)) return;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    let format = DEFAULT_FORMAT;
    let params: Map<string, string[]>;
    try {
      params = parseQuery(q < 0 ? '' : url.slice(q + 1));
      format = responseFormat(params);
    } catch (err) {
      this.drainThen(req, res, () => sendError(res, 400, asKmsError(err), format));
      return;
    }
    const resource = req.method === 'GET' ? this.plain.get(rawPath) : undefined;
    if (resource) {
      void Promise.resolve()
        .then(resource)
        .then(
          ({ contentType, body, status }) => this.drainThen(req, res, () => send(res, status ?? 200, body, { 'content-type': contentType })),
          (err: unknown) => {
            this.log.error('a plain resource failed', { path: rawPath, error: String(err) });
            this.drainThen(req, res, () => sendError(res, 500, asKmsError(undefined), format));
          },
        );
      return;
    }
    const override = req.headers['x-http-method-override'];
    const method = req.method === 'POST' && typeof override === 'string' ? override.toUpperCase() : req.method ?? 'GET';
    let resolution;
    try {
      resolution = this.router.resolve(method, rawPath);
    } catch (err) {
      this.drainThen(req, res, () => sendError(res, 400, pathError(err), format));
      return;
    }
    if (resolution === undefined) {
      const message = `No OpenEKM API method is served at ${method.slice(0, 20)} ${rawPath.slice(0, 200)}.`;
      this.drainThen(req, res, () => sendError(res, 404, new KmsError(Code.NOT_FOUND, message), format));
      return;
    }
    if ('allowed' in resolution) {
      const allowed = resolution.allowed.join(', ');
      const message = `Method ${method.slice(0, 20)} is not allowed on ${rawPath.slice(0, 200)}; it takes ${allowed}.`;
      this.drainThen(req, res, () => sendError(res, 405, new KmsError(Code.UNIMPLEMENTED, message), format, { allow: allowed }));
      return;
    }
    const bound = this.handlers.get(resolution.match.route)!;
    const match = resolution.match;
    if (hasBody(req) && !isJson(req)) {
      const type = String(req.headers['content-type'] ?? '').slice(0, 100);
      const message = `Content-Type ${type ? `"${type}"` : 'missing'}: a request body must be application/json.`;
      this.fail(req, res, bound.route, new HttpError(415, invalidArgument(message), { connection: 'close' }), format);
      return;
    }
    readRequestBody(req, res, this.bodyOptions, (err, body) => {
      if (err) this.fail(req, res, bound.route, err, format);
      else this.call(req, res, bound, match, params, body, format);
    });
  }

  /**
   * The Host and Origin checks (host-guard.ts), and CORS for configured
   * origins: false when the request was answered here.
   */
  private guarded(req: http.IncomingMessage, res: http.ServerResponse): boolean {
    const verdict = this.guard.check(req.headers.host, req.headers.origin);
    if (!verdict.ok) {
      const message = verdict.problem === 'host'
        ? `The Host header ${verdict.value ? `"${verdict.value.slice(0, 100)}"` : '(missing)'} is not a name of this server; start it with --allowed-host NAME to answer to another name.`
        : `Requests from the web origin "${verdict.value.slice(0, 100)}" are refused; start the server with --cors-origin ORIGIN to allow a web page's origin.`;
      const err = new HttpError(403, new KmsError(Code.PERMISSION_DENIED, message), { connection: 'close' });
      this.fail(req, res, undefined, err, DEFAULT_FORMAT);
      return false;
    }
    if (verdict.corsOrigin === undefined) return true;
    res.setHeader('access-control-allow-origin', verdict.corsOrigin);
    res.setHeader('vary', 'origin');
    if (req.method !== 'OPTIONS') return true;
    // A preflight from an allowed origin: what it may send, then nothing else.
    res.writeHead(204, {
      'access-control-allow-methods': CORS_ALLOW_METHODS,
      'access-control-allow-headers': CORS_ALLOW_HEADERS,
      'access-control-max-age': '600',
      'content-length': '0',
    });
    res.end();
    req.resume();
    return false;
  }

  /** Reads and drops the body (bounded, within the body timeout) before answering, so keep-alive stays in step. */
  private drainThen(req: http.IncomingMessage, res: http.ServerResponse, answer: () => void): void {
    readBody(req, res, this.bodyOptions, (problem) => {
      if (problem?.kind === 'aborted') return;
      if (problem) res.setHeader('connection', 'close');
      answer();
    });
  }

  private call(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    bound: Bound,
    match: Match,
    params: Map<string, string[]>,
    body: Buffer,
    format: ResponseFormat,
  ): void {
    let request: Msg;
    try {
      request = buildRequest(match, params, body);
    } catch (err) {
      this.fail(req, res, bound.route, err, format);
      return;
    }
    // Plain data properties: a getter for the peer here cost about 30 us per REST Encrypt (measured, docs/benchmark.md).
    const call: CallContext = { headers: req.headers as CallContext['headers'], peer: req.socket.remoteAddress };
    bound.handler(request, call).then(
      (response) => {
        let text: string;
        try {
          text = stringify(toJson(bound.route.response, response, format), format);
        } catch (err) {
          this.fail(req, res, bound.route, err, format);
          return;
        }
        send(res, 200, text);
      },
      (err: unknown) => this.fail(req, res, bound.route, err, format),
    );
  }

  private fail(req: http.IncomingMessage, res: http.ServerResponse, route: Route | undefined, err: unknown, format: ResponseFormat): void {
    if (err instanceof ClientGone) return;
    if (err instanceof HttpError) {
      sendError(res, err.httpCode, err.error, format, err.headers);
      // What the client is still sending is not read: the connection ends after the answer.
      if (err.headers.connection === 'close') res.once('finish', () => req.socket.destroy());
      return;
    }
    if (!(err instanceof KmsError)) {
      this.log.error('unexpected error', { method: route?.fullMethod, error: String((err as Error)?.stack ?? err) });
    }
    const kmsError = asKmsError(err);
    sendError(res, httpStatus(kmsError.code), kmsError, format);
  }
}

function pathError(err: unknown): KmsError {
  return err instanceof PathError ? invalidArgument(err.message) : asKmsError(err);
}

export interface RestOptions {
  limits?: Partial<ListenerLimits>;
  /** Host header names answered besides the bound address and loopback names; "*" for any. */
  allowedHosts?: readonly string[];
  /** Web origins allowed to call the API (CORS). */
  corsOrigins?: readonly string[];
  /** Plain GET resources served beside the API (the JWKS, /metrics). */
  plain?: ReadonlyMap<string, PlainResource>;
  /** Serve HTTPS with this certificate chain and key (PEM); plain HTTP otherwise. */
  tls?: { certPem: string; keyPem: string };
}

/** Answers written before (or instead of) any request handling, in Google's error body. */
const RAW_ANSWERS = rawAnswers((code, status, message) => ({ error: { code, message, status } }), 'The server');

export async function startRest(
  table: ReadonlyMap<string, Handler>,
  host: string,
  port: number,
  log: Logger,
  options: RestOptions = {},
): Promise<RestTransport> {
  const limits = limitsWith(options.limits);
  HostGuard.checkOrigins(options.corsOrigins ?? []);
  const guard = new HostGuard({ boundHost: host, allowedHosts: options.allowedHosts, corsOrigins: options.corsOrigins });
  const budget = new BodyBudget(limits.maxBufferedBytes);
  const deadlines = new Deadlines(limits.bodyTimeoutMs);
  const dispatcher = new RestDispatcher(table, log, guard, limits, budget, deadlines, options.plain);
  // node checks the headers and request timeouts every connectionsCheckingInterval.
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => dispatcher.onRequest(req, res);
  const server = options.tls
    ? https.createServer({ cert: options.tls.certPem, key: options.tls.keyPem, ...TLS_SERVER_POLICY, connectionsCheckingInterval: 1000, handshakeTimeout: limits.headersTimeoutMs }, onRequest)
    : http.createServer({ connectionsCheckingInterval: 1000 }, onRequest);
  applyHttpLimits(server as http.Server, limits, RAW_ANSWERS);
  const bound = await listen(server, port, host);
  return {
    port: bound,
    buffered: () => ({ used: budget.used, peak: budget.peak }),
    close: () =>
      new Promise<void>((resolve) => {
        // Idle keep-alive connections end now; requests in flight get a grace period.
        const grace = setTimeout(() => server.closeAllConnections(), 2000);
        server.close(() => {
          clearTimeout(grace);
          deadlines.stop();
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}
