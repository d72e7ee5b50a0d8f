// Every listener (the KMS's gRPC and REST ports, the EKM's HTTPS port) has a
// headers timeout, a body timeout, an idle timeout, a cap on connections (and
// on HTTP/2 streams), and a cap on request-body bytes held at once. Small
// limits here, so each one fires within the test: the assertions are on what
// happens (the answer, the close, the bytes held), never on how fast.
import '../helpers/env';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import * as tls from 'node:tls';
import * as zlib from 'node:zlib';
import { encodeMessage, messageType } from '../../src/proto/registry';
import type { ListenerLimits } from '../../src/limits';
import { createKey, createKeyRing } from '../helpers/kms-keys';
import { type Harness, startKms } from '../helpers/kms';
import { FLAG, FRAME, frame, grpcHeaders, grpcMessage, headerBlock, PREFACE, RawConnection, settings } from '../helpers/h2-frames';
import { type ReferenceEkm, startReferenceEkm } from '../ekm-server/helpers';

const LIMITS: ListenerLimits = {
  headersTimeoutMs: 400,
  bodyTimeoutMs: 400,
  idleTimeoutMs: 400,
  maxConnections: 3,
  maxConcurrentStreams: 4,
  maxBufferedBytes: 256 * 1024,
};
const ENCRYPT = '/google.cloud.kms.v1.KeyManagementService/Encrypt';
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves when the socket closes, failing the test if that takes more than 10 s. */
function closes(socket: net.Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed) {
      resolve();
      return;
    }
    const timer = setTimeout(() => reject(new Error('the server never closed the connection')), 10_000);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Waits until `socket` has received something matching `pattern` (as latin1 text). */
function receives(socket: net.Socket, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`nothing matching ${pattern} arrived; got ${JSON.stringify(text.slice(0, 200))}`)), 10_000);
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (pattern.test(text)) {
        clearTimeout(timer);
        socket.off('data', onData);
        resolve(text);
      }
    };
    socket.on('data', onData);
  });
}

/** Opens n sockets with `open` and waits until each is connected. */
async function openSockets(n: number, open: () => net.Socket): Promise<net.Socket[]> {
  const sockets = Array.from({ length: n }, open);
  for (const s of sockets) s.on('error', () => undefined);
  await Promise.all(sockets.map((s) => new Promise((resolve) => (s.readyState === 'open' ? resolve(undefined) : s.once(s instanceof tls.TLSSocket ? 'secureConnect' : 'connect', resolve)))));
  return sockets;
}

