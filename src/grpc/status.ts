// KmsError → gRPC status, in one place. The google.rpc.Status (code, message,
// typed details) travels in the grpc-status-details-bin trailer, as Google's
// APIs send it, so clients can read PreconditionFailure and friends.
import { Metadata, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { asKmsError, type KmsError } from '../errors';
import { encodeMessage, messageType } from '../proto/registry';

export function statusDetailsBin(err: KmsError): Buffer {
  // protobufjs' built-in google.protobuf.Any keeps the proto's own field name, type_url.
  const details = err.details.map((d) => ({
    type_url: `type.googleapis.com/${d.type}`,
    value: encodeMessage(messageType(d.type), d.value),
  }));
  return encodeMessage(messageType('google.rpc.Status'), { code: err.code, message: err.message, details });
}

/** The gRPC status for any error a handler threw (non-KmsErrors become a generic INTERNAL). */
export function toGrpcStatus(thrown: unknown): Partial<StatusObject> & Pick<ServiceError, 'code' | 'details'> {
  const err = asKmsError(thrown);
  const metadata = new Metadata();
  metadata.set('grpc-status-details-bin', statusDetailsBin(err));
  return { code: err.code as number, details: err.message, metadata };
}
