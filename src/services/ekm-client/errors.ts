// Every EKM failure as the KMS reports it (docs/ekm-protocol.md, "What the
// KMS does with EKM failures"): FAILED_PRECONDITION with a
// google.rpc.PreconditionFailure whose violation type is the error domain,
// subject the key version (or connection), and a description that says which
// stage failed and what a person can do about it. The EKM's own error message
// is quoted (it is written for the caller, and carries no secrets).
import { Code, KmsError } from '../../errors';
import { EKM_ERROR_DOMAINS, type EkmErrorDomain } from '../../protocol/ekm';
import type { AttemptFailure } from './failure';
import type { EkmHttpResponse, ExchangeFailure } from './transport';
import { EKM_PERMISSION_DENIED } from './types';

export type EkmClientErrorDomain = EkmErrorDomain;
export const EKM_CLIENT_ERROR_DOMAINS: readonly EkmClientErrorDomain[] = EKM_ERROR_DOMAINS;

export const PRECONDITION_FAILURE = 'google.rpc.PreconditionFailure';

/** The facts a description names. */
export interface FailureContext {
  /** The EKM operation (wrap, …, info). */
  operation: string;
  /** The key or crypto space path (or /info), or the whole key URI. */
  path: string;
  /** The KMS service identity the token named. */
  email: string;
  issuer: string;
  audience: string;
  /** The name the certificate must match. */
  hostname: string;
  deadlineMs: number;
  vpc: boolean;
  reason: string;
}

/** violation[0]'s type: the state of the Cloud EKM key version (or of the EkmConnection) the call was for. */
export const KEY_STATE_VIOLATION = 'EXTERNAL_KEY_VERSION_STATE';
export const CONNECTION_STATE_VIOLATION = 'EKM_CONNECTION_STATE';

function stateViolation(subject: string, state: string | undefined): { type: string; subject: string; description: string } {
  if (subject.includes('/cryptoKeyVersions/')) {
    return {
      type: KEY_STATE_VIOLATION,
      subject,
      description: `The Cloud EKM key version is ${state ?? 'ENABLED'}; its key material is only in the external key manager, which did not complete the request.`,
    };
  }
  return { type: CONNECTION_STATE_VIOLATION, subject, description: 'The EkmConnection could not complete the request with its external key manager.' };
}

/**
 * Every EKM failure, as Cloud KMS reports it: FAILED_PRECONDITION (an unwrap
 * the EKM refused as undecryptable: INVALID_ARGUMENT, domain
 * DECRYPTION_FAILED) with a PreconditionFailure of two violations, the first
 * about the key version's state, the second about the attempt to reach the
 * EKM, whose type is the error domain. The domain is also a field, so that
 * the KMS acts on it without reading details.
 */
export class EkmError extends KmsError {
  constructor(readonly domain: EkmClientErrorDomain, readonly subject: string, readonly description: string, state?: string) {
    super(domain === 'DECRYPTION_FAILED' ? Code.INVALID_ARGUMENT : Code.FAILED_PRECONDITION, description, [
      {
        type: PRECONDITION_FAILURE,
        value: { violations: [stateViolation(subject, state), { type: domain, subject, description }] },
      },
    ]);
    this.name = 'EkmError';
  }

  /** The same failure, its first violation naming the version's new state (DISABLED after the EKM denied access). */
  withState(state: string): EkmError {
    return new EkmError(this.domain, this.subject, this.description, state);
  }
}

export function ekmError(domain: EkmClientErrorDomain, subject: string, description: string): EkmError {
  return new EkmError(domain, subject, description);
}

/** The error domain of an EKM failure, or undefined for any other error. */
export function ekmErrorDomain(err: unknown): string | undefined {
  return err instanceof EkmError ? err.domain : undefined;
}

/** True when the EKM denied the KMS access to the key: the KMS disables that key version. */
export function isEkmPermissionDenied(err: unknown): boolean {
  return ekmErrorDomain(err) === EKM_PERMISSION_DENIED;
}

/** Text from the EKM, made safe to quote: no control characters, bounded. */
function quote(text: string): string {
  const clean = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return JSON.stringify(clean.length > 300 ? `${clean.slice(0, 300)}…` : clean);
}

const CONNECTION_REASONS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EADDRNOTAVAIL: 'address not available',
  EKM_CONNECT_TIMEOUT: 'no TLS connection within the connect timeout',
};

