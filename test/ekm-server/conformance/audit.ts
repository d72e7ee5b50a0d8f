// Conformance checks of the audit log, for EKMs that write the reference
// EKM's format (one JSON object per line with requestId, caller, keyPath,
// operation, reason, decision, status, latencyMs; docs/ekm-server.md) and
// answer with an x-request-id header. Skipped unless the target names
// auditLogFile.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { expectError, expectOk, secretPlaintext, type Session } from './session';

function auditFile(s: Session, t: TestContext): string | undefined {
  if (s.target.auditLogFile) return s.target.auditLogFile;
  t.skip('the target names no auditLogFile');
  return undefined;
}

function lineFor(file: string, requestId: string): Record<string, unknown> {
  const line = readFileSync(file, 'utf8').split('\n').find((l) => l.includes(requestId));
  assert.ok(line, `no audit line for request ${requestId}`);
  return JSON.parse(line) as Record<string, unknown>;
}

export function auditChecks(get: () => Session): void {
  test('allowed and denied requests each leave an audit line', async (t) => {
    const s = get();
    const file = auditFile(s, t);
    if (!file) return;
    const allowed = await s.call(s.target.keys.wrapA, 'wrap', { plaintext: secretPlaintext(s) });
    expectOk(allowed);
    const denied = await s.call(s.target.keys.wrapA, 'wrap', { plaintext: secretPlaintext(s) }, s.token({ email: s.target.deniedCallerEmail }));
    expectError(denied, 403, 'PERMISSION_DENIED');
    const unauthenticated = await s.call(s.target.keys.wrapA, 'wrap', { plaintext: secretPlaintext(s) }, null);
    expectError(unauthenticated, 401, 'UNAUTHENTICATED');
    const expected = [
      [allowed, 'ALLOWED', 'OK', s.target.callerEmail],
      [denied, 'DENIED', 'PERMISSION_DENIED', s.target.deniedCallerEmail],
      [unauthenticated, 'DENIED', 'UNAUTHENTICATED', null],
    ] as const;
    for (const [res, decision, status, caller] of expected) {
      const line = lineFor(file, String(res.headers['x-request-id']));
      assert.equal(line.decision, decision);
      assert.equal(line.status, status);
      assert.equal(line.caller, caller);
      assert.equal(line.operation, 'wrap');
      assert.equal(line.keyPath, s.target.keys.wrapA);
      assert.equal(line.reason, caller === null ? null : s.target.allowedReason);
      assert.equal(typeof line.time, 'string');
      assert.equal(typeof line.latencyMs, 'number');
    }
  });

  test('the audit log holds no plaintext, blob or token sent in this run', (t) => {
    const s = get();
    const file = auditFile(s, t);
    if (!file) return;
    const log = readFileSync(file, 'utf8');
    assert.ok(s.secrets.size > 10, 'the suite should have sent secrets by now');
    const leaked = [...s.secrets].filter((secret) => secret.length >= 8 && log.includes(secret));
    assert.deepEqual(leaked.map((l) => l.slice(0, 40)), []);
  });
}
