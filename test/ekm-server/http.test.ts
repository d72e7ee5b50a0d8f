// The HTTPS front's edges: routing faults (404, 405), oversize bodies (413),
// the error body shape, and the admin socket's protection and lifecycle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { AdminClient } from '../../src/ekm-server/admin-client';
import { capturingLogger } from '../helpers/log';
import { CALLER, startReferenceEkm, tempDir, withReason } from './helpers';
import { statusName } from './conformance/session';

void test('unknown paths and operations are 404, wrong methods 405, and both are audited', async () => {
  const ekm = await startReferenceEkm();
  try {
    for (const p of ['/nothing', '/v0/cryptospaces/a/keys/b:frob', '/v0/cryptospaces/a:wrap', '/v0/cryptospaces/a/keys/b/c:wrap']) {
      const res = await ekm.client.request('POST', p, { token: ekm.token(), body: {} });
      assert.equal(res.status, 404, p);
      assert.deepEqual(Object.keys(res.body).sort(), ['code', 'message']);
      assert.equal(statusName(res.body), 'NOT_FOUND');
    }
    const post = await ekm.client.request('POST', '/info', { token: ekm.token() });
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET');
    const get = await ekm.client.request('GET', '/v0/cryptospaces/a/keys/b:unwrap');
    assert.equal(get.status, 405);
    assert.equal(get.headers.allow, 'POST');
    const audit = fs.readFileSync(ekm.server.auditLogPath!, 'utf8');
    assert.match(audit, /"decision":"NOT_EVALUATED","status":"NOT_FOUND","httpStatus":404/);
    assert.match(audit, /"httpStatus":405/);
    const unknownWellKnown = await ekm.client.request('GET', '/.well-known/external-key-manager', { token: ekm.token() });
    assert.equal(unknownWellKnown.status, 200, 'the well-known path answers without its trailing slash too');
  } finally {
    await ekm.close();
  }
});

void test('a body over 1 MiB is 413; a plaintext over the field limit is INVALID_ARGUMENT', async () => {
  const ekm = await startReferenceEkm();
  try {
    await ekm.admin.call('createCryptoSpace', { name: 'big', policy: { callers: [CALLER] } });
    const key = (await ekm.admin.call<{ path: string }>('createKey', { cryptoSpace: 'big', algorithm: 'EXTERNAL_SYMMETRIC_ENCRYPTION' })).path;
    const huge = await ekm.client.request('POST', `/${key}:wrap`, { token: ekm.token(), raw: JSON.stringify({ plaintext: 'A'.repeat(1024 * 1024) }) });
    assert.equal(huge.status, 413);
    assert.equal(statusName(huge.body), 'INVALID_ARGUMENT');
    const tooLong = Buffer.alloc(256 * 1024 + 1).toString('base64');
    const field = await ekm.client.request('POST', `/${key}:wrap`, { token: ekm.token(), body: withReason({ plaintext: tooLong }) });
    assert.equal(field.status, 400);
    assert.equal(statusName(field.body), 'INVALID_ARGUMENT');
  } finally {
    await ekm.close();
  }
});

void test('the admin socket is 0600 in a 0700 data directory, unknown admin methods are 404, and one server owns a data directory', async () => {
  const dataDir = tempDir();
  const ekm = await startReferenceEkm({ dataDir });
  try {
    assert.equal(fs.statSync(ekm.server.adminSocketPath).mode & 0o777, 0o600);
    assert.equal(fs.statSync(dataDir).mode & 0o777, 0o700);
    await assert.rejects(ekm.admin.call('noSuchMethod'), (err: Error & { code?: number }) => err.code === 5);
    await assert.rejects(startReferenceEkm({ dataDir }), /already running/);
  } finally {
    await ekm.close();
  }
  assert.equal(fs.existsSync(path.join(dataDir, 'admin.sock')), false, 'close removes the socket');
  await assert.rejects(AdminClient.forDataDir(dataDir).call('listKeys'), /no EKM is running/);
  // A socket file left by a server that died is cleared on the next start.
  fs.writeFileSync(path.join(dataDir, 'admin.sock'), '');
  const again = await startReferenceEkm({ dataDir });
  await again.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

void test('a client that disconnects mid-body is audited with its address, and is no error', async () => {
  const { logger, errors } = capturingLogger();
  const ekm = await startReferenceEkm({ logger });
  try {
    await ekm.admin.call('createCryptoSpace', { name: 'gone', policy: { callers: [CALLER] } });
    const key = (await ekm.admin.call<{ path: string }>('createKey', { cryptoSpace: 'gone', algorithm: 'EXTERNAL_SYMMETRIC_ENCRYPTION' })).path;
    const socket = tls.connect({ host: '127.0.0.1', port: ekm.server.port, servername: 'ekm.test', ca: ekm.server.certificatePem });
    await new Promise((resolve) => socket.once('secureConnect', resolve));
    socket.write(`POST /${key}:wrap HTTP/1.1\r\nhost: ekm.test\r\nauthorization: Bearer ${ekm.token()}\r\ncontent-type: application/json\r\ncontent-length: 5000\r\n\r\n{"plaintext":"`);
    await new Promise((resolve) => setTimeout(resolve, 30));
    socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const lines = fs.readFileSync(ekm.server.auditLogPath!, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const gone = lines.find((l) => l.status === 'CANCELLED');
    assert.ok(gone, 'the abandoned request has an audit line');
    assert.equal(gone.remoteAddress, '127.0.0.1');
    assert.equal(gone.keyPath, key);
    assert.equal(gone.httpStatus, 499);
    assert.deepEqual(errors, []);
  } finally {
    await ekm.close();
  }
});
