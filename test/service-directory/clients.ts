// The official @google-cloud/service-directory clients pointed at an OpenEKM
// server: insecure gRPC, or the REST transport over plain HTTP, anonymous.
import '../helpers/env';
import * as grpc from '@grpc/grpc-js';
import { LookupServiceClient, RegistrationServiceClient } from '@google-cloud/service-directory';
import { PassThroughClient } from 'google-auth-library';
import type { OpenEkmServer } from '../../src/server';
import type { Transport } from '../helpers/kms';

export interface DirectoryClients {
  registration: RegistrationServiceClient;
  lookup: LookupServiceClient;
  close(): Promise<void>;
}

type ClientOptions = NonNullable<ConstructorParameters<typeof RegistrationServiceClient>[0]>;

export function directoryClients(server: OpenEkmServer, transport: Transport = 'grpc'): DirectoryClients {
  const options: ClientOptions =
    transport === 'grpc'
      ? { apiEndpoint: '127.0.0.1', port: server.grpcPort, sslCreds: grpc.credentials.createInsecure() }
      : {
          apiEndpoint: '127.0.0.1',
          port: server.restPort,
          fallback: 'rest' as const,
          protocol: 'http',
          // This client's google-gax 4 types name google-auth-library 9's classes; at run
          // time it only calls the client's request(), which PassThroughClient sends unsigned.
          authClient: new PassThroughClient() as unknown as ClientOptions['authClient'],
        };
  const registration = new RegistrationServiceClient(options);
  const lookup = new LookupServiceClient(options);
  return {
    registration,
    lookup,
    close: async () => {
      await registration.close();
      await lookup.close();
    },
  };
}

/** The text of a client error: gRPC's details, or the REST error body's message. */
export function errorText(err: unknown): string {
  const e = err as Error & { details?: unknown };
  if (typeof e.details === 'string' && e.details) return e.details;
  try {
    const body = JSON.parse(e.message) as { error?: { message?: string } };
    if (body.error?.message) return body.error.message;
  } catch {
    // not a JSON body
  }
  return e.message;
}
