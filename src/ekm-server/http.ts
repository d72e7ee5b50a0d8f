// Small HTTP helpers shared by the EKM's HTTPS front and its admin socket.
import type * as http from 'node:http';
import { Code, KmsError } from '../errors';
import { type BodyProblem, type BodyProblemKind, type BodyReadOptions, readBody } from '../http-intake';
import { HttpFault } from './errors';

const BODY_FAULTS: Readonly<Record<BodyProblemKind, [number, Code]>> = {
  'too-large': [413, Code.INVALID_ARGUMENT],
  'over-budget': [429, Code.RESOURCE_EXHAUSTED],
  timeout: [408, Code.DEADLINE_EXCEEDED],
  // Nobody is left to read it; the audit line records it (499: the client closed the request).
  aborted: [499, Code.CANCELLED],
};

/** A body problem as the EKM answers it; all but "aborted" close the connection. */
export function bodyFault(problem: BodyProblem): HttpFault {
  const [status, code] = BODY_FAULTS[problem.kind];
  return new HttpFault(status, new KmsError(code, problem.message), problem.message, problem.kind === 'aborted' ? {} : { connection: 'close' });
}

/** The body (under the listener's limits), or the HttpFault to answer. */
export function collectBody(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  options: BodyReadOptions,
  done: (err: HttpFault | undefined, body: Buffer) => void,
): void {
  readBody(req, res, options, (problem, body) => done(problem && bodyFault(problem), body));
}

/** collectBody as a promise. */
export function readBodyAsync(req: http.IncomingMessage, res: http.ServerResponse, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => collectBody(req, res, { maxBytes }, (err, body) => (err ? reject(err) : resolve(body))));
}

/**
 * A JSON answer already in its wire form, for answers whose text is known
 * without a serializer: `{"field":"<base64>"}` needs no escaping, and
 * JSON.stringify would scan the whole base64 string for characters to escape.
 * The bytes are built once in a pooled buffer and written as they are, so the
 * HTTP layer neither measures, concatenates nor re-encodes a string.
 */
export class JsonText {
  constructor(readonly bytes: Buffer) {}

  /** An object with one field holding bytes, as proto3 JSON writes them (standard base64). */
  static bytesField<T>(name: keyof T & string, value: Buffer): JsonText {
    const head = `{"${name}":"`;
    const base64 = value.toString('base64');
    const out = Buffer.allocUnsafe(head.length + base64.length + 2);
    let at = out.write(head, 0, 'latin1');
    at += out.write(base64, at, 'latin1');
    out[at] = 0x22; // "
    out[at + 1] = 0x7d; // }
    return new JsonText(out);
  }

  toJSON(): unknown {
    return JSON.parse(this.bytes.toString('latin1'));
  }
}

/**
 * Answers with JSON. The headers go as one flat list; a JsonText goes out as
 * its bytes, anything else through JSON.stringify as UTF-8.
 */
export function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
  requestId?: string,
): void {
  const payload: Buffer | string = body instanceof JsonText ? body.bytes : JSON.stringify(body);
  const length = typeof payload === 'string' ? Buffer.byteLength(payload, 'utf8') : payload.length;
  const list: string[] = [
    'content-type', 'application/json; charset=utf-8',
    'content-length', String(length),
    'cache-control', 'no-store',
  ];
  for (const name in headers) list.push(name, headers[name]);
  if (requestId !== undefined) list.push('x-request-id', requestId);
  res.writeHead(status, list);
  if (res.req.method === 'HEAD') res.end();
  else if (typeof payload === 'string') res.end(payload, 'utf8');
  else res.end(payload);
}
