// The conformance suite's shared state and assertions: a session holds the
// target, an HTTPS client, the token signer and the secrets sent so far
// (which the audit checks look for).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { operationPath, type EkmOperation } from '../../../src/protocol/ekm';
import { EkmHttpClient, type EkmResponse } from './client';
import type { ConformanceTarget } from './target';
import { TokenSigner, type TokenClaims } from './tokens';

/** The state the suite's tests share; `secrets` collects what the audit log must never contain. */
export interface Session {
  target: ConformanceTarget;
  client: EkmHttpClient;
  signer: TokenSigner;
  secrets: Set<string>;
  token(claims?: Partial<TokenClaims>, signer?: TokenSigner): string;
  call(path: string, op: EkmOperation, body?: Record<string, unknown>, token?: string | null): Promise<EkmResponse>;
  context(reason?: string | null): Record<string, unknown>;
}

export function expectOk(res: EkmResponse): void {
  assert.equal(res.status, 200, `expected 200, got ${res.status}: ${res.text}`);
}

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

const CODE_NAMES = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];

/** Asserts the HTTP status and the canonical code of the error body; never the message. */
export function expectError(res: EkmResponse, http: number, status?: string): void {
  assert.equal(res.status, http, `expected ${http}, got ${res.status}: ${res.text}`);
  if (status !== undefined) assert.equal(statusName(res.body), status, res.text);
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
    context(reason = target.allowedReason) {
      const version = 'projects/conformance/locations/us-east1/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1';
      return {
        fullResourceName: `//cloudkms.googleapis.com/${version}`,
        relativeResourceName: version,
        ...(reason === null ? {} : { accessReasonContext: { reason } }),
        isKeyHealthCheck: false,
      };
    },
    call(path, op, body = {}, token) {
      const auth = token === null ? undefined : (token ?? session.token());
      return client.request('POST', operationPath(path.replace(/^\//, ''), op), {
        token: auth,
        body: { additionalContext: session.context(), ...body },
      });
    },
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

export async function wrapOk(s: Session, key: string, plaintext: string, aad?: string): Promise<string> {
  const res = await s.call(key, 'wrap', { plaintext, ...(aad === undefined ? {} : { additionalAuthenticatedData: aad }) });
  expectOk(res);
  assert.equal(typeof res.body.wrappedBlob, 'string');
  s.secrets.add(res.body.wrappedBlob as string);
  return res.body.wrappedBlob as string;
}

