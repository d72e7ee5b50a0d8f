// The EKM client's connections (agent.ts, on undici) against raw TLS servers
// that answer the way some EKM might: kept-alive connections reused, one
// closed while idle, chunked and close-framed answers, a table of malformed
// answers and a bounded fuzz of garbled ones (each a failure in our words,
// never a crash or undici's message), a slow answer cancelled, more requests
// than connections, a certificate that changes under a kept-alive endpoint,
// and the request as it goes on the wire.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { systemClock } from '../../src/clock';
import { loadTlsMaterial } from '../../src/ekm-server/tls';
import { EkmAgent, pinnedPeerCheck, sha256Hex, type EkmRequest } from '../../src/services/ekm-client/agent';
import { AttemptFailure } from '../../src/services/ekm-client/failure';
import { tempDir } from '../ekm-server/helpers';

const HOST = 'ekm.pool.test';

interface RawServer {
  port: number;
  connections: number;
  close(): Promise<void>;
}

type Material = ReturnType<typeof loadTlsMaterial>;
const materials: Material[] = [];
/** Two certificates for HOST (the second for a certificate change). */
const material = (n = 0): Material => (materials[n] ??= loadTlsMaterial({ dataDir: tempDir(`openekm-pool-${n}-`), hostname: HOST, clock: systemClock }));