describe('gRPC listener limits', () => {
  let kms: Harness;
  let encrypt: Buffer;
  before(async () => {
    kms = await startKms({ limits: LIMITS });
    const key = (await createKey(kms.client, await createKeyRing(kms.client), { purpose: 'ENCRYPT_DECRYPT' })).key;
    encrypt = grpcMessage(encodeMessage(messageType('google.cloud.kms.v1.EncryptRequest'), { name: key, plaintext: Buffer.alloc(200_000, 1) }));
  });
  after(() => kms.close());

  /** A stream on a new session; resolves with its status once the server answers. */
  function hold(body: Buffer | undefined): { session: http2.ClientHttp2Session; status: Promise<number> } {
    const session = http2.connect(`http://127.0.0.1:${kms.server.grpcPort}`);
    session.on('error', () => undefined);
    const req = session.request({ ':method': 'POST', ':path': ENCRYPT, 'content-type': 'application/grpc', te: 'trailers' });
    req.on('error', () => undefined);
    if (body) req.write(body);
    const status = new Promise<number>((resolve) => {
      req.on('response', (h) => h['grpc-status'] !== undefined && resolve(Number(h['grpc-status'])));
      req.on('trailers', (t) => resolve(Number(t['grpc-status'])));
      req.on('close', () => resolve(-1));
    });
    return { session, status };
  }

  test('a stream with headers only, or part of its body, gets DEADLINE_EXCEEDED at the body timeout', async () => {
    const headersOnly = hold(undefined);
    const partial = hold(encrypt.subarray(0, 1000));
    assert.equal(await headersOnly.status, 4);
    assert.equal(await partial.status, 4);
    headersOnly.session.destroy();
    partial.session.destroy();
  });

  test('bodies past the byte cap get RESOURCE_EXHAUSTED; what is held never passes the cap and is given back', async () => {
    const calls = [hold(encrypt.subarray(0, 100_000)), hold(encrypt.subarray(0, 100_000)), hold(encrypt.subarray(0, 100_000))];
    const statuses = await Promise.all(calls.map((c) => c.status));
    assert.ok(statuses.includes(8), `one is over the cap: ${statuses.join(',')}`);
    const { used, peak } = kms.server.bufferedRequestBytes().grpc;
    assert.ok(peak <= LIMITS.maxBufferedBytes, `peak ${peak}`);
    for (const c of calls) c.session.destroy();
    await pause(50);
    assert.equal(kms.server.bufferedRequestBytes().grpc.used, 0, `still held: ${used}`);
  });

  test('a compressed body is counted as what it inflates to', async () => {
    const big = encodeMessage(messageType('google.cloud.kms.v1.EncryptRequest'), { name: 'projects/p/locations/l/keyRings/r/cryptoKeys/k', plaintext: Buffer.alloc(LIMITS.maxBufferedBytes + 1000) });
    const gz = zlib.gzipSync(big);
    assert.ok(gz.length < 10_000);
    const frame5 = grpcMessage(gz);
    frame5[0] = 1;
    const session = http2.connect(`http://127.0.0.1:${kms.server.grpcPort}`);
    session.on('error', () => undefined);
    const req = session.request({ ':method': 'POST', ':path': ENCRYPT, 'content-type': 'application/grpc', 'grpc-encoding': 'gzip', te: 'trailers' });
    req.end(frame5);
    const trailers = await new Promise<http2.IncomingHttpHeaders>((resolve) => {
      req.on('response', (h) => h['grpc-status'] !== undefined && resolve(h));
      req.on('trailers', resolve);
    });
    assert.equal(trailers['grpc-status'], '8');
    assert.match(decodeURIComponent(String(trailers['grpc-message'])), /holds too many unfinished request bodies/);
    session.destroy();
    await pause(50);
    assert.equal(kms.server.bufferedRequestBytes().grpc.used, 0);
  });

  test('a connection that sends no stream is closed at the headers timeout, and an idle one at the idle timeout', async () => {
    const silent = new RawConnection(kms.server.grpcPort);
    await silent.write(Buffer.concat([PREFACE, settings()]));
    await closes(silent.socket);
    const session = http2.connect(`http://127.0.0.1:${kms.server.grpcPort}`);
    session.on('error', () => undefined);
    const closed = new Promise((resolve) => session.once('close', resolve));
    const req = session.request({ ':method': 'POST', ':path': ENCRYPT, 'content-type': 'application/grpc', te: 'trailers' });
    req.on('error', () => undefined);
    req.end(encrypt);
    await new Promise((resolve) => req.once('close', resolve));
    // Pings do not keep an idle connection open.
    const pinger = setInterval(() => !session.closed && session.ping(() => undefined), 50);
    await closed;
    clearInterval(pinger);
  });

  test('past the connection cap a connection gets GOAWAY; each advertises the stream cap', async () => {
    // Open connections one by one until one is refused (the harness's own client may hold one).
    const opened: http2.ClientHttp2Session[] = [];
    let refused: number | undefined;
    while (refused === undefined && opened.length <= LIMITS.maxConnections + 1) {
      const session = http2.connect(`http://127.0.0.1:${kms.server.grpcPort}`);
      session.on('error', () => undefined);
      opened.push(session);
      refused = await new Promise<number | undefined>((resolve) => {
        session.once('goaway', (code: number) => resolve(code));
        session.once('remoteSettings', () => setTimeout(() => resolve(undefined), 100));
      });
    }
    assert.equal(refused, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    assert.ok(opened.length <= LIMITS.maxConnections + 1, `${opened.length} connections opened`);
    assert.equal(opened[0].remoteSettings.maxConcurrentStreams, LIMITS.maxConcurrentStreams);
    for (const s of opened) s.destroy();
  });

  test('a stream answered at once (415, 405, unknown method) is closed, and its silent connection with it', async () => {
    for (const headers of [
      headerBlock([[':method', 'POST'], [':scheme', 'http'], [':path', ENCRYPT], [':authority', 'x'], ['content-type', 'text/plain']]),
      headerBlock([[':method', 'GET'], [':scheme', 'http'], [':path', ENCRYPT], [':authority', 'x'], ['content-type', 'application/grpc']]),
      grpcHeaders('/google.cloud.kms.v1.KeyManagementService/NoSuchMethod'),
    ]) {
      const conn = new RawConnection(kms.server.grpcPort);
      // HEADERS without END_STREAM, then nothing: the peer never ends its side.
      await conn.write(Buffer.concat([PREFACE, settings(), frame(FRAME.HEADERS, FLAG.END_HEADERS, 1, headers)]));
      await closes(conn.socket);
      const received = Buffer.concat(conn.received);
      assert.ok(received.length > 0, 'answered before the close');
    }
  });

  test('a raw stream that never ends its headers block is cut with its connection', async () => {
    const conn = new RawConnection(kms.server.grpcPort);
    await conn.write(Buffer.concat([PREFACE, settings(), frame(FRAME.HEADERS, 0, 1, grpcHeaders(ENCRYPT))]));
    await closes(conn.socket);
    const partial = new RawConnection(kms.server.grpcPort);
    await partial.write(Buffer.concat([PREFACE, settings(), frame(FRAME.HEADERS, FLAG.END_HEADERS, 1, grpcHeaders(ENCRYPT)), frame(FRAME.DATA, 0, 1, encrypt.subarray(0, 10))]));
    await closes(partial.socket);
  });
});

/** The HTTP/1.1 limits, the same for the KMS's REST port and the EKM. */
function httpLimitTests(name: string, start: () => Promise<{ port: number; connect: () => net.Socket; path: string; headers: string; buffered?: () => number; close: () => Promise<void> }>): void {
  describe(`${name} listener limits`, () => {
    let t: Awaited<ReturnType<typeof start>>;
    before(async () => {
      t = await start();
    });
    after(() => t.close());

    const head = (length: number) => `POST ${t.path} HTTP/1.1\r\n${t.headers}content-type: application/json\r\ncontent-length: ${length}\r\n\r\n`;

    test('headers that do not arrive in time: 408, and the connection is closed', async () => {
      const [socket] = await openSockets(1, t.connect);
      socket.write(`POST ${t.path} HTTP/1.1\r\n`);
      await receives(socket, /^HTTP\/1\.1 408/);
      await closes(socket);
    });

    test('a body that does not arrive in time: 408, and the connection is closed', async () => {
      const [socket] = await openSockets(1, t.connect);
      socket.write(`${head(1000)}{"plaintext":"`);
      const answer = await receives(socket, /\r\n\r\n\{[\s\S]*\}/);
      assert.match(answer, /^HTTP\/1\.1 408/);
      assert.match(answer, /did not arrive within 400 ms/);
      await closes(socket);
    });

    test('bodies past the byte cap: 429; held bytes never pass the cap and are given back', async () => {
      const sockets = await openSockets(3, t.connect);
      const answers = sockets.map((s) => receives(s, /^HTTP\/1\.1 \d{3}/).catch(() => ''));
      for (const s of sockets) s.write(`${head(200_000)}${'A'.repeat(100_000)}`);
      const first = await Promise.race(answers);
      assert.match(first, /^HTTP\/1\.1 429/);
      if (t.buffered) assert.ok(t.buffered() <= LIMITS.maxBufferedBytes);
      for (const s of sockets) s.destroy();
      await pause(50);
      if (t.buffered) assert.equal(t.buffered(), 0);
    });

    test('an idle keep-alive connection is closed at the idle timeout', async () => {
      const [socket] = await openSockets(1, t.connect);
      socket.write(`GET /healthz-or-not HTTP/1.1\r\n${t.headers}\r\n`);
      await receives(socket, /^HTTP\/1\.1 \d{3}/);
      await closes(socket);
    });

    test('past the connection cap: 503 and closed', async () => {
      const sockets = await openSockets(LIMITS.maxConnections, t.connect);
      const [extra] = await openSockets(1, t.connect).catch(() => [t.connect()]);
      extra.on('error', () => undefined);
      const answer = await receives(extra, /^HTTP\/1\.1 503/);
      assert.match(answer, /too many open connections/);
      await closes(extra);
      for (const s of sockets) s.destroy();
      await pause(50);
    });
  });
}

httpLimitTests('REST', async () => {
  const kms = await startKms({ limits: LIMITS, transport: 'rest' });
  return {
    port: kms.server.restPort,
    connect: () => net.connect(kms.server.restPort, '127.0.0.1'),
    path: '/v1/projects/p/locations/us-east1/keyRings/r/cryptoKeys/k:encrypt',
    headers: 'host: 127.0.0.1\r\n',
    buffered: () => kms.server.bufferedRequestBytes().rest.used,
    close: () => kms.close(),
  };
});

httpLimitTests('EKM', async () => {
  const ekm: ReferenceEkm = await startReferenceEkm({ limits: LIMITS });
  return {
    port: ekm.server.port,
    connect: () => tls.connect({ host: '127.0.0.1', port: ekm.server.port, servername: 'ekm.test', ca: ekm.server.certificatePem }),
    path: '/v0/cryptospaces/s/keys/k:wrap',
    headers: `host: ekm.test\r\nauthorization: Bearer ${ekm.token()}\r\n`,
    close: () => ekm.close(),
  };
});

describe('REST: a connection past the cap has nothing it sent run', () => {
  let kms: Harness;
  before(async () => {
    kms = await startKms({ limits: LIMITS, transport: 'rest' });
  });
  after(() => kms.close());

  test('requests pipelined on a refused connection are not handled', async () => {
    const port = kms.server.restPort;
    const sockets = await openSockets(LIMITS.maxConnections, () => net.connect(port, '127.0.0.1'));
    const extra = net.connect(port, '127.0.0.1');
    extra.on('error', () => undefined);
    const create = (id: string) => `POST /v1/projects/p/locations/us-east1/keyRings?keyRingId=${id} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}`;
    extra.write(Array.from({ length: 20 }, (_, i) => create(`overcap-${i}`)).join(''));
    const answer = await receives(extra, /^HTTP\/1\.1 503/);
    assert.doesNotMatch(answer, /HTTP\/1\.1 200/);
    await closes(extra);
    for (const s of sockets) s.destroy();
    await pause(50);
    const [rings] = await kms.client.listKeyRings({ parent: 'projects/p/locations/us-east1' });
    assert.deepEqual(rings.map((r) => r.name), [], 'nothing the refused connection sent was run');
  });
});

describe('REST: a compressed body is counted as what it inflates to', () => {
  let kms: Harness;
  before(async () => {
    kms = await startKms({ limits: LIMITS, transport: 'rest' });
  });
  after(() => kms.close());

  test('a gzip body that inflates past the byte cap: 429', async () => {
    const gz = zlib.gzipSync(Buffer.from(JSON.stringify({ plaintext: Buffer.alloc(LIMITS.maxBufferedBytes).toString('base64') })));
    assert.ok(gz.length < 10_000);
    const [socket] = await openSockets(1, () => net.connect(kms.server.restPort, '127.0.0.1'));
    socket.write(`POST /v1/projects/p/locations/us-east1/keyRings/r/cryptoKeys/k:encrypt HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-encoding: gzip\r\ncontent-length: ${gz.length}\r\n\r\n`);
    socket.write(gz);
    const answer = await receives(socket, /\r\n\r\n\{[\s\S]*\}/);
    assert.match(answer, /^HTTP\/1\.1 429/);
    assert.match(answer, /holds too many unfinished request bodies/);
    socket.destroy();
    await pause(50);
    assert.equal(kms.server.bufferedRequestBytes().rest.used, 0);
  });
});
