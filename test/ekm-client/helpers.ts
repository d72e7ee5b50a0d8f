// The EKM client against the real reference EKM on loopback: a KMS service
// identity whose JWKS the EKM trusts, a crypto space allowing that identity,
// keys made through the admin socket, and clients wired to loopback (a
// Service Directory stub for EXTERNAL_VPC, a DNS stub for EXTERNAL URIs).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as net from 'node:net';
import * as path from 'node:path';
import { systemClock } from '../../src/clock';
import { RootKey } from '../../src/crypto/root-key';
import { Code, KmsError } from '../../src/errors';
import type { Logger, LogFields } from '../../src/log';
import { loadTlsMaterial } from '../../src/ekm-server/tls';
import { createEkmClient, type EkmClientHandle, type EkmClientOptions } from '../../src/services/ekm-client/client';
import { ServiceIdentity, type IdentityKeyStore } from '../../src/services/ekm-client/identity';
import type { CallInfo } from '../../src/services/ekm-client/types';
import type { EkmConnectionRecord } from '../../src/store/ekm';
import { HOSTNAME, startReferenceEkm, tempDir, type ReferenceEkm } from '../ekm-server/helpers';

export { HOSTNAME };
export const PROJECT = 'ekm-client-test';
export const SPACE = 'kms';
export const SPACE_PATH = `v0/cryptospaces/${SPACE}`;
export const VERSION = `projects/${PROJECT}/locations/us-east1/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1`;
export const CALL: CallInfo = { project: PROJECT, resourceName: VERSION, reason: 'CUSTOMER_INITIATED_ACCESS' };
export const SERVICE = `projects/${PROJECT}/locations/us-east1/namespaces/ns/services/ekm`;
export const CONNECTION = `projects/${PROJECT}/locations/us-east1/ekmConnections/conn`;

/** Settings in a map, sealed under a fresh root key: what the KMS store and root key give in production. */
export function memoryKeyStore(settings = new Map<string, string>(), rootKey = RootKey.generate()): IdentityKeyStore & { settings: Map<string, string> } {
  return {
    settings,
    getSetting: async (k) => settings.get(k),
    initSetting: async (k, v) => {
      if (!settings.has(k)) settings.set(k, v);
      return settings.get(k)!;
    },
    seal: (p, c) => rootKey.seal(p, c),
    open: (s, c) => rootKey.open(s, c),
  };
}

export interface LogLine {
  message: string;
  fields?: LogFields;
}

export function captureLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  return { lines, info: (message, fields) => lines.push({ message, fields }), error: (message, fields) => lines.push({ message, fields }) };
}

/** A DNS stub: `names` resolve to loopback, anything else fails as NXDOMAIN would. */
export function stubLookup(names: readonly string[] = [HOSTNAME]): net.LookupFunction {
  return (hostname, options, callback) => {
    if (!names.includes(hostname)) {
      const err = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname });
      process.nextTick(() => callback(err, ''));
      return;
    }
    process.nextTick(() => (options.all ? callback(null, [{ address: '127.0.0.1', family: 4 }]) : callback(null, '127.0.0.1', 4)));
  };
}

export function connectionRecord(der: Buffer, overrides: Partial<EkmConnectionRecord> & { hostname?: string; pins?: Buffer[] } = {}): EkmConnectionRecord {
  const { hostname = HOSTNAME, pins = [der], ...rest } = overrides;
  return {
    name: CONNECTION,
    parent: `projects/${PROJECT}/locations/us-east1`,
    createTime: Date.now(),
    serviceResolvers: [{ serviceDirectoryService: SERVICE, endpointFilter: '', hostname, serverCertificates: pins }],
    keyManagementMode: 'MANUAL',
    cryptoSpacePath: '',
    etag: 'e',
    revision: 1,
    ...rest,
  };
}

export interface Fixture {
  ekm: ReferenceEkm;
  identity: ServiceIdentity;
  /** The EKM's certificate, DER (what an EkmConnection pins). */
  der: Buffer;
  port: number;
  keys: { wrap: string; sign: string };
  logger: ReturnType<typeof captureLogger>;
  /** A client whose resolver returns `endpoints` (default: the EKM). */
  client(options?: Partial<EkmClientOptions> & { endpoints?: Array<{ address: string; port: number }> }): EkmClientHandle;
  uri(keyPath: string, host?: string): string;
  close(): Promise<void>;
}

