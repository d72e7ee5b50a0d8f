// The REST port against what a web page, or a stranger, sends: a browser's
// cross-site "simple" POST and DNS rebinding (Host and Origin checks, the
// content-type rule, no CORS unless configured), bodies that are not JSON or
// nest without end, and a bounded fuzz of mangled requests. Every answer is
// the project's own words with the right code; nothing is logged as an
// unexpected error.
import '../helpers/env';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { capturingLogger } from '../helpers/log';
import { createKey, createKeyRing } from '../helpers/kms-keys';
import { type Harness, startKms } from '../helpers/kms';
import { request } from '../helpers/http';
import { seededRandom } from '../helpers/h2-frames';

/** Library texts that must never reach a caller. */
const FOREIGN_TEXT = /Unexpected token|in JSON at position|SyntaxError|RangeError|Maximum call stack|\n\s+at /;

describe('REST: a web page can not drive the KMS', () => {
  let kms: Harness;
  let version: string;
  let base: string;
  const log = capturingLogger();

  before(async () => {
    kms = await startKms({ transport: 'rest', logger: log.logger });
    base = kms.server.addresses.rest;
    version = (await createKey(kms.client, await createKeyRing(kms.client), { purpose: 'ENCRYPT_DECRYPT' })).version;
  });
  after(() => kms.close());

  async function state(): Promise<string> {
    const [v] = await kms.client.getCryptoKeyVersion({ name: version });
    return String(v.state);
  }

  test('the report\'s request (text/plain, Origin and Host evil.example) destroys nothing', async () => {
    const answer = await request(base, 'POST', `/v1/${version}:destroy`, '{}', {
      'content-type': 'text/plain', origin: 'http://evil.example', host: 'evil.example',
    });
    assert.notEqual(answer.status, 200);
    assert.equal(answer.json.error?.status, 'PERMISSION_DENIED');
    assert.equal(answer.headers['access-control-allow-origin'], undefined);
    assert.equal(await state(), 'ENABLED');
  });

  test('each check alone: the content type (415), the Host (403), the Origin (403)', async () => {
    const destroy = `/v1/${version}:destroy`;
    const plain = await request(base, 'POST', destroy, '{}', { 'content-type': 'text/plain' });
    assert.equal(plain.status, 415);
    assert.equal(plain.json.error?.status, 'INVALID_ARGUMENT');
    assert.match(plain.json.error!.message, /application\/json/);
    const form = await request(base, 'POST', destroy, 'a=b', { 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(form.status, 415);
    const none = await request(base, 'POST', destroy, '{}', { 'content-type': '' });
    assert.equal(none.status, 415);
    const host = await request(base, 'POST', destroy, '{}', { host: 'evil.example:8080' });
    assert.equal(host.status, 403);
    assert.match(host.json.error!.message, /Host header "evil\.example:8080"/);
    const rebound = await request(base, 'GET', `/v1/${version}`, undefined, { host: 'rebind.evil.example' });
    assert.equal(rebound.status, 403, 'reads too: DNS rebinding would let the page read the answer');
    const origin = await request(base, 'POST', destroy, '{}', { origin: 'http://evil.example' });
    assert.equal(origin.status, 403);
    assert.match(origin.json.error!.message, /origin "http:\/\/evil\.example"/);
    const preflight = await request(base, 'OPTIONS', destroy, undefined, {
      origin: 'http://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type',
    });
    assert.equal(preflight.status, 403);
    assert.equal(preflight.headers['access-control-allow-origin'], undefined);
    assert.equal(await state(), 'ENABLED');
  });

  test('loopback names, the server\'s own origin and JSON with a charset are accepted', async () => {
    const port = kms.server.restPort;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST.:${port}`, `[::1]:${port}`]) {
      const answer = await request(base, 'GET', `/v1/${version}`, undefined, { host });
      assert.equal(answer.status, 200, host);
    }
    const same = await request(base, 'GET', `/v1/${version}`, undefined, { origin: `http://127.0.0.1:${port}` });
    assert.equal(same.status, 200);
    assert.equal(same.headers['access-control-allow-origin'], undefined, 'no CORS headers unless an origin is configured');
    const charset = await request(base, 'POST', `/v1/${version.replace(/\/cryptoKeyVersions\/.*/, '')}:encrypt`,
      JSON.stringify({ plaintext: 'aGk=' }), { 'content-type': 'Application/JSON; charset=utf-8' });
    assert.equal(charset.status, 200);
  });

  test('bodies that are not JSON, or nest 10,000 deep, are 400 in our words', async () => {
    const encrypt = `/v1/${version.replace(/\/cryptoKeyVersions\/.*/, '')}:encrypt`;
    for (const body of ['{', '{"plaintext": }', 'nul', '\u0000', '[1,2', '"unterminated', `${'['.repeat(10_000)}${']'.repeat(10_000)}`,
      `{"a":${'{"a":'.repeat(5000)}1${'}'.repeat(5001)}`, `{"plaintext":"aGk=","x":${'['.repeat(70)}${']'.repeat(70)}}`]) {
      const answer = await request(base, 'POST', encrypt, body);
      assert.equal(answer.status, 400, body.slice(0, 40));
      assert.equal(answer.json.error?.status, 'INVALID_ARGUMENT');
      assert.match(answer.json.error!.message, /^Invalid JSON payload received\./);
      assert.doesNotMatch(answer.text, FOREIGN_TEXT);
    }
    assert.deepEqual(log.errors, []);
  });

  test('a client that disconnects mid-body is no error', async () => {
    const encrypt = `/v1/${version.replace(/\/cryptoKeyVersions\/.*/, '')}:encrypt`;
    for (let i = 0; i < 5; i++) {
      const socket = net.connect(kms.server.restPort, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.write(`POST ${encrypt} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"plaintext":`);
      await new Promise((resolve) => setTimeout(resolve, 10));
      socket.destroy();
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(log.errors, []);
    assert.equal(kms.server.bufferedRequestBytes().rest.used, 0);
  });

  for (const [label, seed] of [['a fixed seed', 0x2e57], ['a random seed', Math.floor(Math.random() * 2 ** 32)]] as const) {
    test(`bounded fuzz: 200 mangled Encrypt requests from ${label} (${seed})`, async () => {
      const random = seededRandom(seed);
      const encrypt = `/v1/${version.replace(/\/cryptoKeyVersions\/.*/, '')}:encrypt`;
      const valid = JSON.stringify({ plaintext: 'aGVsbG8=', additionalAuthenticatedData: 'YQ==', plaintextCrc32c: '123' });
      const pieces = ['{', '}', '[', ']', '"', ':', ',', '\\', 'null', '1e999', '-', '"\\u0000"', '"plaintext"', 'true', '\u00ff', '"%%"'];
      for (let i = 0; i < 200; i++) {
        let body = valid;
        for (let edits = 1 + Math.floor(random() * 4); edits > 0; edits--) {
          const at = Math.floor(random() * (body.length + 1));
          const cut = Math.floor(random() * 4);
          body = body.slice(0, at) + pieces[Math.floor(random() * pieces.length)] + body.slice(at + cut);
        }
        const path = random() < 0.2 ? `${encrypt}?${pieces[Math.floor(random() * pieces.length)]}=1` : encrypt;
        let answer;
        try {
          answer = await request(base, 'POST', path, body);
        } catch (err) {
          throw new Error(`seed ${seed}, request ${i}: ${(err as Error).message}`);
        }
        assert.ok(answer.status === 200 || (answer.status >= 400 && answer.status < 500), `seed ${seed}, request ${i}: HTTP ${answer.status} for ${body}`);
        assert.doesNotMatch(answer.text, FOREIGN_TEXT, `seed ${seed}, request ${i}`);
      }
      assert.deepEqual(log.errors, [], `seed ${seed}`);
    });
  }
});

describe('REST: hosts and origins the operator adds', () => {
  let kms: Harness;
  before(async () => {
    kms = await startKms({ transport: 'rest', allowedHosts: ['kms.internal'], corsOrigins: ['https://console.example'] });
  });
  after(() => kms.close());

  test('--allowed-host adds a name; --cors-origin answers preflights and marks answers for that origin only', async () => {
    const base = kms.server.addresses.rest;
    const path = '/v1/projects/p/locations/us-east1/keyRings';
    assert.equal((await request(base, 'GET', path, undefined, { host: 'kms.internal:443' })).status, 200);
    assert.equal((await request(base, 'GET', path, undefined, { host: 'other.internal' })).status, 403);
    const preflight = await request(base, 'OPTIONS', path, undefined, {
      origin: 'https://console.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type',
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers['access-control-allow-origin'], 'https://console.example');
    assert.match(String(preflight.headers['access-control-allow-headers']), /content-type/);
    const get = await request(base, 'GET', path, undefined, { origin: 'https://console.example' });
    assert.equal(get.status, 200);
    assert.equal(get.headers['access-control-allow-origin'], 'https://console.example');
    assert.equal(get.headers.vary, 'origin');
    const other = await request(base, 'GET', path, undefined, { origin: 'https://other.example' });
    assert.equal(other.status, 403);
  });
});

describe('REST: --allowed-host * takes any Host, never a foreign page', () => {
  let kms: Harness;
  before(async () => {
    kms = await startKms({ transport: 'rest', allowedHosts: ['*'] });
  });
  after(() => kms.close());

  test('a rebound page (its origin matching its own Host) is refused; the server\'s own origin is not', async () => {
    const base = kms.server.addresses.rest;
    const port = new URL(base).port;
    const path = '/v1/projects/p/locations/us-east1/keyRings';
    assert.equal((await request(base, 'GET', path, undefined, { host: `anything.example:${port}` })).status, 200);
    const rebound = await request(base, 'POST', `${path}?keyRingId=rebound`, '{}', { host: `evil.example:${port}`, origin: `http://evil.example:${port}` });
    assert.equal(rebound.status, 403);
    assert.match(rebound.text, /origin/i);
    const own = await request(base, 'POST', `${path}?keyRingId=own`, '{}', { host: `127.0.0.1:${port}`, origin: `http://127.0.0.1:${port}` });
    assert.equal(own.status, 200);
  });
});
