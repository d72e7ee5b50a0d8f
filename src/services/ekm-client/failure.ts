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
    const tls: TlsProblem = code === 'ERR_TLS_CERT_ALTNAME_INVALID' ? 'hostname' : CHAIN_CODE.test(code) ? 'chain' : 'handshake';
    return new AttemptFailure('tls', endpoint, code, message, { tls });
  }
  // The peer speaks TLS but not HTTP: repeating the request will not help.
  if (code.startsWith('HPE_')) return new AttemptFailure('protocol', endpoint, code, 'the answer is not HTTP/1.1');
  // A peer that drops the connection mid-handshake is a connection failure, not a TLS one.
  if (tlsStarted && !/^(ECONNRESET|EPIPE|ETIMEDOUT)$/.test(code)) {
    return new AttemptFailure('tls', endpoint, code, message, { tls: 'handshake' });
  }
  return new AttemptFailure('connection', endpoint, code, message);
}
