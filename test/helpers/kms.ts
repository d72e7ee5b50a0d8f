// Shared test fixtures: an OpenEKM server on an ephemeral loopback port with a
// manual clock, and the official @google-cloud/kms client pointed at it over
// insecure gRPC.
import './env';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { ManualClock } from '../../src/clock';
import { silentLogger } from '../../src/log';
import { createServer, type OpenEkmServer, type ServerOptions } from '../../src/server';

export interface Harness {
  server: OpenEkmServer;
  client: KeyManagementServiceClient;
  clock: ManualClock;
  close(): Promise<void>;
}

export function grpcClient(port: number): KeyManagementServiceClient {
  return new KeyManagementServiceClient({
    apiEndpoint: '127.0.0.1',
    port,
    sslCreds: grpc.credentials.createInsecure(),
  });
}

/** Starts a server (in memory unless options say otherwise) and a client for it. */
export async function startKms(options: ServerOptions = {}): Promise<Harness> {
  const clock = (options.clock as ManualClock | undefined) ?? new ManualClock(Date.UTC(2030, 0, 1));
  const server = await createServer({
    inMemory: options.dataDir === undefined,
    logger: silentLogger,
    schedulerIntervalMs: 0,
    ...options,
    clock,
    host: '127.0.0.1',
    grpcPort: 0,
  });
  const client = grpcClient(server.grpcPort);
  return {
    server,
    client,
    clock,
    close: async () => {
      await client.close();
      await server.close();
    },
  };
}

export function tempDir(prefix = 'openekm-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export const LOCATION = 'projects/test-project/locations/us-east1';

let counter = 0;
/** A fresh id for resources, unique in the process. */
export const uniqueId = (prefix: string): string => `${prefix}-${process.pid}-${++counter}`;

/** Asserts that `promise` rejects with the gRPC status `code`; returns the error. */
export async function rejectsWithCode(promise: Promise<unknown>, code: number): Promise<Error & { code: number }> {
  try {
    await promise;
  } catch (err) {
    const e = err as Error & { code: number };
    if (e.code !== code) throw new Error(`expected code ${code}, got ${e.code}: ${e.message}`);
    return e;
  }
  throw new Error(`expected code ${code}, but the call succeeded`);
}
