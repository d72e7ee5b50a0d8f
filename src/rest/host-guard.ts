// What keeps a web page from driving the REST port (docs/security.md). A
// browser sends a cross-site POST with a text/plain body without asking
// first, and with DNS rebinding a page's own hostname can point at this port,
// so the server itself refuses:
// - a Host header that is not one of its names (the bound address, loopback
//   names, and what --allowed-host adds): rebinding always carries the
//   attacker's hostname;
// - an Origin header from anywhere but this server itself, unless the
//   operator listed that origin (--cors-origin); only then are CORS headers
//   sent, and preflights answered.
// The content-type rule (a body must be application/json) is in server.ts.
import { isIP } from 'node:net';
import * as os from 'node:os';

export interface HostGuardOptions {
  /** The address the REST port is bound to. */
  boundHost: string;
  /** More names the Host header may carry; "*" allows any. */
  allowedHosts?: readonly string[];
  /** Origins (scheme://host[:port]) whose pages may call the API, with CORS. */
  corsOrigins?: readonly string[];
}

export type HostVerdict =
  | { ok: true; corsOrigin?: string }
  | { ok: false; problem: 'host' | 'origin'; value: string };

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];
const OK: HostVerdict = Object.freeze({ ok: true });
const WILDCARDS = new Set(['0.0.0.0', '::', '']);

/** The host part of a Host header (or an origin's host): no port, no brackets, lower case, no trailing dot. */
export function hostName(header: string): string {
  let host = header.trim().toLowerCase();
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    host = end < 0 ? host : host.slice(1, end);
  } else if (isIP(host) !== 6) {
    const colon = host.lastIndexOf(':');
    if (colon >= 0) host = host.slice(0, colon);
  }
  return host.endsWith('.') ? host.slice(0, -1) : host;
}

function normalOrigin(origin: string): string | undefined {
  try {
    const url = new URL(origin);
    return url.origin === 'null' ? undefined : url.origin.toLowerCase();
  } catch {
    return undefined;
  }
}

/** The names of this machine, for a port bound to every interface. */
function interfaceNames(): string[] {
  const names = [os.hostname().toLowerCase()];
  for (const list of Object.values(os.networkInterfaces())) {
    for (const address of list ?? []) names.push(address.address.toLowerCase().replace(/%.*$/, ''));
  }
  return names;
}

/** Verdicts on Host header values, remembered: clients send the same one on every request. */
const HOST_MEMO_LIMIT = 256;

export class HostGuard {
  readonly #anyHost: boolean;
  readonly #hosts: ReadonlySet<string>;
  readonly #origins: ReadonlySet<string>;
  readonly #hostVerdicts = new Map<string, boolean>();

  constructor(options: HostGuardOptions) {
    const extra = options.allowedHosts ?? [];
    this.#anyHost = extra.includes('*');
    const bound = hostName(options.boundHost);
    this.#hosts = new Set([
      ...LOOPBACK_NAMES,
      ...(WILDCARDS.has(bound) ? interfaceNames() : [bound]),
      ...extra.filter((h) => h !== '*').map(hostName),
    ]);
    this.#origins = new Set((options.corsOrigins ?? []).map((o) => normalOrigin(o) ?? o.toLowerCase()));
  }

  /** Every origin configured for CORS is valid (checked when the server starts). */
  static checkOrigins(origins: readonly string[]): void {
    for (const origin of origins) {
      if (!normalOrigin(origin)) throw new Error(`--cors-origin: '${origin}' is not an origin (scheme://host[:port])`);
    }
  }

  #lastHost = '';
  #lastAllowed = false;

  #hostAllowed(host: string): boolean {
    // Most requests carry the previous request's Host: a string comparison, no hashing.
    if (host === this.#lastHost) return this.#lastAllowed;
    let allowed = this.#hostVerdicts.get(host);
    if (allowed === undefined) {
      allowed = this.#anyHost || this.#hosts.has(hostName(host));
      if (this.#hostVerdicts.size >= HOST_MEMO_LIMIT) this.#hostVerdicts.clear();
      this.#hostVerdicts.set(host, allowed);
    }
    this.#lastHost = host;
    this.#lastAllowed = allowed;
    return allowed;
  }

  check(host: string | undefined, origin: string | undefined): HostVerdict {
    if (host === undefined) return { ok: false, problem: 'host', value: '' };
    if (!this.#hostAllowed(host)) return { ok: false, problem: 'host', value: host };
    if (origin === undefined) return OK;
    const normal = normalOrigin(origin);
    if (normal && this.#origins.has(normal)) return { ok: true, corsOrigin: origin };
    // The server's own pages (same host and port) may call it without CORS,
    // when that host is one of the server's own names: with --allowed-host *,
    // a rebound page's origin matches its Host header and must still fail.
    if (normal) {
      const url = new URL(normal);
      if (url.host === host.trim().toLowerCase() && this.#hosts.has(hostName(url.host))) return { ok: true };
    }
    return { ok: false, problem: 'origin', value: origin };
  }
}
