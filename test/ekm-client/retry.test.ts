// Retries: an EKM answering 429 is backed off (Retry-After honoured up to a
// cap, a bounded number of times, never past the deadline); replicas fail
// over on connection failures; other HTTP answers are never retried.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { retryAfterMs } from '../../src/services/ekm-client/transport';
import type { ExternalKeyTarget } from '../../src/services/ekm-client/types';
import { CALL, assertEkmError, connectionRecord, countSamples, fakeEkm, refusingPort, silentServer, startFixture } from './helpers';

const wrapAnswer = JSON.stringify({ wrappedBlob: Buffer.from('blob').toString('base64') });

void test('429 with Retry-After: waits (capped) and retries a bounded number of times, then EXTERNAL_RESOURCE_EXHAUSTED', async () => {
  const f = await startFixture();
  const arrivals: number[] = [];
  const fake = await fakeEkm((req, res) => {
    arrivals.push(performance.now());
    req.resume();
    res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' });
    res.end(JSON.stringify({ error: { code: 429, status: 'RESOURCE_EXHAUSTED', message: 'slow down' } }));
  });
  try {
    const client = f.client({ endpoints: [{ address: '127.0.0.1', port: fake.port }], maxRetryAfterMs: 150, rateLimitRetries: 2 });
    const target: ExternalKeyTarget = { kind: 'vpc', connection: connectionRecord(fake.der), keyPath: 'v0/k' };
    await assert.rejects(client.wrap(target, Buffer.from('x'), Buffer.alloc(0), CALL), (e) =>
      assertEkmError(e, 'EXTERNAL_RESOURCE_EXHAUSTED', /^The external key manager is throttling requests: the EKM at 127\.0\.0\.1:\d+ answered HTTP 429 to wrap on .* 3 time\(s\)/));
    assert.equal(arrivals.length, 3, 'one request and two retries');
    for (let i = 1; i < arrivals.length; i++) {
      const gap = arrivals[i] - arrivals[i - 1];
      assert.ok(gap >= 140 && gap < 1000, `waited ${gap} ms: Retry-After capped at 150 ms`);
    }
    const text = await client.metrics.prometheusText();
    assert.equal(countSamples(text, { response_code: '429', status: 'HTTP_ERROR', final: 'false' }), 2);
    assert.equal(countSamples(text, { response_code: '429', status: 'HTTP_ERROR', final: 'true' }), 1);
  } finally {
    await fake.close();
    await f.close();
  }
});

void test('429 then 200: the retry succeeds; a Retry-After beyond the deadline is not waited for', async () => {
  const f = await startFixture();
  let calls = 0;
  let retryAfter = '0';
  const fake = await fakeEkm((req, res) => {
    calls++;
    req.resume();
    if (calls % 2 === 1) {
      res.writeHead(429, { 'retry-after': retryAfter }).end();
    } else {
      res.writeHead(200, { 'content-type': 'application/json' }).end(wrapAnswer);
    }
  });
  try {
    const client = f.client({ endpoints: [{ address: '127.0.0.1', port: fake.port }], deadlineMs: 1000, maxRetryAfterMs: 5000 });
    const target: ExternalKeyTarget = { kind: 'vpc', connection: connectionRecord(fake.der), keyPath: 'v0/k' };
    assert.deepEqual(await client.wrap(target, Buffer.from('x'), Buffer.alloc(0), CALL), Buffer.from('blob'));
    assert.equal(calls, 2);
    retryAfter = '30';
    const started = performance.now();
    await assert.rejects(client.wrap(target, Buffer.from('x'), Buffer.alloc(0), CALL), (e) => assertEkmError(e, 'EXTERNAL_RESOURCE_EXHAUSTED', /throttling/));
    assert.ok(performance.now() - started < 500, 'gave up at once rather than wait past the deadline');
    assert.equal(calls, 3);
  } finally {
    await fake.close();
    await f.close();
  }
});

void test('other HTTP errors are final: a 503 is tried once', async () => {
  const f = await startFixture();
  let calls = 0;
  const fake = await fakeEkm((req, res) => {
    calls++;
    req.resume();
    res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 503, status: 'UNAVAILABLE', message: 'HSM offline' } }));
  });
  try {
    const client = f.client({ endpoints: [{ address: '127.0.0.1', port: fake.port }] });
    const target: ExternalKeyTarget = { kind: 'vpc', connection: connectionRecord(fake.der), keyPath: 'v0/k' };
    await assert.rejects(client.wrap(target, Buffer.from('x'), Buffer.alloc(0), CALL), (e) =>
      assertEkmError(e, 'OVERLOADED_EKM', /^The external key manager is overloaded .*HTTP 503 UNAVAILABLE: "HSM offline"/));
    assert.equal(calls, 1);
  } finally {
    await fake.close();
    await f.close();
  }
});