export async function startFixture(options: { identity?: ServiceIdentity; trustedIdentity?: ServiceIdentity } = {}): Promise<Fixture> {
  const identity = options.identity ?? (await ServiceIdentity.load(memoryKeyStore()));
  const trusted = options.trustedIdentity ?? identity;
  const trustDir = tempDir('openekm-ekm-client-trust-');
  const jwksFile = path.join(trustDir, 'kms-jwks.json');
  fs.writeFileSync(jwksFile, JSON.stringify(trusted.jwks()));
  let ekm: ReferenceEkm;
  try {
    ekm = await startReferenceEkm({ trustedIssuers: [{ issuer: trusted.issuer, jwks: jwksFile }] });
  } catch (err) {
    fs.rmSync(trustDir, { recursive: true, force: true });
    throw err;
  }
  await ekm.admin.call('createCryptoSpace', { name: SPACE, policy: { callers: [identity.email(PROJECT)] } });
  const create = async (algorithm: string) => (await ekm.admin.call<{ path: string }>('createKey', { cryptoSpace: SPACE, algorithm })).path;
  const keys = { wrap: await create('EXTERNAL_SYMMETRIC_ENCRYPTION'), sign: await create('EC_SIGN_P256_SHA256') };
  const logger = captureLogger();
  const clients: EkmClientHandle[] = [];
  const port = ekm.server.port;
  return {
    ekm, identity, port, keys, logger,
    der: fs.readFileSync(ekm.server.certificateDerPath),
    client: ({ endpoints = [{ address: '127.0.0.1', port }], ...rest } = {}) => {
      const c = createEkmClient({
        identity, logger, lookup: stubLookup(), extraCaPem: ekm.server.certificatePem,
        resolve: async () => endpoints,
        ...rest,
      });
      clients.push(c);
      return c;
    },
    uri: (keyPath, host = HOSTNAME) => `https://${host}:${port}/${keyPath}`,
    close: async () => {
      for (const c of clients) c.close();
      await ekm.close();
      fs.rmSync(trustDir, { recursive: true, force: true });
    },
  };
}

/**
 * Asserts err is the client's error as Cloud KMS reports it: FAILED_PRECONDITION
 * (INVALID_ARGUMENT for DECRYPTION_FAILED) with a PreconditionFailure of two
 * violations, the key version's state, then the attempt: its type `domain`,
 * subject `subject`, description matching `description`.
 */
export function assertEkmError(err: unknown, domain: string, description?: RegExp, subject = VERSION): true {
  assert.ok(err instanceof KmsError, `expected a KmsError, got ${String(err)}`);
  assert.equal(err.code, domain === 'DECRYPTION_FAILED' ? Code.INVALID_ARGUMENT : Code.FAILED_PRECONDITION, err.message);
  assert.equal(err.details.length, 1);
  assert.equal(err.details[0].type, 'google.rpc.PreconditionFailure');
  const violations = (err.details[0].value as { violations: Array<{ type: string; subject: string; description: string }> }).violations;
  assert.equal(violations.length, 2);
  assert.equal(violations[0].type, subject.includes('/cryptoKeyVersions/') ? 'EXTERNAL_KEY_VERSION_STATE' : 'EKM_CONNECTION_STATE');
  assert.equal(violations[0].subject, subject);
  assert.equal(violations[1].type, domain, violations[1].description);
  assert.equal(violations[1].subject, subject);
  if (description) assert.match(violations[1].description, description);
  return true;
}

/** A loopback port nothing listens on (a server bound it, then closed). */
export async function refusingPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A TCP server that accepts connections and never says anything. */
export async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

/** An HTTPS server with a fresh self-signed certificate for HOSTNAME, answering with `handler`. */
export async function fakeEkm(handler: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void): Promise<{
  port: number; der: Buffer; certPem: string; close(): Promise<void>;
}> {
  const dir = tempDir('openekm-fake-ekm-');
  const tls = loadTlsMaterial({ dataDir: dir, hostname: HOSTNAME, clock: systemClock });
  const server = https.createServer({ cert: tls.certPem, key: tls.keyPem }, handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    der: tls.leafDer,
    certPem: tls.certPem,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
      fs.rmSync(dir, { recursive: true, force: true });
    }),
  };
}

/** The sum of ekm_external_requests_total samples whose labels include every `labels` pair. */
export function countSamples(text: string, labels: Record<string, string>): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('ekm_external_requests_total{')) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) total += Number(line.split(' ').pop());
  }
  return total;
}
