// Kept-alive TLS connections to one EKM endpoint, on undici, and the TLS
// checks made before a connection carries anything (the agents by target:
// agent-pool.ts). undici speaks HTTP/1.1 (framing, keep-alive, a pool of 64
// connections); this file makes its connections and reads its answers.
//
// EXTERNAL_VPC (pinned): Cloud EKM's model is a leaf certificate the customer
// pins on the EkmConnection, typically self-signed. Chain validation would
// refuse such a certificate, and Node, told not to reject it
// (rejectUnauthorized: false), then skips checkServerIdentity altogether. So
// the connector connects with rejectUnauthorized: false and itself checks,
// once the handshake is done and BEFORE the socket is handed to undici (no
// request byte is written until then): the leaf's DER SHA-256 must be one of
// the pins, and the leaf must be valid for the resolver's hostname
// (tls.checkServerIdentity). The pin replaces the CA: it is an exact trust
// decision on one certificate, stronger than any chain. Validity dates are
// not checked: the pin is the trust, and rotating it is how a certificate is
// replaced.
//
// EXTERNAL (URI): ordinary verification against Node's CA store plus an
// optional extra bundle, hostname checked by Node.
//
// Tokens are bound to the certificate the EKM presents (ekm_cert_sha256),
// but a pool picks the connection after the request, token included, is
// made. So an endpoint has one current leaf, the one its latest new
// connection presented, and one pool whose connections all present it. A new
// connection that presents another (accepted) leaf makes that leaf current:
// the connection is kept for the new leaf's pool, the old pool closes once
// its requests are done, and the request that met the change is sent again,
// once, with a token for the new leaf (docs/ekm-protocol.md, "Connections").
import { createHash } from 'node:crypto';
import { isIP, type LookupFunction } from 'node:net';
import * as tls from 'node:tls';
import { Pool, type Dispatcher } from 'undici';
import { AttemptFailure, classifyError } from './failure';

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
    if (tls.checkServerIdentity(hostname, cert)) {
      return new AttemptFailure('tls', endpoint, 'EKM_HOSTNAME_MISMATCH', `the certificate does not name ${hostname}`, { tls: 'hostname', host: hostname, fingerprint });
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
  /** TCP connect plus TLS handshake of one new connection. */
  connectTimeoutMs: number;
  maxResponseBytes: number;
}

export interface EkmAnswer {
  status: number;
  /** Lower-case names; a repeated field is a list. */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body: Buffer;
}

export interface EkmRequest {
  method: 'GET' | 'POST';
  path: string;
  body?: Buffer;
  /** The header fields for a connection whose peer presented the leaf with this SHA-256 (tokens are bound to it). */
  headers: (peerSha256: string) => Record<string, string> | Promise<Record<string, string>>;
}

/** One request on its way; cancel() ends it at once (the deadline passed) with the given failure. */
export interface PendingAnswer {
  answer: Promise<EkmAnswer>;
  cancel(failure: AttemptFailure): void;
}

// Every connection a pool may open is kept while idle: with fewer, a burst of
// concurrent calls closes the surplus afterwards and the next burst pays a
// TLS handshake per call (measured: Encrypt of an external key fell from
// thousands to ~1k calls/s at 64 in flight). Idle ones close after 30 s,
// before the reference EKM's 65 s keep-alive would.
const DEFAULT_LIMITS = { maxSockets: 64, idleTimeoutMs: 30_000 };
/** A request the KMS itself ended: its EKM client closed (the server is shutting down). */
const cancelled = (endpoint: string) => new AttemptFailure('cancelled', endpoint, 'EKM_CLIENT_CLOSED', 'the KMS closed the request as it shut down');
const closedBeforeAnswer = (endpoint: string) => new AttemptFailure('connection', endpoint, 'ECONNRESET', 'the connection closed before an answer');

