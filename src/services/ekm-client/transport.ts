// One EKM request, attempted until it succeeds or should stop: HTTPS over the
// pooled connections (agent.ts), a deadline for the whole call, fail-over across replicas,
// bounded retries for connection failures, backing off on 429, bounded
// answers, and one metrics sample per attempt.
//
// Policy (docs/ekm-protocol.md, "The KMS side"):
// - connection failure (refused, reset, unreachable, connect timeout): try
//   the next endpoint at once; when every endpoint of the round failed, start
//   another round after a short backoff, at most `connectionRetries` times.
//   Every EKM operation is safe to repeat (a second wrap makes another blob,
//   createKey carries a requestId, destroyKey is idempotent).
// - TLS failure (pin, hostname, chain, handshake): try the next endpoint (one
//   replica may have a bad certificate) but never that endpoint again.
// - DNS failure, deadline, oversized answer: stop.
// - HTTP 429: wait Retry-After (capped) or a backoff, at most
//   `rateLimitRetries` times, never past the deadline. Other HTTP answers are
//   final: the caller maps them.
import type { IncomingHttpHeaders } from 'node:http';
import { lookup as dnsLookup } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { EkmAgent } from './agent';
import { bodyJson } from './bodies';
import { AttemptFailure, DNS_ERROR, classifyError } from './failure';
import type { EkmMetrics } from './metrics';
import { NotAllowedError, type NetworkPolicy } from './network-policy';

export interface Endpoint {
  /** Where to connect: an address (VPC) or the URI's host. */
  host: string;
  port: number;
  /** The TLS name (SNI) and Host header: the resolver's hostname or the URI's host. */
  servername: string;
  agent: EkmAgent;
}

export interface EkmHttpRequest {
  method: 'GET' | 'POST';
  path: string;
  /** A JSON object (bodyJson in bodies.ts writes it). */
  body?: object;
  /** The bearer token for a connection whose peer presented the certificate with this SHA-256 (hex). */
  token: (peerSha256: string) => string | Promise<string>;
  /** The metrics `method` label: the EKM operation. */
  operation: string;
  /** The metrics `ekm_connection` label. */
  ekmConnection: string;
}

export interface EkmHttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  endpoint: string;
  attempts: number;
}

/** Every attempt failed without an HTTP answer; `last` decides the error domain. */
export class ExchangeFailure extends Error {
  constructor(
    readonly failures: readonly AttemptFailure[],
    readonly deadlineMs: number,
  ) {
    super(failures[failures.length - 1].message);
    this.name = 'ExchangeFailure';
  }

  get last(): AttemptFailure {
    return this.failures[this.failures.length - 1];
  }
}

