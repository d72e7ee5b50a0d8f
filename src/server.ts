// createServer: the whole KMS as a library. It opens the store, resolves the
// root key, builds the services over one context, starts the transports and
// the scheduler, and returns the addresses and close(). Both transports,
// gRPC and REST, serve the same method table.
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { methodTable } from './api/methods';
import { withProjectAliases } from './api/project-aliases';
import { withResponseCheck } from './api/response-check';
import { type Clock, systemClock } from './clock';
import { loadOrCreateRootKeyFile, RootKey } from './crypto/root-key';
import { startGrpc } from './grpc/server';
import type { ListenerLimits } from './limits';
import { type PlainAnswer, type PlainResource, startRest } from './rest/server';
import { PageTokenCodec } from './list/page-token';
import { jsonLogger, type Logger } from './log';
import type { ServiceContext } from './services/context';
import { createServices } from './services';
import type { ResourceHierarchy } from './services/autokey/hierarchy';
import { EndpointLookup } from './services/service-directory';
import { createEkmClient, EkmMetrics, identityKeyStore, type Jwks, ServiceIdentity } from './services/ekm-client';
import { Metrics } from './metrics';
import { rpcMetrics } from './api/rpc-metrics';
import { KeyMaterial } from './services/usable-version';
import type { SchedulerRun } from './services/scheduler';
import { openPgStore } from './store/pg-store';
import { openSqliteStore } from './store/sqlite';
import type { Store } from './store/store';
import { openDataDir, type OpenDataDir } from './data-dir';
import { TokenVerifier, type TrustedIssuer } from './jwt';
import { withAuthentication, withAuthorization } from './api/auth';
import { openAuditSink, withAuditLog, type AuditSink } from './api/audit';
import { ServiceAccountTokens } from './api/service-accounts';
import { Authorizer } from './services/iam/authorize';

export interface ServerOptions {
  /** Data directory for the SQLite database and the root key; default ./.openekm */
  dataDir?: string;
  /**
   * A PostgreSQL connection string (postgres://...): the store is there
   * instead of a data directory, shared by every replica given the same one
   * and the same root key (docs/deploy.md).
   */
  database?: string;
  /** Upgrade a PostgreSQL database of an older schema version on start (else refused: `openekm migrate`). */
  migrate?: boolean;
  /** Most PostgreSQL connections this server holds; default 10. */
  databaseConnections?: number;
  /** Keep everything in memory (nothing written to disk; a fresh root key each start). */
  inMemory?: boolean;
  /** Check every response against its declared message type (tests; api/response-check.ts). */
  checkResponses?: boolean;
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** gRPC port; 0 picks a free one. Default 0. */
  grpcPort?: number;
  /** REST/JSON port; 0 picks a free one. Default 0. */
  restPort?: number;
  /** The root key, base64 of 32 bytes; overrides the key file. */
  rootKey?: string;
  /** Path of the root key file; default DATA_DIR/root.key, created on first start. */
  rootKeyFile?: string;
  clock?: Clock;
  logger?: Logger;
  /** How often the scheduler looks for due work, in ms; 0 runs it only on start and on runScheduler(). */
  schedulerIntervalMs?: number;
  /** Bound of the in-memory cache of decrypted key material (entries). */
  keyCacheEntries?: number;
  /** How the KMS calls external key managers. */
  ekm?: EkmOptions;
  /** Timeouts and caps of the gRPC and REST listeners (each has its own); defaults in limits.ts. */
  limits?: Partial<ListenerLimits>;
  /** Host header names the REST port answers besides its bound address and loopback names; "*" for any. */
  allowedHosts?: readonly string[];
  /** Web origins whose pages may call the REST API (CORS); none by default. */
  corsOrigins?: readonly string[];
  /** Who may call: `none` (default, the emulator: anyone may do anything) or `required` (docs/iam.md). */
  auth?: AuthOptions;
  /** Serve gRPC and REST over TLS with this certificate chain and key (PEM); plaintext otherwise. */
  tls?: { certPem: string; keyPem: string };
  /** Cloud Audit Log entries, as JSON lines: a file path, or "-" for standard output; none by default. */
  auditLog?: string;
  /** Data Access entries for every project (besides those whose policy's audit configs ask). */
  dataAccessLogs?: boolean;
  /** Projects' folders and folders' parents, which Autokey resolves configs through (docs/autokey.md). */
  resourceHierarchy?: ResourceHierarchy;
}