/** A new connection presented another leaf than its pool's: the request goes again with a token for that leaf. */
class LeafChanged extends Error {
  readonly code = 'EKM_LEAF_CHANGED';
}
/** The connection closed before any answer: the request goes again, once (every EKM operation is safe to repeat). */
class ClosedBeforeAnswer extends Error {}
const SOCKET_CLOSED = new Set(['ECONNRESET', 'EPIPE']);

/** A request's cancellation: the failure it ended with, and how to stop the step it waits on. */
interface Call {
  failure?: AttemptFailure;
  onCancel?: () => void;
}

export class EkmAgent {
  /** SHA-256 of the leaf the endpoint's latest new connection presented: the one tokens are bound to. */
  #leaf: string | undefined;
  #learning: Promise<string> | undefined;
  readonly #pools = new Map<string, Pool>();
  /** Checked connections waiting for their leaf's pool to take them. */
  readonly #spare = new Map<string, tls.TLSSocket[]>();
  readonly #connecting = new Set<tls.TLSSocket>();
  /** The latest request's target and limits: what the connector uses (every request to one agent has the same target). */
  #target: ConnectTarget | undefined;
  #connectTimeoutMs = 2000;
  #destroyed = false;

  constructor(
    private readonly tlsOptions: tls.ConnectionOptions,
    private readonly peerCheck?: PeerCheck,
    private readonly limits = DEFAULT_LIMITS,
  ) {}

