// The REST transport on the wire, with node's own fetch and http: routes from
// the annotations, proto3 JSON both ways, Google's error body, gzip bodies,
// the size limit, alt/prettyPrint, and every kind of bad request getting its
// code and a message that names what is wrong.
import '../helpers/env';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import { type Handler, SERVICES } from '../../src/api/methods';
import { Code, KmsError } from '../../src/errors';
import { service } from '../../src/proto/registry';
import { MAX_REQUEST_BYTES, startRest } from '../../src/rest/server';
import { Router, routesOf } from '../../src/rest/routes';
import { canonicalCode, type Harness, LOCATION, restClient, startKms } from '../helpers/kms';
import { request } from '../helpers/http';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('REST routes come from the annotations', () => {
  test('every method the services declare has a route; Locations under projects too', () => {
    const routes = routesOf(SERVICES, service);
    // WaitOperation has no google.api.http annotation: it is a gRPC-only method.
    const grpcOnly = new Set(['google.longrunning.Operations.WaitOperation']);
    for (const name of SERVICES) {
      for (const method of service(name).methodsArray) {
        if (grpcOnly.has(`${name}.${method.name}`)) continue;
        assert.ok(routes.some((r) => r.fullMethod === `${name}.${method.name}`), `${name}.${method.name} has no route`);
      }
    }
    const router = new Router(routes);
    const resolve = (m: string, p: string) => {
      const r = router.resolve(m, p);
      return r && 'match' in r ? [r.match.route.fullMethod, ...r.match.values] : r;
    };
    assert.deepEqual(resolve('GET', '/v1/projects/p/locations'), ['google.cloud.location.Locations.ListLocations', 'projects/p']);
    assert.deepEqual(resolve('GET', '/v1/projects/p/locations/l'), ['google.cloud.location.Locations.GetLocation', 'projects/p/locations/l']);
    const key = 'projects/p/locations/l/keyRings/r/cryptoKeys/k';
    assert.deepEqual(resolve('POST', `/v1/${key}:encrypt`), ['google.cloud.kms.v1.KeyManagementService.Encrypt', key]);
    assert.deepEqual(resolve('POST', `/v1/${key}/cryptoKeyVersions/3:encrypt`), [
      'google.cloud.kms.v1.KeyManagementService.Encrypt', `${key}/cryptoKeyVersions/3`,
    ]);
    assert.deepEqual(resolve('PATCH', `/v1/${key}`), ['google.cloud.kms.v1.KeyManagementService.UpdateCryptoKey', key]);
    assert.deepEqual(resolve('GET', `/v1/${key}/cryptoKeyVersions`), [
      'google.cloud.kms.v1.KeyManagementService.ListCryptoKeyVersions', key,
    ]);
    const put = router.resolve('PUT', `/v1/${key}`);
    assert.ok(put && 'allowed' in put);
    assert.deepEqual([...put.allowed].sort(), ['DELETE', 'GET', 'PATCH']);
    assert.equal(resolve('GET', '/v1/projects/p/nothing'), undefined);
    assert.equal(resolve('POST', `/v1/${key}:nosuchverb`), undefined);
  });
});

