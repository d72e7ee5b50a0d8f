// What went wrong on one attempt to reach an EKM, before any HTTP answer: the
// transport decides from `kind` whether to fail over or retry, metrics label
// it, and errors.ts turns it into the error domain and a description.
import type { AttemptStatus } from './metrics';
import { NotAllowedError } from './network-policy';

/** not-allowed: the address is outside the KMS's --ekm-allowed-network; nothing was sent. */
export type FailureKind = 'connection' | 'timeout' | 'dns' | 'tls' | 'protocol' | 'not-allowed' | 'cancelled';
/** pin: leaf not pinned; hostname: cert not for the name; chain: not trusted by a CA; handshake: anything else in TLS. */
export type TlsProblem = 'pin' | 'hostname' | 'chain' | 'handshake';

export class AttemptFailure extends Error {
  constructor(
    readonly kind: FailureKind,
    /** The endpoint tried, "address:port". */
    readonly endpoint: string,
    /** A Node or OpenSSL error code, or one of ours (EKM_*). */
    readonly code: string,
    message: string,
    readonly extra: { tls?: TlsProblem; fingerprint?: string; host?: string; httpStatus?: number; address?: string } = {},
  ) {
    super(message);
    this.name = 'AttemptFailure';
  }

  get metricStatus(): AttemptStatus {
    switch (this.kind) {
      case 'timeout': return 'TIMEOUT';
      case 'dns': return 'DNS';
      case 'tls': return 'TLS';
      case 'not-allowed': return 'NOT_ALLOWED';
      case 'cancelled': return 'CANCELLED';
      default: return 'CONNECTION';
    }
  }
}

/** Marks errors raised by the DNS lookup, whatever their code. */
export const DNS_ERROR = Symbol('ekm-dns-error');
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EAI_NODATA', 'ENODATA', 'ESERVFAIL', 'ENONAME']);
/** OpenSSL verification codes and Node's TLS codes. */
const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|ERR_OSSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH|INVALID_CA|EPROTO$)/;
const CHAIN_CODE = /^(CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|INVALID_CA)/;

// What broke in an answer undici's parser (llhttp) refused, in our words,
// picked by its reason (undici 7 gives no code for these): its text is a library's.
const HTTP_PARSE_REASONS: ReadonlyArray<readonly [RegExp, string]> = [
  [/Expected HTTP\//, 'it does not start with an HTTP/1.1 status line'],
  [/dot|version/i, 'its status line does not say HTTP/1.0 or HTTP/1.1'],
  [/status/i, 'its status code is not three digits'],
  [/Transfer-Encoding/i, 'its Transfer-Encoding and Content-Length disagree'],
  [/Content-Length/i, 'its Content-Length is not a number'],
  [/header token/i, 'a header field name holds a character it may not'],
  [/whitespace|CR|LF/, 'a line is not framed as HTTP/1.1 requires (CRLF, no folding)'],
  [/header value/i, 'a header field value holds a control character'],
  [/chunk size/i, 'a chunk size is not hexadecimal'],
  [/chunk/i, 'a chunk is longer or shorter than its size'],
  [/overflow/i, 'its header section is too large'],
];

// undici's errors (code UND_ERR_*) as attempt failures, in our words.
const UNDICI_REASONS: Readonly<Record<string, readonly [FailureKind, string, string]>> = {
  UND_ERR_SOCKET: ['connection', 'ECONNRESET', 'the connection closed before the answer was complete'],
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: ['protocol', 'EKM_BAD_HTTP', 'the answer is not valid HTTP/1.1 (it is shorter or longer than its Content-Length)'],
  UND_ERR_HEADERS_OVERFLOW: ['protocol', 'EKM_BAD_HTTP', 'the answer is not valid HTTP/1.1 (its header section is too large)'],
  UND_ERR_INFO: ['protocol', 'EKM_BAD_HTTP', 'the answer is not one the KMS accepts (an interim or upgrade answer)'],
  UND_ERR_DESTROYED: ['cancelled', 'EKM_CLIENT_CLOSED', 'the KMS closed the request as it shut down'],
  UND_ERR_CLOSED: ['cancelled', 'EKM_CLIENT_CLOSED', 'the KMS closed the request as it shut down'],
};

const errorCode = (err: unknown): string =>
  typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : '';

/**
 * Classifies a socket-level error. `tlsStarted`: TCP was connected and the
 * TLS handshake under way, so an unknown error there is a TLS one.
 */
export function classifyError(err: unknown, endpoint: string, tlsStarted = false): AttemptFailure {
  if (err instanceof AttemptFailure) return err;
  if (err instanceof NotAllowedError) return new AttemptFailure('not-allowed', endpoint, err.code, err.message, { host: err.host, address: err.address });
  const code = errorCode(err) || 'UNKNOWN';
  const message = err instanceof Error ? err.message : String(err);
  const dnsTagged = typeof err === 'object' && err !== null && DNS_ERROR in err;
  if (dnsTagged || DNS_CODES.has(code)) {
    const host = typeof err === 'object' && err !== null && 'hostname' in err ? String(err.hostname) : undefined;
    return new AttemptFailure('dns', endpoint, code, message, { host });
  }
  if (TLS_CODE.test(code)) {
    // Node's own code for a hostname mismatch is recoded: undici treats an error with that code from a connector in its own way.
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return new AttemptFailure('tls', endpoint, 'EKM_HOSTNAME_MISMATCH', message, { tls: 'hostname' });
    return new AttemptFailure('tls', endpoint, code, message, { tls: CHAIN_CODE.test(code) ? 'chain' : 'handshake' });
  }
  // The peer speaks TLS but not HTTP (undici's parser, llhttp, names what broke): repeating the request will not help.
  if (code.startsWith('HPE_') || (err instanceof Error && err.name === 'HTTPParserError')) {
    const reason = HTTP_PARSE_REASONS.find(([pattern]) => pattern.test(message))?.[1] ?? 'it could not be parsed';
    return new AttemptFailure('protocol', endpoint, 'EKM_BAD_HTTP', `the answer is not valid HTTP/1.1 (${reason})`);
  }
  // undici asserts on answers it never expects (101 Switching Protocols to a plain request): the answer is at fault.
  if (code === 'ERR_ASSERTION') return new AttemptFailure('protocol', endpoint, 'EKM_BAD_HTTP', 'the answer is not one the KMS accepts (an upgrade it did not ask for)');
  // undici drops the connection with these words on an answer it will not read (an unasked-for 100, an upgrade, bytes before any request).
  if (code === 'UND_ERR_SOCKET' && /^bad (response|upgrade)$/.test(message)) {
    return new AttemptFailure('protocol', endpoint, 'EKM_BAD_HTTP', 'the answer is not one the KMS accepts (an interim or upgrade answer it did not ask for)');
  }
  const undici = UNDICI_REASONS[code];
  if (undici) return new AttemptFailure(undici[0], endpoint, undici[1], undici[2]);
  if (code.startsWith('UND_ERR')) return new AttemptFailure('protocol', endpoint, code, 'the answer could not be read');
  // A peer that drops the connection mid-handshake is a connection failure, not a TLS one.
  if (tlsStarted && !/^(ECONNRESET|EPIPE|ETIMEDOUT)$/.test(code)) {
    return new AttemptFailure('tls', endpoint, code, message, { tls: 'handshake' });
  }
  return new AttemptFailure('connection', endpoint, code, message);
}
