// A bounded fuzz of EKM protocol bodies: random JSON (both name forms, nulls,
// wrong types, deep nesting, odd keys such as "__proto__", long strings) and
// random bytes, posted to every key and crypto space operation. Every answer
// is 200 or a 4xx whose body is a bare google.rpc.Status in the project's own
// words, the server logs no unexpected error, and it keeps serving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { capturingLogger } from '../helpers/log';
import { seededRandom } from '../helpers/h2-frames';
import { CALLER, startReferenceEkm, withReason } from './helpers';

/** Library texts that must never reach a caller. */
const FOREIGN_TEXT = /Unexpected token|in JSON at position|SyntaxError|TypeError|RangeError|Maximum call stack|\n\s+at |undefined|\[object /;
const NAMES = [
  'plaintext', 'wrapped_blob', 'wrappedBlob', 'additionalAuthenticatedData', 'additional_authenticated_data', 'additionalContext',
  'additional_context', 'accessReasonContext', 'access_reason_context', 'reason', 'digest', 'sha256', 'data', 'algorithm',
  'requestId', 'request_id', 'permissions', '__proto__', 'constructor', '', 'a_', '_', 'x'.repeat(300),
];

function randomValue(next: () => number, depth: number): unknown {
  const pick = Math.floor(next() * (depth > 6 ? 7 : 9));
  switch (pick) {
    case 0: return null;
    case 1: return next() < 0.5;
    case 2: return Math.floor(next() * 2 ** 40) * (next() < 0.5 ? -1 : 1);
    case 3: return next() < 0.5 ? 'AAEC' : 'é\u0000\u202e'.repeat(Math.floor(next() * 4));
    case 4: return 'A'.repeat(Math.floor(next() * 5000));
    case 5: return 'CUSTOMER_INITIATED_ACCESS';
    case 6: return Number.NaN.toString();
    case 7: return Array.from({ length: Math.floor(next() * 4) }, () => randomValue(next, depth + 1));
    default: return randomObject(next, depth + 1);
  }
}

function randomObject(next: () => number, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const count = Math.floor(next() * 5);
  for (let i = 0; i < count; i++) Object.defineProperty(out, NAMES[Math.floor(next() * NAMES.length)], { value: randomValue(next, depth), enumerable: true, configurable: true, writable: true });
  return out;
}

function randomBody(next: () => number): string {
  const roll = next();
  if (roll < 0.1) return Buffer.from(Array.from({ length: Math.floor(next() * 64) }, () => Math.floor(next() * 256))).toString('latin1');
  if (roll < 0.2) return `${'['.repeat(200)}${']'.repeat(next() < 0.5 ? 200 : 3)}`;
  const body = randomObject(next, 0);
  if (roll < 0.6) Object.assign(body, withReason({}, next() < 0.8 ? 'CUSTOMER_INITIATED_ACCESS' : null));
  return JSON.stringify(body);
}

void test('random protocol bodies get 200 or a 4xx in our words, and the EKM keeps serving', async () => {
  const log = capturingLogger();
  const ekm = await startReferenceEkm({ logger: log.logger });
  const seed = Number(process.env.FUZZ_SEED ?? randomInt(2 ** 31));
  try {
    await ekm.admin.call('createCryptoSpace', { name: 's', policy: { callers: [CALLER], reasons: { default: ['CUSTOMER_INITIATED_ACCESS'] } } });
    const wrapKey = (await ekm.admin.call<{ path: string }>('createKey', { cryptoSpace: 's', algorithm: 'EXTERNAL_SYMMETRIC_ENCRYPTION' })).path;
    const signKey = (await ekm.admin.call<{ path: string }>('createKey', { cryptoSpace: 's', algorithm: 'EC_SIGN_P256_SHA256' })).path;
    const targets = [
      `/${wrapKey}:wrap`, `/${wrapKey}:unwrap`, `/${signKey}:asymmetricSign`, `/${signKey}:getPublicKey`,
      '/v0/cryptospaces/s:createKey', '/v0/cryptospaces/s:checkCryptoSpacePermissions', `/${wrapKey}:destroyKey`,
    ];
    const seen = new Map<number, number>();
    for (const [round, s] of [[0, 1], [1, seed]] as const) {
      const next = seededRandom(s);
      for (let i = 0; i < 150; i++) {
        const path = targets[Math.floor(next() * (targets.length - (round === 0 ? 1 : 0)))];
        if (path.endsWith(':destroyKey')) continue;
        const raw = randomBody(next);
        const res = await ekm.client.request('POST', path, { token: ekm.token(), raw });
        const where = `seed ${s}, request ${i}: POST ${path} ${raw.slice(0, 120)}`;
        seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
        assert.ok(res.status === 200 || (res.status >= 400 && res.status < 500), `${where} → ${res.status} ${res.text}`);
        if (res.status !== 200) {
          assert.equal(typeof res.body?.code, 'number', `${where}: ${res.text}`);
          assert.equal(typeof res.body?.message, 'string', where);
          assert.doesNotMatch(res.body.message as string, FOREIGN_TEXT, where);
        }
      }
    }
    assert.ok((seen.get(200) ?? 0) > 0 && (seen.get(400) ?? 0) > 0, `both answers and refusals: ${JSON.stringify([...seen])}`);
    const still = await ekm.client.request('POST', `/${wrapKey}:wrap`, { token: ekm.token(), body: withReason({ plaintext: 'AAEC' }) });
    assert.equal(still.status, 200, 'the EKM still serves');
    assert.deepEqual(log.errors, [], `seed ${seed}`);
  } finally {
    await ekm.close();
  }
});
