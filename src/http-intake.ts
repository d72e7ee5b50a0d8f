// What an HTTP/1.1 listener on node:http(s) takes in, for the KMS's REST port
// and the EKM: a request body of at most maxBytes, within the listener's body
// timeout, every byte held counted against the listener's budget (limits.ts)
// until the answer is done; the headers timeout, the keep-alive idle timeout
// and the cap on connections; and how deep a JSON body may nest. Body
// problems are BodyProblems that each transport maps to its own error shape.
import type * as http from 'node:http';
import type * as net from 'node:net';
import { BodyHold, type BodyBudget, type Deadline, type Deadlines, type ListenerLimits } from './limits';

export type BodyProblemKind =
  /** Over maxBytes (declared or sent): 413. */
  | 'too-large'
  /** The listener holds too many unfinished bodies: 429. */
  | 'over-budget'
  /** The body did not end within the timeout: 408. */
  | 'timeout'
  /** The client went away before the end of the body: nothing to answer. */
  | 'aborted';

export class BodyProblem extends Error {
  constructor(readonly kind: BodyProblemKind, message: string) {
    super(message);
    this.name = 'BodyProblem';
  }
}

export interface BodyReadOptions {
  maxBytes: number;
  budget?: BodyBudget;
  timeoutMs?: number;
  /** The listener's deadline sweep for timeoutMs (limits.ts); without it, a timer of the request's own. */
  deadlines?: Deadlines;
}

const EMPTY = Buffer.alloc(0);

/** The words of an over-budget answer. */
export const OVER_BUDGET = 'The server holds too many unfinished request bodies; retry later.';

/**
 * Reads req's body and calls back exactly once. The bytes stay counted
 * against the budget until res closes (the answer is written or the
 * connection gone); the hold is passed on so that what the body becomes
 * (inflated) can be counted under the same release. On a problem the rest of
 * the body is not kept: too-large, over-budget and timeout answers should
 * close the connection.
 */
export function readBody(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  options: BodyReadOptions,
  done: (problem: BodyProblem | undefined, body: Buffer, hold: BodyHold) => void,
): void {
  const hold = new BodyHold(options.budget);
  // 'close' comes once; plain on() spares the once-wrapper on every request.
  res.on('close', () => hold.releaseAll());
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > options.maxBytes) {
    req.resume();
    done(new BodyProblem('too-large', `The request body is larger than ${options.maxBytes} bytes.`), EMPTY, hold);
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let finished = false;
  let timer: NodeJS.Timeout | undefined;
  let deadline: Deadline | undefined;
  const finish = (problem: BodyProblem | undefined): void => {
    if (finished) return;
    finished = true;
    if (timer) clearTimeout(timer);
    if (deadline) options.deadlines!.remove(deadline);
    if (problem) {
      req.off('data', onData);
      chunks.length = 0;
      hold.releaseAll();
      // Whatever else arrives is read and dropped, so the socket is not stuck.
      req.resume();
      done(problem, EMPTY, hold);
      return;
    }
    done(undefined, chunks.length === 1 ? chunks[0] : chunks.length === 0 ? EMPTY : Buffer.concat(chunks, size), hold);
  };
  const onData = (chunk: Buffer): void => {
    size += chunk.length;
    if (size > options.maxBytes) finish(new BodyProblem('too-large', `The request body is larger than ${options.maxBytes} bytes.`));
    else if (!hold.take(chunk.length)) finish(new BodyProblem('over-budget', OVER_BUDGET));
    else chunks.push(chunk);
  };
  if (options.timeoutMs !== undefined) {
    const expire = () => finish(new BodyProblem('timeout', `The request body did not arrive within ${options.timeoutMs} ms.`));
    if (options.deadlines) deadline = options.deadlines.add(options.timeoutMs, expire);
    else timer = setTimeout(expire, options.timeoutMs);
  }
  req.on('data', onData);
  req.on('end', () => finish(undefined));
  // A client that disconnects mid-body: 'close' before 'end'. (Without an
  // 'error' listener, node does not emit the "aborted" error at all.) 'close'
  // also follows every normal end: the problem is made only when it is one
  // (an Error costs its stack trace).
  req.on('close', () => {
    if (!finished) finish(new BodyProblem('aborted', 'The client closed the connection before the end of the request body.'));
  });
}

/** Whether the quote at `at` is escaped: preceded by an odd number of backslashes. */
function escapedQuote(text: Buffer, at: number): boolean {
  let backslashes = 0;
  for (let i = at - 1; i >= 0 && text[i] === 0x5c; i--) backslashes++;
  return backslashes % 2 === 1;
}