export interface AuthOptions {
  mode: 'none' | 'required';
  /** Token issuers whose callers are accepted: the `iss` and a JWKS file path or https URL. */
  trustedIssuers?: readonly TrustedIssuer[];
  /** Accepted `aud` values; default https://cloudkms.googleapis.com/ (what clients of Cloud KMS ask for). */
  audiences?: readonly string[];
  /** Principals (user:EMAIL, serviceAccount:EMAIL) that hold every permission in every project. */
  admins?: readonly string[];
  /** Extra CAs (PEM) for https JWKS URLs. */
  jwksCa?: string;
}

/** The audience Cloud KMS's clients put in their tokens. */
export const KMS_AUDIENCE = 'https://cloudkms.googleapis.com/';

export interface EkmOptions {
  /** PEM CA certificates trusted for EXTERNAL key URIs besides the system's. */
  extraCaPem?: string;
  /** Budget of one EKM call, retries included, in ms; default 5000. */
  deadlineMs?: number;
  /** The `iss` of the tokens the KMS signs for EKMs. */
  issuer?: string;
  /** Networks (CIDR) the KMS may connect to for EKM calls; default anywhere. */
  allowedNetworks?: readonly string[];
  /** A client certificate chain and its key (PEM) that the KMS shows EKMs requiring mTLS. */
  clientCertificate?: { certPem: string; keyPem: string };
}

/** The KMS's signing keys for EKM tokens, as a JWKS document EKMs are configured to trust. */
export const JWKS_FILE = 'kms-jwks.json';
/** The same JWKS on the REST port, for EKMs that fetch it (`--trust-issuer ISSUER=URL`). */
export const JWKS_PATH = '/openekm/v1/jwks.json';
/** Prometheus text of the server's metrics (per-RPC and EKM calls; docs/ekm-protocol.md, "Metrics") on the REST port. */
export const METRICS_PATH = '/metrics';
/** 200 while the process serves, whatever its database does (liveness). */
export const HEALTH_PATH = '/healthz';
/** 200 when the store answers a round trip now, 503 when not (readiness: a load balancer sends calls elsewhere). */
export const READY_PATH = '/readyz';
/** How long /readyz waits for the store. */
const READY_TIMEOUT_MS = 2000;

export interface OpenEkmServer {
  /** gRPC as host:port (what clients take as an endpoint); REST as a base URL. */
  addresses: { grpc: string; rest: string };
  grpcPort: number;
  restPort: number;
  /** The JWKS of the KMS's EKM token signer (also DATA_DIR/kms-jwks.json). */
  jwks: Jwks;
  /** The tokens' issuer. */
  issuer: string;
  /** Where the JWKS was written; undefined in memory. */
  jwksFile?: string;
  /** Prometheus text of the server's metrics (per-RPC and EKM calls). */
  metricsText(): Promise<string>;
  /** Bytes of request bodies each listener holds now, and the most it held at once. */
  bufferedRequestBytes(): { grpc: { used: number; peak: number }; rest: { used: number; peak: number } };
  /** Runs the scheduler now (for tests driving an injected clock). */
  runScheduler(): Promise<SchedulerRun>;
  close(): Promise<void>;
}

const ROOT_KEY_CHECK = 'root_key_check';

function resolveRootKey(options: ServerOptions, dataDir: string | undefined): RootKey {
  if (options.rootKey) return RootKey.fromBase64(options.rootKey);
  if (options.rootKeyFile) return loadOrCreateRootKeyFile(options.rootKeyFile);
  if (!dataDir) return RootKey.generate();
  return loadOrCreateRootKeyFile(path.join(dataDir, 'root.key'));
}

// A store sealed under one root key can't be read with another: say so at
// start instead of failing on the first decrypt.
async function checkRootKey(store: Store, rootKey: RootKey): Promise<void> {
  const probe = rootKey.seal(Buffer.from('openekm'), ROOT_KEY_CHECK).toString('base64');
  const stored = await store.initSetting(ROOT_KEY_CHECK, probe);
  try {
    rootKey.open(Buffer.from(stored, 'base64'), ROOT_KEY_CHECK);
  } catch {
    throw new Error('The root key does not match the one this data directory was created with.');
  }
}

async function openStore(options: ServerOptions, dataDir: string | undefined, log: Logger): Promise<OpenDataDir> {
  if (options.database) {
    const store = await openPgStore(options.database, {
      migrate: options.migrate,
      maxConnections: options.databaseConnections,
      onError: (message) => log.error(message),
    });
    return { store, release: () => undefined };
  }
  if (!dataDir) return { store: openSqliteStore(':memory:'), release: () => undefined };
  return openDataDir(dataDir);
}

