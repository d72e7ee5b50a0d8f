// The REST/JSON transport on node:http. Routes come from the protos'
// google.api.http annotations (routes.ts); bodies and query parameters are
// mapped with the proto3 JSON mapping (json.ts); the same method table as the
// gRPC side answers. It holds no rules: parse (path, query, JSON → request
// object), call, map (response → JSON; KmsError → Google's error body).
import * as http from 'node:http';
import * as zlib from 'node:zlib';
import { type Handler, handlerFor, SERVICES } from '../api/methods';
import { asKmsError, Code, invalidArgument, KmsError } from '../errors';
import {
  applyHttpLimits, BodyProblem, type BodyProblemKind, type BodyReadOptions, jsonDepthWithin, MAX_JSON_DEPTH, onRefusedConnection, OVER_BUDGET, rawAnswers, readBody,
} from '../http-intake';
import { BodyBudget, type BodyHold, Deadlines, limitsWith, type ListenerLimits } from '../limits';
import { listen } from '../listen';
import type { Logger } from '../log';
import { type Msg, service } from '../proto/registry';
import type { CallContext } from '../services/context';
import { errorBody, httpStatus } from './errors';
import { HostGuard } from './host-guard';
import { fromJson, setQueryParameter, toJson } from './json';
import { type Match, PathError, type Route, Router, routesOf } from './routes';

/** Largest request body accepted, compressed or not (the gRPC side's limit). */
export const MAX_REQUEST_BYTES = 8 * 1024 * 1024;

/**
 * Google's system parameters (https://cloud.google.com/apis/docs/system-parameters):
 * accepted on every route, never bound to request fields.
 */
const SYSTEM_PARAMETERS = new Set([
  'alt', '$alt', 'prettyPrint', 'pp', '$prettyPrint', 'fields', '$fields', 'key', 'access_token', 'oauth_token',
  'quotaUser', 'userIp', 'callback', '$callback', 'upload_protocol', 'uploadType', '$.xgafv', 'trace', '$trace',
  'requestReason', '$requestReason', 'userProject', '$userProject',
]);

interface ResponseFormat {
  pretty: boolean;
  enumsAsInts: boolean;
}

const DEFAULT_FORMAT: ResponseFormat = { pretty: true, enumsAsInts: false };

class HttpError extends Error {
  constructor(
    readonly httpCode: number,
    readonly error: KmsError,
    readonly headers: Record<string, string> = {},
  ) {
    super(error.message);
  }
}

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

/** A plain GET resource served beside the API (the JWKS, /metrics): its content type and body, made per request. */
export type PlainResource = () => { contentType: string; body: string };

/** Parses the query string into name → values, keeping repeated names. */
function parseQuery(query: string): Map<string, string[]> {
  const params = new Map<string, string[]>();
  if (!query) return params;
  for (const pair of query.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const rawName = eq < 0 ? pair : pair.slice(0, eq);
    const rawValue = eq < 0 ? '' : pair.slice(eq + 1);
    let name: string;
    let value: string;
    try {
      name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      value = decodeURIComponent(rawValue.replace(/\+/g, ' '));
    } catch {
      throw invalidArgument(`The query parameter "${rawName.slice(0, 100)}" holds a malformed percent-encoding.`);
    }
    const list = params.get(name);
    if (list) list.push(value);
    else params.set(name, [value]);
  }
  return params;
}

/** alt / $alt and prettyPrint: how the answer is written. */
function responseFormat(params: Map<string, string[]>): ResponseFormat {
  let pretty = true;
  let enumsAsInts = false;
  for (const name of ['alt', '$alt']) {
    for (const value of params.get(name) ?? []) {
      const [alt, ...options] = value.split(';');
      if (alt !== 'json') throw invalidArgument(`${name}: only "json" is supported, not "${value.slice(0, 50)}".`);
      for (const option of options) {
        if (option === 'enum-encoding=int') enumsAsInts = true;
        else if (option !== 'enum-encoding=string' && option !== '') {
          throw invalidArgument(`${name}: unknown option "${option.slice(0, 50)}".`);
        }
      }
    }
  }
  for (const name of ['prettyPrint', 'pp', '$prettyPrint']) {
    const value = params.get(name)?.at(-1);
    if (value === undefined) continue;
    if (/^(false|0)$/i.test(value)) pretty = false;
    else if (/^(true|1|)$/i.test(value)) pretty = true;
    else throw invalidArgument(`${name}: expected true or false, not "${value.slice(0, 50)}".`);
  }
  return pretty && !enumsAsInts ? DEFAULT_FORMAT : { pretty, enumsAsInts };
}

function setPath(msg: Msg, fieldPath: string[], value: string): void {
  let target = msg;
  for (let i = 0; i < fieldPath.length - 1; i++) {
    let next = target[fieldPath[i]] as Msg | undefined;
    if (next === undefined || next === null) {
      next = {};
      target[fieldPath[i]] = next;
    }
    target = next;
  }
  target[fieldPath[fieldPath.length - 1]] = value;
}

function parseJson(body: Buffer): unknown {
  if (!jsonDepthWithin(body, MAX_JSON_DEPTH)) {
    throw invalidArgument(`Invalid JSON payload received. The request body nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep.`);
  }
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    // V8's parser text names its own internals, not the request: say it in ours.
    throw invalidArgument('Invalid JSON payload received. The request body is not valid JSON.');
  }
}

