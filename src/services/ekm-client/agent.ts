// Kept-alive TLS connections to EKMs, pooled per target, and the TLS checks
// made before a connection carries anything (the agents by target: agent-pool.ts).
//
// EXTERNAL_VPC (pinned): Cloud EKM's model is a leaf certificate the customer
// pins on the EkmConnection, typically self-signed. Chain validation would
// refuse such a certificate, and Node, told not to reject it
// (rejectUnauthorized: false), then skips checkServerIdentity altogether. So
// the agent connects with rejectUnauthorized: false and itself checks, once
// the handshake is done and BEFORE the connection carries a request (no
// request byte is written until then): the leaf's DER SHA-256 must be one of
// the pins, and the leaf must be valid for the resolver's hostname
// (tls.checkServerIdentity).
// The pin replaces the CA: it is an exact trust decision on one certificate,
// stronger than any chain. Validity dates are not checked: the pin is the
// trust, and rotating it is how a certificate is replaced.
//
// EXTERNAL (URI): ordinary verification against Node's CA store plus an
// optional extra bundle, hostname checked by Node.
import { createHash } from 'node:crypto';
import { isIP, type LookupFunction } from 'node:net';
import * as tls from 'node:tls';
import { AttemptFailure, classifyError } from './failure';
import { AnswerParser, type Http1Answer } from './http1';

type PeerCheck = (socket: tls.TLSSocket, endpoint: string) => AttemptFailure | undefined;


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

/** Where one attempt goes: the address to connect to and the TLS name. */
export interface ConnectTarget {
  host: string;
  port: number;
  /** SNI and the name checked: the resolver's hostname or the URI's host. */
  servername: string;
  /** "address:port", for failures. */
  endpoint: string;
  lookup?: LookupFunction;
}

export interface RequestLimits {
  connectTimeoutMs: number;
  /** The connect timeout is what is left of the call's deadline: its expiry is a timeout, not a connection failure. */
  connectTimeoutIsDeadline: boolean;
  maxResponseBytes: number;
}

/** One request on its way; cancel() ends it at once (the deadline passed) with the given failure. */
export interface PendingAnswer {
  answer: Promise<Http1Answer>;
  cancel(failure: AttemptFailure): void;
}

// Every connection a pool may open is kept while idle: with fewer, a burst of
// concurrent calls closes the surplus afterwards and the next burst pays a
// TLS handshake per call (measured: Encrypt of an external key fell from
// thousands to ~1k calls/s at 64 in flight). Idle ones close after 30 s,
// before the reference EKM's 65 s keep-alive would.
const DEFAULT_LIMITS = { maxSockets: 64, idleTimeoutMs: 30_000 };
const deadlineFailure = (endpoint: string, what: string) => new AttemptFailure('timeout', endpoint, 'EKM_DEADLINE', what);
/** A request the KMS itself ended: its EKM client closed (the server is shutting down). */
const cancelled = (endpoint: string) => new AttemptFailure('cancelled', endpoint, 'EKM_CLIENT_CLOSED', 'the KMS closed the request as it shut down');

/** A request stopped because the connection it reused had gone stale; it is sent again on a new one. */
class StaleConnection extends Error {}

/** One kept-alive TLS connection, carrying one request at a time. */
class Connection {
  #exchange: { parser: AnswerParser; settle: (err: unknown) => void } | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  reused = false;

