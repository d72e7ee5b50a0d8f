// The REST/JSON transport on node:http. Routes come from the protos'
// google.api.http annotations (routes.ts); bodies and query parameters are
// mapped with the proto3 JSON mapping (json.ts); the same method table as the
// gRPC side answers. It holds no rules: parse (path, query, JSON → request
// object), call, map (response → JSON; KmsError → Google's error body).
import * as http from 'node:http';
import * as zlib from 'node:zlib';
import { type Handler, handlerFor, SERVICES } from '../api/methods';
import { asKmsError, Code, invalidArgument, KmsError } from '../errors';
import { listen } from '../listen';
import type { Logger } from '../log';
import { type Msg, service } from '../proto/registry';
import type { CallContext } from '../services/context';
import { errorBody, httpStatus } from './errors';
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
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw invalidArgument(`Invalid JSON payload received. ${(err as Error).message}`);
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

/** The request body, decompressed, never more than MAX_REQUEST_BYTES held. */
function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const tooLarge = (): HttpError =>
    new HttpError(413, invalidArgument(`The request body is larger than ${MAX_REQUEST_BYTES} bytes.`), { connection: 'close' });
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_REQUEST_BYTES) return Promise.reject(tooLarge());
  const encoding = String(req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding !== 'identity' && encoding !== 'gzip' && encoding !== 'deflate') {
    return Promise.reject(new HttpError(415, invalidArgument(
      `Content-Encoding "${encoding.slice(0, 50)}" is not supported; send gzip, deflate or identity.`,
    )));
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) {
        failed = true;
        chunks.length = 0;
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', (err) => {
      if (!failed) reject(err);
      failed = true;
    });
    req.on('end', () => {
      if (failed) return;
      const raw = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
      if (encoding === 'identity' || raw.length === 0) {
        resolve(raw);
        return;
      }
      const inflate = encoding === 'gzip' ? zlib.gunzip : zlib.inflate;
      inflate(raw, { maxOutputLength: MAX_REQUEST_BYTES }, (err, out) => {
        if (!err) resolve(out);
        else if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') reject(tooLarge());
        else reject(new HttpError(400, invalidArgument(`The request body is not valid ${encoding} data.`)));
      });
    });
  });
}

class RestDispatcher {
  private readonly router: Router;
  private readonly handlers = new Map<Route, Bound>();

  constructor(
    table: ReadonlyMap<string, Handler>,
    private readonly log: Logger,
    private readonly plain: ReadonlyMap<string, PlainResource> = new Map(),
  ) {
    this.router = new Router(routesOf(SERVICES, service));
    for (const route of this.router.routes) {
      this.handlers.set(route, { route, handler: handlerFor(table, route.fullMethod) });
    }
  }

  onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    res.on('error', () => undefined);
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    let format = DEFAULT_FORMAT;
    let params: Map<string, string[]>;
    try {
      params = parseQuery(q < 0 ? '' : url.slice(q + 1));
      format = responseFormat(params);
    } catch (err) {
      this.drainThen(req, () => sendError(res, 400, asKmsError(err), format));
      return;
    }
    const resource = req.method === 'GET' ? this.plain.get(rawPath) : undefined;
    if (resource) {
      const { contentType, body } = resource();
      this.drainThen(req, () => send(res, 200, body, { 'content-type': contentType }));
      return;
    }
    const override = req.headers['x-http-method-override'];
    const method = req.method === 'POST' && typeof override === 'string' ? override.toUpperCase() : req.method ?? 'GET';
    let resolution;
    try {
      resolution = this.router.resolve(method, rawPath);
    } catch (err) {
      this.drainThen(req, () => sendError(res, 400, pathError(err), format));
      return;
    }
    if (resolution === undefined) {
      const message = `No OpenEKM API method is served at ${method} ${rawPath.slice(0, 200)}.`;
      this.drainThen(req, () => sendError(res, 404, new KmsError(Code.NOT_FOUND, message), format));
      return;
    }
    if ('allowed' in resolution) {
      const allowed = resolution.allowed.join(', ');
      const message = `Method ${method.slice(0, 20)} is not allowed on ${rawPath.slice(0, 200)}; it takes ${allowed}.`;
      this.drainThen(req, () => sendError(res, 405, new KmsError(Code.UNIMPLEMENTED, message), format, { allow: allowed }));
      return;
    }
    const bound = this.handlers.get(resolution.match.route)!;
    const match = resolution.match;
    readBody(req).then(
      (body) => this.call(req, res, bound, match, params, body, format),
      (err: unknown) => this.fail(req, res, bound.route, err, format),
    );
  }

  /** Reads and drops the body (bounded) before answering, so keep-alive stays in step. */
  private drainThen(req: http.IncomingMessage, answer: () => void): void {
    readBody(req).then(answer, answer);
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

  private fail(req: http.IncomingMessage, res: http.ServerResponse, route: Route, err: unknown, format: ResponseFormat): void {
    if (err instanceof HttpError) {
      sendError(res, err.httpCode, err.error, format, err.headers);
      // What the client is still sending is not read: the connection ends after the answer.
      if (err.headers.connection === 'close') res.once('finish', () => req.socket.destroy());
      return;
    }
    if (!(err instanceof KmsError)) {
      this.log.error('unexpected error', { method: route.fullMethod, error: String((err as Error)?.stack ?? err) });
    }
    const kmsError = asKmsError(err);
    sendError(res, httpStatus(kmsError.code), kmsError, format);
  }
}

function pathError(err: unknown): KmsError {
  return err instanceof PathError ? invalidArgument(err.message) : asKmsError(err);
}

export async function startRest(
  table: ReadonlyMap<string, Handler>,
  host: string,
  port: number,
  log: Logger,
  plain?: ReadonlyMap<string, PlainResource>,
): Promise<RestTransport> {
  const dispatcher = new RestDispatcher(table, log, plain);
  const server = http.createServer({ keepAliveTimeout: 65_000, requestTimeout: 60_000 }, (req, res) =>
    dispatcher.onRequest(req, res),
  );
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });
  const bound = await listen(server, port, host);
  return {
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Idle keep-alive connections end now; requests in flight get a grace period.
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      }),
  };
}
