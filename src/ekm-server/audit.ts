// The EKM's audit log: one JSON line per request (healthz excepted), written
// before the answer goes out. If the line cannot be written the request fails
// (the caller gets INTERNAL), so nothing is served that is not on record.
//
// Only metadata goes in: who, which key, which operation and reason, what was
// decided, how it ended and how long it took. Never plaintext, AAD, blobs,
// signatures, key material or the token: the record type has no field that
// could hold them.
import { closeSync, openSync, writeSync } from 'node:fs';

export type Decision = 'ALLOWED' | 'DENIED' | 'NOT_EVALUATED';

/** What a request fills in as it goes; the handler adds the rest. */
export interface AuditFields {
  operation: string;
  keyPath: string | null;
  caller: string | null;
  reason: string | null;
  decision: Decision;
  /** The KMS resource (additionalContext.relativeResourceName), when sent. */
  kmsResource?: string;
  healthCheck?: boolean;
  /** For createKey: the key made or found. */
  createdKeyPath?: string;
}

/** How a request ended: what the handler adds to the AuditFields. */
export interface AuditOutcome {
  time: string;
  requestId: string;
  status: string;
  httpStatus: number;
  latencyMs: number;
  remoteAddress?: string;
}

export interface AuditSink {
  /** Appends one line; throws if it could not. */
  write(line: string): void;
  close(): void;
}

// Printable ASCII other than `"` and `\\`: such a string is its own JSON text
// between quotes. Key paths, emails, reasons and resource names are; anything
// else goes through JSON.stringify. The test is JIT-compiled, while
// JSON.stringify of a short string is a runtime call costing ~0.4 µs.
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
const text = (value: string): string => (PLAIN.test(value) ? `"${value}"` : JSON.stringify(value));
const textOrNull = (value: string | null): string => (value === null ? 'null' : text(value));

/**
 * The record as one JSON line, fields in a fixed order. Written out field by
 * field (every string still through JSON.stringify): it runs once per request,
 * and a generic stringify of the record costs twice as much.
 */
export function auditLine(r: AuditFields, o: AuditOutcome): string {
  // time (ISO 8601), requestId (a UUID), decision and status (code names) never need escaping.
  let line = `{"time":"${o.time}","requestId":"${o.requestId}","operation":${text(r.operation)}`
    + `,"keyPath":${textOrNull(r.keyPath)},"caller":${textOrNull(r.caller)},"reason":${textOrNull(r.reason)}`
    + `,"decision":"${r.decision}"`;
  if (r.kmsResource !== undefined) line += `,"kmsResource":${text(r.kmsResource)}`;
  if (r.healthCheck !== undefined) line += `,"healthCheck":${r.healthCheck}`;
  if (r.createdKeyPath !== undefined) line += `,"createdKeyPath":${text(r.createdKeyPath)}`;
  line += `,"status":"${o.status}","httpStatus":${o.httpStatus},"latencyMs":${Number.isFinite(o.latencyMs) ? String(o.latencyMs) : 'null'}`;
  if (o.remoteAddress !== undefined) line += `,"remoteAddress":${text(o.remoteAddress)}`;
  return `${line}}\n`;
}

/**
 * Appends to a file opened once in append mode (0600). Each line is one
 * write(2) to an O_APPEND descriptor, so concurrent lines never interleave.
 * No fsync per line: a line is in the kernel before the answer leaves.
 */
export class FileAuditSink implements AuditSink {
  #fd: number | undefined;

  constructor(readonly path: string) {
    this.#fd = openSync(path, 'a', 0o600);
  }

  write(line: string): void {
    if (this.#fd === undefined) throw new Error('audit log is closed');
    const bytes = Buffer.from(line, 'utf8');
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(this.#fd, bytes, offset);
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}
