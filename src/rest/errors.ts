// KmsError → Google's JSON error body, in one place (the REST side's twin of
// grpc/status.ts): {"error": {"code": <http>, "message", "status", "details"}}
// with each detail carrying its "@type", and the canonical code → HTTP status
// mapping of google/rpc/code.proto.
import { Code, type KmsError } from '../errors';
import { messageType } from '../proto/registry';
import { toJson } from './json';

const HTTP_STATUS: Record<Code, number> = {
  [Code.OK]: 200,
  [Code.CANCELLED]: 499,
  [Code.UNKNOWN]: 500,
  [Code.INVALID_ARGUMENT]: 400,
  [Code.DEADLINE_EXCEEDED]: 504,
  [Code.NOT_FOUND]: 404,
  [Code.ALREADY_EXISTS]: 409,
  [Code.PERMISSION_DENIED]: 403,
  [Code.RESOURCE_EXHAUSTED]: 429,
  [Code.FAILED_PRECONDITION]: 400,
  [Code.ABORTED]: 409,
  [Code.OUT_OF_RANGE]: 400,
  [Code.UNIMPLEMENTED]: 501,
  [Code.INTERNAL]: 500,
  [Code.UNAVAILABLE]: 503,
  [Code.DATA_LOSS]: 500,
  [Code.UNAUTHENTICATED]: 401,
};

export function httpStatus(code: Code): number {
  return HTTP_STATUS[code] ?? 500;
}

/** The body for an error; httpCode is usually httpStatus(err.code), but 404/405/413 answer routing and size faults. */
export function errorBody(httpCode: number, err: KmsError, enumsAsInts = false): { error: Record<string, unknown> } {
  const error: Record<string, unknown> = { code: httpCode, message: err.message, status: Code[err.code] };
  if (err.details.length > 0) {
    error.details = err.details.map((d) => ({
      '@type': `type.googleapis.com/${d.type}`,
      ...toJson(messageType(d.type), d.value, { enumsAsInts }),
    }));
  }
  return { error };
}
