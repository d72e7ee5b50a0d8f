// An HTTPS client for the conformance suite: keep-alive, a trust anchor or a
// pinned leaf fingerprint, optional client certificate (mTLS).
import { createHash } from 'node:crypto';
import type * as http from 'node:http';
import * as https from 'node:https';
import { checkServerIdentity, type PeerCertificate, type TLSSocket } from 'node:tls';

export interface TlsTrust {
  /** PEM trust anchors (the EKM's self-signed certificate or its CA). */
  ca?: string;
  /** TLS name to check and send as SNI when the URL's host differs. */
  servername?: string;
  /** SHA-256 of the leaf DER, hex (colons and case ignored). With no ca, the pin alone is checked. */
  pinnedSha256?: string;
  clientCert?: string;
  clientKey?: string;
}

export interface EkmResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The parsed JSON body, or undefined. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  tlsVersion: string | null;
}

export interface RequestOptions {
  token?: string;
  /** A JSON body (serialized) or raw bytes. */
  body?: unknown;
  raw?: string | Buffer;
  headers?: Record<string, string>;
}

const normalize = (fp: string): string => fp.replace(/:/g, '').toLowerCase();
const CHUNK_BYTES = 64 * 1024;

/**
 * Writes the body in chunks, each after the last was accepted, and stops once
 * the server has answered: an EKM may refuse an oversize body as soon as it
 * sees its length and close the connection, and writing on would lose the
 * answer to the reset.
 */
function writeBody(req: http.ClientRequest, payload: Buffer | undefined, answered: () => boolean): void {
  if (payload === undefined || payload.length <= CHUNK_BYTES) {
    req.end(payload);
    return;
  }
  let at = 0;
  const next = (err?: Error | null): void => {
    if (err || answered()) return;
    if (at >= payload.length) {
      req.end();
      return;
    }
    const chunk = payload.subarray(at, at + CHUNK_BYTES);
    at += chunk.length;
    req.write(chunk, next);
  };
  next();
}

/** Collects an answer; a connection closed mid-answer gives what arrived. */
function readAnswer(res: http.IncomingMessage, done: (response: EkmResponse) => void): void {
  const tlsVersion = (res.socket as TLSSocket | null)?.getProtocol?.() ?? null;
  const chunks: Buffer[] = [];
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    done({ status: res.statusCode ?? 0, headers: res.headers, text, body, tlsVersion });
  };
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', finish);
  res.on('close', finish);
  res.on('error', () => undefined);
}

/** A request failed before any answer on a kept-alive connection the server had closed or reset. */
class StaleConnection extends Error {}

/**
 * The EKM closed the connection while a large body was still being sent,
 * and no answer could be read: RFC 9110 §15.5.14 lets a server refuse a body
 * that way, and a refusal it wrote first (413) can be lost to the TCP reset
 * that closing on unread bytes causes.
 */
export class BodyRefusedByClose extends Error {
  readonly code = 'EKM_CLOSED_DURING_BODY';
  constructor() {
    super('the EKM closed the connection while the request body was being sent');
    this.name = 'BodyRefusedByClose';
  }
}

interface Exchange {
  method: string;
  url: URL;
  headers: Record<string, string>;
  payload: Buffer | undefined;
}

export class EkmHttpClient {
  readonly #agent: https.Agent;
  readonly #tls: https.AgentOptions;
  readonly #base: URL;

  constructor(url: string, private readonly trust: TlsTrust) {
    this.#base = new URL(url);
    this.#tls = {
      ca: trust.ca,
      cert: trust.clientCert,
      key: trust.clientKey,
      servername: trust.servername,
      rejectUnauthorized: trust.ca !== undefined || trust.pinnedSha256 === undefined,
      // The URL may name an address while the certificate names the EKM's hostname.
      ...(trust.servername ? { checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity(trust.servername!, cert) } : {}),
    };
    this.#agent = new https.Agent({
      ...this.#tls,
      keepAlive: true,
      // A resumed TLS session shows no certificate to check a pin against: every connection is a full handshake.
      ...(trust.pinnedSha256 === undefined ? {} : { maxCachedSessions: 0 }),
    });
  }

  private checkPin(socket: TLSSocket): void {
    if (this.trust.pinnedSha256 === undefined) return;
    const der = socket.getPeerCertificate().raw;
    const actual = der ? createHash('sha256').update(der).digest('hex') : '';
    if (actual === normalize(this.trust.pinnedSha256)) return;
    socket.destroy(Object.assign(new Error(`the EKM's certificate (SHA-256 ${actual || 'not shown'}) is not the pinned one`), { code: 'CERT_PIN_MISMATCH' }));
  }

  /**
   * One request. As the KMS does, a request that fails before any answer on
   * a kept-alive connection (the server closed or reset it) goes again, once,
   * on a new connection.
   */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<EkmResponse> {
    const text = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    const payload = text === undefined ? undefined : Buffer.from(text);
    const headers: Record<string, string> = { ...options.headers };
    if (payload !== undefined) {
      headers['content-type'] ??= 'application/json';
      headers['content-length'] = String(payload.length);
    }
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    const url = new URL(path.replace(/^\//, ''), this.#base.href.endsWith('/') ? this.#base : new URL(`${this.#base.href}/`));
    const exchange = { method, url, headers, payload };
    try {
      return await this.#attempt(exchange, false);
    } catch (err) {
      if (!(err instanceof StaleConnection)) throw err;
      return this.#attempt(exchange, true);
    }
  }

  #attempt({ method, url, headers, payload }: Exchange, fresh: boolean): Promise<EkmResponse> {
    const connection = fresh ? { ...this.#tls, agent: false as const } : { agent: this.#agent };
    return new Promise((resolve, reject) => {
      let answer: http.IncomingMessage | undefined;
      const req = https.request(url, { method, headers, ...connection, timeout: 30_000 }, (res) => {
        answer = res;
        readAnswer(res, (response) => {
          resolve(response);
          // The server answered before the whole body was sent (an oversize body): drop the rest.
          if (!req.writableEnded) req.destroy();
        });
      });
      req.on('socket', (socket: TLSSocket) => {
        if (!socket.connecting && socket.encrypted) return;
        socket.once('secureConnect', () => this.checkPin(socket));
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error(`${method} ${url.pathname} timed out`), { code: 'ETIMEDOUT' })));
      req.on('error', (err: NodeJS.ErrnoException) => {
        // A write error once the answer has begun (the server closed after refusing the body) is no failure of the request.
        const closed = err.code === 'ECONNRESET' || err.code === 'EPIPE';
        if (answer) answer.destroy();
        // A kept-alive connection closed under the request: sent again on a new one, whatever its size.
        else if (req.reusedSocket && closed) reject(new StaleConnection(err.message));
        // On a new connection, a close after part of a large body went out is the EKM refusing it.
        else if (closed && payload !== undefined && payload.length > CHUNK_BYTES && (req.socket?.bytesWritten ?? 0) > CHUNK_BYTES) reject(new BodyRefusedByClose());
        else reject(err);
      });
      writeBody(req, payload, () => answer !== undefined);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}