export interface TransportOptions {
  /** The whole call's budget, attempts and waits included. */
  deadlineMs: number;
  /** TCP connect plus TLS handshake of one attempt. */
  connectTimeoutMs: number;
  connectionRetries: number;
  rateLimitRetries: number;
  maxRetryAfterMs: number;
  /** First connection-retry backoff; doubles per round, with jitter. */
  retryBackoffMs: number;
  maxResponseBytes: number;
  metrics: EkmMetrics;
  lookup?: LookupFunction;
  /** Where the KMS may connect; undefined: anywhere. */
  networkPolicy?: NetworkPolicy;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Retry-After as seconds or an HTTP date (RFC 9110 §10.2.3), in ms; undefined when absent or unreadable. */
export function retryAfterMs(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Lookup errors keep their own codes but are marked DNS, so nothing else is mistaken for one. */
function markingLookup(lookup: LookupFunction): LookupFunction {
  return (hostname, options, callback) =>
    lookup(hostname, options, (err, address, family) => {
      if (err) Object.assign(err, { [DNS_ERROR]: true, hostname: (err as { hostname?: string }).hostname ?? hostname });
      callback(err, address, family);
    });
}

type Outcome = { response: Omit<EkmHttpResponse, 'attempts'> } | { failure: AttemptFailure };
interface Step { index: number; waitMs: number }

export class EkmTransport {
  readonly #lookup?: LookupFunction;

  constructor(private readonly options: TransportOptions) {
    const marked = options.lookup ? markingLookup(options.lookup) : undefined;
    // The policy's check comes after DNS, so its refusal is not taken for a DNS failure.
    this.#lookup = options.networkPolicy ? options.networkPolicy.guard(marked ?? markingLookup(dnsLookup as unknown as LookupFunction)) : marked;
  }

  async exchange(endpoints: readonly Endpoint[], request: EkmHttpRequest): Promise<EkmHttpResponse> {
    if (endpoints.length === 0) throw new Error('no EKM endpoint to send to');
    const payload = request.body === undefined ? undefined : Buffer.from(bodyJson(request.body), 'utf8');
    const deadline = performance.now() + this.options.deadlineMs;
    const state = { failures: [] as AttemptFailure[], badTls: new Set<number>(), tried: new Set<number>(), round: 0, rateLimited: 0 };
    let index = 0;
    for (let attempts = 1; ; attempts++) {
      const started = performance.now();
      const outcome = await this.#attempt(endpoints[index], request, payload, deadline - started);
      const latencyMs = performance.now() - started;
      state.tried.add(index);
      if ('failure' in outcome) state.failures.push(outcome.failure);
      const next = this.#nextStep(outcome, index, endpoints.length, state, deadline);
      this.#record(request, outcome, next === undefined, latencyMs);
      if (!next) {
        if ('response' in outcome) return { ...outcome.response, attempts };
        throw new ExchangeFailure(state.failures, this.options.deadlineMs);
      }
      if (next.waitMs > 0) await sleep(next.waitMs);
      index = next.index;
    }
  }

  #nextStep(
    outcome: Outcome,
    index: number,
    count: number,
    state: { badTls: Set<number>; tried: Set<number>; round: number; rateLimited: number },
    deadline: number,
  ): Step | undefined {
    const remaining = deadline - performance.now();
    if ('response' in outcome) {
      if (outcome.response.status !== 429 || state.rateLimited >= this.options.rateLimitRetries) return undefined;
      const asked = retryAfterMs(outcome.response.headers['retry-after']);
      const waitMs = Math.min(asked ?? this.#backoff(state.rateLimited + 1), this.options.maxRetryAfterMs);
      // Waiting past the deadline would only turn "rate limited" into "timed out".
      if (waitMs >= remaining) return undefined;
      state.rateLimited++;
      return { index, waitMs };
    }
    const { kind } = outcome.failure;
    if (kind !== 'connection' && kind !== 'tls' && kind !== 'not-allowed') return undefined;
    // A bad certificate or a forbidden address: another endpoint may do, this one never will.
    if (kind !== 'connection') state.badTls.add(index);
    const untried = [...Array(count).keys()].find((i) => !state.tried.has(i) && !state.badTls.has(i));
    if (untried !== undefined) return remaining > 0 ? { index: untried, waitMs: 0 } : undefined;
    const usable = [...Array(count).keys()].find((i) => !state.badTls.has(i));
    if (kind !== 'connection' || usable === undefined || state.round >= this.options.connectionRetries) return undefined;
    const waitMs = this.#backoff(state.round + 1);
    if (waitMs >= remaining) return undefined;
    state.round++;
    state.tried.clear();
    return { index: usable, waitMs };
  }

  /** base × 2^(n-1), with jitter in [50 %, 100 %] so many callers do not retry in step. */
  #backoff(n: number): number {
    const full = this.options.retryBackoffMs * 2 ** (n - 1);
    return Math.round(full * (0.5 + Math.random() / 2));
  }

  #record(request: EkmHttpRequest, outcome: Outcome, final: boolean, latencyMs: number): void {
    const responseCode = 'response' in outcome ? outcome.response.status : (outcome.failure.extra.httpStatus ?? 0);
    const status = 'response' in outcome
      ? (outcome.response.status >= 200 && outcome.response.status < 300 ? 'OK' : 'HTTP_ERROR')
      : outcome.failure.metricStatus;
    this.options.metrics.record({ method: request.operation, final, responseCode, status, ekmConnection: request.ekmConnection, latencyMs });
  }

