// /healthz and /readyz on the REST port, right and wrong: GET answers JSON
// (ready on the embedded store), any other method or a longer path is our
// own 404 naming what was asked, never a crash. Readiness against a database
// that goes away is in test/store/pg-replicas.test.ts.
import '../helpers/env';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../src/log';
import { createServer, type OpenEkmServer } from '../../src/server';

let server: OpenEkmServer;
before(async () => {
  server = await createServer({ inMemory: true, logger: silentLogger, grpcPort: 0, restPort: 0, schedulerIntervalMs: 0 });
});
after(() => server.close());

test('health routes: GET answers, other methods and paths are 404 in our words', async () => {
  const cases: [string, string, number, RegExp][] = [
    ['GET', '/healthz', 200, /^\{"status":"ok"\}\n$/],
    ['GET', '/readyz', 200, /^\{"status":"ready"\}\n$/],
    ['GET', '/readyz?verbose=1', 200, /"ready"/],
    ['POST', '/healthz', 404, /No OpenEKM API method is served at POST \/healthz\./],
    ['DELETE', '/readyz', 404, /No OpenEKM API method is served at DELETE \/readyz\./],
    ['PUT', '/readyz', 404, /No OpenEKM API method is served at PUT \/readyz\./],
    ['GET', '/healthz/extra', 404, /No OpenEKM API method is served at GET \/healthz\/extra\./],
    ['GET', '/READYZ', 404, /No OpenEKM API method is served at GET \/READYZ\./],
  ];
  for (const [method, path, status, body] of cases) {
    const res = await fetch(`${server.addresses.rest}${path}`, { method });
    const text = await res.text();
    assert.equal(res.status, status, `${method} ${path}`);
    assert.match(text, body, `${method} ${path}`);
    assert.doesNotMatch(text, /\n\s+at /, `no stack trace for ${method} ${path}`);
  }
});
