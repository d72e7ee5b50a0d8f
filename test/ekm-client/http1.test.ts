// The EKM client's HTTP/1.1 layer: the answer parser on its own (every
// framing, fed whole and byte by byte, and each malformed answer refused),
// then the connection pool against raw TLS servers that answer the way some
// EKM might: kept-alive connections reused, a connection closed while idle,
// chunked answers, garbage, a slow answer cancelled, more requests than
// connections.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { systemClock } from '../../src/clock';
import { loadTlsMaterial } from '../../src/ekm-server/tls';
import { EkmAgent, pinnedPeerCheck, sha256Hex } from '../../src/services/ekm-client/agent';
import { AttemptFailure } from '../../src/services/ekm-client/failure';
import { AnswerParser, MAX_HEAD_BYTES } from '../../src/services/ekm-client/http1';
import { requestBytes } from '../../src/services/ekm-client/transport';
import { tempDir } from '../ekm-server/helpers';

const HOST = 'ekm.http1.test';

/** Feeds `text` whole and byte by byte; both must give the same answer. */
function parse(text: string | Buffer, options: { head?: boolean; limit?: number; end?: boolean } = {}): AnswerParser[] {
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text, 'latin1');
  const whole = new AnswerParser(options.head ?? false, options.limit ?? 1 << 20, 'e:1');
  let done = whole.push(bytes);
  if (options.end) done = whole.end();
  assert.ok(done, 'whole: complete');
  const split = new AnswerParser(options.head ?? false, options.limit ?? 1 << 20, 'e:1');
  for (let i = 0; i < bytes.length; i++) split.push(bytes.subarray(i, i + 1));
  if (options.end) split.end();
  assert.ok(split.done, 'byte by byte: complete');
  for (const p of [whole, split]) assert.equal(p.body().toString('latin1'), whole.body().toString('latin1'));
  return [whole, split];
}

