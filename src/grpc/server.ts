// The gRPC transport, built directly on node:http2 (cleartext HTTP/2 with
// prior knowledge, as insecure gRPC channels speak). It follows the wire
// protocol in https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md
// for unary calls: parse (frame → protobuf → plain object), call the method
// table, map (result → one framed message and grpc-status 0; KmsError →
// a trailers-only status). It holds no rules.
//
// Why not grpc-js's server: on one core grpc-js carries about half of what
// node:http2 can (docs/benchmark.md); an adapter this thin keeps that half.
import * as http2 from 'node:http2';
import * as zlib from 'node:zlib';
import type * as protobuf from 'protobufjs';
import { type Handler, handlerFor, SERVICES } from '../api/methods';
import { asKmsError, Code, invalidArgument, KmsError, unimplemented } from '../errors';
import { BodyBudget, BodyHold, Deadlines, limitsWith, type ListenerLimits } from '../limits';
import { TLS_SERVER_POLICY } from '../tls-policy';
import { listen } from '../listen';
import type { Logger } from '../log';
import { decodeMessage, encodeMessage, type Msg, service } from '../proto/registry';
import type { CallContext } from '../services/context';
import { grpcMessage, statusDetailsBin } from './status';

/** Largest request body accepted (all of Cloud KMS's fields fit well inside). */
export const MAX_REQUEST_BYTES = 8 * 1024 * 1024;

interface Route {
  fullMethod: string;
  request: protobuf.Type;
  response: protobuf.Type;
  handler: Handler;
}

function routes(table: ReadonlyMap<string, Handler>): Map<string, Route> {
  const map = new Map<string, Route>();
  for (const name of SERVICES) {
    for (const method of service(name).methodsArray) {
      const fullMethod = `${name}.${method.name}`;
      map.set(`/${name}/${method.name}`, {
        fullMethod,
        request: method.resolvedRequestType!,
        response: method.resolvedResponseType!,
        handler: handlerFor(table, fullMethod),
      });
    }
  }
  return map;
}

// Every header costs on every response, so only what the protocol requires.
const RESPONSE_HEADERS = { ':status': 200, 'content-type': 'application/grpc' };
// Errors also say which request encodings are accepted (a client that sent an
// unsupported one learns what to use).
const ERROR_HEADERS = { ...RESPONSE_HEADERS, 'grpc-accept-encoding': 'identity,gzip,deflate' };

/**
 * Whether a stream can still carry an answer. A peer that reset the stream
 * or dropped its connection leaves it closed (not always destroyed): writing
 * to it then throws, so every write checks first.
 */
const writable = (stream: http2.ServerHttp2Stream): boolean => !stream.closed && !stream.destroyed && !stream.headersSent;

/** Headers on a stream that may be gone by now; anything node:http2 throws ends the stream, never the process. */
function respond(stream: http2.ServerHttp2Stream, headers: http2.OutgoingHttpHeaders, options: http2.ServerStreamResponseOptions): boolean {
  if (!writable(stream)) return false;
  try {
    stream.respond(headers, options);
    return true;
  } catch {
    stream.destroy();
    return false;
  }
}

const END_STREAM = { endStream: true, sendDate: false } as http2.ServerStreamResponseOptions;

/**
 * A stream answered before its body: reset it (NO_ERROR, after the answer)
 * so the peer stops sending and the stream closes now, not whenever the peer
 * ends its side. Left open, a silent peer would hold it, and its connection,
 * for good. Returns false (not accepted).
 */
function finished(stream: http2.ServerHttp2Stream): false {
  if (!stream.closed) stream.close(http2.constants.NGHTTP2_NO_ERROR);
  return false;
}
const ignore = (): void => undefined;

/** A trailers-only response: the status travels in the only HEADERS frame. */
function sendStatus(stream: http2.ServerHttp2Stream, err: KmsError): void {
  respond(
    stream,
    {
      ...ERROR_HEADERS,
      'grpc-status': String(err.code),
      'grpc-message': grpcMessage(err.message),
      'grpc-status-details-bin': statusDetailsBin(err).toString('base64').replace(/=+$/, ''),
    },
    END_STREAM,
  );
}