// What a resolver's error code means, in our words (getaddrinfo's codes mean little to a KMS caller).
const DNS_REASONS: Readonly<Record<string, string>> = {
  ENOTFOUND: 'no such host',
  EAI_NONAME: 'no such host',
  ENODATA: 'the name has no address',
  EAI_NODATA: 'the name has no address',
  EAI_AGAIN: 'the resolver did not answer in time; it may work on retry',
  ETIMEOUT: 'the resolver did not answer in time; it may work on retry',
  ESERVFAIL: 'the DNS server failed',
  EREFUSED: 'the DNS server refused the query',
  ECONNREFUSED: 'the DNS server could not be reached',
};

/** A few words for one failed attempt, for the list of endpoints tried. */
function shortReason(f: AttemptFailure): string {
  if (f.kind === 'tls') return f.extra.tls === 'pin' ? 'certificate not pinned' : f.extra.tls === 'hostname' ? 'certificate not for the hostname' : 'TLS handshake failed';
  if (f.kind === 'timeout') return 'deadline passed';
  if (f.kind === 'not-allowed') return 'address not allowed';
  if (f.kind === 'cancelled') return 'cancelled';
  return CONNECTION_REASONS[f.code] ?? 'connection failed';
}

// What went wrong in a TLS handshake, in our words: OpenSSL's own error text
// (library, function, reason codes) means nothing to a KMS caller.
const HANDSHAKE_REASONS: ReadonlyArray<readonly [RegExp, string]> = [
  [/WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|HTTP_REQUEST|RECORD_LAYER/, 'the EKM did not answer with TLS on that port'],
  [/CERTIFICATE_REQUIRED|ALERT_BAD_CERTIFICATE|ALERT_UNKNOWN_CA|ALERT_CERTIFICATE_UNKNOWN|ALERT_ACCESS_DENIED/, 'the EKM refused the client certificate the KMS showed, or wanted one (mTLS); set --ekm-client-cert and --ekm-client-key on the KMS'],
  [/HANDSHAKE_FAILURE|NO_SHARED_CIPHER|NO_CIPHERS|UNSUPPORTED_PROTOCOL|NO_PROTOCOLS|PROTOCOL_VERSION|VERSION_TOO_LOW/, 'the EKM and the KMS share no TLS version or cipher suite (the KMS offers TLS 1.3, and TLS 1.2 with ECDHE and AES-GCM or ChaCha20-Poly1305)'],
];
const CHAIN_REASONS: Readonly<Record<string, string>> = {
  CERT_HAS_EXPIRED: 'it has expired',
  CERT_NOT_YET_VALID: 'it is not valid yet',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'it is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'its chain ends in a self-signed certificate the KMS does not trust',
  UNABLE_TO_GET_ISSUER_CERT: 'its issuer is not a CA the KMS trusts',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'its issuer is not a CA the KMS trusts',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its issuer is not a CA the KMS trusts',
  CERT_REVOKED: 'it has been revoked',
};

function tlsDescription(f: AttemptFailure, ctx: FailureContext): string {
  switch (f.extra.tls) {
    case 'pin':
      return `TLS pinning failed: the certificate ${f.endpoint} presented (SHA-256 ${f.extra.fingerprint ?? 'none'}) is not one of the EkmConnection's pinned server_certificates. Pin the EKM's current certificate on the EkmConnection, or make the EKM serve a pinned one.`;
    case 'hostname':
      return `Hostname check failed: the certificate ${f.endpoint} presented does not name ${ctx.hostname}. ${ctx.vpc ? 'Set the service resolver\'s hostname to a name in the certificate' : 'Use a key URI whose host is named in the certificate'}, or reissue the certificate for ${ctx.hostname}.`;
    case 'chain':
      return `TLS verification failed: the certificate ${f.endpoint} presented is not trusted (${CHAIN_REASONS[f.code] ?? 'it does not verify'}). It must chain to a CA the KMS trusts: a public CA or one in the KMS's extra CA bundle.`;
    default: {
      const reason = HANDSHAKE_REASONS.find(([pattern]) => pattern.test(f.code))?.[1] ?? 'the handshake did not complete';
      return `TLS handshake with ${f.endpoint} failed: ${reason}. Check that the EKM serves HTTPS (TLS 1.2 or newer) on that port.`;
    }
  }
}

