// Small HTTP helpers shared by the EKM's HTTPS front and its admin socket.
import type * as http from 'node:http';
import { Code, KmsError } from '../errors';
import { HttpFault } from './errors';

function tooLarge(maxBytes: number): HttpFault {
  const message = `The request body is larger than ${maxBytes} bytes.`;
  return new HttpFault(413, new KmsError(Code.INVALID_ARGUMENT, message), message, { connection: 'close' });
}

/**
 * Reads the body, never holding more than maxBytes (413 past that), and
 * calls back once with the body or the error. With a Content-Length the
 * body lands in one buffer of that size.
 */
export function collectBody(req: http.IncomingMessage, maxBytes: number, done: (err: Error | undefined, body: Buffer) => void): void {
  const declared = req.headers['content-length'];
  const expected = declared === undefined ? -1 : Number(declared);
  if (expected > maxBytes) {
    req.resume();
    done(tooLarge(maxBytes), EMPTY);
    return;
  }
  let finished = false;
  const finish = (err: Error | undefined, body: Buffer): void => {
    if (finished) return;
    finished = true;
    done(err, body);
  };
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > maxBytes) {
      req.removeAllListeners('data');
      req.resume();
      finish(tooLarge(maxBytes), EMPTY);
    } else {
      chunks.push(chunk);
    }
  });
  req.on('end', () => finish(undefined, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)));
  req.on('error', (err) => finish(err, EMPTY));
}

const EMPTY = Buffer.alloc(0);

/** collectBody as a promise. */
export function readBody(req: http.IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => collectBody(req, maxBytes, (err, body) => (err ? reject(err) : resolve(body))));
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
