// The gRPC transport: a thin adapter from grpc-js to the method table. It
// parses (protobuf → plain object), calls, maps (result or KmsError → status)
// and holds no rules, so it can be swapped for a leaner HTTP/2 transport
// without touching the services.
import * as grpc from '@grpc/grpc-js';
import type * as protobuf from 'protobufjs';
import { type Handler, unimplementedReason } from '../api/methods';
import { invalidArgument, KmsError, unimplemented } from '../errors';
import type { Logger } from '../log';
import { decodeMessage, encodeMessage, type Msg, service } from '../proto/registry';
import type { CallContext } from '../services/context';
import { toGrpcStatus } from './status';

export const GRPC_SERVICES = ['google.cloud.kms.v1.KeyManagementService', 'google.cloud.location.Locations'];

// A request that failed to parse travels to the handler as this marker, so the
// client gets INVALID_ARGUMENT instead of grpc-js's INTERNAL for a bad body.
const UNPARSABLE = Symbol('unparsable');
type Parsed = Msg & { [UNPARSABLE]?: string };

function definition(svc: protobuf.Service): grpc.ServiceDefinition {
  const def: Record<string, grpc.MethodDefinition<Parsed, Msg>> = {};
  const prefix = svc.fullName.replace(/^\./, '');
  for (const method of svc.methodsArray) {
    const req = method.resolvedRequestType!;
    const res = method.resolvedResponseType!;
    def[method.name] = {
      path: `/${prefix}/${method.name}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: (o: Msg) => encodeMessage(req, o),
      requestDeserialize: (b: Buffer): Parsed => {
        try {
          return decodeMessage(req, b);
        } catch (err) {
          return { [UNPARSABLE]: (err as Error).message };
        }
      },
      responseSerialize: (o: Msg) => encodeMessage(res, o),
      responseDeserialize: (b: Buffer) => decodeMessage(res, b),
      originalName: method.name,
    };
  }
  return def;
}

function callContext(metadata: grpc.Metadata): CallContext {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata.getMap())) if (typeof v === 'string') headers[k] = v;
  return { headers };
}

function unary(fullMethod: string, handler: Handler, log: Logger): grpc.handleUnaryCall<Parsed, Msg> {
  return (call, callback) => {
    const request = call.request;
    const started = request[UNPARSABLE] === undefined
      ? handler(request, callContext(call.metadata))
      : Promise.reject(invalidArgument(`request: not a valid ${fullMethod} message: ${request[UNPARSABLE]}`));
    started.then(
      (response) => callback(null, response),
      (err: unknown) => {
        if (!(err instanceof KmsError)) log.error('unexpected error', { method: fullMethod, error: String((err as Error)?.stack ?? err) });
        callback(toGrpcStatus(err));
      },
    );
  };
}

export interface GrpcTransport {
  port: number;
  close(): Promise<void>;
}

export async function startGrpc(
  table: ReadonlyMap<string, Handler>,
  host: string,
  port: number,
  log: Logger,
): Promise<GrpcTransport> {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 8 * 1024 * 1024 });
  for (const name of GRPC_SERVICES) {
    const svc = service(name);
    const impl: grpc.UntypedServiceImplementation = {};
    for (const method of svc.methodsArray) {
      const full = `${name}.${method.name}`;
      const handler = table.get(full) ?? (() => Promise.reject(unimplemented(unimplementedReason(full))));
      impl[method.name] = unary(full, handler, log);
    }
    server.addService(definition(svc), impl);
  }
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        // Give calls in flight a moment, then cut the rest.
        const force = setTimeout(() => server.forceShutdown(), 2000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}