/**
 * Whether JSON text nests arrays and objects at most maxDepth deep. The code
 * that walks a parsed body recurses, so a body of 10,000 '[' must be refused
 * before it sees it. Brackets inside strings do not count. Strings are
 * skipped with Buffer.indexOf (native), so a body that is mostly a base64
 * string costs little more than its few structural bytes.
 */
export function jsonDepthWithin(text: Buffer, maxDepth: number): boolean {
  // Depth d needs at least 2d bytes: short bodies can't be too deep.
  if (text.length <= 2 * maxDepth) return true;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === 0x22) {
      let end = text.indexOf(0x22, i + 1);
      while (end > 0 && escapedQuote(text, end)) end = text.indexOf(0x22, end + 1);
      // An unterminated string: the parser refuses the body.
      if (end < 0) return true;
      i = end;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) return false;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return true;
}

/** How many levels of arrays and objects a request body may nest. */
export const MAX_JSON_DEPTH = 64;

/** Whole HTTP/1.1 answers written on a socket before (or without) a request handler. */
export interface RawAnswers {
  /** A connection past the cap. */
  tooManyConnections: Buffer;
  /** The headers did not arrive within the headers timeout. */
  headersTimeout: Buffer;
  headersTooLarge: Buffer;
  /** Anything else node's parser refuses. */
  badRequest: Buffer;
}

/** One whole answer with a JSON error body, that closes the connection. */
function rawAnswer(status: number, reason: string, body: unknown, extraHeaders = ''): Buffer {
  const text = JSON.stringify(body);
  return Buffer.from(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n${extraHeaders}\r\n${text}`,
    'latin1',
  );
}

/** The raw answers of a listener, its error body made by `errorBody` (each transport has its shape); `server` names it. */
export function rawAnswers(errorBody: (httpStatus: number, status: string, message: string) => unknown, server: string): RawAnswers {
  return {
    tooManyConnections: rawAnswer(503, 'Service Unavailable', errorBody(503, 'UNAVAILABLE', `${server} has too many open connections; retry later.`), 'retry-after: 1\r\n'),
    headersTimeout: rawAnswer(408, 'Request Timeout', errorBody(408, 'DEADLINE_EXCEEDED', 'The request headers did not arrive in time.')),
    headersTooLarge: rawAnswer(431, 'Request Header Fields Too Large', errorBody(431, 'INVALID_ARGUMENT', 'The request headers are too large.')),
    badRequest: rawAnswer(400, 'Bad Request', errorBody(400, 'INVALID_ARGUMENT', 'The request is not valid HTTP/1.1.')),
  };
}

/** Connections past the cap: answered 503 and being destroyed. */
const REFUSED = new WeakSet<object>();

/**
 * Whether req came on a connection refused past the cap (a request it
 * pipelined before the 503 went out): the handler must not run it. The socket
 * is destroyed here.
 */
export function onRefusedConnection(req: http.IncomingMessage): boolean {
  if (!REFUSED.has(req.socket)) return false;
  req.socket.destroy();
  return true;
}

/**
 * Applies a listener's limits to a node:http(s) server: the headers timeout
 * (node's own, checked every connectionsCheckingInterval: create the server
 * with 1000), the keep-alive idle timeout, and a cap on open connections (one
 * past it gets the tooManyConnections answer and is closed; request handlers
 * call onRefusedConnection first). The body timeout
 * and the byte budget apply where bodies are read (readBody).
 */
export function applyHttpLimits(server: http.Server, limits: ListenerLimits, answers: RawAnswers): void {
  server.headersTimeout = limits.headersTimeoutMs;
  // A backstop only: the body timeout answers first, in the transport's own words.
  server.requestTimeout = limits.headersTimeoutMs + limits.bodyTimeoutMs + 5000;
  server.keepAliveTimeout = limits.idleTimeoutMs;
  server.timeout = 0;
  // Over TLS the answer can only go once the handshake is done (create a TLS
  // server with handshakeTimeout: limits.headersTimeoutMs).
  const secure = 'setSecureContext' in server;
  // Sockets still in the TLS handshake are bounded too, by the raw count (node drops past it).
  if (secure) server.maxConnections = 2 * limits.maxConnections;
  let open = 0;
  // First in line, before node:http attaches its parser: a connection past the
  // cap gets its answer and is destroyed once that is written, so no request
  // it pipelined is ever handled.
  server.prependListener(secure ? 'secureConnection' : 'connection', (socket: net.Socket) => {
    if (open >= limits.maxConnections) {
      REFUSED.add(socket);
      socket.end(answers.tooManyConnections, () => socket.destroy());
      return;
    }
    open++;
    socket.once('close', () => open--);
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    socket.end(err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? answers.headersTimeout
      : err.code === 'HPE_HEADER_OVERFLOW' ? answers.headersTooLarge : answers.badRequest);
  });
}
