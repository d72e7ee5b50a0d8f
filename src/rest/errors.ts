// KmsError → Google's JSON error body, in one place (the REST side's twin of
// grpc/status.ts): {"error": {"code": <http>, "message", "status", "details"}}
// with each detail carrying its "@type", and the canonical code → HTTP status
// mapping of google/rpc/code.proto.
import { Code, httpStatus, type KmsError } from '../errors';
import { messageType } from '../proto/registry';
import { toJson } from './json';

export { httpStatus };

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
