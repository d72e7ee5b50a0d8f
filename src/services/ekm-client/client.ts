// The KMS's EKM client (types.ts): builds the protocol's request bodies,
// finds the EKM (a key URI's origin, or an EkmConnection's Service Directory
// endpoints), signs a token for the project's service identity, sends through
// the transport, and turns every failure into the FAILED_PRECONDITION the
// KMS reports, with a data-access audit line. Behaviour: docs/ekm-protocol.md,
// "The KMS side".
import type { LookupFunction } from 'node:net';
import { KmsError } from '../../errors';
import { jsonLogger, type Logger } from '../../log';
import { INFO_PATH, operationPath, type EkmOperation } from '../../protocol/ekm';
import { AgentPool } from './agent-pool';
import {
  Base64Value, contextJson, decodeBytes, encodePath, parseAnswer, signRequest, stringField, type Answer,
} from './bodies';
import { EkmError, ekmError, exchangeError, httpError, malformedAnswer, type FailureContext } from './errors';
import type { ServiceIdentity } from './identity';
import { EkmMetrics } from './metrics';
import { NetworkPolicy } from './network-policy';
import { EkmTransport, ExchangeFailure, type Endpoint, type EkmHttpResponse } from './transport';
import type { CallInfo, EkmClient, EkmConnectionSpec, ExternalKeyTarget } from './types';

/** Service Directory's endpoint lookup (services/service-directory/lookup.ts), given when the server is built. */
export type EndpointResolver = (serviceName: string, endpointFilter: string) => Promise<ResolvedEndpoints>;

/**
 * A resolution's endpoints. A resolver answers the same array while the
 * service's endpoints are unchanged (Service Directory's lookup does), so
 * the client builds each resolver's endpoints from it once.
 */
export type ResolvedEndpoints = ReadonlyArray<{ address: string; port: number }>;

export interface EkmClientOptions {
  /** Signs the per-call tokens (identity.ts). */
  identity: ServiceIdentity;
  /** Needed for EXTERNAL_VPC keys and EkmConnections. */
  resolve?: EndpointResolver;
  /** PEM CAs trusted for EXTERNAL key URIs besides Node's CA store. */
  extraCaPem?: string;
  /** Networks (CIDR) the KMS may connect to for EKM calls; default anywhere. */
  allowedNetworks?: readonly string[];
  /** A client certificate and key (PEM) for EKMs that require mTLS. */
  clientCertificate?: { certPem: string; keyPem: string };
  /** DNS lookup for key URI hosts (tests inject one); default the system resolver. */
  lookup?: LookupFunction;
  /** Budget of one EKM call, retries included; default 5000 ms. */
  deadlineMs?: number;
  /** TCP plus TLS handshake of one attempt; default 2000 ms (capped by what is left of the deadline). */
  connectTimeoutMs?: number;
  /** Extra rounds over the endpoints after connection failures; default 2. */
  connectionRetries?: number;
  /** Retries after HTTP 429; default 2. */
  rateLimitRetries?: number;
  /** Cap on a Retry-After wait; default 2000 ms. */
  maxRetryAfterMs?: number;
  /** First connection-retry backoff; default 100 ms, doubling. */
  retryBackoffMs?: number;
  /** Largest EKM answer read; default 1 MiB. */
  maxResponseBytes?: number;
  metrics?: EkmMetrics;
  /** Data-access audit lines for EKM errors; default JSON lines on stderr. */
  logger?: Logger;
  /** Checked by verifyConnectivity for CLOUD_KMS connections; default every operation the KMS may call there. */
  cryptoSpacePermissions?: readonly string[];
}

export interface EkmClientHandle extends EkmClient {
  readonly metrics: EkmMetrics;
  /** Closes pooled connections. */
  close(): void;
}

export const DEFAULT_CRYPTO_SPACE_PERMISSIONS = ['wrap', 'unwrap', 'asymmetricSign', 'getPublicKey', 'createKey', 'destroyKey'] as const;

/** Where one call goes, and the facts its errors name. */
interface Route {
  endpoints: Endpoint[];
  audience: string;
  hostname: string;
  /** The key or crypto space path, URL-encoded, no leading slash; for URI keys the URI's path. */
  urlPath: string;
  /** How errors name the resource: the key path, or the whole key URI. */
  shownPath: string;
  ekmConnection: string;
  vpc: boolean;
}

export function createEkmClient(options: EkmClientOptions): EkmClientHandle {
  return new Client(options);
}

class Client implements EkmClientHandle {
  readonly metrics: EkmMetrics;
  readonly #identity: ServiceIdentity;
  readonly #pool: AgentPool;
  readonly #transport: EkmTransport;
  readonly #log: Logger;
  readonly #deadlineMs: number;
  // Endpoints with their agents, by resolution answer and resolver (an
  // EkmConnection's resolver is one object while the connection is unchanged).
  readonly #routed = new WeakMap<ResolvedEndpoints, WeakMap<object, Endpoint[]>>();

