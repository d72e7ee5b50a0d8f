// The limit the bench compares against: a bare grpc-js server whose unary
// handler returns the request bytes untouched. Identity (de)serializers mean
// no protobuf work at all, so its throughput is what grpc-js's transport alone
// can carry on one core. Run as its own process, pinned like the server under
// test, and prints the same JSON line `{"grpc":"HOST:PORT"}` once listening.
//
// usage: node dist/bench/echo-server.js PORT PATH...
// The paths come from the caller (the bench's workloads) so that h2load sends
// byte-identical requests to the same path names on both servers.
import * as grpc from '@grpc/grpc-js';

const identity = (b: Buffer): Buffer => b;

function definition(paths: string[]): grpc.ServiceDefinition {
  const def: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
  for (const path of paths) {
    def[path] = {
      path,
      requestStream: false,
      responseStream: false,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    };
  }
  return def;
}

function main(): void {
  const [portArg, ...paths] = process.argv.slice(2);
  const port = Number(portArg ?? '0');
  if (!Number.isInteger(port) || paths.length === 0) {
    process.stderr.write('usage: echo-server PORT PATH...\n');
    process.exit(2);
  }
  const server = new grpc.Server();
  const echo: grpc.handleUnaryCall<Buffer, Buffer> = (call, callback) => callback(null, call.request);
  const impl: grpc.UntypedServiceImplementation = {};
  for (const path of paths) impl[path] = echo;
  server.addService(definition(paths), impl);
  server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
    if (err) {
      process.stderr.write(`echo-server: ${err.message}\n`);
      process.exit(1);
    }
    process.stdout.write(`${JSON.stringify({ grpc: `127.0.0.1:${bound}` })}\n`);
  });
  const stop = () => server.tryShutdown(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
