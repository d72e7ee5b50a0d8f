// The conformance suite's shared state and assertions: a session holds the
// target, an HTTPS client, the token signer and the secrets sent so far
// (which the audit checks look for and the report never shows). Assertion
// messages describe an answer by its status, code and message, never by its
// body, so a blob or plaintext an EKM sends back cannot reach the report.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { operationPath, type EkmOperation } from '../protocol/ekm';
import { EkmHttpClient, type EkmResponse } from './client';
import type { ConformanceTarget } from './target';
import { TokenSigner, type TokenClaims } from './tokens';

/** The state the suite's cases share; `secrets` collects what the audit log and the report must never contain. */
export interface Session {
  target: ConformanceTarget;
  client: EkmHttpClient;
  signer: TokenSigner;
  secrets: Set<string>;
  token(claims?: Partial<TokenClaims>, signer?: TokenSigner): string;
  /** POSTs body with the session's additionalContext added (body fields win). */
  call(path: string, op: EkmOperation, body?: Record<string, unknown>, token?: string | null): Promise<EkmResponse>;
  /** POSTs body exactly as given. */
  post(path: string, op: EkmOperation, body: unknown, token?: string | null): Promise<EkmResponse>;
  context(reason?: string | null): Record<string, unknown>;
  close(): void;
}

const CODE_NAMES = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];

/**
 * The canonical code's name of an error body: a bare google.rpc.Status
 * ({"code": 3, ...}, what the protocol answers), or Google's envelope
 * ({"error": {"status": ...}}), which a partner EKM may still send.
 */
export function statusName(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as { code?: unknown; error?: { status?: unknown } };
  if (typeof b.code === 'number') return CODE_NAMES[b.code];
  return typeof b.error?.status === 'string' ? b.error.status : undefined;
}

const clip = (text: unknown, max = 160): string => {
  const s = String(text).replace(/\s+/g, ' ');
  return s.length > max ? `${s.slice(0, max)}…` : s;
};

/** An answer in a few words: HTTP status, canonical code and message, or which fields a success carried. */
export function describeAnswer(res: EkmResponse): string {
  const b = res.body as Record<string, unknown> | undefined;
  let what: string;
  if (b && typeof b === 'object' && !Array.isArray(b)) {
    const error = (typeof b.error === 'object' && b.error !== null ? b.error : b) as Record<string, unknown>;
    const name = statusName(b);
    what = name !== undefined || error.message !== undefined
      ? `${name ?? 'no code'}: ${clip(error.message ?? '(no message)')}`
      : `a body with ${Object.keys(b).join(', ') || 'no fields'}`;
  } else {
    what = res.text ? `a ${Buffer.byteLength(res.text)}-byte body that is not a JSON object` : 'an empty body';
  }
  return `HTTP ${res.status}, ${what}`;
}

/** Asserts a 200; `what` (e.g. "wrap") prefixes the message of a step that only prepares the check. */
export function expectOk(res: EkmResponse, what?: string): void {
  assert.ok(res.status === 200, `${what ? `${what}: ` : ''}expected 200, got ${describeAnswer(res)}`);
}

/** Asserts the HTTP status and the canonical code of the error body; never the message. */
export function expectError(res: EkmResponse, http: number, status?: string): void {
  const want = status === undefined ? `${http}` : `${http} ${status}`;
  assert.ok(res.status === http, `expected ${want}, got ${describeAnswer(res)}`);
  if (status !== undefined) assert.ok(statusName(res.body) === status, `expected ${want}, got ${describeAnswer(res)}`);
}

/** The fields named by the google.rpc.BadRequest details of a bare google.rpc.Status body. */
export function violatedFields(body: unknown): string[] {
  const details = (body as { details?: unknown } | undefined)?.details;
  if (!Array.isArray(details)) return [];
  return details
    .filter((d) => d?.['@type'] === 'type.googleapis.com/google.rpc.BadRequest' && Array.isArray(d.fieldViolations))
    .flatMap((d) => (d.fieldViolations as Array<{ field?: unknown }>).map((v) => String(v?.field)));
}

/** Asserts a bare google.rpc.Status body (numeric code, string message) with a BadRequest violation on field. */
export function expectFieldViolation(res: EkmResponse, field: string): void {
  const b = res.body as { code?: unknown; message?: unknown } | undefined;
  assert.ok(b && typeof b.code === 'number' && typeof b.message === 'string',
    `expected a bare google.rpc.Status body ({"code": <number>, "message": ...}), got ${describeAnswer(res)}`);
  const fields = violatedFields(b);
  assert.ok(fields.includes(field),
    `expected a google.rpc.BadRequest field violation on ${field}, got ${fields.length ? fields.join(', ') : 'none'}`);
}

/** A reason context as the KMS sends it; reason null leaves accessReasonContext out. */
function requestContext(reason: string | null): Record<string, unknown> {
  const version = 'projects/conformance/locations/us-east1/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1';
  return {
    fullResourceName: `//cloudkms.googleapis.com/${version}`,
    relativeResourceName: version,
    ...(reason === null ? {} : { accessReasonContext: { reason } }),
    isKeyHealthCheck: false,
  };
}

export function openSession(target: ConformanceTarget): Session {
  const client = new EkmHttpClient(target.url, target.tls);
  const signer = new TokenSigner(target.signer);
  const secrets = new Set<string>();
  const session: Session = {
    target, client, signer, secrets,
    token(claims = {}, by = signer) {
      const t = by.token({ email: target.callerEmail, audience: target.audience, ...claims });
      secrets.add(t);
      return t;
    },
    context: (reason = target.allowedReason) => requestContext(reason),
    post(path, op, body, token) {
      const auth = token === null ? undefined : (token ?? session.token());
      return client.request('POST', operationPath(path.replace(/^\//, ''), op), { token: auth, body });
    },
    call(path, op, body = {}, token) {
      return session.post(path, op, { additionalContext: session.context(), ...body }, token);
    },
    close: () => client.close(),
  };
  return session;
}

/** A plaintext with a marker the audit check looks for, as base64. */
export function secretPlaintext(s: Session, bytes?: Buffer): string {
  const plaintext = bytes ?? Buffer.from(`conformance-secret-${randomBytes(12).toString('hex')}`, 'utf8');
  const b64 = plaintext.toString('base64');
  s.secrets.add(b64);
  if (!bytes) s.secrets.add(plaintext.toString('utf8'));
  return b64;
}

/** Records a blob the EKM answered as a secret and returns it. */
export function blobOf(s: Session, res: EkmResponse): string {
  expectOk(res, 'wrap');
  assert.ok(typeof res.body?.wrappedBlob === 'string' && res.body.wrappedBlob.length > 0, 'the wrap answer has no wrappedBlob');
  s.secrets.add(res.body.wrappedBlob as string);
  return res.body.wrappedBlob as string;
}

export async function wrapOk(s: Session, key: string, plaintext: string, aad?: string): Promise<string> {
  return blobOf(s, await s.call(key, 'wrap', { plaintext, ...(aad === undefined ? {} : { additionalAuthenticatedData: aad }) }));
}

/** Asserts a successful unwrap answer that gives back `plaintext`. */
export function expectPlaintext(res: EkmResponse, plaintext: string): void {
  expectOk(res, 'unwrap');
  assert.ok(typeof res.body?.plaintext === 'string', 'the unwrap answer has no plaintext');
  const got = Buffer.from(res.body.plaintext as string, 'base64');
  assert.ok(got.equals(Buffer.from(plaintext, 'base64')), `unwrap gave back other bytes (${got.length}) than were wrapped`);
}