/** /readyz: whether the store answers within READY_TIMEOUT_MS. */
async function readiness(store: Store): Promise<PlainAnswer> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), READY_TIMEOUT_MS);
  });
  try {
    await Promise.race([store.ping(), late]);
    return { contentType: 'application/json', body: '{"status":"ready"}\n' };
  } catch {
    return { contentType: 'application/json', body: '{"status":"not ready","reason":"the database does not answer"}\n', status: 503 };
  } finally {
    clearTimeout(timer);
  }
}

/** A client certificate that can't be used is a start error, not a failure on the first EKM call. */
function checkClientCertificate(client: EkmOptions['clientCertificate']): void {
  if (!client) return;
  let cert: X509Certificate;
  let key: KeyObject;
  try {
    cert = new X509Certificate(client.certPem);
  } catch {
    throw new Error('The EKM client certificate is not a PEM X.509 certificate.');
  }
  try {
    key = createPrivateKey(client.keyPem);
  } catch {
    throw new Error('The EKM client key is not a PEM private key.');
  }
  if (!cert.checkPrivateKey(key)) throw new Error('The EKM client key does not belong to the EKM client certificate.');
}

/** The services on a store, with the KMS's EKM identity and client (parts that outlive no listener). */
async function buildCore(options: ServerOptions, store: Store, dataDir: string | undefined, log: Logger) {
  const rootKey = resolveRootKey(options, dataDir);
  await checkRootKey(store, rootKey);
  // Tokens are read by EKMs, on real time: the injected clock (which tests move) is for schedules.
  const identity = await ServiceIdentity.load(identityKeyStore(store, rootKey), { issuer: options.ekm?.issuer, clock: systemClock });
  const jwksFile = dataDir ? path.join(dataDir, JWKS_FILE) : undefined;
  if (jwksFile) fs.writeFileSync(jwksFile, `${JSON.stringify(identity.jwks(), null, 2)}\n`, { mode: 0o644 });
  // The client resolves EkmConnections through Service Directory's endpoint lookup, on the store.
  const metrics = new Metrics();
  const ekm = createEkmClient({
    identity,
    metrics: new EkmMetrics(metrics),
    resolve: new EndpointLookup(store.directory).resolve,
    extraCaPem: options.ekm?.extraCaPem,
    clientCertificate: options.ekm?.clientCertificate,
    allowedNetworks: options.ekm?.allowedNetworks,
    deadlineMs: options.ekm?.deadlineMs,
    logger: log,
  });
  const clock = options.clock ?? systemClock;
  const authorizer = options.auth?.mode === 'required' ? new Authorizer(store.iam, () => clock.now(), new Set(options.auth.admins ?? [])) : undefined;
  const ctx: ServiceContext = {
    store,
    clock,
    authorizer,
    material: new KeyMaterial(store, rootKey, options.keyCacheEntries),
    pageTokens: new PageTokenCodec(rootKey.deriveSecret('openekm page tokens')),
    log,
    ekm,
    resourceHierarchy: options.resourceHierarchy,
  };
  const services = createServices(ctx);
  await services.projects.registerInUse();
  const verifier = authorizer ? await TokenVerifier.create({
    issuers: options.auth?.trustedIssuers ?? [],
    audiences: options.auth?.audiences?.length ? options.auth.audiences : [KMS_AUDIENCE],
    clock: systemClock,
    logger: log,
    jwksCa: options.auth?.jwksCa,
    who: 'this KMS',
  }) : undefined;
  const accounts = authorizer ? new ServiceAccountTokens(store.iam, options.auth?.audiences?.length ? options.auth.audiences : [KMS_AUDIENCE], () => systemClock.now()) : undefined;
  return { identity, jwksFile, ekm, services, metrics, clock, store, material: ctx.material, iam: store.iam, auth: authorizer && verifier ? { authorizer, verifier, accounts } : undefined };
}

type Core = Awaited<ReturnType<typeof buildCore>>;