/** A TLS server calling `onRequest` with each request's bytes (one request per data event is enough here); `cert` picks the certificate of each new connection. */
async function rawServer(onRequest: (socket: tls.TLSSocket, request: string, index: number) => void, cert: () => number = () => 0): Promise<RawServer> {
  const sockets = new Set<tls.TLSSocket>();
  let requests = 0;
  const state = { connections: 0 };
  const server = tls.createServer({
    SNICallback: (_name, done) => {
      const m = material(cert());
      done(null, tls.createSecureContext({ cert: m.certPem, key: m.keyPem }));
    },
  }, (socket) => {
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

function agentFor(limits?: { maxSockets: number; idleTimeoutMs: number }, pinned = [0]): EkmAgent {
  const pins = new Set(pinned.map((n) => sha256Hex(material(n).leafDer)));
  return new EkmAgent({ minVersion: 'TLSv1.2', rejectUnauthorized: false }, pinnedPeerCheck(HOST, pins), limits);
}

const LIMITS = { connectTimeoutMs: 2000, maxResponseBytes: 1 << 20 };

function call(agent: EkmAgent, server: RawServer, path = '/info', extra: Partial<EkmRequest> & { limit?: number } = {}) {
  const target = { host: '127.0.0.1', port: server.port, servername: HOST, endpoint: `127.0.0.1:${server.port}` };
  return agent.request(target, { method: 'GET', path, headers: () => ({ authorization: 'Bearer t' }), ...extra }, { ...LIMITS, maxResponseBytes: extra.limit ?? LIMITS.maxResponseBytes });
}

const ok = (socket: tls.TLSSocket, body: string, extra = '') =>
  socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n${extra}Content-Length: ${body.length}\r\n\r\n${body}`);

async function withServer(onRequest: Parameters<typeof rawServer>[0], run: (agent: EkmAgent, server: RawServer) => Promise<void>, limits?: { maxSockets: number; idleTimeoutMs: number }): Promise<void> {
  const server = await rawServer(onRequest);
  const agent = agentFor(limits);
  try {
    await run(agent, server);
  } finally {
    agent.destroy();
    await server.close();
  }
}

void test('kept-alive connections are reused; one closed while idle is replaced without a failure', () =>
  withServer((socket, request, index) => {
    assert.match(request, /^GET \/info HTTP\/1\.1\r\n/);
    ok(socket, `{"n":${index}}`);
    // After its fifth answer the server drops the connection, as an EKM's idle timeout would.
    if (index === 4) setTimeout(() => socket.end(), 20);
  }, async (agent, server) => {
    for (let n = 0; n < 5; n++) assert.equal((await call(agent, server).answer).body.toString(), `{"n":${n}}`);
    // undici opens a second connection for the request right after a pool's first connect (its client is still marked busy); from then on they are reused.
    const opened = server.connections;
    assert.ok(opened <= 2, `five requests in turn opened ${opened} connections`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const sixth = await call(agent, server).answer;
    assert.equal(sixth.status, 200);
    assert.ok(server.connections <= opened + 1);
  }));

void test('a connection the EKM closes as the request arrives is retried once on a new one', () =>
  withServer((socket, _request, index) => {
    // The first connection answers once, then closes on its next request without a byte.
    if (index === 1) socket.destroy();
    else ok(socket, '{}');
  }, async (agent, server) => {
    await call(agent, server).answer;
    const second = await call(agent, server).answer;
    assert.equal(second.status, 200);
    assert.equal(server.connections, 2);
  }));

void test('an EKM that closes every connection without answering is a connection failure after one retry', () =>
  withServer((socket) => socket.destroy(), async (agent, server) => {
    await assert.rejects(call(agent, server).answer, (err: AttemptFailure) => err.kind === 'connection' && err.code === 'ECONNRESET' && /before an answer/.test(err.message));
    assert.equal(server.connections, 2);
  }));

void test('the request on the wire: Host from the TLS name, the fields given, Content-Length, nothing else of note', async () => {
  let seen = '';
  await withServer((socket, request) => {
    seen = request;
    ok(socket, '{}');
  }, async (agent, server) => {
    await call(agent, server, '/v0/k:wrap', { method: 'POST', body: Buffer.from('{"a":1}'), headers: () => ({ authorization: 'Bearer a.b.c', 'content-type': 'application/json' }) }).answer;
    const [head, body] = seen.split('\r\n\r\n');
    const lines = head.split('\r\n');
    assert.equal(lines[0], 'POST /v0/k:wrap HTTP/1.1');
    const fields = new Map(lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
    assert.equal(fields.get('host'), `${HOST}:${server.port}`);
    assert.equal(fields.get('authorization'), 'Bearer a.b.c');
    assert.equal(fields.get('content-length'), '7');
    assert.equal(body, '{"a":1}');
  });
});

void test('chunked, close-framed and interim-led answers arrive whole; repeated fields are lists', () =>
  withServer((socket, request) => {
    if (request.startsWith('GET /chunked')) {
      socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{"');
      setTimeout(() => socket.write('\r\n5\r\nok":1\r\n1\r\n}\r\n0\r\n\r\n'), 10);
    } else if (request.startsWith('GET /close')) {
      socket.end('HTTP/1.1 200 OK\r\n\r\n{"closed":true}');
    } else if (request.startsWith('GET /interim')) {
      socket.write('HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 429 Too Many\r\nRetry-After:  3 \r\nX-A: 1\r\nx-a: 2\r\nContent-Length: 2\r\n\r\n{}');
    }
  }, async (agent, server) => {
    assert.equal((await call(agent, server, '/chunked').answer).body.toString(), '{"ok":1}');
    assert.equal((await call(agent, server, '/close').answer).body.toString(), '{"closed":true}');
    const interim = await call(agent, server, '/interim').answer;
    assert.equal(interim.status, 429);
    assert.match(String(interim.headers['retry-after']), /^ *3 *$/);
    assert.equal(interim.headers.link, undefined, 'interim fields are not the answer\'s');
    assert.deepEqual(interim.headers['x-a'], ['1', '2']);
  }));

// Each malformed answer, and the failure it must become: our code and our words, never undici's or llhttp's.
const MALFORMED: ReadonlyArray<readonly [string, string, string, RegExp]> = [
  ['another protocol', 'SSH-2.0-OpenSSH\r\n\r\n', 'EKM_BAD_HTTP', /status line/],
  ['HTTP/2 preface', 'HTTP/2 200\r\n\r\n', 'EKM_BAD_HTTP', /HTTP\/1\.0 or HTTP\/1\.1/],
  ['status of four digits', 'HTTP/1.1 2000 OK\r\n\r\n', 'EKM_BAD_HTTP', /three digits/],
  ['folded field', 'HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 0\r\n\r\n', 'EKM_BAD_HTTP', /CRLF, no folding/],
  ['bare LF', 'HTTP/1.1 200 OK\nContent-Length: 0\n\n', 'EKM_BAD_HTTP', /CRLF/],
  ['space in a field name', 'HTTP/1.1 200 OK\r\nBad Header: x\r\nContent-Length: 0\r\n\r\n', 'EKM_BAD_HTTP', /field name/],
  ['NUL in a value', 'HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 0\r\n\r\n', 'EKM_BAD_HTTP', /control character/],
  ['negative length', 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', 'EKM_BAD_HTTP', /Content-Length/],
  ['two lengths that differ', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok', 'EKM_BAD_HTTP', /Content-Length/],
  ['bad chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 'EKM_BAD_HTTP', /chunk size/],
  ['chunk longer than said', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n', 'EKM_BAD_HTTP', /not valid HTTP\/1\.1/],
  ['length and chunked', 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n', 'EKM_BAD_HTTP', /not valid HTTP\/1\.1/],
  ['unasked-for 100 Continue', 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', 'EKM_BAD_HTTP', /did not ask for/],
  ['switching protocols', 'HTTP/1.1 101 Switching Protocols\r\n\r\n', 'EKM_BAD_HTTP', /upgrade it did not ask for/],
  ['header section too large', `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n`, 'EKM_BAD_HTTP', /header section is too large/],
];

void test('malformed answers are protocol failures in our words; a cut answer is a connection failure', () =>
  withServer((socket, request) => {
    const name = decodeURIComponent(/^GET \/([^ ]*)/.exec(request)?.[1] ?? '');
    const entry = MALFORMED.find(([n]) => n === name);
    if (entry) socket.end(entry[1]);
    else if (name === 'big') socket.write('HTTP/1.1 200 OK\r\nContent-Length: 101\r\n\r\n');
    else if (name === 'big-chunked') socket.write(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n${'x'.repeat(64)}\r\n40\r\n${'x'.repeat(64)}\r\n`);
    else if (name === 'cut') socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc');
  }, async (agent, server) => {
    for (const [name, , code, words] of MALFORMED) {
      await assert.rejects(call(agent, server, `/${encodeURIComponent(name)}`).answer, (err: AttemptFailure) => {
        assert.ok(err instanceof AttemptFailure, `${name}: ${String(err)}`);
        assert.equal(err.kind, 'protocol', name);
        assert.equal(err.code, code, `${name}: ${err.message}`);
        assert.match(err.message, words, name);
        assert.doesNotMatch(err.message, /HPE_|UND_ERR|llhttp|undici/i, name);
        return true;
      });
    }
    for (const path of ['/big', '/big-chunked']) {
      await assert.rejects(call(agent, server, path, { limit: 100 }).answer, (err: AttemptFailure) => err.code === 'EKM_RESPONSE_TOO_LARGE' && err.extra.httpStatus === 200);
    }
    await assert.rejects(call(agent, server, '/cut').answer, (err: AttemptFailure) => err.kind === 'connection' && !/UND_ERR|undici/i.test(err.message));
  }));