  constructor(private readonly options: EkmClientOptions) {
    this.metrics = options.metrics ?? new EkmMetrics();
    this.#identity = options.identity;
    this.#pool = new AgentPool({ extraCaPem: options.extraCaPem, clientCertificate: options.clientCertificate });
    this.#log = options.logger ?? jsonLogger();
    this.#deadlineMs = options.deadlineMs ?? 5000;
    this.#transport = new EkmTransport({
      deadlineMs: this.#deadlineMs,
      connectTimeoutMs: options.connectTimeoutMs ?? 2000,
      connectionRetries: options.connectionRetries ?? 2,
      rateLimitRetries: options.rateLimitRetries ?? 2,
      maxRetryAfterMs: options.maxRetryAfterMs ?? 2000,
      retryBackoffMs: options.retryBackoffMs ?? 100,
      maxResponseBytes: options.maxResponseBytes ?? 1024 * 1024,
      metrics: this.metrics,
      lookup: options.lookup,
      networkPolicy: options.allowedNetworks ? NetworkPolicy.parse(options.allowedNetworks) : undefined,
    });
  }

  close(): void {
    this.#pool.close();
  }

  async wrap(target: ExternalKeyTarget, plaintext: Buffer, aad: Buffer, call: CallInfo): Promise<Buffer> {
    const body = { plaintext: new Base64Value(plaintext), ...aadField(aad), additionalContext: contextJson(call) };
    const { answer, res, route } = await this.#keyCall(target, 'wrap', body, call);
    return this.#bytes(answer, 'wrappedBlob', res, route, call, 'wrap');
  }

  async unwrap(target: ExternalKeyTarget, wrappedBlob: Buffer, aad: Buffer, call: CallInfo): Promise<Buffer> {
    const body = { wrappedBlob: new Base64Value(wrappedBlob), ...aadField(aad), additionalContext: contextJson(call) };
    // allowedCacheDuration is ignored: the KMS never caches an unwrap result (protocol).
    const { answer, res, route } = await this.#keyCall(target, 'unwrap', body, call);
    return this.#bytes(answer, 'plaintext', res, route, call, 'unwrap');
  }

  async asymmetricSign(
    target: ExternalKeyTarget,
    input: { digest?: { sha256?: Buffer; sha384?: Buffer; sha512?: Buffer }; data?: Buffer },
    call: CallInfo,
  ): Promise<Buffer> {
    const { answer, res, route } = await this.#keyCall(target, 'asymmetricSign', signRequest(input, call), call);
    return this.#bytes(answer, 'signature', res, route, call, 'asymmetricSign');
  }

  async getPublicKey(target: ExternalKeyTarget, call: CallInfo): Promise<{ pem: string; algorithm: string }> {
    const { answer, res, route } = await this.#keyCall(target, 'getPublicKey', { additionalContext: contextJson(call) }, call);
    const pem = stringField(answer, 'pem');
    const algorithm = stringField(answer, 'algorithm');
    if (!pem || !/^-----BEGIN PUBLIC KEY-----/.test(pem.trim()) || !algorithm) {
      throw this.#audited(malformedAnswer(res, call.resourceName, this.#context(route, call, 'getPublicKey'), 'no PEM public key and algorithm'), route, call, 'getPublicKey', res);
    }
    return { pem, algorithm };
  }

  async createKey(connection: EkmConnectionSpec, algorithm: string, requestId: string, call: CallInfo): Promise<string> {
    const route = await this.#spaceRoute(connection, call, 'createKey');
    const body = { algorithm, requestId, additionalContext: contextJson(call) };
    const { answer, res } = await this.#send(route, 'createKey', 'POST', operationPath(route.urlPath, 'createKey'), body, call);
    const keyPath = stringField(answer, 'keyPath');
    if (!keyPath) {
      throw this.#audited(malformedAnswer(res, call.resourceName, this.#context(route, call, 'createKey'), 'no keyPath'), route, call, 'createKey', res);
    }
    return keyPath;
  }

  async destroyKey(target: ExternalKeyTarget, call: CallInfo): Promise<void> {
    await this.#keyCall(target, 'destroyKey', { additionalContext: contextJson(call) }, call);
  }

  async verifyConnectivity(connection: EkmConnectionSpec, call: CallInfo): Promise<void> {
    // Stage 1, resolution; then one GET /info covers TCP, TLS pinning, hostname and authentication.
    const route = await this.#vpcRoute(connection, call, 'info', '');
    const { answer, res } = await this.#send(route, 'info', 'GET', INFO_PATH, undefined, call);
    if (!Array.isArray(answer.operations)) {
      throw this.#audited(malformedAnswer(res, call.resourceName, this.#context(route, call, 'info'), 'an /info document without operations'), route, call, 'info', res);
    }
    if (connection.keyManagementMode === 'CLOUD_KMS') await this.#checkPermissions(connection, call);
  }

  async #checkPermissions(connection: EkmConnectionSpec, call: CallInfo): Promise<void> {
    const op = 'checkCryptoSpacePermissions';
    const route = await this.#spaceRoute(connection, call, op);
    const wanted = [...(this.options.cryptoSpacePermissions ?? DEFAULT_CRYPTO_SPACE_PERMISSIONS)];
    const { answer, res } = await this.#send(route, op, 'POST', operationPath(route.urlPath, op), { permissions: wanted, additionalContext: contextJson(call) }, call);
    const granted = new Set(Array.isArray(answer.permissions) ? answer.permissions.filter((p): p is string => typeof p === 'string') : []);
    const missing = wanted.filter((p) => !granted.has(p));
    if (missing.length === 0) return;
    const ctx = this.#context(route, call, op);
    const description = `Permission check failed: the EKM at ${res.endpoint} does not grant ${ctx.email} ${missing.join(', ')} on crypto space ${route.shownPath}. Add the identity to the crypto space's callers and allow access reasons for those operations.`;
    throw this.#audited(ekmError('EXTERNAL_PERMISSION_DENIED', call.resourceName, description), route, call, op, res);
  }

  /** A call on a key path: `POST /{keyPath}:{operation}`. */
  async #keyCall(target: ExternalKeyTarget, op: EkmOperation, body: object, call: CallInfo): Promise<{ answer: Answer; res: EkmHttpResponse; route: Route }> {
    const route = target.kind === 'vpc'
      ? await this.#vpcRoute(target.connection, call, op, target.keyPath)
      : this.#uriRoute(target.keyUri, call, op);
    const { answer, res } = await this.#send(route, op, 'POST', operationPath(route.urlPath, op), body, call);
    return { answer, res, route };
  }

  async #spaceRoute(connection: EkmConnectionSpec, call: CallInfo, op: string): Promise<Route> {
    if (!connection.cryptoSpacePath) {
      const description = `The EkmConnection ${connection.name} has no crypto_space_path: set it to the EKM's crypto space for CLOUD_KMS key management.`;
      throw this.#auditedBare(ekmError('EXTERNAL_NOT_FOUND', call.resourceName, description), call, op, connection.name);
    }
    return this.#vpcRoute(connection, call, op, connection.cryptoSpacePath);
  }

  async #vpcRoute(connection: EkmConnectionSpec, call: CallInfo, op: string, resourcePath: string): Promise<Route> {
    const fail = (description: string) => this.#auditedBare(ekmError('DNS', call.resourceName, description), call, op, connection.name);
    const resolver = connection.serviceResolvers[0];
    if (!resolver) throw fail(`Resolution failed: the EkmConnection ${connection.name} has no service resolver. Add one naming the EKM's Service Directory service.`);
    if (!this.options.resolve) throw new Error('the EKM client has no Service Directory resolver (options.resolve)');
    const filter = resolver.endpointFilter ? ` with endpoint_filter ${JSON.stringify(resolver.endpointFilter)}` : '';
    let found: ResolvedEndpoints;
    try {
      found = await this.options.resolve(resolver.serviceDirectoryService, resolver.endpointFilter);
    } catch (err) {
      const why = err instanceof KmsError ? err.message : 'lookup failed';
      throw fail(`Resolution failed: Service Directory could not resolve ${resolver.serviceDirectoryService}${filter}: ${why} Fix the EkmConnection's service resolver.`);
    }
    if (found.length === 0) {
      throw fail(`Resolution failed: Service Directory service ${resolver.serviceDirectoryService} has no endpoints${filter}. Register the EKM's replicas as its endpoints, or fix the endpoint_filter.`);
    }
    return {
      endpoints: this.#endpointsOf(found, resolver),
      audience: `https://${resolver.hostname}`,
      hostname: resolver.hostname,
      urlPath: encodePath(resourcePath),
      shownPath: resourcePath || INFO_PATH,
      ekmConnection: connection.name,
      vpc: true,
    };
  }

  #endpointsOf(found: ResolvedEndpoints, resolver: EkmConnectionSpec['serviceResolvers'][number]): Endpoint[] {
    let byResolver = this.#routed.get(found);
    if (!byResolver) this.#routed.set(found, (byResolver = new WeakMap()));
    let endpoints = byResolver.get(resolver);
    if (!endpoints) {
      endpoints = found.map((e) => {
        const port = e.port || 443;
        return { host: e.address, port, servername: resolver.hostname, agent: this.#pool.pinned(e.address, port, resolver.hostname, resolver.serverCertificates) };
      });
      byResolver.set(resolver, endpoints);
    }
    return endpoints;
  }

  #uriRoute(keyUri: string, call: CallInfo, op: string): Route {
    let url: URL | undefined;
    try {
      url = new URL(keyUri);
    } catch {
      url = undefined;
    }
    if (!url || url.protocol !== 'https:' || url.username || url.password || url.search || url.hash || url.pathname.length < 2) {
      const description = `The external key URI ${JSON.stringify(keyUri.slice(0, 200))} is not an https://host[:port]/path URL without query or credentials. Import the key version with the EKM's key URI.`;
      throw this.#auditedBare(ekmError('EXTERNAL_KEY_URI_INVALID', call.resourceName, description), call, op, '');
    }
    const port = url.port ? Number(url.port) : 443;
    // URL keeps IPv6 hosts in brackets; sockets want them bare.
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    return {
      endpoints: [{ host, port, servername: host, agent: this.#pool.uri(url.origin) }],
      // The protocol's audience is https://{hostname}, port excluded (the reference EKM's default).
      audience: `https://${url.hostname}`,
      hostname: host,
      urlPath: url.pathname.slice(1),
      shownPath: keyUri,
      ekmConnection: '',
      vpc: false,
    };
  }

  /** Sends and returns a 2xx answer's JSON object; every failure becomes the KMS error, audited. */
  async #send(route: Route, op: string, method: 'GET' | 'POST', path: string, body: object | undefined, call: CallInfo): Promise<{ answer: Answer; res: EkmHttpResponse }> {
    const token = (peerSha256: string) => this.#identity.token(call.project, route.audience, peerSha256);
    let res: EkmHttpResponse;
    try {
      res = await this.#transport.exchange(route.endpoints, { method, path, body, token, operation: op, ekmConnection: route.ekmConnection });
    } catch (err) {
      if (!(err instanceof ExchangeFailure)) throw err;
      throw this.#audited(exchangeError(err, call.resourceName, this.#context(route, call, op)), route, call, op, undefined, err);
    }
    if (res.status < 200 || res.status >= 300) throw this.#audited(httpError(res, call.resourceName, this.#context(route, call, op)), route, call, op, res);
    const answer = parseAnswer(res.body);
    if (!answer) throw this.#audited(malformedAnswer(res, call.resourceName, this.#context(route, call, op), 'a body that is not a JSON object'), route, call, op, res);
    return { answer, res };
  }

  #bytes(answer: Answer, field: string, res: EkmHttpResponse, route: Route, call: CallInfo, op: string): Buffer {
    const bytes = decodeBytes(answer[field]);
    if (!bytes) throw this.#audited(malformedAnswer(res, call.resourceName, this.#context(route, call, op), `no valid base64 ${field}`), route, call, op, res);
    return bytes;
  }

  #context(route: Route, call: CallInfo, operation: string): FailureContext {
    return {
      operation,
      path: route.shownPath,
      email: this.#identity.email(call.project),
      issuer: this.#identity.issuer,
      audience: route.audience,
      hostname: route.hostname,
      deadlineMs: this.#deadlineMs,
      vpc: route.vpc,
      reason: call.reason,
    };
  }

  /** The data-access audit line of a failed EKM call: metadata only, never bytes or tokens. */
  #audited(err: KmsError, route: Route, call: CallInfo, op: string, res?: EkmHttpResponse, failure?: ExchangeFailure): KmsError {
    this.#log.info('ekm data access error', {
      resource: call.resourceName,
      project: call.project,
      caller: this.#identity.email(call.project),
      operation: op,
      // GET /info carries no body, so no reason: the EKM audits it without one too.
      reason: op === 'info' ? undefined : call.reason,
      healthCheck: call.isKeyHealthCheck ?? false,
      ekmConnection: route.ekmConnection || undefined,
      target: route.vpc ? route.hostname : route.shownPath,
      endpoint: res?.endpoint ?? failure?.last.endpoint,
      httpStatus: res?.status,
      attempts: res?.attempts ?? failure?.failures.length,
      domain: err instanceof EkmError ? err.domain : undefined,
      description: err instanceof EkmError ? err.description : err.message,
    });
    return err;
  }

  /** An error before any endpoint was tried (resolution, a bad URI). */
  #auditedBare(err: KmsError, call: CallInfo, op: string, ekmConnection: string): KmsError {
    const route: Route = { endpoints: [], audience: '', hostname: '', urlPath: '', shownPath: '', ekmConnection, vpc: ekmConnection !== '' };
    return this.#audited(err, route, call, op);
  }
}

function aadField(aad: Buffer): { additionalAuthenticatedData?: Base64Value } {
  return aad.length > 0 ? { additionalAuthenticatedData: new Base64Value(aad) } : {};
}