describe('REST transport against a server', () => {
  let kms: Harness;
  let base: string;
  let key: string;
  before(async () => {
    kms = await startKms();
    base = kms.server.addresses.rest;
    await request(base, 'POST', `/v1/${LOCATION}/keyRings?keyRingId=rest-ring`, '{}');
    const created = await request(base, 'POST', `/v1/${LOCATION}/keyRings/rest-ring/cryptoKeys?crypto_key_id=k`, JSON.stringify({
      purpose: 'ENCRYPT_DECRYPT',
      rotation_period: '86400s',
      nextRotationTime: '2030-01-02T00:00:00.5Z',
      labels: { team: 'a' },
    }));
    assert.equal(created.status, 200, created.text);
    key = String(created.json.name);
  });
  after(() => kms.close());

  test('proto3 JSON out: Duration, Timestamp, enums by name, defaults omitted, pretty by default', async () => {
    const got = await request(base, 'GET', `/v1/${key}`);
    assert.equal(got.status, 200);
    assert.match(String(got.headers['content-type']), /^application\/json/);
    assert.equal(got.json.rotationPeriod, '86400s');
    assert.equal(got.json.nextRotationTime, '2030-01-02T00:00:00.500Z');
    assert.equal(got.json.createTime, '2030-01-01T00:00:00Z');
    assert.equal(got.json.purpose, 'ENCRYPT_DECRYPT');
    assert.equal(got.json.importOnly, undefined);
    assert.ok(got.text.includes('\n  "name"'), 'pretty-printed by default');
    const compact = await request(base, 'GET', `/v1/${key}?alt=json&prettyPrint=false`);
    assert.ok(!compact.text.includes('\n'));
    assert.deepEqual(compact.json, got.json);
    const ints = await request(base, 'GET', `/v1/${key}?$alt=json%3Benum-encoding%3Dint`);
    assert.equal(ints.json.purpose, 1);
  });

  test('bytes: standard and URL-safe base64 in; int64 as strings or numbers; snake_case names', async () => {
    const plain = Buffer.from([0xfb, 0xff, 0xfe, 0x01]);
    const enc = await request(base, 'POST', `/v1/${key}:encrypt`, JSON.stringify({
      plaintext: plain.toString('base64url'),
      additional_authenticated_data: b64('aad'),
    }));
    assert.equal(enc.status, 200, enc.text);
    assert.equal(enc.json.name, `${key}/cryptoKeyVersions/1`);
    assert.equal(typeof enc.json.ciphertextCrc32c, 'string');
    assert.match(String(enc.json.ciphertext), /^[A-Za-z0-9+/]+=*$/);
    const dec = await request(base, 'POST', `/v1/${key}:decrypt`, JSON.stringify({
      ciphertext: enc.json.ciphertext,
      additionalAuthenticatedData: b64('aad'),
      ciphertextCrc32c: Number(enc.json.ciphertextCrc32c),
    }));
    assert.equal(dec.status, 200, dec.text);
    assert.deepEqual(Buffer.from(String(dec.json.plaintext), 'base64'), plain);
    const wrong = await request(base, 'POST', `/v1/${key}:decrypt`, JSON.stringify({
      ciphertext: enc.json.ciphertext,
      ciphertextCrc32c: String(Number(enc.json.ciphertextCrc32c) ^ 1),
    }));
    assert.equal(wrong.status, 400);
    assert.match(wrong.json.error!.message, /ciphertext_crc32c/);
  });

  test('query parameters: page_size, update_mask; the body named by the rule', async () => {
    const page = await request(base, 'GET', `/v1/${LOCATION}/keyRings/rest-ring/cryptoKeys?pageSize=1&filter=labels.team%3Da`);
    assert.equal(page.status, 200, page.text);
    assert.equal((page.json.cryptoKeys as unknown[]).length, 1);
    assert.equal(page.json.totalSize, 1);
    const patched = await request(base, 'PATCH', `/v1/${key}?updateMask=labels,rotationPeriod`, JSON.stringify({
      labels: { team: 'b' },
      rotationPeriod: '172800s',
    }));
    assert.equal(patched.status, 200, patched.text);
    assert.deepEqual(patched.json.labels, { team: 'b' });
    assert.equal(patched.json.rotationPeriod, '172800s');
    const overridden = await request(base, 'POST', `/v1/${key}`, JSON.stringify({ labels: { team: 'c' } }), {
      'x-http-method-override': 'PATCH',
    });
    assert.equal(overridden.status, 400, 'an update_mask is required');
    assert.match(overridden.json.error!.message, /update_mask/);
  });

  test('gzip and deflate request bodies', async () => {
    const body = JSON.stringify({ plaintext: b64('compressed') });
    const gz = await request(base, 'POST', `/v1/${key}:encrypt`, zlib.gzipSync(body), { 'content-encoding': 'gzip' });
    assert.equal(gz.status, 200, gz.text);
    const df = await request(base, 'POST', `/v1/${key}:encrypt`, zlib.deflateSync(body), { 'content-encoding': 'deflate' });
    assert.equal(df.status, 200, df.text);
    const broken = await request(base, 'POST', `/v1/${key}:encrypt`, Buffer.from('not gzip'), { 'content-encoding': 'gzip' });
    assert.equal(broken.status, 400);
    assert.equal(broken.json.error!.status, 'INVALID_ARGUMENT');
    const br = await request(base, 'POST', `/v1/${key}:encrypt`, body, { 'content-encoding': 'br' });
    assert.equal(br.status, 415);
    assert.match(br.json.error!.message, /Content-Encoding "br"/);
  });

  test('a body over the limit is refused with 413 / INVALID_ARGUMENT, compressed or not', async () => {
    const big = await request(base, 'POST', `/v1/${key}:encrypt`, Buffer.alloc(MAX_REQUEST_BYTES + 10, 0x20));
    assert.equal(big.status, 413);
    assert.equal(big.json.error!.status, 'INVALID_ARGUMENT');
    const bomb = zlib.gzipSync(Buffer.alloc(MAX_REQUEST_BYTES + 10, 0x20));
    assert.ok(bomb.length < 100_000);
    const inflated = await request(base, 'POST', `/v1/${key}:encrypt`, bomb, { 'content-encoding': 'gzip' });
    assert.equal(inflated.status, 413);
    // The server is still there.
    assert.equal((await request(base, 'GET', `/v1/${key}`)).status, 200);
  });

  test('bad requests: each with its code and a message naming what is wrong', async () => {
    const cases: [string, string, string | undefined, number, string, RegExp][] = [
      ['malformed JSON', 'POST', '{"plaintext": ', 400, 'INVALID_ARGUMENT', /Invalid JSON payload received/],
      ['not an object', 'POST', '[1,2]', 400, 'INVALID_ARGUMENT', /Invalid JSON payload received/],
      ['wrong type', 'POST', '{"plaintext": 5}', 400, 'INVALID_ARGUMENT', /'plaintext'/],
      ['unknown field', 'POST', '{"plaintxt": "YQ=="}', 400, 'INVALID_ARGUMENT', /Unknown name "plaintxt"/],
      ['bad base64', 'POST', '{"plaintext": "!!not base64!!"}', 400, 'INVALID_ARGUMENT', /'plaintext'.*Base64/],
      ['wrong int64', 'POST', '{"plaintext": "YQ==", "plaintextCrc32c": "twelve"}', 400, 'INVALID_ARGUMENT', /plaintext_crc32c/],
    ];
    for (const [what, method, body, status, code, message] of cases) {
      const got = await request(base, method, `/v1/${key}:encrypt`, body);
      assert.equal(got.status, status, `${what}: ${got.text}`);
      assert.equal(got.json.error?.code, status, what);
      assert.equal(got.json.error?.status, code, what);
      assert.match(got.json.error!.message, message, what);
    }
    const badEnum = await request(base, 'POST', `/v1/${LOCATION}/keyRings/rest-ring/cryptoKeys?cryptoKeyId=e`, '{"purpose": "NOPE"}');
    assert.equal(badEnum.status, 400);
    assert.match(badEnum.json.error!.message, /'crypto_key\.purpose'/);
    const nested = await request(base, 'POST', `/v1/${LOCATION}/keyRings/rest-ring/cryptoKeys?cryptoKeyId=e`, '{"versionTemplate": {"algo": 1}}');
    assert.equal(nested.status, 400);
    assert.match(nested.json.error!.message, /Unknown name "algo" at 'crypto_key\.version_template'/);
    const badTime = await request(base, 'POST', `/v1/${LOCATION}/keyRings/rest-ring/cryptoKeys?cryptoKeyId=e`, '{"nextRotationTime": "tomorrow"}');
    assert.equal(badTime.status, 400);
    assert.match(badTime.json.error!.message, /next_rotation_time/);

    const unknownParam = await request(base, 'GET', `/v1/${LOCATION}/keyRings?pageSise=3`);
    assert.equal(unknownParam.status, 400);
    assert.match(unknownParam.json.error!.message, /pageSise/);
    const paramOnBodyRoute = await request(base, 'POST', `/v1/${key}:encrypt?plaintext=YQ==`, '{}');
    assert.equal(paramOnBodyRoute.status, 400);
    assert.match(paramOnBodyRoute.json.error!.message, /"plaintext"/);
    const badPageSize = await request(base, 'GET', `/v1/${LOCATION}/keyRings?pageSize=many`);
    assert.equal(badPageSize.status, 400);
    assert.match(badPageSize.json.error!.message, /page_size|pageSize/);
    const bodyOnGet = await request(base, 'GET', `/v1/${key}`, '{"name": "x"}');
    assert.equal(bodyOnGet.status, 400);
    assert.match(bodyOnGet.json.error!.message, /takes no request body/);
    const badAlt = await request(base, 'GET', `/v1/${key}?alt=proto`);
    assert.equal(badAlt.status, 400);
    assert.match(badAlt.json.error!.message, /alt/);
  });

  test('wrong method on a route is 405 with Allow; an unknown route is 404', async () => {
    const wrong = await request(base, 'GET', `/v1/${key}:encrypt`);
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.allow, 'POST');
    assert.equal(wrong.json.error!.status, 'UNIMPLEMENTED');
    assert.match(wrong.json.error!.message, /Method GET is not allowed .*takes POST/);
    const unknown = await request(base, 'GET', '/v1/projects/p/locations/l/somethingElse');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.error!.status, 'NOT_FOUND');
    assert.match(unknown.json.error!.message, /No OpenEKM API method is served at GET/);
    const root = await request(base, 'GET', '/');
    assert.equal(root.status, 404);
  });

  test('service errors keep their canonical code, mapped to the HTTP status', async () => {
    const missing = await request(base, 'GET', `/v1/${LOCATION}/keyRings/absent`);
    assert.equal(missing.status, 404);
    assert.deepEqual(Object.keys(missing.json.error!).sort(), ['code', 'message', 'status']);
    assert.equal(missing.json.error!.status, 'NOT_FOUND');
    const duplicate = await request(base, 'POST', `/v1/${LOCATION}/keyRings?keyRingId=rest-ring`, '{}');
    assert.equal(duplicate.status, 409);
    assert.equal(duplicate.json.error!.status, 'ALREADY_EXISTS');
    const unimplemented = await request(base, 'GET', `/v1/${LOCATION}/singleTenantHsmInstances`);
    assert.equal(unimplemented.status, 501);
    assert.equal(unimplemented.json.error!.status, 'UNIMPLEMENTED');
  });
});