void test('fuzz: 200 garbled answers are each an answer or an AttemptFailure in our words, and the agent goes on', () => {
  const valid = Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n5\r\n{"a":\r\n2\r\n1}\r\n0\r\n\r\n', 'latin1');
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  const garble = (): Buffer => {
    const out = Buffer.from(valid);
    const kind = next() % 3;
    if (kind === 0) return out.subarray(0, next() % out.length);
    if (kind === 1) {
      for (let i = 0; i < 1 + (next() % 4); i++) out[next() % out.length] = next() % 256;
      return out;
    }
    return Buffer.concat([out.subarray(0, next() % out.length), randomBytes(next() % 40)]);
  };
  return withServer((socket) => socket.end(garble()), async (agent, server) => {
    for (let i = 0; i < 200; i++) {
      try {
        const answer = await call(agent, server).answer;
        assert.equal(typeof answer.status, 'number');
      } catch (err) {
        assert.ok(err instanceof AttemptFailure, String(err));
        assert.doesNotMatch(err.message, /HPE_|UND_ERR|llhttp|undici/i);
      }
    }
  });
});

void test('a cancelled request fails at once with its failure and its connection is dropped', async () => {
  let dropped = false;
  await withServer((socket) => socket.on('close', () => (dropped = true)), async (agent, server) => {
    const pending = call(agent, server);
    setTimeout(() => pending.cancel(new AttemptFailure('timeout', 'x', 'EKM_DEADLINE', 'no answer before the deadline')), 50);
    await assert.rejects(pending.answer, (err: AttemptFailure) => err.code === 'EKM_DEADLINE');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(dropped);
  });
});