  /** Sends one request and reads its answer; failures are AttemptFailures. */
  request(target: ConnectTarget, request: EkmRequest, limits: RequestLimits): PendingAnswer {
    this.#target = target;
    this.#connectTimeoutMs = limits.connectTimeoutMs;
    const call: Call = {};
    const cancellable = <T>(step: Promise<T>): Promise<T> =>
      new Promise<T>((resolve, reject) => {
        if (call.failure) {
          reject(call.failure);
          return;
        }
        call.onCancel = () => reject(call.failure);
        step.then(resolve, reject);
      });
    const run = async (): Promise<EkmAnswer> => {
      for (let attempt = 0; ; attempt++) {
        if (this.#destroyed) throw cancelled(target.endpoint);
        const leaf = this.#leaf ?? (await cancellable(this.#learnLeaf(target)));
        const fields = request.headers(leaf);
        const headers = fields instanceof Promise ? await cancellable(fields) : fields;
        try {
          return await this.#send(this.#poolFor(leaf, target), request, headers, limits.maxResponseBytes, target.endpoint, call);
        } catch (err) {
          const again = err instanceof LeafChanged || err instanceof ClosedBeforeAnswer;
          if (again && attempt === 0) continue;
          if (err instanceof ClosedBeforeAnswer) throw closedBeforeAnswer(target.endpoint);
          if (err instanceof LeafChanged) {
            throw new AttemptFailure('tls', target.endpoint, 'EKM_LEAF_CHANGED', 'the EKM presented a different certificate on each new connection', { tls: 'handshake' });
          }
          throw err;
        }
      }
    };
    return {
      answer: run(),
      cancel: (failure) => {
        if (call.failure) return;
        call.failure = failure;
        call.onCancel?.();
      },
    };
  }

  /** Closes idle connections only: requests in flight on an evicted agent finish, and a later request opens new ones. */
  closeIdle(): void {
    for (const pool of this.#pools.values()) void pool.close().catch(() => undefined);
    this.#pools.clear();
    this.#dropSpares();
  }

  /** Ends every connection; requests in flight, and any made afterwards, are cancelled. */
  destroy(): void {
    this.#destroyed = true;
    const failure = cancelled(this.#target?.endpoint ?? 'EKM');
    for (const pool of this.#pools.values()) void pool.destroy(failure).catch(() => undefined);
    this.#pools.clear();
    this.#dropSpares();
    for (const socket of this.#connecting) socket.destroy();
    this.#connecting.clear();
  }

  #send(pool: Pool, request: EkmRequest, headers: Record<string, string>, maxBytes: number, endpoint: string, call: Call): Promise<EkmAnswer> {
    return new Promise<EkmAnswer>((resolve, reject) => {
      let controller: Dispatcher.DispatchController | undefined;
      let status = 0;
      let fields: EkmAnswer['headers'] = {};
      let size = 0;
      const chunks: Buffer[] = [];
      const tooLarge = () =>
        new AttemptFailure('protocol', endpoint, 'EKM_RESPONSE_TOO_LARGE', `the answer is larger than ${maxBytes} bytes`, { httpStatus: status });
      call.onCancel = () => {
        const failure = call.failure ?? cancelled(endpoint);
        reject(failure);
        controller?.abort(failure);
      };
      pool.dispatch(
        { path: request.path, method: request.method, headers, body: request.body ?? null, headersTimeout: 0, bodyTimeout: 0 },
        {
          onRequestStart(c) {
            controller = c;
            if (call.failure) c.abort(call.failure);
          },
          onResponseStart(c, statusCode, answerHeaders) {
            status = statusCode;
            fields = answerHeaders;
            const length = answerHeaders['content-length'];
            if (typeof length === 'string' && Number(length) > maxBytes) c.abort(tooLarge());
          },
          onResponseData(c, chunk) {
            size += chunk.length;
            if (size > maxBytes) c.abort(tooLarge());
            else chunks.push(chunk);
          },
          onResponseEnd() {
            resolve({ status, headers: fields, body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size) });
          },
          onResponseError(_c, err) {
            if (err instanceof LeafChanged) {
              reject(err);
              return;
            }
            const failure = classifyError(err, endpoint);
            reject(status === 0 && failure.kind === 'connection' && SOCKET_CLOSED.has(failure.code) ? new ClosedBeforeAnswer() : failure);
          },
        },
      );
    });
  }

  /** The pool for connections presenting `leaf`. */
  #poolFor(leaf: string, target: ConnectTarget): Pool {
    let pool = this.#pools.get(leaf);
    if (pool) return pool;
    const authority = isIP(target.servername) === 6 ? `[${target.servername}]` : target.servername;
    // The origin gives the Host header (port left out when 443); connections come from the connector, never from it.
    pool = new Pool(`https://${authority}:${target.port}`, {
      connections: this.limits.maxSockets,
      pipelining: 1,
      keepAliveTimeout: this.limits.idleTimeoutMs,
      keepAliveMaxTimeout: this.limits.idleTimeoutMs,
      headersTimeout: 0,
      bodyTimeout: 0,
      connect: (_options, callback) => this.#connectFor(leaf, callback),
    });
    this.#pools.set(leaf, pool);
    return pool;
  }

  /** undici's connector for the pool of `leaf`: a spare connection, or a new one that must present that leaf. */
  #connectFor(leaf: string, callback: (...args: [null, tls.TLSSocket] | [Error, null]) => void): void {
    // undici must not be called back synchronously: it is still inside its own resume, which would drop the request.
    const spare = this.#takeSpare(leaf);
    if (spare) {
      queueMicrotask(() => callback(null, spare));
      return;
    }
    const target = this.#target;
    if (this.#destroyed || !target) {
      queueMicrotask(() => callback(cancelled(target?.endpoint ?? 'EKM'), null));
      return;
    }
    this.#open(target).then(
      ({ socket, leaf: shown }) => {
        if (shown === leaf) {
          callback(null, socket);
          return;
        }
        this.#adopt(shown, socket);
        callback(new LeafChanged(), null);
      },
      (failure: AttemptFailure) => callback(failure, null),
    );
  }

