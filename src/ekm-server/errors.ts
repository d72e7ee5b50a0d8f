// KmsError → the EKM's HTTP answer, in one place: the canonical code → HTTP
// status table of google/rpc/code.proto and Google's JSON error body
// {"error": {"code", "status", "message"}} (docs/ekm-protocol.md, "Errors").
// Routing faults (404 for no such operation, 405, 413) carry their own HTTP
// status through HttpFault.
import { Code, KmsError, asKmsError, httpStatus } from '../errors';
import type { EkmErrorBody } from '../protocol/ekm';


/** A fault answered with an explicit HTTP status (routing, size, method). */
export class HttpFault extends Error {
  constructor(
    readonly httpStatus: number,
    readonly error: KmsError | undefined,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'HttpFault';
  }
}

export const unauthenticated = (message: string): KmsError => new KmsError(Code.UNAUTHENTICATED, message);
export const permissionDenied = (message: string): KmsError => new KmsError(Code.PERMISSION_DENIED, message);
export const internal = (message: string): KmsError => new KmsError(Code.INTERNAL, message);

export { httpStatus };

export interface HttpAnswer {
  httpStatus: number;
  /** The canonical code name, for the audit log ("OK" never appears here). */
  status: string;
  body: EkmErrorBody;
  headers: Readonly<Record<string, string>>;
}

/** Maps anything thrown to the answer; non-KmsErrors become INTERNAL with the generic message. */
export function errorAnswer(err: unknown): HttpAnswer {
  if (err instanceof HttpFault) {
    const body: EkmErrorBody = { error: { code: err.httpStatus, message: err.message } };
    if (err.error) body.error.status = Code[err.error.code];
    return { httpStatus: err.httpStatus, status: body.error.status ?? `HTTP_${err.httpStatus}`, body, headers: err.headers };
  }
  const e = asKmsError(err);
  const code = httpStatus(e.code);
  const status = Code[e.code];
  const headers: Record<string, string> = e.code === Code.UNAUTHENTICATED ? { 'www-authenticate': 'Bearer' } : {};
  return { httpStatus: code, status, body: { error: { code, status, message: e.message } }, headers };
}