function sendMessage(stream: http2.ServerHttp2Stream, body: Buffer): void {
  if (!writable(stream)) return;
  const frame = Buffer.allocUnsafe(5 + body.length);
  frame[0] = 0;
  frame.writeUInt32BE(body.length, 1);
  body.copy(frame, 5);
  if (!respond(stream, RESPONSE_HEADERS, RESPOND_WITH_TRAILERS)) return;
  stream.once('wantTrailers', sendOkTrailers);
  stream.end(frame);
}

// Shared, not per call: a closure and an options object less for every response.
// gRPC needs no Date header, and node:http2 would format and encode one each
// time; sendDate is honoured by respond() though its typings omit it.
const RESPOND_WITH_TRAILERS = { waitForTrailers: true, sendDate: false } as http2.ServerStreamResponseOptions;
const OK_TRAILERS = { 'grpc-status': '0' };
function sendOkTrailers(this: http2.ServerHttp2Stream): void {
  try {
    this.sendTrailers(OK_TRAILERS);
  } catch {
    this.destroy();
  }
}

/**
 * The one length-prefixed message of a unary request, decompressed; what
 * decompression makes is taken from the request's hold.
 */
function unframe(body: Buffer, encoding: string | undefined, hold: BodyHold): Buffer {
  if (body.length < 5) throw invalidArgument('request: a gRPC message frame was expected.');
  const length = body.readUInt32BE(1);
  if (body.length !== 5 + length) throw invalidArgument('request: a unary call carries exactly one message.');
  const message = body.subarray(5);
  if (body[0] === 0) return message;
  if (body[0] !== 1) throw invalidArgument('request: bad message frame flags.');
  let inflated: Buffer;
  if (encoding === 'gzip') inflated = zlib.gunzipSync(message, { maxOutputLength: MAX_REQUEST_BYTES });
  else if (encoding === 'deflate') inflated = zlib.inflateSync(message, { maxOutputLength: MAX_REQUEST_BYTES });
  else throw new KmsError(Code.UNIMPLEMENTED, `grpc-encoding '${encoding ?? 'identity'}' is not supported for compressed messages.`);
  if (!hold.take(inflated.length)) throw overBudget();
  return inflated;
}

