// An HTTPS client for the conformance suite: keep-alive, a trust anchor or a
// pinned leaf fingerprint, optional client certificate (mTLS).
import { createHash } from 'node:crypto';
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

export class EkmHttpClient {
  readonly #agent: https.Agent;
  readonly #base: URL;

  constructor(url: string, private readonly trust: TlsTrust) {
    this.#base = new URL(url);
    this.#agent = new https.Agent({
      keepAlive: true,
      ca: trust.ca,
      cert: trust.clientCert,
      key: trust.clientKey,
      servername: trust.servername,
      rejectUnauthorized: trust.ca !== undefined || trust.pinnedSha256 === undefined,
      // The URL may name an address while the certificate names the EKM's hostname.
      ...(trust.servername ? { checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity(trust.servername!, cert) } : {}),
    });
  }

  private checkPin(socket: TLSSocket): void {
    if (this.trust.pinnedSha256 === undefined) return;
    const der = socket.getPeerCertificate().raw;
    const actual = der ? createHash('sha256').update(der).digest('hex') : '';
    if (actual !== normalize(this.trust.pinnedSha256)) socket.destroy(new Error(`pinned certificate mismatch: ${actual}`));
  }

  request(method: string, path: string, options: RequestOptions = {}): Promise<EkmResponse> {
    const payload = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    const headers: Record<string, string> = { ...options.headers };
    if (payload !== undefined) {
      headers['content-type'] ??= 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    const url = new URL(path.replace(/^\//, ''), this.#base.href.endsWith('/') ? this.#base : new URL(`${this.#base.href}/`));
    return new Promise((resolve, reject) => {
      const req = https.request(url, { method, headers, agent: this.#agent, timeout: 30_000 }, (res) => {
        const tlsVersion = (res.socket as TLSSocket).getProtocol?.() ?? null;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body, tlsVersion });
        });
        res.on('error', reject);
      });
      req.on('socket', (socket: TLSSocket) => {
        if (!socket.connecting && socket.encrypted) return;
        socket.once('secureConnect', () => this.checkPin(socket));
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}
