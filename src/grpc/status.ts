// KmsError → gRPC status, in one place. The google.rpc.Status (code, message,
// typed details) travels in the grpc-status-details-bin trailer, as Google's
// APIs send it, so clients can read PreconditionFailure and friends.
import type { KmsError } from '../errors';
import { encodeMessage, messageType } from '../proto/registry';

export function statusDetailsBin(err: KmsError): Buffer {
  // protobufjs' built-in google.protobuf.Any keeps the proto's own field name, type_url.
  const details = err.details.map((d) => ({
    type_url: `type.googleapis.com/${d.type}`,
    value: encodeMessage(messageType(d.type), d.value),
  }));
  return encodeMessage(messageType('google.rpc.Status'), { code: err.code, message: err.message, details });
}

/**
 * grpc-message is percent-encoded UTF-8: bytes outside printable ASCII, and
 * '%' itself, become %XX (PROTOCOL-HTTP2.md, "Responses").
 */
export function grpcMessage(message: string): string {
  if (/^[\x20-\x24\x26-\x7e]*$/.test(message)) return message;
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25
      ? String.fromCharCode(byte)
      : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