function refused(text: string, code: string, options: { limit?: number; end?: boolean } = {}): AttemptFailure {
  const p = new AnswerParser(false, options.limit ?? 1 << 20, 'e:1');
  let caught: unknown;
  try {
    p.push(Buffer.from(text, 'latin1'));
    if (options.end) p.end();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof AttemptFailure, `refused: ${JSON.stringify(text.slice(0, 60))}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
}

void test('answers framed by Content-Length, chunks and the close; interim answers skipped', () => {
  const [a] = parse('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}');
  assert.equal(a.status, 200);
  assert.equal(a.headers['content-type'], 'application/json');
  assert.equal(a.body().toString(), '{"ok":true}');
  assert.ok(a.keepAlive);

  const [c] = parse('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\n{"a"\r\n3 ; q = "a b" ;r\r\n:1}\r\n0\r\nX-Trailer: t\r\n\r\n');
  assert.equal(c.body().toString(), '{"a":1}');
  assert.ok(c.keepAlive);

  const [i] = parse('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}');
  assert.equal(i.status, 404);
  assert.equal(i.headers.link, undefined, 'interim fields are not the answer\'s');

  const [closed] = parse('HTTP/1.1 200 OK\r\n\r\nall of it', { end: true });
  assert.equal(closed.body().toString(), 'all of it');
  assert.equal(closed.keepAlive, false);

  const [head] = parse('HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n', { head: true });
  assert.equal(head.body().length, 0);
  const [noContent] = parse('HTTP/1.1 204 No Content\r\n\r\n');
  assert.equal(noContent.status, 204);
  const [bare] = parse('HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n');
  assert.equal(bare.status, 200, 'a status line without a reason phrase');
});

void test('header fields as node:http gives them; keep-alive only when the answer allows it', () => {
  const [h] = parse('HTTP/1.1 429 Too Many\r\nRetry-After:  3 \r\nX-A: 1\r\nx-a: 2\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 0\r\n\r\n');
  assert.equal(h.headers['retry-after'], '3');
  assert.equal(h.headers['x-a'], '1, 2');
  assert.deepEqual(h.headers['set-cookie'], ['a=1', 'b=2']);
  assert.equal(parse('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')[0].keepAlive, false);
  assert.equal(parse('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n')[0].keepAlive, false);
  assert.equal(parse('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n')[0].keepAlive, true);
  const [both] = parse('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n');
  assert.equal(both.body().toString(), 'x', 'chunked wins over Content-Length');
  assert.equal(both.keepAlive, false, 'but the connection is not used again');
  assert.equal(parse('HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok')[0].body().toString(), 'ok');
  const extra = new AnswerParser(false, 100, 'e:1');
  assert.ok(extra.push(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 200 OK\r\n')));
  assert.ok(extra.extra, 'bytes past the answer are noticed');
});

void test('malformed answers are protocol failures; a cut answer a connection failure', () => {
  refused('SSH-2.0-OpenSSH\r\n\r\n', 'EKM_BAD_HTTP');
  refused('HTTP/2 200\r\n\r\n', 'EKM_BAD_HTTP');
  refused('HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n', 'EKM_BAD_HTTP');
  refused('HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n', 'EKM_BAD_HTTP');
  refused('HTTP/1.1 200 OK\r\nX-A: a\x00b\r\n\r\n', 'EKM_BAD_HTTP');
  refused('HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nok', 'EKM_BAD_HTTP');
  refused('HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', 'EKM_BAD_HTTP');
  refused('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 'EKM_BAD_HTTP');
  refused('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;\r\nx\r\n0\r\n\r\n', 'EKM_BAD_HTTP');
  refused('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;a=:\r\nx\r\n0\r\n\r\n', 'EKM_BAD_HTTP');
  refused('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\nX-Trailer t\r\n\r\n', 'EKM_BAD_HTTP');
  refused('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n', 'EKM_BAD_HTTP');
  refused('HTTP/1.1 101 Switching Protocols\r\n\r\n', 'EKM_BAD_HTTP');
  refused(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(MAX_HEAD_BYTES)}\r\n\r\n`, 'EKM_BAD_HTTP');
  const big = refused('HTTP/1.1 200 OK\r\nContent-Length: 101\r\n\r\n', 'EKM_RESPONSE_TOO_LARGE', { limit: 100 });
  assert.equal(big.extra.httpStatus, 200);
  refused(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n${'x'.repeat(64)}\r\n40\r\n`, 'EKM_RESPONSE_TOO_LARGE', { limit: 100 });
  refused(`HTTP/1.1 200 OK\r\n\r\n${'x'.repeat(101)}`, 'EKM_RESPONSE_TOO_LARGE', { limit: 100 });
  const cut = refused('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc', 'ECONNRESET', { end: true });
  assert.equal(cut.kind, 'connection');
  assert.match(cut.message, /mid-answer/);
});

void test('requests carry only visible ASCII in their line and fields, IPv6 hosts in brackets', () => {
  const wire = requestBytes({ servername: 'ekm.example', port: 443 }, { method: 'POST', path: '/v0/k:wrap', token: 'a.b.c' }, Buffer.from('{}'));
  assert.equal(wire.toString('latin1'),
    'POST /v0/k:wrap HTTP/1.1\r\nhost: ekm.example\r\nauthorization: Bearer a.b.c\r\naccept: application/json\r\n'
    + 'content-type: application/json\r\ncontent-length: 2\r\n\r\n{}');
  assert.match(requestBytes({ servername: '::1', port: 8443 }, { method: 'GET', path: '/info', token: 't' }, undefined).toString(), /^GET \/info HTTP\/1\.1\r\nhost: \[::1\]:8443\r\n/);
  assert.throws(() => requestBytes({ servername: 'e', port: 1 }, { method: 'GET', path: '/a b', token: 't' }, undefined), /request path/);
  assert.throws(() => requestBytes({ servername: 'e', port: 1 }, { method: 'GET', path: '/a\r\nX: y', token: 't' }, undefined), /request path/);
  assert.throws(() => requestBytes({ servername: 'e', port: 1 }, { method: 'GET', path: '/a', token: 't\r\nx: y' }, undefined), /header value/);
});

// --- the pool against raw TLS servers ---------------------------------------

interface RawServer {
  port: number;
  connections: number;
  close(): Promise<void>;
}

const material = (() => {
  let made: ReturnType<typeof loadTlsMaterial> | undefined;
  return () => (made ??= loadTlsMaterial({ dataDir: tempDir('openekm-http1-'), hostname: HOST, clock: systemClock }));
})();

/** A TLS server calling `onRequest` with each request's bytes as they come (one request per data event is enough here). */
async function rawServer(onRequest: (socket: tls.TLSSocket, request: string, index: number) => void): Promise<RawServer> {
  const { certPem, keyPem } = material();
  const sockets = new Set<tls.TLSSocket>();
  let requests = 0;
  const state = { connections: 0 };
  const server = tls.createServer({ cert: certPem, key: keyPem }, (socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => onRequest(socket, chunk.toString('latin1'), requests++));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    get connections() {
      return state.connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function agentFor(limits?: { maxSockets: number; idleTimeoutMs: number }): EkmAgent {
  const pins = new Set([sha256Hex(material().leafDer)]);
  return new EkmAgent({ minVersion: 'TLSv1.2', rejectUnauthorized: false }, pinnedPeerCheck(HOST, pins), limits);
}

const LIMITS = { connectTimeoutMs: 2000, connectTimeoutIsDeadline: false, maxResponseBytes: 1 << 20 };

function call(agent: EkmAgent, server: RawServer, path = '/info') {
  const target = { host: '127.0.0.1', port: server.port, servername: HOST, endpoint: `127.0.0.1:${server.port}` };
  return agent.request(target, () => requestBytes(target, { method: 'GET', path, token: 't' }, undefined), false, LIMITS);
}

const ok = (socket: tls.TLSSocket, body: string, extra = '') =>
  socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n${extra}Content-Length: ${body.length}\r\n\r\n${body}`);

void test('kept-alive connections are reused; one closed while idle is replaced without a failure', async () => {
  const server = await rawServer((socket, request, index) => {
    assert.match(request, /^GET \/info HTTP\/1\.1\r\n/);
    ok(socket, `{"n":${index}}`);
    // After its second answer the server drops the connection, as an EKM's idle timeout would.
    if (index === 1) setTimeout(() => socket.end(), 20);
  });
  const agent = agentFor();
  try {
    assert.equal((await call(agent, server).answer).body.toString(), '{"n":0}');
    assert.equal((await call(agent, server).answer).body.toString(), '{"n":1}');
    assert.equal(server.connections, 1, 'the second request reused the connection');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const third = await call(agent, server).answer;
    assert.equal(third.status, 200);
    assert.equal(server.connections, 2);
  } finally {
    agent.destroy();
    await server.close();
  }
});

void test('a connection the EKM closes as the request arrives is retried once on a new one', async () => {
  const server = await rawServer((socket, _request, index) => {
    // The first connection answers once, then closes on its next request without a byte.
    if (index === 1) socket.destroy();
    else ok(socket, '{}');
  });
  const agent = agentFor();
  try {
    await call(agent, server).answer;
    const second = await call(agent, server).answer;
    assert.equal(second.status, 200);
    assert.equal(server.connections, 2);
  } finally {
    agent.destroy();
    await server.close();
  }
});

void test('chunked and close-framed answers arrive whole; garbage is a protocol failure', async () => {
  const server = await rawServer((socket, request) => {
    if (request.startsWith('GET /chunked')) {
      socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{"');
      setTimeout(() => socket.write('\r\n5\r\nok":1\r\n1\r\n}\r\n0\r\n\r\n'), 10);
    } else if (request.startsWith('GET /close')) {
      socket.end('HTTP/1.1 200 OK\r\n\r\n{"closed":true}');
    } else {
      socket.write('220 smtp.example ESMTP\r\n\r\n');
    }
  });
  const agent = agentFor();
  try {
    assert.equal((await call(agent, server, '/chunked').answer).body.toString(), '{"ok":1}');
    assert.equal((await call(agent, server, '/close').answer).body.toString(), '{"closed":true}');
    await assert.rejects(call(agent, server, '/garbage').answer, (err: AttemptFailure) => err.kind === 'protocol' && err.code === 'EKM_BAD_HTTP');
  } finally {
    agent.destroy();
    await server.close();
  }
});

void test('a cancelled request fails at once with its failure and its connection is dropped', async () => {
  let dropped = false;
  const server = await rawServer((socket) => socket.on('close', () => (dropped = true)));
  const agent = agentFor();
  try {
    const pending = call(agent, server);
    setTimeout(() => pending.cancel(new AttemptFailure('timeout', 'x', 'EKM_DEADLINE', 'no answer before the deadline')), 50);
    await assert.rejects(pending.answer, (err: AttemptFailure) => err.code === 'EKM_DEADLINE');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(dropped);
  } finally {
    agent.destroy();
    await server.close();
  }
});

void test('more requests than connections wait for a free one', async () => {
  const server = await rawServer((socket, _request, index) => setTimeout(() => ok(socket, `{"n":${index}}`), 5));
  const agent = agentFor({ maxSockets: 2, idleTimeoutMs: 1000 });
  try {
    const answers = await Promise.all(Array.from({ length: 7 }, () => call(agent, server).answer));
    assert.deepEqual(answers.map((a) => JSON.parse(a.body.toString()).n as number).sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6]);
    assert.equal(server.connections, 2);
  } finally {
    agent.destroy();
    await server.close();
  }
});
