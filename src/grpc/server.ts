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

/** A trailers-only response: the status travels in the only HEADERS frame. */
function sendStatus(stream: http2.ServerHttp2Stream, err: KmsError): void {
  if (stream.destroyed || stream.headersSent) return;
  stream.respond(
    {
      ...ERROR_HEADERS,
      'grpc-status': String(err.code),
      'grpc-message': grpcMessage(err.message),
      'grpc-status-details-bin': statusDetailsBin(err).toString('base64').replace(/=+$/, ''),
    },
    { endStream: true, sendDate: false } as http2.ServerStreamResponseOptions,
  );
}

function sendMessage(stream: http2.ServerHttp2Stream, body: Buffer): void {
  if (stream.destroyed || stream.headersSent) return;
  const frame = Buffer.allocUnsafe(5 + body.length);
  frame[0] = 0;
  frame.writeUInt32BE(body.length, 1);
  body.copy(frame, 5);
  stream.respond(RESPONSE_HEADERS, RESPOND_WITH_TRAILERS);
  stream.once('wantTrailers', sendOkTrailers);
  stream.end(frame);
}

// Shared, not per call: a closure and an options object less for every response.
// gRPC needs no Date header, and node:http2 would format and encode one each
// time; sendDate is honoured by respond() though its typings omit it.
const RESPOND_WITH_TRAILERS = { waitForTrailers: true, sendDate: false } as http2.ServerStreamResponseOptions;
const OK_TRAILERS = { 'grpc-status': '0' };
function sendOkTrailers(this: http2.ServerHttp2Stream): void {
  this.sendTrailers(OK_TRAILERS);
}

/** The one length-prefixed message of a unary request, decompressed. */
function unframe(body: Buffer, encoding: string | undefined): Buffer {
  if (body.length < 5) throw invalidArgument('request: a gRPC message frame was expected.');
  const length = body.readUInt32BE(1);
  if (body.length !== 5 + length) throw invalidArgument('request: a unary call carries exactly one message.');
  const message = body.subarray(5);
  if (body[0] === 0) return message;
  if (body[0] !== 1) throw invalidArgument('request: bad message frame flags.');
  if (encoding === 'gzip') return zlib.gunzipSync(message, { maxOutputLength: MAX_REQUEST_BYTES });
  if (encoding === 'deflate') return zlib.inflateSync(message, { maxOutputLength: MAX_REQUEST_BYTES });
  throw new KmsError(Code.UNIMPLEMENTED, `grpc-encoding '${encoding ?? 'identity'}' is not supported for compressed messages.`);
}

function decode(route: Route, body: Buffer, encoding: string | undefined): Msg {
  let message: Buffer;
  try {
    message = unframe(body, encoding);
  } catch (err) {
    if (err instanceof KmsError) throw err;
    throw invalidArgument('request: the compressed message could not be decompressed.');
  }
  try {
    return decodeMessage(route.request, message);
  } catch (err) {
    throw invalidArgument(`request: not a valid ${route.fullMethod} message: ${(err as Error).message}`);
  }
}

export interface GrpcTransport {
  port: number;
  close(): Promise<void>;
}

class Dispatcher {
  constructor(
    private readonly table: Map<string, Route>,
    private readonly log: Logger,
  ) {}

  onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    // A client that goes away mid-call resets the stream; nothing is owed to it.
    stream.on('error', () => undefined);
    if (headers[':method'] !== 'POST') {
      stream.respond({ ':status': 405, allow: 'POST' }, { endStream: true });
      return;
    }
    if (!String(headers['content-type'] ?? '').startsWith('application/grpc')) {
      stream.respond({ ':status': 415 }, { endStream: true });
      return;
    }
    const route = this.table.get(headers[':path'] ?? '');
    if (!route) {
      sendStatus(stream, unimplemented(`Method not found: ${String(headers[':path']).slice(0, 200)}`));
      return;
    }
    this.collect(stream, (body) => this.call(stream, headers, route, body));
  }

  private collect(stream: http2.ServerHttp2Stream, done: (body: Buffer) => void): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let overflowed = false;
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_REQUEST_BYTES) {
        chunks.push(chunk);
        return;
      }
      // Answer at once and drop the rest unbuffered; the chunks held so far are released.
      if (!overflowed) {
        overflowed = true;
        chunks.length = 0;
        sendStatus(stream, new KmsError(Code.RESOURCE_EXHAUSTED, `request: larger than ${MAX_REQUEST_BYTES} bytes.`));
      }
    });
    stream.on('end', () => {
      if (overflowed) return;
      done(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    });
  }

  private call(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, route: Route, body: Buffer): void {
    let request: Msg;
    try {
      request = decode(route, body, headers['grpc-encoding'] as string | undefined);
    } catch (err) {
      sendStatus(stream, asKmsError(err));
      return;
    }
    const call: CallContext = { headers: headers as CallContext['headers'] };
    route.handler(request, call).then(
      (response) => {
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

export async function startGrpc(
  table: ReadonlyMap<string, Handler>,
  host: string,
  port: number,
  log: Logger,
): Promise<GrpcTransport> {
  const dispatcher = new Dispatcher(routes(table), log);
  const server = http2.createServer({ settings: { maxConcurrentStreams: 1000 } });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
    session.on('error', () => undefined);
  });
  server.on('stream', (stream, headers) => dispatcher.onStream(stream, headers));
  const bound = await listen(server, port, host);
  return {
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // GOAWAY to every client: calls in flight finish, then sessions end;
        // whatever is still open after a grace period is cut.
        for (const session of sessions) session.close();
        setTimeout(() => {
          for (const session of sessions) session.destroy();
        }, 2000).unref();
      }),
  };
}