void test('more requests than connections wait for a free one', () =>
  withServer((socket, _request, index) => setTimeout(() => ok(socket, `{"n":${index}}`), 5), async (agent, server) => {
    const answers = await Promise.all(Array.from({ length: 7 }, () => call(agent, server).answer));
    assert.deepEqual(answers.map((a) => JSON.parse(a.body.toString()).n as number).sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6]);
    assert.equal(server.connections, 2);
  }, { maxSockets: 2, idleTimeoutMs: 1000 }));

void test('tokens follow the certificate: a new pinned leaf on a new connection is adopted and the request sent again with it', async () => {
  let useSecond = false;
  const leaves = [0, 1].map((n) => sha256Hex(material(n).leafDer));
  const bound: string[] = [];
  const server = await rawServer((socket, request) => {
    ok(socket, JSON.stringify({ auth: /authorization: Bearer (\S+)/i.exec(request)?.[1] }));
    socket.end();
  }, () => (useSecond ? 1 : 0));
  const agent = agentFor(undefined, [0, 1]);
  const ask = () => call(agent, server, '/info', { headers: (leaf) => (bound.push(leaf), { authorization: `Bearer ${leaf}` }) }).answer;
  try {
    assert.equal(JSON.parse((await ask()).body.toString()).auth, leaves[0]);
    useSecond = true;
    const answer = JSON.parse((await ask()).body.toString());
    assert.equal(answer.auth, leaves[1], 'the EKM saw a token bound to the certificate it presented');
    assert.deepEqual(bound, [leaves[0], leaves[0], leaves[1]], 'one request sent again, with the new binding');
    assert.equal(JSON.parse((await ask()).body.toString()).auth, leaves[1]);
  } finally {
    agent.destroy();
    await server.close();
  }
});

void test('an unpinned certificate is refused before any request byte is written', async () => {
  let requests = 0;
  const server = await rawServer(() => requests++, () => 1);
  const agent = agentFor(undefined, [0]);
  try {
    await assert.rejects(call(agent, server).answer, (err: AttemptFailure) => err.kind === 'tls' && err.code === 'EKM_PIN_MISMATCH');
    assert.equal(requests, 0);
  } finally {
    agent.destroy();
    await server.close();
  }
});

void test('destroy cancels requests in flight and any made afterwards', () =>
  withServer(() => undefined, async (agent, server) => {
    const pending = call(agent, server);
    await new Promise((resolve) => setTimeout(resolve, 50));
    agent.destroy();
    await assert.rejects(pending.answer, (err: AttemptFailure) => err.kind === 'cancelled');
    await assert.rejects(call(agent, server).answer, (err: AttemptFailure) => err.kind === 'cancelled');
  }));
