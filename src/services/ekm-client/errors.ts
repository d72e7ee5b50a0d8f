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

/**
 * A key disabled or destroyed at the EKM (400 FAILED_PRECONDITION), or a
 * conflicting createKey (409); one of the shared EKM_ERROR_DOMAINS.
 */
export const EXTERNAL_FAILED_PRECONDITION = 'EXTERNAL_FAILED_PRECONDITION';
export type EkmClientErrorDomain = EkmErrorDomain;
export const EKM_CLIENT_ERROR_DOMAINS: readonly EkmClientErrorDomain[] = EKM_ERROR_DOMAINS;

export const PRECONDITION_FAILURE = 'google.rpc.PreconditionFailure';

/** The facts a description names. */
export interface FailureContext {
  /** The EKM operation (wrap, …, info). */
  operation: string;
  /** The key or crypto space path (or /info). */
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

/**
 * Every EKM failure: FAILED_PRECONDITION whose PreconditionFailure names the
 * error domain, subject and description (what a caller sees), with the
 * domain also a field, so that the KMS acts on it without reading details.
 */
export class EkmError extends KmsError {
  constructor(readonly domain: EkmClientErrorDomain, subject: string, description: string) {
    super(Code.FAILED_PRECONDITION, description, [
      { type: PRECONDITION_FAILURE, value: { violations: [{ type: domain, subject, description }] } },
    ]);
    this.name = 'EkmError';
  }
}

export function ekmError(domain: EkmClientErrorDomain, subject: string, description: string): EkmError {
  return new EkmError(domain, subject, description);
}

/** The EXTERNAL_* domain of an EKM failure, or undefined for any other error. */
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
      return { domain: 'EXTERNAL_TIMEOUT', text: `Timeout: the EKM at ${f.endpoint} did not answer ${ctx.operation} within the ${ctx.deadlineMs} ms deadline. Check the EKM's health and the network path to it, or raise the KMS's EKM deadline.` };
    case 'dns':
      return { domain: 'EXTERNAL_DNS_ERROR', text: `DNS resolution of ${f.extra.host ?? ctx.hostname} failed: ${DNS_REASONS[f.code] ?? 'the name could not be resolved'}. Check the key URI's host name and the KMS's DNS configuration.` };
    case 'tls':
      return { domain: 'EXTERNAL_TLS_ERROR', text: tlsDescription(f, ctx) };
    case 'protocol':
      // Our own HTTP/1.1 reader's words (http1.ts): never a library's.
      return { domain: 'EXTERNAL_UNAVAILABLE', text: `The EKM at ${f.endpoint} sent an invalid answer to ${ctx.operation}: ${f.message}.` };
    case 'not-allowed':
      return {
        domain: 'EXTERNAL_KEY_HOST_NOT_WHITELISTED',
        text: `Network policy: the KMS may not connect to ${f.extra.address ?? f.endpoint}${f.extra.host && f.extra.host !== f.extra.address ? ` (${f.extra.host})` : ''}, which is outside the networks its --ekm-allowed-network allows; nothing was sent. Run the EKM in an allowed network, or ask the KMS's operator to allow its address.`,
      };
    default:
      return { domain: 'EXTERNAL_UNAVAILABLE', text: `TCP connection to ${f.endpoint} failed: ${CONNECTION_REASONS[f.code] ?? 'the connection could not be made'}. Check that the EKM is running and reachable from the KMS at that address and port.` };
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
  status?: string;
  message: string;
}

/** The EKM's error body ({"error": {code, status, message}}), tolerating anything else. */
export function parseErrorBody(body: Buffer): EkmErrorAnswer {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { error?: { status?: unknown; message?: unknown } };
    const e = parsed.error;
    if (e && typeof e === 'object') {
      return { status: typeof e.status === 'string' ? e.status : undefined, message: typeof e.message === 'string' ? e.message : '' };
    }
  } catch {
    // Not JSON: a proxy's page, say. Quote nothing of it.
  }
  return { message: '' };
}