  constructor(
    readonly socket: tls.TLSSocket,
    private readonly agent: EkmAgent,
    readonly endpoint: string,
    /** SHA-256 (hex) of the leaf certificate the peer presented and the checks accepted: what tokens on this connection are bound to. */
    readonly peerSha256: string,
  ) {
    socket.on('data', (chunk: Buffer) => this.#data(chunk));
    socket.on('end', () => this.#ended(undefined));
    socket.on('close', () => this.#ended(undefined));
    socket.on('error', (err) => this.#ended(err));
  }

  /** Sends the request and reads its answer; settle() is called exactly once. */
  send(request: Buffer, parser: AnswerParser, settle: (err: unknown) => void): void {
    clearTimeout(this.#idleTimer);
    this.#exchange = { parser, settle };
    this.socket.write(request);
  }

  /** Drops the connection; the request on it, if any, fails with `err`. */
  abort(err: unknown): void {
    this.#finish(err);
    this.socket.destroy();
  }

  idle(timeoutMs: number): void {
    this.#idleTimer = setTimeout(() => this.socket.destroy(), timeoutMs);
    this.#idleTimer.unref();
  }

  #data(chunk: Buffer): void {
    const exchange = this.#exchange;
    // Bytes nobody asked for: the connection can't be trusted.
    if (!exchange) {
      this.socket.destroy();
      return;
    }
    try {
      if (exchange.parser.push(chunk)) this.#finish(undefined);
    } catch (err) {
      this.abort(err);
    }
  }

  #ended(err: Error | undefined): void {
    const exchange = this.#exchange;
    this.agent.forget(this);
    if (!exchange) {
      this.socket.destroy();
      return;
    }
    if (!exchange.parser.started && this.reused) {
      // The EKM closed a kept-alive connection as the request went out: nothing was processed.
      this.#finish(new StaleConnection());
    } else if (err) {
      this.#finish(classifyError(err, this.endpoint));
    } else {
      try {
        exchange.parser.end();
        this.#finish(undefined);
      } catch (failure) {
        this.#finish(failure);
      }
    }
    this.socket.destroy();
  }

  #finish(err: unknown): void {
    const exchange = this.#exchange;
    if (!exchange) return;
    this.#exchange = undefined;
    const { parser } = exchange;
    if (err === undefined && parser.keepAlive && !parser.extra && !this.socket.destroyed) this.agent.release(this);
    else if (err === undefined) this.socket.destroy();
    exchange.settle(err);
  }
}

/**
 * Kept-alive TLS connections to one EKM endpoint, at most 64 at a time (a
 * request waits for a free one past that), idle ones closed after 30 s,
 * before the reference EKM's 65 s keep-alive would. A connection is handed
 * to a request only once TCP and TLS are up and the peer checked: no request
 * byte is written before. Each request is written in one write, and its
 * answer read with AnswerParser (http1.ts).
 */
export class EkmAgent {
  readonly #idle: Connection[] = [];
  readonly #all = new Set<Connection>();
  readonly #connecting = new Set<tls.TLSSocket>();
  readonly #waiting: Array<(connection: Connection | undefined) => void> = [];
  #destroyed = false;

  constructor(
    private readonly tlsOptions: tls.ConnectionOptions,
    private readonly peerCheck?: PeerCheck,
    private readonly limits = DEFAULT_LIMITS,
  ) {}

  /**
   * Sends a whole HTTP/1.1 request, built once a connection is ready from
   * the SHA-256 of the certificate that connection's peer presented (tokens
   * are bound to it), and reads the answer; failures are AttemptFailures.
   */
  request(target: ConnectTarget, build: (peerSha256: string) => Buffer | Promise<Buffer>, headRequest: boolean, limits: RequestLimits): PendingAnswer {
    let cancelled: AttemptFailure | undefined;
    let onCancel: (() => void) | undefined;
    /** One step that waits (for room, a connection, an answer); cancel() stops it with `cancelled`. */
    const stage = <T>(start: (resolve: (value: T) => void, reject: (err: unknown) => void) => () => void): Promise<T> =>
      new Promise<T>((resolve, reject) => {
        if (cancelled) {
          reject(cancelled);
          return;
        }
        let stop: () => void = () => undefined;
        onCancel = () => {
          onCancel = undefined;
          stop();
          reject(cancelled);
        };
        stop = start(
          (value) => {
            onCancel = undefined;
            resolve(value);
          },
          (err) => {
            onCancel = undefined;
            reject(err);
          },
        );
      });

    const exchange = (connection: Connection, request: Buffer): Promise<Http1Answer> =>
      stage<Http1Answer>((resolve, reject) => {
        const parser = new AnswerParser(headRequest, limits.maxResponseBytes, target.endpoint);
        connection.send(request, parser, (err) => (err === undefined ? resolve({ status: parser.status, headers: parser.headers, body: parser.body() }) : reject(err)));
        return () => connection.abort(cancelled);
      });

    /** The request for this connection (its token is bound to the peer's certificate); a failure gives the connection back. */
    const requestFor = async (connection: Connection): Promise<Buffer> => {
      try {
        const request = build(connection.peerSha256);
        return request instanceof Buffer ? request : await request;
      } catch (err) {
        this.release(connection);
        throw err;
      }
    };

    const run = async (): Promise<Http1Answer> => {
      // A kept-alive connection the EKM has just closed fails before any answer: the request goes again, once, on a new connection.
      for (let attempt = 0; ; attempt++) {
        const connection = await stage<Connection>((resolve, reject) => this.#acquire(target, limits, attempt === 0, resolve, reject));
        try {
          return await exchange(connection, await requestFor(connection));
        } catch (err) {
          if (!(err instanceof StaleConnection)) throw err;
          if (attempt > 0) throw new AttemptFailure('connection', target.endpoint, 'ECONNRESET', 'the connection closed before an answer');
        }
      }
    };
    return {
      answer: run(),
      cancel: (failure) => {
        if (cancelled) return;
        cancelled = failure;
        onCancel?.();
      },
    };
  }

  /** A connection back from a request, for the next one (or for a request waiting for it). */
  release(connection: Connection): void {
    if (this.#destroyed) {
      connection.socket.destroy();
      return;
    }
    connection.reused = true;
    const waiter = this.#waiting.shift();
    if (waiter) {
      waiter(connection);
      return;
    }
    connection.idle(this.limits.idleTimeoutMs);
    this.#idle.push(connection);
  }

  /** A connection closed: it leaves the pool, and a request waiting for room may connect. */
  forget(connection: Connection): void {
    if (!this.#all.delete(connection)) return;
    const i = this.#idle.indexOf(connection);
    if (i >= 0) this.#idle.splice(i, 1);
    this.#waiting.shift()?.(undefined);
  }

  /** Closes idle connections only: requests in flight on an evicted agent finish. */
  closeIdle(): void {
    for (const c of this.#idle.splice(0)) c.socket.destroy();
  }

  destroy(): void {
    this.#destroyed = true;
    // Requests in flight end as cancelled, not as a connection the EKM reset.
    for (const c of this.#all) c.abort(cancelled(c.endpoint));
    for (const s of this.#connecting) s.destroy();
    this.#connecting.clear();
  }

  /** The most recently used idle connection (the likeliest to be alive). */
  #takeIdle(): Connection | undefined {
    for (let c = this.#idle.pop(); c; c = this.#idle.pop()) {
      if (!c.socket.destroyed) return c;
    }
    return undefined;
  }

  /**
   * A connection for one request: an idle one (when `reuse`), else a new one
   * when there is room, else the next one freed (or, when one closes, a new
   * one in its place). Room is taken synchronously, so a burst of requests
   * never opens more than the limit.
   */
  #acquire(
    target: ConnectTarget,
    limits: RequestLimits,
    reuse: boolean,
    resolve: (c: Connection) => void,
    reject: (err: unknown) => void,
  ): () => void {
    const idle = reuse ? this.#takeIdle() : undefined;
    if (idle) {
      resolve(idle);
      return () => undefined;
    }
    if (this.#all.size + this.#connecting.size < this.limits.maxSockets) return this.#connect(target, limits, resolve, reject);
    let stop = () => {
      const i = this.#waiting.indexOf(waiter);
      if (i >= 0) this.#waiting.splice(i, 1);
    };
    const waiter = (connection: Connection | undefined) => {
      if (connection) resolve(connection);
      else stop = this.#connect(target, limits, resolve, reject);
    };
    this.#waiting.push(waiter);
    return () => stop();
  }

  #connect(target: ConnectTarget, limits: RequestLimits, resolve: (c: Connection) => void, reject: (err: unknown) => void): () => void {
    const { endpoint } = target;
    if (this.#destroyed) {
      reject(cancelled(endpoint));
      return () => undefined;
    }
    const socket = tls.connect({
      ...this.tlsOptions,
      host: target.host,
      port: target.port,
      // SNI must not carry an IP address (RFC 6066 §3); the peer check still uses the name.
      ...(isIP(target.servername) ? {} : { servername: target.servername }),
      ...(target.lookup ? { lookup: target.lookup } : {}),
    });
    // The request goes out in one write, but without this a second small write would wait for a delayed ACK.
    socket.setNoDelay(true);
    this.#connecting.add(socket);
    let tcpUp = false;
    let settled = false;
    const settle = (failure: AttemptFailure | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.#connecting.delete(socket);
      socket.off('connect', onConnect).off('secureConnect', onSecure).off('error', onError).off('close', onClose);
      if (failure) {
        socket.destroy();
        this.#waiting.shift()?.(undefined);
        reject(failure);
        return;
      }
      const connection = new Connection(socket, this, endpoint, sha256Hex(socket.getPeerCertificate().raw));
      this.#all.add(connection);
      resolve(connection);
    };
    const onConnect = () => { tcpUp = true; };
    const onSecure = () => settle(this.peerCheck?.(socket, endpoint));
    const onError = (err: Error) => settle(this.#destroyed ? cancelled(endpoint) : classifyError(err, endpoint, tcpUp));
    const onClose = () => settle(this.#destroyed ? cancelled(endpoint) : new AttemptFailure('connection', endpoint, 'ECONNRESET', 'the connection closed during the TLS handshake'));
    const timer = setTimeout(() => settle(limits.connectTimeoutIsDeadline
      ? deadlineFailure(endpoint, 'the deadline passed while connecting')
      : new AttemptFailure('connection', endpoint, 'EKM_CONNECT_TIMEOUT', `no TLS connection within ${limits.connectTimeoutMs} ms`)), limits.connectTimeoutMs);
    socket.on('connect', onConnect).on('secureConnect', onSecure).on('error', onError).on('close', onClose);
    return () => settle(deadlineFailure(endpoint, 'the deadline passed while connecting'));
  }
}
