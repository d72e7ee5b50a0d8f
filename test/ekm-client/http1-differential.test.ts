// Differential fuzz of the KMS's own HTTP/1.1 answer parser (http1.ts)
// against undici's (llhttp), the library issue 15 measured it against: the
// same bytes, answered on a plain connection that then closes, go to both.
// Where both take an answer they must read the same status and body; where
// only one takes it, the case must be one of the documented differences
// (docs/benchmark.md, "undici against our HTTP/1.1 client"). Bounded: a fixed
// corpus and 1,000 seeded mutations of it (DIFF_CASES=N for more).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { Client } from 'undici';
import { AnswerParser } from '../../src/services/ekm-client/http1';

type Outcome = { ok: true; status: number; body: string } | { ok: false };

/** Ours: the bytes, then the close. */
function ours(bytes: Buffer): Outcome {
  const parser = new AnswerParser(false, 1 << 20, 'e:1');
  try {
    parser.push(bytes);
    parser.end();
    return { ok: true, status: parser.status, body: parser.body().toString('latin1') };
  } catch {
    return { ok: false };
  }
}

/** A server answering each connection's first request with the case's bytes, then closing. */
async function bytesServer(): Promise<{ port: number; next: (bytes: Buffer) => void; close: () => Promise<void> }> {
  let current: Buffer = Buffer.alloc(0);
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.once('data', () => socket.end(current));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    next: (bytes) => (current = bytes),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** undici's: one request on a new connection. */
async function theirs(port: number): Promise<Outcome> {
  const client = new Client(`http://127.0.0.1:${port}`, { headersTimeout: 2000, bodyTimeout: 2000 });
  try {
    const answer = await client.request({ path: '/', method: 'POST', body: '{}' });
    const body = Buffer.from(await answer.body.arrayBuffer()).toString('latin1');
    return { ok: true, status: answer.statusCode, body };
  } catch {
    return { ok: false };
  } finally {
    await client.destroy().catch(() => undefined);
  }
}

const CORPUS: readonly string[] = [
  'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}',
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\n{"a"\r\n3\r\n:1}\r\n0\r\nX-Trailer: t\r\n\r\n',
  'HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{"code":5,"message":"no such key","x":1}',
  'HTTP/1.1 200 OK\r\n\r\nall of it, framed by the close',
  'HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\nContent-Length: 2\r\n\r\n{}',
  'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}',
  'HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n',
];

/**
 * Where the two parsers differ by design, and which side reads the answer;
 * every case that differs must fall in one (docs/benchmark.md, "undici
 * against our HTTP/1.1 client").
 */
const KNOWN: ReadonlyArray<readonly [string, 'ours' | 'undici', (text: string) => boolean]> = [
  // RFC 9112 §4: a reason phrase is HTAB, SP, VCHAR and obs-text; ours refuses a NUL, DEL or other control in it, llhttp lets them through.
  ['a control character in the reason phrase', 'undici', (t) => /^HTTP\/1\.[01] \d\d\d [^\r\n]*[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(t)],
  // RFC 9112 §2.2: a bare CR is invalid; llhttp takes one after the status line, ours refuses it.
  ['a bare CR', 'undici', (t) => /\r(?!\n)/.test(t.slice(0, t.indexOf('\r\n\r\n') + 4))],
  // llhttp skips a stray CR or LF before the status line; ours takes the answer from its first byte.
  ['a line break before the status line', 'undici', (t) => /^[\r\n]/.test(t)],
  // RFC 9112 §7.1.1 allows whitespace (BWS) around ";" and "=" in a chunk extension; llhttp refuses it.
  ['whitespace in a chunk extension', 'ours', (t) => /\r\n[0-9A-Fa-f]+(?:[ \t]+;|[^\r\n]*;[^\r\n]*[ \t])/.test(t.slice(t.indexOf('\r\n\r\n')))],
];

function mutate(seed: number): Buffer {
  // mulberry32: small, seeded, well mixed (a plain LCG repeats its first draws across nearby seeds).
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) & 0x7fffffff;
  };
  const base = Buffer.from(CORPUS[next() % CORPUS.length], 'latin1');
  const out = [...base];
  const edits = 1 + (next() % 3);
  const alphabet = [0x0d, 0x0a, 0x20, 0x3a, 0x30, 0x31, 0x39, 0x00, 0x09, 0x7f, 0xff, 0x2c, 0x3b, 0x61];
  for (let i = 0; i < edits; i++) {
    const at = next() % (out.length + 1);
    switch (next() % 4) {
      case 0: out.splice(at, 1); break;
      case 1: out.splice(at, 0, alphabet[next() % alphabet.length]); break;
      case 2: if (at < out.length) out[at] = alphabet[next() % alphabet.length]; break;
      default: out.length = Math.max(1, at);
    }
  }
  return Buffer.from(out);
}

void test('differential: our answer parser and undici agree on the corpus and on 1,000 mutations, or differ in a documented way', async (t) => {
  const server = await bytesServer();
  const differences = new Map<string, number>();
  const unexplained: string[] = [];
  const tally = { bothRead: 0, bothRefused: 0, differ: 0 };
  try {
    const cases = [...CORPUS.map((t) => Buffer.from(t, 'latin1')), ...Array.from({ length: Number(process.env.DIFF_CASES ?? 1000) }, (_, i) => mutate(i + 1))];
    for (const [i, bytes] of cases.entries()) {
      server.next(bytes);
      const a = ours(bytes);
      const b = await theirs(server.port);
      const text = bytes.toString('latin1');
      if (i < CORPUS.length) assert.ok(a.ok && b.ok, `corpus case ${i} is read by both`);
      if (a.ok && b.ok) tally.bothRead++;
      else if (!a.ok && !b.ok) tally.bothRefused++;
      else tally.differ++;
      if (a.ok && b.ok) {
        assert.equal(a.status, b.status, `status of ${JSON.stringify(text)}`);
        assert.equal(a.body, b.body, `body of ${JSON.stringify(text)}`);
      } else if (a.ok !== b.ok) {
        const reader = a.ok ? 'ours' : 'undici';
        const known = KNOWN.find(([, side, applies]) => side === reader && applies(text));
        if (known) differences.set(known[0], (differences.get(known[0]) ?? 0) + 1);
        else unexplained.push(`${a.ok ? 'only ours' : 'only undici'} reads ${JSON.stringify(text)}`);
      }
    }
  } finally {
    await server.close();
  }
  assert.deepEqual(unexplained, []);
  // Not an assertion on how many: which documented classes this corpus met.
  t.diagnostic(`both read ${tally.bothRead}, both refused ${tally.bothRefused}, differ ${tally.differ}`);
  t.diagnostic(`differences by class: ${JSON.stringify(Object.fromEntries(differences))}`);
});