function decode(route: Route, body: Buffer, encoding: string | undefined, hold: BodyHold): Msg {
  let message: Buffer;
  try {
    message = unframe(body, encoding, hold);
  } catch (err) {
    if (err instanceof KmsError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge();
    throw invalidArgument('request: the compressed message could not be decompressed.');
  }
  try {
    return decodeMessage(route.request, message);
  } catch {
    // protobufjs' own text (offsets, wire types) means nothing to a caller.
    throw invalidArgument(`request: the body is not a valid ${route.request.fullName.slice(1)} message (protobuf binary encoding).`);
  }
}

export interface GrpcTransport {
  port: number;
  /** Bytes of request bodies held now, and the most held at once. */
  buffered(): { used: number; peak: number };
  close(): Promise<void>;
}

const tooLarge = () => new KmsError(Code.RESOURCE_EXHAUSTED, `request: larger than ${MAX_REQUEST_BYTES} bytes.`);
const overBudget = () => new KmsError(Code.RESOURCE_EXHAUSTED, 'request: the server holds too many unfinished request bodies; retry later.');
const bodyTimeout = (ms: number) => new KmsError(Code.DEADLINE_EXCEEDED, `request: the message did not arrive within ${ms} ms.`);

class Dispatcher {
  constructor(
    private readonly table: Map<string, Route>,
    private readonly log: Logger,
    private readonly limits: ListenerLimits,
    private readonly budget: BodyBudget,
    private readonly deadlines: Deadlines,
    private readonly sessions: Sessions,
  ) {}

  onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    // A client that goes away mid-call resets the stream; nothing is owed to it.
    stream.on('error', ignore);
    const session = stream.session;
    this.sessions.streamOpened(session);
    if (!this.accept(stream, headers, session)) stream.on('close', () => this.sessions.streamClosed(session));
  }

  /** Routes the stream and reads its call; false when it was answered at once. */
  private accept(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, session: http2.Http2Session | undefined): boolean {
    if (headers[':method'] !== 'POST') {
      respond(stream, { ':status': 405, allow: 'POST' }, END_STREAM);
      return finished(stream);
    }
    if (!String(headers['content-type'] ?? '').startsWith('application/grpc')) {
      respond(stream, { ':status': 415 }, END_STREAM);
      return finished(stream);
    }
    const route = this.table.get(headers[':path'] ?? '');
    if (!route) {
      sendStatus(stream, unimplemented(`Method not found: ${String(headers[':path']).slice(0, 200)}`));
      return finished(stream);
    }
    this.collect(stream, session, (body, hold) => this.call(stream, headers, route, body, hold));
    return true;
  }

  /**
   * Reads the one message of a unary call within the body timeout, holding
   * its bytes against the listener's budget until the stream closes. A body
   * too large, over budget or too slow is answered at once and the stream
   * reset, so the peer stops sending and nothing more is kept.
   */
  private collect(stream: http2.ServerHttp2Stream, session: http2.Http2Session | undefined, done: (body: Buffer, hold: BodyHold) => void): void {
    const hold = new BodyHold(this.budget);
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    const refuse = (err: KmsError): void => {
      if (refused) return;
      refused = true;
      chunks.length = 0;
      hold.releaseAll();
      sendStatus(stream, err);
      if (!stream.closed) stream.close(http2.constants.NGHTTP2_NO_ERROR);
    };
    const deadline = this.deadlines.add(this.limits.bodyTimeoutMs, () => refuse(bodyTimeout(this.limits.bodyTimeoutMs)));
    // The one 'close' listener of a call: its deadline, its bytes, and its session's idle count.
    stream.on('close', () => {
      this.deadlines.remove(deadline);
      hold.releaseAll();
      this.sessions.streamClosed(session);
    });
    stream.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) refuse(tooLarge());
      else if (!hold.take(chunk.length)) refuse(overBudget());
      else chunks.push(chunk);
    });
    stream.on('end', () => {
      this.deadlines.remove(deadline);
      // A reset (even with NO_ERROR) also ends the readable side: nobody is left to answer.
      if (refused || !writable(stream)) return;
      done(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size), hold);
    });
  }

  private call(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, route: Route, body: Buffer, hold: BodyHold): void {
    let request: Msg;
    try {
      request = decode(route, body, headers['grpc-encoding'] as string | undefined, hold);
    } catch (err) {
      sendStatus(stream, asKmsError(err));
      return;
    }
    const call: CallContext = { headers: headers as CallContext['headers'], peer: stream.session?.socket?.remoteAddress };
    let pending: Promise<Msg>;
    try {
      pending = route.handler(request, call);
    } catch (err) {
      this.fail(stream, route, err);
      return;
    }
    pending.then(
      (response) => {
        if (!writable(stream)) return;
        try {
          sendMessage(stream, encodeMessage(route.response, response));
        } catch (err) {
          this.fail(stream, route, err);
        }
      },
      (err: unknown) => this.fail(stream, route, err),
    );
  }

  private fail(stream: http2.ServerHttp2Stream, route: Route, err: unknown): void {
    if (!(err instanceof KmsError)) {
      this.log.error('unexpected error', { method: route.fullMethod, error: String((err as Error)?.stack ?? err) });
    }
    sendStatus(stream, asKmsError(err));
  }
}

/**
 * The connections of one listener: at most maxConnections (a new one past
 * that gets GOAWAY before any stream), and each closed once it has had no
 * stream for the idle timeout (the headers timeout before its first stream).
 * Pings and other frames do not keep an idle connection open.
 */
