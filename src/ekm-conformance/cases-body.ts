// Request and error body cases: malformed bodies refused with a bare
// google.rpc.Status naming the field, and the lenient reading the protocol
// asks for (snake_case names at any depth, unknown fields ignored, null as
// absent; docs/ekm-protocol.md, "Bodies").
import assert from 'node:assert/strict';
import { operationPath } from '../protocol/ekm';
import { caseMaker, type ConformanceCase } from './case';
import type { EkmResponse } from './client';
import {
  blobOf, describeAnswer, expectError, expectFieldViolation, expectPlaintext, secretPlaintext, wrapOk, type Session,
} from './session';

const c = caseMaker('body');

/** The session's request context with every name in snake_case. */
function snakeContext(s: Session): Record<string, unknown> {
  const camel = s.context();
  const snake = (name: string) => name.replace(/[A-Z]/g, (ch) => `_${ch.toLowerCase()}`);
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(camel)) {
    out[snake(name)] = name === 'accessReasonContext' ? { reason: (value as { reason: unknown }).reason } : value;
  }
  return out;
}

function rawWrap(s: Session, raw: string): Promise<EkmResponse> {
  return s.client.request('POST', operationPath(s.target.keys.wrapA, 'wrap'), { token: s.token(), raw });
}

function expectBareStatus(res: EkmResponse, what: string): void {
  const b = res.body as Record<string, unknown> | undefined;
  const bare = !!b && typeof b.code === 'number' && typeof b.message === 'string' && b.error === undefined;
  assert.ok(bare, `${what}: expected a bare google.rpc.Status ({"code": <number>, "message": ...}), got ${describeAnswer(res)}`);
}

function malformedCases(): ConformanceCase[] {
  return [
    c('malformed-json', 'a body that is not JSON is INVALID_ARGUMENT', async (s) => {
      expectError(await rawWrap(s, '{"plaintext": '), 400, 'INVALID_ARGUMENT');
    }),
    c('not-an-object', 'a JSON body that is not an object is INVALID_ARGUMENT', async (s) => {
      expectError(await rawWrap(s, '["plaintext"]'), 400, 'INVALID_ARGUMENT');
    }),
    c('missing-plaintext', 'wrap without plaintext is INVALID_ARGUMENT', async (s) => {
      expectError(await s.call(s.target.keys.wrapA, 'wrap', {}), 400, 'INVALID_ARGUMENT');
    }),
    c('bad-base64', 'a plaintext that is not base64 is INVALID_ARGUMENT with a BadRequest naming plaintext', async (s) => {
      const res = await s.call(s.target.keys.wrapA, 'wrap', { plaintext: '***not base64***' });
      expectError(res, 400, 'INVALID_ARGUMENT');
      expectFieldViolation(res, 'plaintext');
    }),
    c('error-is-bare-status', 'errors (400, 401, 404) are a bare google.rpc.Status with a numeric code', async (s) => {
      expectBareStatus(await rawWrap(s, '{"plaintext": '), 'malformed body');
      expectBareStatus(await s.call(s.target.keys.wrapA, 'wrap', { plaintext: secretPlaintext(s) }, null), 'no token');
      expectBareStatus(await s.call(s.target.keys.unknown, 'wrap', { plaintext: secretPlaintext(s) }), 'unknown key');
    }),
  ];
}

function lenientCases(): ConformanceCase[] {
  return [
    c('snake-case-wrap', 'wrap reads additional_context and additional_authenticated_data (snake_case)', async (s) => {
      const plaintext = secretPlaintext(s);
      const aad = secretPlaintext(s);
      const res = await s.post(s.target.keys.wrapA, 'wrap', { additional_context: snakeContext(s), plaintext, additional_authenticated_data: aad });
      const blob = blobOf(s, res);
      expectPlaintext(await s.call(s.target.keys.wrapA, 'unwrap', { wrappedBlob: blob, additionalAuthenticatedData: aad }), plaintext);
    }),
    c('snake-case-unwrap', 'unwrap reads wrapped_blob and additional_authenticated_data (snake_case)', async (s) => {
      const plaintext = secretPlaintext(s);
      const aad = secretPlaintext(s);
      const blob = await wrapOk(s, s.target.keys.wrapA, plaintext, aad);
      const body = { additional_context: snakeContext(s), wrapped_blob: blob, additional_authenticated_data: aad };
      expectPlaintext(await s.post(s.target.keys.wrapA, 'unwrap', body), plaintext);
    }),
    c('unknown-fields', 'unknown fields, at the top and in additionalContext, are ignored', async (s) => {
      const plaintext = secretPlaintext(s);
      const extra = { conformanceUnknownField: 'ignore me', conformanceUnknownObject: { nested: [1, 2] } };
      const additionalContext = { ...s.context(), conformanceUnknownContextField: 7 };
      const blob = blobOf(s, await s.call(s.target.keys.wrapA, 'wrap', { plaintext, additionalContext, ...extra }));
      expectPlaintext(await s.call(s.target.keys.wrapA, 'unwrap', { wrappedBlob: blob, additionalContext, ...extra }), plaintext);
    }),
    c('null-as-absent', 'a field sent as null is read as absent', async (s) => {
      const plaintext = secretPlaintext(s);
      const blob = blobOf(s, await s.call(s.target.keys.wrapA, 'wrap', { plaintext, additionalAuthenticatedData: null }));
      expectPlaintext(await s.call(s.target.keys.wrapA, 'unwrap', { wrappedBlob: blob, additionalAuthenticatedData: null }), plaintext);
    }),
  ];
}

export function bodyCases(): ConformanceCase[] {
  return [...malformedCases(), ...lenientCases()];
}
