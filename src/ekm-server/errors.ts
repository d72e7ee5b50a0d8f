// KmsError → the EKM's HTTP answer, in one place: the canonical code → HTTP
// status table of google/rpc/code.proto and a bare google.rpc.Status body
// {"code": 3, "message": ..., "details": [...]} (docs/ekm-protocol.md,
// "Errors"). Routing faults (404 for no such operation, 405, 413) carry their
// own HTTP status through HttpFault.
import { Code, KmsError, asKmsError, httpStatus, type ErrorDetail } from '../errors';
import type { EkmErrorBody } from '../protocol/ekm';

/** An error about one request field: the message, and a google.rpc.BadRequest field violation naming the field. */
export function fieldError(field: string, message: string, code: Code = Code.INVALID_ARGUMENT): KmsError {
  return new KmsError(code, message, [{ type: 'google.rpc.BadRequest', value: { fieldViolations: [{ field, description: message }] } }]);
}

function statusBody(code: Code, message: string, details: readonly ErrorDetail[] = []): EkmErrorBody {
  const body: EkmErrorBody = { code, message };
  if (details.length > 0) body.details = details.map((d) => ({ '@type': `type.googleapis.com/${d.type}`, ...d.value }));
  return body;
}

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
  /** The canonical code's name, for the audit log ("OK" never appears here). */
  status: string;
  body: EkmErrorBody;
  headers: Readonly<Record<string, string>>;
}

/** Maps anything thrown to the answer; non-KmsErrors become INTERNAL with the generic message. */
export function errorAnswer(err: unknown): HttpAnswer {
  if (err instanceof HttpFault) {
    // A fault without a canonical code (405: a method the path does not take) is UNIMPLEMENTED.
    const code = err.error?.code ?? Code.UNIMPLEMENTED;
    return { httpStatus: err.httpStatus, status: Code[code], body: statusBody(code, err.message, err.error?.details), headers: err.headers };
  }
  const e = asKmsError(err);
  const headers: Record<string, string> = e.code === Code.UNAUTHENTICATED ? { 'www-authenticate': 'Bearer' } : {};
  return { httpStatus: httpStatus(e.code), status: Code[e.code], body: statusBody(e.code, e.message, e.details), headers };
}