describe('REST errors carry typed details and hide unexpected failures', () => {
  const KMS = 'google.cloud.kms.v1.KeyManagementService';
  const failing: [string, Handler][] = [
    [`${KMS}.Encrypt`, () => Promise.reject(new KmsError(Code.FAILED_PRECONDITION, 'The EKM is unreachable.', [{
      type: 'google.rpc.PreconditionFailure',
      value: { violations: [{ type: 'EXTERNAL_KEY_MANAGER', subject: 'projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1', description: 'down' }] },
    }]))],
    [`${KMS}.GetKeyRing`, () => Promise.reject(new Error('disk at /secret/path failed'))],
  ];
  let transport: Awaited<ReturnType<typeof startRest>>;
  const logged: string[] = [];
  before(async () => {
    const log = { info: () => undefined, error: (m: string, f?: Record<string, unknown>) => void logged.push(`${m} ${JSON.stringify(f)}`) };
    transport = await startRest(new Map(failing), '127.0.0.1', 0, log);
  });
  after(() => transport.close());

  test('details keep their @type in the JSON body and reach the official REST client', async () => {
    const base = `http://127.0.0.1:${transport.port}`;
    const name = 'projects/p/locations/l/keyRings/r/cryptoKeys/k';
    const got = await request(base, 'POST', `/v1/${name}:encrypt`, JSON.stringify({ plaintext: b64('x') }));
    assert.equal(got.status, 400);
    assert.deepEqual(got.json.error, {
      code: 400,
      message: 'The EKM is unreachable.',
      status: 'FAILED_PRECONDITION',
      details: [{
        '@type': 'type.googleapis.com/google.rpc.PreconditionFailure',
        violations: [{ type: 'EXTERNAL_KEY_MANAGER', subject: `${name}/cryptoKeyVersions/1`, description: 'down' }],
      }],
    });
    const client = restClient(transport.port);
    try {
      await assert.rejects(client.encrypt({ name, plaintext: Buffer.from('x') }, { maxRetries: 0 }), (err: Error & { statusDetails?: unknown[] }) => {
        assert.equal(canonicalCode(err), Code.FAILED_PRECONDITION);
        assert.match(err.message, /The EKM is unreachable/);
        // A GoogleError carries the decoded details; google-gax 5.0's GaxiosError the body itself.
        assert.ok(JSON.stringify(err.statusDetails ?? err.message).includes('EXTERNAL_KEY_MANAGER'), err.message);
        return true;
      });
    } finally {
      await client.close();
    }
  });

  test('an unexpected error is INTERNAL with a generic message; the cause goes to the log only', async () => {
    const got = await request(`http://127.0.0.1:${transport.port}`, 'GET', '/v1/projects/p/locations/l/keyRings/r');
    assert.equal(got.status, 500);
    assert.equal(got.json.error!.status, 'INTERNAL');
    assert.ok(!got.text.includes('secret'));
    assert.ok(logged.some((l) => l.includes('/secret/path')));
  });

  test('methods the table does not serve answer 501 UNIMPLEMENTED', async () => {
    const got = await request(`http://127.0.0.1:${transport.port}`, 'GET', '/v1/projects/p/locations/l');
    assert.equal(got.status, 501);
    assert.equal(got.json.error!.status, 'UNIMPLEMENTED');
  });
});
