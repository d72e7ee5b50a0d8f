// Shared test fixtures: an OpenEKM server on ephemeral loopback ports with a
// manual clock, and the official @google-cloud/kms client pointed at it over
// insecure gRPC or over its REST transport (plain HTTP, anonymous).
import './env';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { PassThroughClient } from 'google-auth-library';
import type { ClientOptions } from 'google-gax';
import { ManualClock } from '../../src/clock';
import { RootKey } from '../../src/crypto/root-key';
import { freshSchema } from './pg';
import { Code } from '../../src/errors';
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

/** The official client over its REST transport: HTTP/1.1 + JSON, no credentials. */
export function restClient(port: number): KeyManagementServiceClient {
  return new KeyManagementServiceClient({
    apiEndpoint: '127.0.0.1',
    port,
    fallback: 'rest',
    protocol: 'http',
    authClient: new PassThroughClient(),
  });
}

/**
 * Any official client of @google-cloud/kms (AutokeyClient, EkmServiceClient, ...) with the
 * options that point it at a test server over `transport`.
 */
export function clientOptions(port: number, transport: Transport): ClientOptions {
  return transport === 'rest'
    ? { apiEndpoint: '127.0.0.1', port, fallback: 'rest', protocol: 'http', authClient: new PassThroughClient() }
    : { apiEndpoint: '127.0.0.1', port, sslCreds: grpc.credentials.createInsecure() };
}

export type Transport = 'grpc' | 'rest';
export const TRANSPORTS: readonly Transport[] = ['grpc', 'rest'];

export interface KmsOptions extends ServerOptions {
  /** Which transport the harness' client speaks; default gRPC. */
  transport?: Transport;
}

/**
 * OPENEKM_TEST_STORE=postgres: suites that start their KMS with startKms and
 * no store of their own run on PostgreSQL, each server on a fresh schema
 * dropped when it closes (scripts/run-tests.js runs chosen suites so).
 */
export const TEST_STORE = process.env.OPENEKM_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';

/** Starts a server (in memory unless options say otherwise; see TEST_STORE) and a client for it. */
export async function startKms(options: KmsOptions = {}): Promise<Harness> {
  const clock = (options.clock as ManualClock | undefined) ?? new ManualClock(Date.UTC(2030, 0, 1));
  const { transport = 'grpc', ...serverOptions } = options;
  const onPostgres = TEST_STORE === 'postgres' && options.dataDir === undefined && options.database === undefined && !options.inMemory;
  const schema = onPostgres ? await freshSchema() : undefined;
  if (schema) {
    serverOptions.database = schema.url;
    serverOptions.rootKey ??= RootKey.generate().toBase64();
  }
  const server = await createServer({
    inMemory: options.dataDir === undefined && serverOptions.database === undefined,
    logger: silentLogger,
    checkResponses: true,
    schedulerIntervalMs: 0,
    ...serverOptions,
    clock,
    host: '127.0.0.1',
    grpcPort: 0,
    restPort: 0,
  });
  const client = transport === 'rest' ? restClient(server.restPort) : grpcClient(server.grpcPort);
  return {
    server,
    client,
    clock,
    close: async () => {
      await client.close();
      await server.close();
      await schema?.drop();
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

/**
 * The canonical code of a client error. Over gRPC it is err.code. Over REST,
 * @google-cloud/kms 5.x (google-gax 5.0) hands back the GaxiosError: its code
 * is the HTTP status and its message the response body, Google's error JSON,
 * whose "status" names the canonical code (the client bug fixed upstream in
 * googleapis/google-cloud-node#9346); a GoogleError from a later client has it in code.
 */
export function canonicalCode(err: unknown): number | undefined {
  const e = err as Error & { code?: unknown };
  if (e?.constructor?.name !== 'GaxiosError') return typeof e?.code === 'number' ? e.code : undefined;
  try {
    const body = JSON.parse(e.message) as { error?: { status?: string } };
    return Code[body.error?.status as keyof typeof Code];
  } catch {
    return undefined;
  }
}

/** Asserts that `promise` rejects with the canonical code `code`; returns the error. */
export async function rejectsWithCode(promise: Promise<unknown>, code: number): Promise<Error & { code: number }> {
  try {
    await promise;
  } catch (err) {
    const e = err as Error & { code: number };
    const actual = canonicalCode(err);
    if (actual !== code) throw new Error(`expected code ${code}, got ${actual ?? e.code}: ${e.message}`);
    return e;
  }
  throw new Error(`expected code ${code}, but the call succeeded`);
}