function describeAttempt(f: AttemptFailure, ctx: FailureContext): { domain: EkmClientErrorDomain; text: string } {
  switch (f.kind) {
    case 'timeout':
      return { domain: 'TIMEOUT', text: `Timeout: the EKM at ${f.endpoint} did not answer ${ctx.operation} within the ${ctx.deadlineMs} ms deadline. Check the EKM's health and the network path to it, or raise the KMS's EKM deadline.` };
    case 'dns':
      return { domain: 'DNS', text: `DNS resolution of ${f.extra.host ?? ctx.hostname} failed: ${DNS_REASONS[f.code] ?? 'the name could not be resolved'}. Check the key URI's host name and the KMS's DNS configuration.` };
    case 'tls':
      return { domain: 'TLS_CERT', text: tlsDescription(f, ctx) };
    case 'protocol':
      // Our own HTTP/1.1 reader's words (http1.ts): never a library's.
      return { domain: 'UNEXPECTED_RESPONSE', text: `The EKM at ${f.endpoint} sent an invalid answer to ${ctx.operation}: ${f.message}.` };
    case 'cancelled':
      return { domain: 'REQUEST_CANCELLED', text: `Request cancelled: the KMS ended ${ctx.operation} on ${ctx.path} to the EKM at ${f.endpoint} as it shut down. Retry the call, on another KMS replica if there is one.` };
    case 'not-allowed':
      return {
        domain: 'EXTERNAL_KEY_HOST_NOT_WHITELISTED',
        text: `Network policy: the KMS may not connect to ${f.extra.address ?? f.endpoint}${f.extra.host && f.extra.host !== f.extra.address ? ` (${f.extra.host})` : ''}, which is outside the networks its --ekm-allowed-network allows; nothing was sent. Run the EKM in an allowed network, or ask the KMS's operator to allow its address.`,
      };
    default:
      return { domain: 'UNREACHABLE_NETWORK', text: `TCP connection to ${f.endpoint} failed: ${CONNECTION_REASONS[f.code] ?? 'the connection could not be made'}. Check that the EKM is running and reachable from the KMS at that address and port.` };
  }
}

/** The error for a request that got no HTTP answer: the last attempt's domain, every endpoint's fate listed. */
export function exchangeError(failure: ExchangeFailure, subject: string, ctx: FailureContext): KmsError {
  const { domain, text } = describeAttempt(failure.last, ctx);
  const byEndpoint = new Map<string, AttemptFailure>();
  for (const f of failure.failures) byEndpoint.set(f.endpoint, f);
  const attempts = failure.failures.length;
  let summary = '';
  if (byEndpoint.size > 1) {
    summary = ` Endpoints tried (${attempts} attempts): ${[...byEndpoint.values()].map((f) => `${f.endpoint} ${shortReason(f)}`).join('; ')}.`;
  } else if (attempts > 1) {
    summary = ` (${attempts} attempts)`;
  }
  return ekmError(domain, subject, `${text}${summary}`);
}

export interface EkmErrorAnswer {
  /** The canonical code's name (google.rpc.Code), when the body gave one. */
  status?: string;
  message: string;
}

/** A canonical code (number or name) as its name, or undefined. */
function codeName(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isInteger(value) && value > 0 && value <= 16) return Code[value];
  return typeof value === 'string' && /^[A-Z_]{2,40}$/.test(value) ? value : undefined;
}

/**
 * The EKM's error body, tolerating anything: a bare google.rpc.Status
 * ({"code": 3, "message": ..., "details": [...]}, as partners answer) or
 * Google's envelope ({"error": {"code": 400, "status": "INVALID_ARGUMENT",
 * "message": ...}}). Anything else (a proxy's page, say) is quoted nowhere.
 */
export function parseErrorBody(body: Buffer): EkmErrorAnswer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return { message: '' };
  }
  if (typeof parsed !== 'object' || parsed === null) return { message: '' };
  const envelope = (parsed as { error?: unknown }).error;
  if (typeof envelope === 'object' && envelope !== null) {
    const e = envelope as { status?: unknown; message?: unknown };
    return { status: codeName(e.status), message: typeof e.message === 'string' ? e.message : '' };
  }
  const status = parsed as { code?: unknown; message?: unknown };
  return { status: codeName(status.code), message: typeof status.message === 'string' ? status.message : '' };
}

/**
 * The domain of an HTTP answer that is not 2xx (docs/ekm-protocol.md has the
 * table; where Cloud KMS's error reference is silent, the choice is ours).
 */