export function httpErrorDomain(httpStatus: number, ekmStatus: string | undefined): EkmClientErrorDomain {
  if (httpStatus === 401) return 'EXTERNAL_UNAUTHENTICATED';
  if (httpStatus === 403) return 'EXTERNAL_PERMISSION_DENIED';
  if (httpStatus === 404) return 'EXTERNAL_NOT_FOUND';
  if (httpStatus === 429 || (httpStatus >= 500 && httpStatus !== 501) || httpStatus < 400) return 'EXTERNAL_UNAVAILABLE';
  if (ekmStatus === 'FAILED_PRECONDITION' || ekmStatus === 'ALREADY_EXISTS' || ekmStatus === 'ABORTED' || httpStatus === 409) {
    return EXTERNAL_FAILED_PRECONDITION;
  }
  return 'EXTERNAL_INVALID_ARGUMENT';
}

function httpDescription(domain: EkmClientErrorDomain, res: EkmHttpResponse, answer: EkmErrorAnswer, ctx: FailureContext): string {
  const said = `HTTP ${res.status}${answer.status ? ` ${answer.status}` : ''}${answer.message ? `: ${quote(answer.message)}` : ''}`;
  const at = `the EKM at ${res.endpoint}`;
  switch (domain) {
    case 'EXTERNAL_UNAUTHENTICATED':
      return `Authentication failed: ${at} refused the KMS's token for ${ctx.email} (${said}). Make the EKM trust the issuer ${ctx.issuer} with the KMS's JWKS, and accept the audience ${ctx.audience}.`;
    case 'EXTERNAL_PERMISSION_DENIED':
      return `Permission denied: ${at} refused ${ctx.operation} on ${ctx.path} to ${ctx.email} (${said}). Allow this identity, and the access reason ${ctx.reason}, in the EKM's policy for the key.`;
    case 'EXTERNAL_NOT_FOUND':
      return `Not found: ${at} has no ${ctx.path} (${said}). Check the key version's external key path, or the EkmConnection's crypto_space_path.`;
    case EXTERNAL_FAILED_PRECONDITION:
      return `The external key is not usable: ${at} refused ${ctx.operation} on ${ctx.path} (${said}). Enable the key at the EKM; a destroyed external key can't be used again.`;
    case 'EXTERNAL_INVALID_ARGUMENT':
      return res.status === 501
        ? `Not supported: ${at} does not support ${ctx.operation} for ${ctx.path} (${said}). Check that the external key's kind matches the key version's algorithm.`
        : `Invalid argument: ${at} refused the ${ctx.operation} request (${said}).${ctx.operation === 'unwrap' ? ' The ciphertext or additional authenticated data do not belong to this key.' : ''}`;
    default:
      return res.status === 429
        ? `Rate limited: ${at} answered HTTP 429 to ${ctx.operation} ${res.attempts} time(s). Retry later, or raise the EKM's rate limit for the KMS.`
        : `The EKM is unavailable: ${at} failed ${ctx.operation} (${said}). Check the EKM's health and its key backend.`;
  }
}

/** The error for an HTTP answer that is not 2xx. */
export function httpError(res: EkmHttpResponse, subject: string, ctx: FailureContext): KmsError {
  const answer = parseErrorBody(res.body);
  const domain = httpErrorDomain(res.status, answer.status);
  return ekmError(domain, subject, httpDescription(domain, res, answer, ctx));
}

/** A 2xx answer that is not the protocol's answer for the operation. */
export function malformedAnswer(res: EkmHttpResponse, subject: string, ctx: FailureContext, what: string): KmsError {
  return ekmError('EXTERNAL_UNAVAILABLE', subject, `The EKM at ${res.endpoint} answered ${ctx.operation} with ${what}. Check that it implements the EKM protocol (v0).`);
}
