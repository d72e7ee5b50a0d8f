// Keep-alive HTTPS agents for EKMs, one per target, and the TLS checks made
// before a connection carries anything.
//
// EXTERNAL_VPC (pinned): Cloud EKM's model is a leaf certificate the customer
// pins on the EkmConnection, typically self-signed. Chain validation would
// refuse such a certificate, and Node, told not to reject it
// (rejectUnauthorized: false), then skips checkServerIdentity altogether. So
// the agent connects with rejectUnauthorized: false and itself checks, once
// the handshake is done and BEFORE handing the socket to HTTP (no request byte
// is written until then): the leaf's DER SHA-256 must be one of the pins, and
// the leaf must be valid for the resolver's hostname (tls.checkServerIdentity).
// The pin replaces the CA: it is an exact trust decision on one certificate,
// stronger than any chain. Validity dates are not checked: the pin is the
// trust, and rotating it is how a certificate is replaced.
//
// EXTERNAL (URI): ordinary verification against Node's CA store plus an
// optional extra bundle, hostname checked by Node.
import { createHash } from 'node:crypto';
import * as https from 'node:https';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { AttemptFailure, classifyError } from './failure';

/** Options the transport adds to a request for the agent's connect phase. */
export interface ConnectPhaseOptions {
  ekmConnectTimeoutMs?: number;
  /** The connect timeout is what is left of the call's deadline: its expiry is a timeout, not a connection failure. */
  ekmConnectTimeoutIsDeadline?: boolean;
  /** Aborted when the call's deadline passes: a pending connect is dropped at once. */
  ekmAbort?: AbortSignal;
}

type PeerCheck = (socket: tls.TLSSocket, endpoint: string) => AttemptFailure | undefined;

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const POOL_LIMIT = 256;
const BASE_AGENT_OPTIONS: https.AgentOptions = {
  keepAlive: true,
  // As many idle connections are kept as may be open: with fewer, a burst of
  // concurrent calls closes the surplus afterwards and the next burst pays a
  // TLS handshake per call (measured: Encrypt of an external key fell from
  // thousands to ~1k calls/s at 64 in flight).
  maxSockets: 64,
  maxFreeSockets: 64,
  // Idle pooled connections close before the EKM's keep-alive timeout (65 s on the reference EKM) would.
  timeout: 30_000,
  minVersion: 'TLSv1.2',
};

export const sha256Hex = (der: Buffer): string => createHash('sha256').update(der).digest('hex');

/** Pinned leaf, then hostname: both must hold for an EXTERNAL_VPC connection. */
export function pinnedPeerCheck(hostname: string, pins: ReadonlySet<string>): PeerCheck {
  return (socket, endpoint) => {
    const cert = socket.getPeerCertificate(true);
    if (!cert || !Buffer.isBuffer(cert.raw) || cert.raw.length === 0) {
      return new AttemptFailure('tls', endpoint, 'EKM_NO_CERTIFICATE', 'the EKM presented no certificate', { tls: 'pin' });
    }
    const fingerprint = sha256Hex(cert.raw);
    if (!pins.has(fingerprint)) {
      return new AttemptFailure('tls', endpoint, 'EKM_PIN_MISMATCH', `certificate SHA-256 ${fingerprint} is not pinned`, { tls: 'pin', fingerprint });
    }
    const mismatch = tls.checkServerIdentity(hostname, cert);
    if (mismatch) {
      const code = (mismatch as NodeJS.ErrnoException).code ?? 'ERR_TLS_CERT_ALTNAME_INVALID';
      return new AttemptFailure('tls', endpoint, code, mismatch.message, { tls: 'hostname', host: hostname, fingerprint });
    }
    return undefined;
  };
}

/**
 * An https.Agent whose connections are handed to HTTP only once TCP and TLS
 * are up and the peer checked; connect-phase failures come back classified.
 */
export class EkmAgent extends https.Agent {
  readonly #pending = new Set<tls.TLSSocket>();

  constructor(options: https.AgentOptions, private readonly peerCheck?: PeerCheck) {
    super(options);
  }