/** The gRPC and REST listeners over one method table. */
async function startListeners(options: ServerOptions, core: Core, host: string, log: Logger, audit: AuditSink | undefined) {
  const served = options.checkResponses ? withResponseCheck(methodTable(core.services)) : methodTable(core.services);
  const admins = new Set(options.auth?.admins ?? []);
  // Outside in: authentication, the audit entry, project aliases, authorization, the service.
  let table = withProjectAliases(core.auth ? withAuthorization(served, core.auth.authorizer, admins) : served, core.services.projects);
  if (audit) table = withAuditLog(table, { sink: audit, dataAccess: options.dataAccessLogs ?? false, iam: core.iam, now: () => core.clock.now() });
  if (core.auth) table = withAuthentication(table, core.auth.verifier, core.auth.accounts);
  const rpc = rpcMetrics(core.metrics);
  const grpc = await startGrpc(rpc.instrument(table, 'grpc'), host, options.grpcPort ?? 0, log, { limits: options.limits, tls: options.tls });
  try {
    const rest = await startRest(rpc.instrument(table, 'rest'), host, options.restPort ?? 0, log, {
      limits: options.limits,
      tls: options.tls,
      allowedHosts: options.allowedHosts,
      corsOrigins: options.corsOrigins,
      plain: new Map<string, PlainResource>([
        [JWKS_PATH, () => ({ contentType: 'application/json', body: `${JSON.stringify(core.identity.jwks())}\n` })],
        [METRICS_PATH, async () => ({ contentType: core.metrics.contentType, body: await core.metrics.text() })],
        [HEALTH_PATH, () => ({ contentType: 'application/json', body: '{"status":"ok"}\n' })],
        [READY_PATH, () => readiness(core.store)],
      ]),
    });
    return { grpc, rest };
  } catch (err) {
    await grpc.close();
    throw err;
  }
}

/** A loopback address: only this machine reaches it. */
const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);

/**
 * Tokens must not cross a network in the clear, and an open emulator must not
 * be mistaken for a guarded KMS: --auth required off loopback needs TLS, and
 * --auth none on another address says so in the log.
 */
function checkAuth(options: ServerOptions, host: string, log: Logger): void {
  const auth = options.auth;
  if (auth?.mode === 'required') {
    if (!isLoopback(host) && !options.tls) {
      throw new Error(`--auth required on ${host} needs --tls-cert and --tls-key: bearer tokens would cross the network in the clear.`);
    }
  } else if (!isLoopback(host)) {
    log.error('--auth none on a non-loopback address: anyone who reaches these ports may use, disable or destroy any key', { host });
  }
}

/** A TLS certificate and key that can't serve are a start error in our words, not OpenSSL's. */
function checkServerTls(material: ServerOptions['tls']): void {
  if (!material) return;
  try {
    tls.createSecureContext({ cert: material.certPem, key: material.keyPem });
  } catch {
    throw new Error('The TLS certificate and key (--tls-cert, --tls-key) are not a PEM certificate chain and its private key.');
  }
}

export async function createServer(options: ServerOptions = {}): Promise<OpenEkmServer> {
  checkClientCertificate(options.ekm?.clientCertificate);
  checkServerTls(options.tls);
  if (options.database && (options.inMemory || options.dataDir)) {
    throw new Error('--database and --data (or --in-memory) name two stores: give one.');
  }
  if (options.database && !options.rootKey && !options.rootKeyFile) {
    throw new Error('--database needs the root key every replica shares: --root-key-file FILE (or OPENEKM_ROOT_KEY).');
  }
  const dataDir = options.inMemory || options.database ? undefined : path.resolve(options.dataDir ?? '.openekm');
  const log = options.logger ?? jsonLogger();
  checkAuth(options, options.host ?? '127.0.0.1', log);
  const opened = await openStore(options, dataDir, log);
  let closeAudit: (() => Promise<void> | undefined) | undefined;
  const store = opened.store;
  try {
    const core = await buildCore(options, store, dataDir, log);
    const { identity, ekm, services } = core;
    const host = options.host ?? '127.0.0.1';
    const audit = options.auditLog ? openAuditSink(options.auditLog) : undefined;
    closeAudit = () => audit?.close();
    const { grpc, rest } = await startListeners(options, core, host, log, audit);
    await services.scheduler.runDue();
    if (options.schedulerIntervalMs !== 0) services.scheduler.start(options.schedulerIntervalMs ?? 1000);
    const hostForUrl = host.includes(':') ? `[${host}]` : host;
    return {
      addresses: { grpc: `${hostForUrl}:${grpc.port}`, rest: `${options.tls ? 'https' : 'http'}://${hostForUrl}:${rest.port}` },
      jwks: identity.jwks(),
      issuer: identity.issuer,
      jwksFile: core.jwksFile,
      metricsText: () => core.metrics.text(),
      grpcPort: grpc.port,
      restPort: rest.port,
      bufferedRequestBytes: () => ({ grpc: grpc.buffered(), rest: rest.buffered() }),
      runScheduler: () => services.scheduler.runDue(),
      close: async () => {
        await services.scheduler.stop();
        await Promise.all([grpc.close(), rest.close()]);
        // Wrapping keys being made are written before the store closes.
        await services.importJobs.settle();
        ekm.close();
        await core.material.close();
        await closeAudit?.();
        await store.close();
        opened.release();
      },
    };
  } catch (err) {
    await closeAudit?.();
    await store.close();
    opened.release();
    throw err;
  }
}