  /** The first request learns the endpoint's leaf from a new connection, kept for that leaf's pool; concurrent ones wait for it. */
  #learnLeaf(target: ConnectTarget): Promise<string> {
    this.#learning ??= this.#open(target).then(
      ({ socket, leaf }) => {
        this.#learning = undefined;
        this.#adopt(leaf, socket);
        return leaf;
      },
      (failure: unknown) => {
        this.#learning = undefined;
        throw failure;
      },
    );
    return this.#learning;
  }

  /** A checked connection presenting `leaf`: that leaf becomes current, and the connection waits for its pool. */
  #adopt(leaf: string, socket: tls.TLSSocket): void {
    if (this.#destroyed) {
      socket.destroy();
      return;
    }
    const previous = this.#leaf;
    this.#leaf = leaf;
    if (previous !== undefined && previous !== leaf) {
      const old = this.#pools.get(previous);
      this.#pools.delete(previous);
      // The old pool's requests finish on their connections; its queue meets the new leaf and is sent again.
      if (old) setImmediate(() => void old.close().catch(() => undefined));
    }
    const list = this.#spare.get(leaf) ?? [];
    this.#spare.set(leaf, list);
    list.push(socket);
    const drop = () => {
      const i = list.indexOf(socket);
      if (i >= 0) list.splice(i, 1);
      socket.destroy();
    };
    const timer = setTimeout(drop, this.limits.idleTimeoutMs).unref();
    socket.once('close', drop).on('error', drop);
    (socket as SpareSocket)[SPARE] = () => {
      clearTimeout(timer);
      socket.off('close', drop).off('error', drop);
    };
  }

  #takeSpare(leaf: string): tls.TLSSocket | undefined {
    const list = this.#spare.get(leaf);
    for (let socket = list?.pop(); socket; socket = list?.pop()) {
      (socket as SpareSocket)[SPARE]?.();
      if (!socket.destroyed) return socket;
    }
    return undefined;
  }

  #dropSpares(): void {
    for (const list of this.#spare.values()) for (const socket of list.splice(0)) socket.destroy();
  }

  /** A new TLS connection, checked: its leaf, or an AttemptFailure. */
  #open(target: ConnectTarget): Promise<{ socket: tls.TLSSocket; leaf: string }> {
    const { endpoint } = target;
    if (this.#destroyed) return Promise.reject(cancelled(endpoint));
    return new Promise((resolve, reject) => {
      const socket = tls.connect({
        ...this.tlsOptions,
        host: target.host,
        port: target.port,
        // SNI must not carry an IP address (RFC 6066 §3); the peer check still uses the name.
        ...(isIP(target.servername) ? {} : { servername: target.servername }),
        ...(target.lookup ? { lookup: target.lookup } : {}),
      });
      socket.setNoDelay(true);
      this.#connecting.add(socket);
      let tcpUp = false;
      const settle = (failure: AttemptFailure | undefined) => {
        clearTimeout(timer);
        this.#connecting.delete(socket);
        socket.off('connect', onConnect).off('secureConnect', onSecure).off('error', onError).off('close', onClose);
        if (failure) {
          socket.destroy();
          reject(failure);
        } else {
          resolve({ socket, leaf: sha256Hex(socket.getPeerCertificate().raw) });
        }
      };
      const onConnect = () => { tcpUp = true; };
      const onSecure = () => settle(this.peerCheck?.(socket, endpoint));
      const onError = (err: Error) => settle(this.#destroyed ? cancelled(endpoint) : classifyError(err, endpoint, tcpUp));
      const onClose = () => settle(this.#destroyed ? cancelled(endpoint) : new AttemptFailure('connection', endpoint, 'ECONNRESET', 'the connection closed during the TLS handshake'));
      const timer = setTimeout(
        () => settle(new AttemptFailure('connection', endpoint, 'EKM_CONNECT_TIMEOUT', `no TLS connection within ${this.#connectTimeoutMs} ms`)),
        this.#connectTimeoutMs,
      );
      socket.on('connect', onConnect).on('secureConnect', onSecure).on('error', onError).on('close', onClose);
    });
  }
}

const SPARE = Symbol('spare');
type SpareSocket = tls.TLSSocket & { [SPARE]?: () => void };