  override createConnection(options: https.RequestOptions, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    const { ekmConnectTimeoutMs, ekmConnectTimeoutIsDeadline, ekmAbort, ...rest } = options as https.RequestOptions & ConnectPhaseOptions;
    const endpoint = `${rest.host ?? ''}:${String(rest.port ?? 443)}`;
    if (!callback) throw new Error('EkmAgent connects asynchronously');
    if (ekmAbort?.aborted) {
      callback(new AttemptFailure('timeout', endpoint, 'EKM_DEADLINE', 'the deadline passed before connecting'), undefined as unknown as Duplex);
      return undefined;
    }
    const socket = super.createConnection(rest) as tls.TLSSocket;
    // A request goes out as several writes (head, body): with Nagle's algorithm
    // the second waits for the EKM's delayed ACK, milliseconds per call.
    socket.setNoDelay(true);
    this.#pending.add(socket);
    let tcpUp = false;
    let settled = false;
    const settle = (failure: AttemptFailure | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.#pending.delete(socket);
      socket.off('connect', onConnect).off('secureConnect', onSecure).off('error', onError).off('close', onClose);
      ekmAbort?.removeEventListener('abort', onAbort);
      if (failure) {
        socket.destroy();
        callback(failure, undefined as unknown as Duplex);
      } else {
        callback(null, socket);
      }
    };
    const onConnect = () => { tcpUp = true; };
    const onSecure = () => settle(this.peerCheck?.(socket, endpoint));
    const onError = (err: Error) => settle(classifyError(err, endpoint, tcpUp));
    const onClose = () => settle(new AttemptFailure('connection', endpoint, 'ECONNRESET', 'the connection closed during the TLS handshake'));
    const onAbort = () => settle(new AttemptFailure('timeout', endpoint, 'EKM_DEADLINE', 'the deadline passed while connecting'));
    const timeoutMs = ekmConnectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const timer = setTimeout(() => settle(ekmConnectTimeoutIsDeadline
      ? new AttemptFailure('timeout', endpoint, 'EKM_DEADLINE', 'the deadline passed while connecting')
      : new AttemptFailure('connection', endpoint, 'EKM_CONNECT_TIMEOUT', `no TLS connection within ${timeoutMs} ms`)), timeoutMs);
    socket.on('connect', onConnect).on('secureConnect', onSecure).on('error', onError).on('close', onClose);
    ekmAbort?.addEventListener('abort', onAbort);
    return undefined;
  }

  /** Closes idle connections only: requests in flight on an evicted agent finish. */
  closeIdle(): void {
    for (const list of Object.values(this.freeSockets)) list?.forEach((s) => s.destroy());
  }

  override destroy(): void {
    super.destroy();
    for (const s of this.#pending) s.destroy();
    this.#pending.clear();
  }
}

// The pins of a certificate list, by list: the store hands out the same
// frozen list while the EkmConnection is unchanged, so each call does not
// hash every certificate again.
const pinCache = new WeakMap<readonly Buffer[], { set: ReadonlySet<string>; sorted: string[] }>();

function pinsOf(certificates: readonly Buffer[]): { set: ReadonlySet<string>; sorted: string[] } {
  let pins = pinCache.get(certificates);
  if (!pins) {
    const set = new Set(certificates.map(sha256Hex));
    pins = { set, sorted: [...set].sort() };
    pinCache.set(certificates, pins);
  }
  return pins;
}

/** Agents by target, so connections to one EKM replica are pooled and reused across calls. */
export class AgentPool {
  readonly #agents = new Map<string, EkmAgent>();

  constructor(private readonly extraCaPem?: string) {}

  /** EXTERNAL_VPC: one agent per (address, port, hostname, pins). */
  pinned(address: string, port: number, hostname: string, certificates: readonly Buffer[]): EkmAgent {
    const pins = pinsOf(certificates);
    const key = JSON.stringify(['vpc', address, port, hostname, pins.sorted]);
    return this.#get(key, () => new EkmAgent(
      // Session resumption off: every new connection shows its certificate to the pin check.
      { ...BASE_AGENT_OPTIONS, rejectUnauthorized: false, maxCachedSessions: 0 },
      pinnedPeerCheck(hostname, pins.set),
    ));
  }

  /** EXTERNAL: one agent per origin; Node verifies the chain (its CAs plus the extra bundle) and the hostname. */
  uri(origin: string): EkmAgent {
    return this.#get(JSON.stringify(['uri', origin]), () => new EkmAgent({
      ...BASE_AGENT_OPTIONS,
      rejectUnauthorized: true,
      // `ca` replaces Node's store, so the store's roots are listed with the extra bundle.
      ...(this.extraCaPem ? { ca: [...tls.rootCertificates, this.extraCaPem] } : {}),
    }));
  }

  close(): void {
    for (const agent of this.#agents.values()) agent.destroy();
    this.#agents.clear();
  }

  #get(key: string, make: () => EkmAgent): EkmAgent {
    const existing = this.#agents.get(key);
    if (existing) return existing;
    if (this.#agents.size >= POOL_LIMIT) {
      const [oldestKey, oldest] = this.#agents.entries().next().value as [string, EkmAgent];
      this.#agents.delete(oldestKey);
      oldest.closeIdle();
    }
    const agent = make();
    this.#agents.set(key, agent);
    return agent;
  }
}