class Sessions {
  readonly #open = new Set<http2.ServerHttp2Session>();
  readonly #tracked = new WeakMap<http2.Http2Session, { opened(): void; closed(): void }>();

  constructor(private readonly limits: ListenerLimits) {}

  add(session: http2.ServerHttp2Session): void {
    session.on('error', () => undefined);
    if (this.#open.size >= this.limits.maxConnections) {
      session.goaway(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, 0, Buffer.from('too many connections'));
      session.close();
      setTimeout(() => session.destroy(), 1000).unref();
      return;
    }
    this.#open.add(session);
    let active = 0;
    let timer: NodeJS.Timeout | undefined;
    // GOAWAY, then the socket cut a second later: a peer stalled in the middle
    // of a header block holds no stream node:http2 knows of, and a graceful
    // close alone would wait for it for ever.
    const expire = () => {
      session.close();
      setTimeout(() => session.destroy(), 1000).unref();
    };
    const arm = (ms: number) => {
      timer = setTimeout(expire, ms);
      timer.unref();
    };
    arm(this.limits.headersTimeoutMs);
    this.#tracked.set(session, {
      opened: () => {
        if (active++ === 0) clearTimeout(timer);
      },
      closed: () => {
        if (--active === 0 && !session.closed) arm(this.limits.idleTimeoutMs);
      },
    });
    session.once('close', () => {
      clearTimeout(timer);
      this.#open.delete(session);
    });
  }

  /** A stream began on session: the session is not idle until it closes (call streamClosed then). */
  streamOpened(session: http2.Http2Session | undefined): void {
    if (session) this.#tracked.get(session)?.opened();
  }

  streamClosed(session: http2.Http2Session | undefined): void {
    if (session) this.#tracked.get(session)?.closed();
  }

  /**
   * GOAWAY to every client: calls in flight finish, then sessions end;
   * whatever is still open after a grace period is cut. The returned timer
   * keeps the process up until then (clear it once the server has closed).
   */
  closeAll(graceMs: number): NodeJS.Timeout {
    for (const session of this.#open) session.close();
    return setTimeout(() => {
      for (const session of this.#open) session.destroy();
    }, graceMs);
  }
}

export interface GrpcOptions {
  limits?: Partial<ListenerLimits>;
  /** Serve over TLS (h2 by ALPN) with this certificate chain and key (PEM); plaintext h2c otherwise. */
  tls?: { certPem: string; keyPem: string };
}

export async function startGrpc(
  table: ReadonlyMap<string, Handler>,
  host: string,
  port: number,
  log: Logger,
  options: GrpcOptions = {},
): Promise<GrpcTransport> {
  const limits = limitsWith(options.limits);
  const budget = new BodyBudget(limits.maxBufferedBytes);
  const deadlines = new Deadlines(limits.bodyTimeoutMs);
  const sessions = new Sessions(limits);
  const dispatcher = new Dispatcher(routes(table), log, limits, budget, deadlines, sessions);
  const settings = { maxConcurrentStreams: limits.maxConcurrentStreams };
  const server = options.tls
    ? http2.createSecureServer({ cert: options.tls.certPem, key: options.tls.keyPem, ...TLS_SERVER_POLICY, settings, handshakeTimeout: limits.headersTimeoutMs })
    : http2.createServer({ settings });
  server.on('session', (session) => sessions.add(session));
  server.on('stream', (stream, headers) => {
    try {
      dispatcher.onStream(stream, headers);
    } catch (err) {
      // Whatever one stream does stays with that stream.
      log.error('unexpected error', { error: String((err as Error)?.stack ?? err) });
      stream.destroy();
    }
  });
  const bound = await listen(server, port, host);
  return {
    port: bound,
    buffered: () => ({ used: budget.used, peak: budget.peak }),
    close: () =>
      new Promise<void>((resolve) => {
        const grace = sessions.closeAll(2000);
        server.close(() => {
          clearTimeout(grace);
          deadlines.stop();
          resolve();
        });
      }),
  };
}
