// The audit log: one line per request with the documented fields, written
// before the answer; a failed write fails the request; health probes are not
// audited; admin calls are, as the operator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { auditLine, type AuditSink } from '../../src/ekm-server/audit';
import { CALLER, startReferenceEkm, withReason } from './helpers';
import { statusName } from './conformance/session';

const FIELDS = ['time', 'requestId', 'operation', 'keyPath', 'caller', 'reason', 'decision', 'status', 'httpStatus', 'latencyMs'];

function lines(file: string): Array<Record<string, unknown>> {
  return fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

void test('each request leaves one line with the documented fields, and healthz none', async () => {
  const ekm = await startReferenceEkm();
  try {
    await ekm.admin.call('createCryptoSpace', { name: 'a', policy: { callers: [CALLER] } });
    const created = await ekm.client.request('POST', '/v0/cryptospaces/a:createKey', {
      token: ekm.token(), body: withReason({ algorithm: 'EXTERNAL_SYMMETRIC_ENCRYPTION', requestId: 'r1' }),
    });
    assert.equal(created.status, 200, created.text);
    const before = lines(ekm.server.auditLogPath!).length;
    await ekm.client.request('GET', '/healthz');
    const wrapped = await ekm.client.request('POST', `/${created.body.keyPath}:wrap`, { token: ekm.token(), body: withReason({ plaintext: 'c2VjcmV0' }) });
    const all = lines(ekm.server.auditLogPath!);
    assert.equal(all.length, before + 1, 'healthz is not audited; the wrap is');
    const wrapLine = all.at(-1)!;
    for (const field of FIELDS) assert.ok(field in wrapLine, `missing ${field}`);
    assert.equal(wrapLine.requestId, wrapped.headers['x-request-id']);
    assert.equal(wrapLine.kmsResource, 'projects/p/locations/us-east1/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1');
    const createLine = all.find((l) => l.operation === 'createKey')!;
    assert.equal(createLine.keyPath, 'v0/cryptospaces/a');
    assert.equal(createLine.createdKeyPath, created.body.keyPath);
    const adminLine = all.find((l) => l.operation === 'admin.createCryptoSpace')!;
    assert.equal(adminLine.caller, 'operator');
    assert.equal(adminLine.status, 'OK');
    assert.equal(fs.statSync(ekm.server.auditLogPath!).mode & 0o777, 0o600);
  } finally {
    await ekm.close();
  }
});

void test('a request whose audit line cannot be written fails with INTERNAL and no result', async () => {
  let failing = false;
  const written: string[] = [];
  const sink: AuditSink = {
    write(line) {
      if (failing) throw new Error('disk full');
      written.push(line);
    },
    close: () => undefined,
  };
  const ekm = await startReferenceEkm({ auditSink: sink });
  try {
    await ekm.admin.call('createCryptoSpace', { name: 'f', policy: { callers: [CALLER] } });
    const key = (await ekm.admin.call<{ path: string }>('createKey', { cryptoSpace: 'f', algorithm: 'EXTERNAL_SYMMETRIC_ENCRYPTION' })).path;
    const wrap = () => ekm.client.request('POST', `/${key}:wrap`, { token: ekm.token(), body: withReason({ plaintext: 'c2VjcmV0' }) });
    assert.equal((await wrap()).status, 200);
    failing = true;
    const res = await wrap();
    assert.equal(res.status, 500);
    assert.equal(statusName(res.body), 'INTERNAL');
    assert.equal(res.body.wrappedBlob, undefined);
    await assert.rejects(ekm.admin.call('getKey', { path: key }), (err: Error & { code?: number }) => err.code === 13);
    failing = false;
    assert.equal((await wrap()).status, 200, 'the server keeps serving once the log is writable');
    assert.ok(written.every((l) => !l.includes('c2VjcmV0')));
  } finally {
    await ekm.close();
  }
});

void test('an audit line is valid JSON whatever its strings hold', () => {
  const awkward = ['plain', 'quote " inside', 'back\\slash', 'tab\there', 'nul\u0000', 'line\u2028sep', 'é and 鍵', '', '\u007f'];
  for (const value of awkward) {
    const line = auditLine(
      { operation: value, keyPath: value, caller: null, reason: value, decision: 'DENIED', kmsResource: value },
      { time: '2026-01-01T00:00:00.000Z', requestId: 'id', status: 'OK', httpStatus: 200, latencyMs: 0.125, remoteAddress: value },
    );
    assert.ok(line.endsWith('}\n'));
    const parsed = JSON.parse(line) as Record<string, unknown>;
    for (const field of ['operation', 'keyPath', 'reason', 'kmsResource', 'remoteAddress']) assert.equal(parsed[field], value, field);
    assert.equal(parsed.caller, null);
    assert.equal(parsed.latencyMs, 0.125);
  }
  const nan = auditLine(
    { operation: 'wrap', keyPath: null, caller: null, reason: null, decision: 'ALLOWED' },
    { time: 't', requestId: 'id', status: 'OK', httpStatus: 200, latencyMs: Number.NaN },
  );
  assert.equal((JSON.parse(nan) as { latencyMs: unknown }).latencyMs, null);
});