void test('fail-over: the first endpoint refuses, the second is the EKM', async () => {
  const f = await startFixture();
  try {
    const dead = await refusingPort();
    const client = f.client({ endpoints: [{ address: '127.0.0.1', port: dead }, { address: '127.0.0.1', port: f.port }] });
    const target: ExternalKeyTarget = { kind: 'vpc', connection: connectionRecord(f.der), keyPath: f.keys.wrap };
    const blob = await client.wrap(target, Buffer.from('x'), Buffer.alloc(0), CALL);
    assert.deepEqual(await client.unwrap(target, blob, Buffer.alloc(0), CALL), Buffer.from('x'));
    const text = await client.metrics.prometheusText();
    assert.equal(countSamples(text, { method: 'wrap', status: 'CONNECTION', final: 'false' }), 1);
    assert.equal(countSamples(text, { method: 'wrap', status: 'OK', final: 'true' }), 1);
    assert.equal(f.logger.lines.length, 0);
  } finally {
    await f.close();
  }
});

void test('fail-over past a replica that accepts TCP but never completes TLS (connect timeout)', async () => {
  const f = await startFixture();
  const silent = await silentServer();
  try {
    const client = f.client({ endpoints: [{ address: '127.0.0.1', port: silent.port }, { address: '127.0.0.1', port: f.port }], connectTimeoutMs: 100, deadlineMs: 3000 });
    const target: ExternalKeyTarget = { kind: 'vpc', connection: connectionRecord(f.der), keyPath: f.keys.wrap };
    const started = performance.now();
    await client.wrap(target, Buffer.from('x'), Buffer.alloc(0), CALL);
    assert.ok(performance.now() - started < 1500);
    assert.equal(countSamples(await client.metrics.prometheusText(), { status: 'CONNECTION', final: 'false' }), 1);
  } finally {
    await silent.close();
    await f.close();
  }
});

void test('fail-over past a replica with a certificate that is not pinned; every endpoint named when all fail', async () => {
  const f = await startFixture();
  let impostorRequests = 0;
  const impostor = await fakeEkm((req, res) => {
    impostorRequests++;
    req.resume();
    res.writeHead(200).end(wrapAnswer);
  });
  try {
    const endpoints = [{ address: '127.0.0.1', port: impostor.port }, { address: '127.0.0.1', port: f.port }];
    const target: ExternalKeyTarget = { kind: 'vpc', connection: connectionRecord(f.der), keyPath: f.keys.wrap };
    const client = f.client({ endpoints });
    const blob = await client.wrap(target, Buffer.from('y'), Buffer.alloc(0), CALL);
    assert.notDeepEqual(blob, Buffer.from('blob'));
    assert.equal(impostorRequests, 0, 'no request (and no token) ever reaches an unpinned server');

    const dead = await refusingPort();
    const allBad = f.client({ endpoints: [{ address: '127.0.0.1', port: impostor.port }, { address: '127.0.0.1', port: dead }], retryBackoffMs: 5 });
    await assert.rejects(allBad.wrap(target, Buffer.from('y'), Buffer.alloc(0), CALL), (e) =>
      assertEkmError(e, 'UNREACHABLE_NETWORK', new RegExp(`Endpoints tried \\(4 attempts\\): 127\\.0\\.0\\.1:${impostor.port} certificate not pinned; 127\\.0\\.0\\.1:${dead} connection refused\\.$`)));
    assert.equal(impostorRequests, 0);
  } finally {
    await impostor.close();
    await f.close();
  }
});

void test('Retry-After parses seconds and HTTP dates', () => {
  assert.equal(retryAfterMs('3'), 3000);
  assert.equal(retryAfterMs(undefined), undefined);
  assert.equal(retryAfterMs('soon'), undefined);
  const now = Date.parse('2025-01-01T00:00:00Z');
  assert.equal(retryAfterMs('Wed, 01 Jan 2025 00:00:02 GMT', now), 2000);
  assert.equal(retryAfterMs('Tue, 31 Dec 2024 00:00:00 GMT', now), 0);
});