/** Builds the request object from path variables, the body and the query. */
function buildRequest(match: Match, params: Map<string, string[]>, body: Buffer): Msg {
  const { route, values } = match;
  let request: Msg;
  if (route.body === undefined) {
    if (body.length > 0 && body.toString('utf8').trim() !== '') {
      throw invalidArgument(`${route.httpMethod} ${route.template} takes no request body; send the fields as query parameters.`);
    }
    request = {};
  } else {
    let json = body.length === 0 ? {} : parseJson(body);
    // The official Node client (google-gax's transcoding) sends the JSON
    // string "" for an empty body message; it means the empty message.
    if (json === '') json = {};
    if (route.body === '*') {
      request = fromJson(route.request, json);
    } else {
      const field = route.request.fields[route.body];
      request = { [route.body]: fromJson(field.resolvedType as typeof route.request, json, route.bodyProtoPath) };
    }
  }
  for (const [name, list] of params) {
    if (SYSTEM_PARAMETERS.has(name)) continue;
    if (route.body === '*') {
      throw invalidArgument(
        `Invalid JSON payload received. Unknown name "${name.slice(0, 100)}": Cannot bind query parameter. ` +
          `${route.fullMethod} takes every field in the request body.`,
      );
    }
    setQueryParameter(route.request, request, name, list);
  }
  for (let i = 0; i < route.variables.length; i++) setPath(request, route.variables[i].fieldPath, values[i]);
  return request;
}

function stringify(value: unknown, format: ResponseFormat): string {
  return format.pretty ? `${JSON.stringify(value, null, 2)}\n` : JSON.stringify(value);
}

function send(res: http.ServerResponse, status: number, text: string, headers?: Record<string, string>): void {
  if (res.headersSent || res.destroyed) return;
  const body = Buffer.from(text, 'utf8');
  res.writeHead(status, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': String(body.length),
    ...headers,
  });
  res.end(body);
}

function sendError(res: http.ServerResponse, httpCode: number, err: KmsError, format: ResponseFormat, headers?: Record<string, string>): void {
  send(res, httpCode, stringify(errorBody(httpCode, err, format.enumsAsInts), format), headers);
}

const BODY_PROBLEM_STATUS: Readonly<Record<Exclude<BodyProblemKind, 'aborted'>, [number, Code]>> = {
  'too-large': [413, Code.INVALID_ARGUMENT],
  'over-budget': [429, Code.RESOURCE_EXHAUSTED],
  timeout: [408, Code.DEADLINE_EXCEEDED],
};

/** The client left mid-body: there is nobody to answer. */
class ClientGone extends Error {}

function bodyError(err: unknown): unknown {
  if (!(err instanceof BodyProblem)) return err;
  if (err.kind === 'aborted') return new ClientGone(err.message);
  const [status, code] = BODY_PROBLEM_STATUS[err.kind];
  // What the client is still sending is not read: the connection ends after the answer.
  return new HttpError(status, new KmsError(code, err.message), { connection: 'close' });
}

/**
 * The body inflated, its size taken from the request's hold (the listener's
 * byte budget counts what is held, not what came over the wire).
 */
function inflate(raw: Buffer, encoding: string, hold: BodyHold, done: (err: unknown, body: Buffer) => void): void {
  const inflater = encoding === 'gzip' ? zlib.gunzip : zlib.inflate;
  inflater(raw, { maxOutputLength: MAX_REQUEST_BYTES }, (err, out) => {
    if (!err) {
      if (hold.take(out.length)) done(undefined, out);
      else done(bodyError(new BodyProblem('over-budget', OVER_BUDGET)), raw);
    } else if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      done(new HttpError(413, invalidArgument(`The request body is larger than ${MAX_REQUEST_BYTES} bytes.`), { connection: 'close' }), raw);
    } else done(new HttpError(400, invalidArgument(`The request body is not valid ${encoding} data.`)), raw);
  });
}

/**
 * The request body, decompressed, never more than MAX_REQUEST_BYTES held,
 * within the body timeout; calls back once (callbacks, not promises: this is
 * on every request's path).
 */
function readRequestBody(req: http.IncomingMessage, res: http.ServerResponse, options: BodyReadOptions, done: (err: unknown, body: Buffer) => void): void {
  const encoding = req.headers['content-encoding'] === undefined ? 'identity' : String(req.headers['content-encoding']).trim().toLowerCase();
  if (encoding !== 'identity' && encoding !== 'gzip' && encoding !== 'deflate') {
    done(new HttpError(415, invalidArgument(
      `Content-Encoding "${encoding.slice(0, 50)}" is not supported; send gzip, deflate or identity.`,
    ), { connection: 'close' }), EMPTY_BODY);
    return;
  }
  readBody(req, res, options, (problem, raw, hold) => {
    if (problem) done(bodyError(problem), raw);
    else if (encoding === 'identity' || raw.length === 0) done(undefined, raw);
    else inflate(raw, encoding, hold, done);
  });
}

const EMPTY_BODY = Buffer.alloc(0);

/** Whether the request carries a body (a length above 0, or chunked). */
const hasBody = (req: http.IncomingMessage): boolean =>
  req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;

/** Whether Content-Type is application/json, with or without parameters, in any case. */
function isJson(req: http.IncomingMessage): boolean {
  const type = req.headers['content-type'];
  // What the official clients and gcloud send, first.
  if (type === 'application/json' || type === 'application/json; charset=utf-8') return true;
  return type !== undefined && type.split(';')[0].trim().toLowerCase() === 'application/json';
}

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
    this.router = new Router(routesOf(SERVICES, service));
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
      const { contentType, body } = resource();
      this.drainThen(req, res, () => send(res, 200, body, { 'content-type': contentType }));
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
    const call: CallContext = { headers: req.headers as CallContext['headers'] };
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
  const server = http.createServer({ connectionsCheckingInterval: 1000 }, (req, res) => dispatcher.onRequest(req, res));
  applyHttpLimits(server, limits, RAW_ANSWERS);
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