  #attempt(ep: Endpoint, request: EkmHttpRequest, payload: Buffer | undefined, remainingMs: number): Promise<Outcome> {
    const endpoint = `${ep.host.includes(':') ? `[${ep.host}]` : ep.host}:${ep.port}`;
    if (remainingMs <= 0) {
      return Promise.resolve({ failure: new AttemptFailure('timeout', endpoint, 'EKM_DEADLINE', 'the deadline passed') });
    }
    try {
      checkRequestLine(ep, request.path);
      // An address is checked here; a name after DNS, by the lookup.
      const policy = this.options.networkPolicy;
      if (policy && isIP(ep.host) && !policy.allows(ep.host)) throw new NotAllowedError(ep.host, ep.servername);
    } catch (err) {
      return Promise.resolve({ failure: classifyError(err, endpoint) });
    }
    const pending = ep.agent.request(
      { host: ep.host, port: ep.port, servername: ep.servername, endpoint, lookup: this.#lookup },
      (peerSha256) => {
        const token = request.token(peerSha256);
        return typeof token === 'string'
          ? requestBytes(ep, { method: request.method, path: request.path, token }, payload)
          : token.then((t) => requestBytes(ep, { method: request.method, path: request.path, token: t }, payload));
      },
      false,
      {
        connectTimeoutMs: Math.max(1, Math.min(this.options.connectTimeoutMs, remainingMs)),
        connectTimeoutIsDeadline: this.options.connectTimeoutMs >= remainingMs,
        maxResponseBytes: this.options.maxResponseBytes,
      },
    );
    const timer = setTimeout(() => pending.cancel(new AttemptFailure('timeout', endpoint, 'EKM_DEADLINE', 'no answer before the deadline')), remainingMs);
    return pending.answer.then(
      (answer): Outcome => {
        clearTimeout(timer);
        return { response: { status: answer.status, headers: answer.headers, body: answer.body, endpoint } };
      },
      (err: unknown): Outcome => {
        clearTimeout(timer);
        return { failure: classifyError(err, endpoint) };
      },
    );
  }
}

// Visible ASCII only: a request line or header can't be split by what goes in it.
const REQUEST_TARGET = /^\/[\x21-\x7e]*$/;
const HEADER_VALUE = /^[\x21-\x7e]+$/;

const hostValue = (ep: Pick<Endpoint, 'servername' | 'port'>): string =>
  ep.port === 443 ? hostHeader(ep.servername) : `${hostHeader(ep.servername)}:${ep.port}`;

/** Before connecting: the path and Host header can go on a request line and in a header. */
export function checkRequestLine(ep: Pick<Endpoint, 'servername' | 'port'>, path: string): void {
  const host = hostValue(ep);
  if (!REQUEST_TARGET.test(path)) throw new AttemptFailure('protocol', host, 'EKM_BAD_REQUEST', 'the request path holds characters a request line can not carry');
  if (!HEADER_VALUE.test(host)) throw new AttemptFailure('protocol', host, 'EKM_BAD_REQUEST', 'a header value holds characters a header can not carry');
}

/** The whole request, head and body, as one buffer: one write, one TLS record for a small call. */
export function requestBytes(ep: Pick<Endpoint, 'servername' | 'port'>, request: { method: string; path: string; token: string }, payload: Buffer | undefined): Buffer {
  const host = hostValue(ep);
  checkRequestLine(ep, request.path);
  if (!HEADER_VALUE.test(request.token)) throw new AttemptFailure('protocol', host, 'EKM_BAD_REQUEST', 'a header value holds characters a header can not carry');
  let head = `${request.method} ${request.path} HTTP/1.1\r\nhost: ${host}\r\nauthorization: Bearer ${request.token}\r\naccept: application/json\r\n`;
  if (payload) head += `content-type: application/json\r\ncontent-length: ${payload.length}\r\n`;
  head += '\r\n';
  const headBytes = head.length;
  const out = Buffer.allocUnsafe(headBytes + (payload?.length ?? 0));
  out.write(head, 0, 'latin1');
  payload?.copy(out, headBytes);
  return out;
}

/** An IPv6 literal goes in brackets in Host. */
const hostHeader = (name: string): string => (isIP(name) === 6 ? `[${name}]` : name);
