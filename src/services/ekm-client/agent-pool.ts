// Agents by target: connections to one EKM replica (or one key URI origin)
// are pooled and reused across calls; pins are hashed once per
// certificate list.
import * as tls from 'node:tls';
import { TLS_CLIENT_POLICY } from '../../tls-policy';
import { EkmAgent, pinnedPeerCheck, sha256Hex } from './agent';

const POOL_LIMIT = 256;
const BASE_TLS_OPTIONS: tls.ConnectionOptions = TLS_CLIENT_POLICY;

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

export interface AgentPoolOptions {
  /** PEM CAs trusted for EXTERNAL key URIs besides Node's store. */
  extraCaPem?: string;
  /** A client certificate (PEM chain) and its key, shown to EKMs that ask for one (mTLS). */
  clientCertificate?: { certPem: string; keyPem: string };
}

/** Agents by target, so connections to one EKM replica are pooled and reused across calls. */
export class AgentPool {
  readonly #agents = new Map<string, EkmAgent>();
  readonly #base: tls.ConnectionOptions;
  readonly #extraCaPem?: string;
  #closed = false;

  constructor(options: AgentPoolOptions = {}) {
    this.#extraCaPem = options.extraCaPem;
    const client = options.clientCertificate;
    this.#base = client ? { ...BASE_TLS_OPTIONS, cert: client.certPem, key: client.keyPem } : BASE_TLS_OPTIONS;
  }

  /** EXTERNAL_VPC: one agent per (address, port, hostname, pins). */
  pinned(address: string, port: number, hostname: string, certificates: readonly Buffer[]): EkmAgent {
    const pins = pinsOf(certificates);
    const key = JSON.stringify(['vpc', address, port, hostname, pins.sorted]);
    // No TLS session is offered for resumption: every new connection shows its certificate to the pin check.
    return this.#get(key, () => new EkmAgent({ ...this.#base, rejectUnauthorized: false }, pinnedPeerCheck(hostname, pins.set)));
  }

  /** EXTERNAL: one agent per origin; Node verifies the chain (its CAs plus the extra bundle) and the hostname. */
  uri(origin: string): EkmAgent {
    return this.#get(JSON.stringify(['uri', origin]), () => new EkmAgent({
      ...this.#base,
      rejectUnauthorized: true,
      // `ca` replaces Node's store, so the store's roots are listed with the extra bundle.
      ...(this.#extraCaPem ? { ca: [...tls.rootCertificates, this.#extraCaPem] } : {}),
    }));
  }

  /** Ends every connection; calls in flight, and any made afterwards, are cancelled. */
  close(): void {
    this.#closed = true;
    for (const agent of this.#agents.values()) agent.destroy();
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
    if (this.#closed) agent.destroy();
    return agent;
  }
}
