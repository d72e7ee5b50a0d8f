// The one error type of OpenEKM. Every layer throws KmsError with a canonical
// code (google.rpc.Code); each transport maps it once (grpc/status.ts, and the
// REST error body later). Anything thrown that is not a KmsError is a bug or a
// foreign failure: transports turn it into INTERNAL with a generic message and
// send the cause to the log only.

/** google.rpc.Code, https://github.com/googleapis/googleapis/blob/master/google/rpc/code.proto */
export enum Code {
  OK = 0,
  CANCELLED = 1,
  UNKNOWN = 2,
  INVALID_ARGUMENT = 3,
  DEADLINE_EXCEEDED = 4,
  NOT_FOUND = 5,
  ALREADY_EXISTS = 6,
  PERMISSION_DENIED = 7,
  RESOURCE_EXHAUSTED = 8,
  FAILED_PRECONDITION = 9,
  ABORTED = 10,
  OUT_OF_RANGE = 11,
  UNIMPLEMENTED = 12,
  INTERNAL = 13,
  UNAVAILABLE = 14,
  DATA_LOSS = 15,
  UNAUTHENTICATED = 16,
}

/**
 * The HTTP status of each canonical code (google/rpc/code.proto), for the
 * transports that answer over HTTP/JSON: the KMS's REST front and the EKM.
 */
const HTTP_STATUS: Readonly<Record<Code, number>> = {
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

/**
 * A detail carried in google.rpc.Status.details: the fully-qualified proto
 * type name (without the type.googleapis.com/ prefix) and a plain object in
 * the shape protobufjs' fromObject accepts for that type.
 */
export interface ErrorDetail {
  type: string;
  value: Record<string, unknown>;
}

export class KmsError extends Error {
  readonly code: Code;
  readonly details: readonly ErrorDetail[];

  constructor(code: Code, message: string, details: readonly ErrorDetail[] = []) {
    super(message);
    this.name = 'KmsError';
    this.code = code;
    this.details = details;
  }
}

export const invalidArgument = (message: string): KmsError => new KmsError(Code.INVALID_ARGUMENT, message);
export const notFound = (message: string): KmsError => new KmsError(Code.NOT_FOUND, message);
export const alreadyExists = (message: string): KmsError => new KmsError(Code.ALREADY_EXISTS, message);
export const failedPrecondition = (message: string): KmsError => new KmsError(Code.FAILED_PRECONDITION, message);
export const unimplemented = (message: string): KmsError => new KmsError(Code.UNIMPLEMENTED, message);
export const aborted = (message: string): KmsError => new KmsError(Code.ABORTED, message);

/** The message every unexpected failure is reported with; the cause goes to the log. */
export const INTERNAL_MESSAGE = 'Internal error encountered.';

/** Returns err if it is a KmsError, otherwise an INTERNAL KmsError with the generic message. */
export function asKmsError(err: unknown): KmsError {
  return err instanceof KmsError ? err : new KmsError(Code.INTERNAL, INTERNAL_MESSAGE);
}