export function httpErrorDomain(httpStatus: number, ekmStatus: string | undefined, operation = ''): EkmClientErrorDomain {
  switch (httpStatus) {
    case 403:
      return 'EXTERNAL_PERMISSION_DENIED';
    case 404:
      return 'EXTERNAL_NOT_FOUND';
    case 429:
      return 'EXTERNAL_RESOURCE_EXHAUSTED';
    case 501:
      return 'EXTERNAL_NOT_IMPLEMENTED';
    case 503:
      return 'OVERLOADED_EKM';
    case 400:
      // An unwrap the EKM refused as invalid: the blob or the AAD is not this key's.
      if (operation === 'unwrap' && (ekmStatus === undefined || ekmStatus === 'INVALID_ARGUMENT')) return 'DECRYPTION_FAILED';
      return 'UNEXPECTED_ERROR';
    default:
      if (httpStatus >= 500) return 'EXTERNAL_SERVER_ERROR';
      // 401 (the EKM did not take the KMS's token: trust configuration on either side), 409, 413, other 4xx.
      if (httpStatus >= 400) return 'UNEXPECTED_ERROR';
      // 1xx, 3xx: not an answer the protocol has.
      return 'UNEXPECTED_RESPONSE';
  }
}

function httpDescription(domain: EkmClientErrorDomain, res: EkmHttpResponse, answer: EkmErrorAnswer, ctx: FailureContext): string {
  const said = `HTTP ${res.status}${answer.status ? ` ${answer.status}` : ''}${answer.message ? `: ${quote(answer.message)}` : ''}`;
  const at = `the EKM at ${res.endpoint}`;
  switch (domain) {
    case 'EXTERNAL_PERMISSION_DENIED':
      return `Permission was denied when accessing ${ctx.path}: ${at} refused ${ctx.operation} to ${ctx.email} (${said}). Allow this identity, and the access reason ${ctx.reason}, in the EKM's policy for the key.`;
    case 'EXTERNAL_NOT_FOUND':
      return `${ctx.path} was not found: ${at} has no such key or crypto space (${said}). Check the key version's external key path, or the EkmConnection's crypto_space_path.`;
    case 'EXTERNAL_RESOURCE_EXHAUSTED':
      return `The external key manager is throttling requests: ${at} answered HTTP 429 to ${ctx.operation} on ${ctx.path} ${res.attempts} time(s). Retry later, or raise the EKM's rate limit for the KMS.`;
    case 'EXTERNAL_NOT_IMPLEMENTED':
      return `The external key manager does not implement ${ctx.operation} for ${ctx.path}: ${at} answered ${said}. Check that the external key's kind matches the key version's algorithm.`;
    case 'OVERLOADED_EKM':
      return `The external key manager is overloaded or its key backend is down: ${at} answered ${said} to ${ctx.operation} on ${ctx.path}. Retry later, and check the EKM's health.`;
    case 'EXTERNAL_SERVER_ERROR':
      return `The external key manager failed ${ctx.operation} on ${ctx.path}: ${at} answered ${said}. Check the EKM's health and its logs.`;
    case 'DECRYPTION_FAILED':
      return `Decryption failed: ${at} could not unwrap with ${ctx.path} (${said}). The ciphertext or the additional authenticated data do not belong to this key.`;
    case 'UNEXPECTED_RESPONSE':
      return `The external key manager gave an unexpected response to ${ctx.operation} on ${ctx.path}: ${at} answered ${said}. Check that it implements the EKM protocol (v0).`;
    default:
      return res.status === 401
        ? `Authentication failed: ${at} refused the KMS's token for ${ctx.email} on ${ctx.path} (${said}). Make the EKM trust the issuer ${ctx.issuer} with the KMS's JWKS, and accept the audience ${ctx.audience}.`
        : `The external key manager refused ${ctx.operation} on ${ctx.path}: ${at} answered ${said}.${answer.status === 'FAILED_PRECONDITION' ? ' Enable the key at the EKM; a destroyed external key can\'t be used again.' : ''}`;
  }
}

/** The error for an HTTP answer that is not 2xx. */
export function httpError(res: EkmHttpResponse, subject: string, ctx: FailureContext): KmsError {
  const answer = parseErrorBody(res.body);
  const domain = httpErrorDomain(res.status, answer.status, ctx.operation);
  return ekmError(domain, subject, httpDescription(domain, res, answer, ctx));
}

/** A 2xx answer that is not the protocol's answer for the operation. */
export function malformedAnswer(res: EkmHttpResponse, subject: string, ctx: FailureContext, what: string): KmsError {
  return ekmError('UNEXPECTED_RESPONSE', subject, `The EKM at ${res.endpoint} answered ${ctx.operation} on ${ctx.path} with ${what}. Check that it implements the EKM protocol (v0).`);
}
