// The reference EKM as a library: createEkmServer(options) opens its store
// under its own root key, loads or makes its TLS certificate, trusts the
// configured token issuers, and serves the EKM protocol over HTTPS plus the
// operator's admin interface on a Unix socket. No module state: several
// servers can run in one process (tests do).
import { chmodSync, mkdirSync, readFileSync } from 'node:fs';
import type * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import { systemClock, type Clock } from '../clock';
import { loadOrCreateRootKeyFile, type RootKey } from '../crypto/root-key';
import { jsonLogger, type Logger } from '../log';
import { applyHttpLimits, rawAnswers } from '../http-intake';
import { BodyBudget, Deadlines, DEFAULT_LIMITS, limitsWith, type ListenerLimits } from '../limits';
import { listen } from '../listen';
import { TLS_SERVER_POLICY } from '../tls-policy';
import { adminSocketPath as defaultAdminSocket } from './admin-client';
import { startAdminServer } from './admin';
import { FileAuditSink, type AuditSink } from './audit';
import { ekmRequestHandler } from './handler';
import { TokenVerifier, type TrustedIssuer } from '../jwt';
import { KeyManager } from './keys';
import { SqliteEkmStore } from './store-sqlite';
import { loadTlsMaterial } from './tls';

export interface EkmServerOptions {
  /** Data directory: ekm.sqlite, root.key, audit.log, admin.sock, TLS files. Created 0700. */
  dataDir: string;
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** HTTPS port; 0 (the default) picks a free one. */
  port?: number;
  /** The name clients use (TLS name, default audience); default localhost. */
  hostname?: string;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /** PEM file of CAs for client certificates; when set, mTLS is required. */
  clientCaFile?: string;
  trustedIssuers?: readonly TrustedIssuer[];
  /** Accepted token audiences; default [`https://{hostname}`]. */
  audiences?: readonly string[];
  /** Extra CAs (PEM) for https JWKS URLs. */
  jwksCa?: string | Buffer;
  clockSkewMs?: number;
  /** Longest token lifetime accepted (exp - iat); default 1 h. */
  maxTokenLifetimeMs?: number;
  /** Age after which a trusted issuer's JWKS is read again; default 5 min. */
  jwksMaxAgeMs?: number;
  /** Default DATA_DIR/root.key (created 0600 on first start). */
  rootKey?: RootKey;
  rootKeyFile?: string;
  /** Default a file sink on DATA_DIR/audit.log. */
  auditSink?: AuditSink;
  /** Default DATA_DIR/admin.sock. */
  adminSocketPath?: string;
  clock?: Clock;
  logger?: Logger;
  /** Largest request body; default 1 MiB. */
  maxBodyBytes?: number;
  /** Timeouts and caps of the HTTPS listener; defaults in limits.ts, with 32 MiB of bodies held at once. */
  limits?: Partial<ListenerLimits>;
}

export interface EkmServer {
  /** https://HOST:PORT, where HOST is the listening address (or the hostname when listening on all). */
  url: string;
  port: number;
  hostname: string;
  audiences: readonly string[];
  certificateDerPath: string;
  certificatePem: string;
  /** SHA-256 of the certificate DER, lower-case hex. */
  sha256Fingerprint: string;
  adminSocketPath: string;
  auditLogPath: string | undefined;
  close(): Promise<void>;
}

const DEFAULT_MAX_BODY = 1024 * 1024;
const EKM_LIMITS: Readonly<ListenerLimits> = { ...DEFAULT_LIMITS, maxBufferedBytes: 32 * 1024 * 1024 };

/** Answers written before any handler runs, in the EKM's error body ({"error": {code, status, message}}). */
const RAW_ANSWERS = rawAnswers((code, status, message) => ({ error: { code, status, message } }), 'The EKM');

function urlHost(host: string, hostname: string): string {
  if (host === '0.0.0.0' || host === '::') return hostname;
  return host.includes(':') ? `[${host}]` : host;
}

const closeServer = (server: http.Server | https.Server): Promise<void> =>
  new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });

export async function createEkmServer(options: EkmServerOptions): Promise<EkmServer> {
  const dataDir = path.resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  chmodSync(dataDir, 0o700);
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? jsonLogger();
  const hostname = options.hostname ?? 'localhost';
  const audiences = options.audiences ?? [`https://${hostname}`];
  const tls = loadTlsMaterial({ dataDir, hostname, clock, certFile: options.tlsCertFile, keyFile: options.tlsKeyFile });
  const rootKey = options.rootKey ?? loadOrCreateRootKeyFile(options.rootKeyFile ?? path.join(dataDir, 'root.key'));
  const verifier = await TokenVerifier.create({
    issuers: options.trustedIssuers ?? [], audiences, clock, logger, clockSkewMs: options.clockSkewMs, jwksCa: options.jwksCa,
    certificateSha256: tls.sha256Fingerprint, maxLifetimeMs: options.maxTokenLifetimeMs, jwksMaxAgeMs: options.jwksMaxAgeMs,
  });
  const store = new SqliteEkmStore(path.join(dataDir, 'ekm.sqlite'));
  const auditLogPath = options.auditSink ? undefined : path.join(dataDir, 'audit.log');
  const audit = options.auditSink ?? new FileAuditSink(auditLogPath!);
  const cleanup: Array<() => Promise<void> | void> = [() => store.close(), () => audit.close()];
  let closing: Promise<void> | undefined;
  const closeAll = (): Promise<void> =>
    (closing ??= (async () => {
      for (const step of [...cleanup].reverse()) await step();
    })());
  try {
    const keys = await KeyManager.open(store, rootKey, clock);
    const socketPath = options.adminSocketPath ?? defaultAdminSocket(dataDir);
    const admin = await startAdminServer(socketPath, { keys, audit, clock, logger });
    cleanup.push(() => closeServer(admin));
    const clientCa = options.clientCaFile ? readFileSync(options.clientCaFile) : undefined;
    const limits = limitsWith(options.limits, EKM_LIMITS);
    const budget = new BodyBudget(limits.maxBufferedBytes);
    const deadlines = new Deadlines(limits.bodyTimeoutMs);
    cleanup.push(() => deadlines.stop());
    const server = https.createServer({
      cert: tls.certPem,
      key: tls.keyPem,
      ...TLS_SERVER_POLICY,
      connectionsCheckingInterval: 1000,
      handshakeTimeout: limits.headersTimeoutMs,
      ...(clientCa ? { ca: clientCa, requestCert: true, rejectUnauthorized: true } : {}),
    }, ekmRequestHandler({
      keys, verifier, audit, clock, logger, budget, deadlines,
      maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY,
      bodyTimeoutMs: limits.bodyTimeoutMs,
    }));
    // The KMS pools connections; idle ones stay open for the idle timeout (60 s by default, above the KMS's 30 s).
    applyHttpLimits(server, limits, RAW_ANSWERS);
    const host = options.host ?? '127.0.0.1';
    const port = await listen(server, options.port ?? 0, host);
    cleanup.push(() => closeServer(server));
    return {
      url: `https://${urlHost(host, hostname)}:${port}`,
      port, hostname, audiences,
      certificateDerPath: tls.leafDerPath,
      certificatePem: tls.certPem,
      sha256Fingerprint: tls.sha256Fingerprint,
      adminSocketPath: socketPath,
      auditLogPath,
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
