// A REST request's body: read under the listener's limits (http-intake.ts),
// inflated when gzip or deflate (its inflated size held against the budget),
// and the rules on its Content-Type.
import * as http from 'node:http';
import * as zlib from 'node:zlib';
import { Code, invalidArgument, KmsError } from '../errors';
import { BodyProblem, type BodyProblemKind, type BodyReadOptions, OVER_BUDGET, readBody } from '../http-intake';
import type { BodyHold } from '../limits';
import { HttpError, MAX_REQUEST_BYTES } from './exchange';

export const BODY_PROBLEM_STATUS: Readonly<Record<Exclude<BodyProblemKind, 'aborted'>, [number, Code]>> = {
  'too-large': [413, Code.INVALID_ARGUMENT],
  'over-budget': [429, Code.RESOURCE_EXHAUSTED],
  timeout: [408, Code.DEADLINE_EXCEEDED],
};

/** The client left mid-body: there is nobody to answer. */
export class ClientGone extends Error {}

export function bodyError(err: unknown): unknown {
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
export function inflate(raw: Buffer, encoding: string, hold: BodyHold, done: (err: unknown, body: Buffer) => void): void {
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
export function readRequestBody(req: http.IncomingMessage, res: http.ServerResponse, options: BodyReadOptions, done: (err: unknown, body: Buffer) => void): void {
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

export const EMPTY_BODY = Buffer.alloc(0);

/** Whether the request carries a body (a length above 0, or chunked). */
export const hasBody = (req: http.IncomingMessage): boolean =>
  req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;

/** Whether Content-Type is application/json, with or without parameters, in any case. */
export function isJson(req: http.IncomingMessage): boolean {
  const type = req.headers['content-type'];
  // What the official clients and gcloud send, first.
  if (type === 'application/json' || type === 'application/json; charset=utf-8') return true;
  return type !== undefined && type.split(';')[0].trim().toLowerCase() === 'application/json';
}
