// The EKM client's metrics in Prometheus text (prom-client), the error-domain table,
// and the body helpers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Base64Value, bodyJson, contextJson, decodeBytes, encodePath, keyContext, signRequest } from '../../src/services/ekm-client/bodies';
import { httpErrorDomain, parseErrorBody } from '../../src/services/ekm-client/errors';
import { Metrics } from '../../src/metrics';
import { EkmMetrics } from '../../src/services/ekm-client/metrics';
import { CALL, VERSION } from './helpers';

void test('EKM attempts are counted and timed in Prometheus naming, on the server registry', async () => {
  const registry = new Metrics();
  const metrics = new EkmMetrics(registry);
  const other = registry.counter('kms_other_total', 'Something else.', ['kind']);
  other.inc({ kind: 'a "quoted"\nvalue\\' });
  const connection = 'projects/p/locations/l/ekmConnections/c';
  metrics.record({ method: 'wrap', final: false, responseCode: 0, status: 'CONNECTION', ekmConnection: connection, latencyMs: 3 });
  metrics.record({ method: 'wrap', final: true, responseCode: 200, status: 'OK', ekmConnection: connection, latencyMs: 120.5 });
  metrics.record({ method: 'wrap', final: true, responseCode: 200, status: 'OK', ekmConnection: connection, latencyMs: 40 });
  const text = await metrics.prometheusText();
  assert.ok(text.endsWith('\n'));
  assert.match(text, /^# HELP ekm_external_requests_total .+\n# TYPE ekm_external_requests_total counter\n/m);
  assert.ok(text.includes(`ekm_external_requests_total{method="wrap",final="false",response_code="0",status="CONNECTION",ekm_connection="${connection}"} 1\n`));
  assert.ok(text.includes(`ekm_external_requests_total{method="wrap",final="true",response_code="200",status="OK",ekm_connection="${connection}"} 2\n`));
  assert.ok(text.includes('# TYPE ekm_external_request_duration_seconds histogram\n'));
  assert.ok(text.includes('ekm_external_request_duration_seconds_bucket{le="0.025",method="wrap",final="true"} 0\n'), text);
  assert.ok(text.includes('ekm_external_request_duration_seconds_bucket{le="0.05",method="wrap",final="true"} 1\n'));
  assert.ok(text.includes('ekm_external_request_duration_seconds_bucket{le="0.25",method="wrap",final="true"} 2\n'));
  assert.ok(text.includes('ekm_external_request_duration_seconds_bucket{le="+Inf",method="wrap",final="true"} 2\n'));
  assert.ok(text.includes('ekm_external_request_duration_seconds_sum{method="wrap",final="true"} 0.1605\n'));
  assert.ok(text.includes('ekm_external_request_duration_seconds_count{method="wrap",final="false"} 1\n'));
  assert.ok(text.includes('kms_other_total{kind="a \\"quoted\\"\\nvalue\\\\"} 1\n'), text);
  assert.throws(() => registry.counter('kms_other_total', 'again', []), /already been registered/);
});

void test('HTTP answers map to Cloud KMS error domains', () => {
  const table: Array<[number, string | undefined, string, string]> = [
    [401, 'UNAUTHENTICATED', 'wrap', 'UNEXPECTED_ERROR'],
    [403, 'PERMISSION_DENIED', 'wrap', 'EXTERNAL_PERMISSION_DENIED'],
    [404, 'NOT_FOUND', 'wrap', 'EXTERNAL_NOT_FOUND'],
    [400, 'INVALID_ARGUMENT', 'unwrap', 'DECRYPTION_FAILED'],
    [400, undefined, 'unwrap', 'DECRYPTION_FAILED'],
    [400, 'FAILED_PRECONDITION', 'unwrap', 'UNEXPECTED_ERROR'],
    [400, 'INVALID_ARGUMENT', 'wrap', 'UNEXPECTED_ERROR'],
    [409, 'ALREADY_EXISTS', 'createKey', 'UNEXPECTED_ERROR'],
    [413, 'INVALID_ARGUMENT', 'wrap', 'UNEXPECTED_ERROR'],
    [405, undefined, 'wrap', 'UNEXPECTED_ERROR'],
    [429, 'RESOURCE_EXHAUSTED', 'wrap', 'EXTERNAL_RESOURCE_EXHAUSTED'],
    [501, 'UNIMPLEMENTED', 'asymmetricSign', 'EXTERNAL_NOT_IMPLEMENTED'],
    [503, 'UNAVAILABLE', 'wrap', 'OVERLOADED_EKM'],
    [500, 'INTERNAL', 'wrap', 'EXTERNAL_SERVER_ERROR'],
    [502, undefined, 'wrap', 'EXTERNAL_SERVER_ERROR'],
    [504, undefined, 'wrap', 'EXTERNAL_SERVER_ERROR'],
    [302, undefined, 'wrap', 'UNEXPECTED_RESPONSE'],
  ];
  for (const [status, code, op, domain] of table) assert.equal(httpErrorDomain(status, code, op), domain, `${status} ${code} ${op}`);
});

void test('EKM error bodies are read as a bare google.rpc.Status or in the error envelope', () => {
  const read = (v: unknown) => parseErrorBody(Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)));
  assert.deepEqual(read({ code: 3, message: 'bad blob', details: [] }), { status: 'INVALID_ARGUMENT', message: 'bad blob' });
  assert.deepEqual(read({ error: { code: 400, status: 'FAILED_PRECONDITION', message: 'disabled' } }), { status: 'FAILED_PRECONDITION', message: 'disabled' });
  assert.deepEqual(read({ code: 99, message: 7 }), { status: undefined, message: '' });
  assert.deepEqual(read('<html>proxy</html>'), { message: '' });
  assert.deepEqual(read('null'), { message: '' });
});

void test('bodies: context, digests, base64 answers and URL-safe paths', () => {
  assert.deepEqual(keyContext(CALL), {
    fullResourceName: `//cloudkms.googleapis.com/${VERSION}`,
    relativeResourceName: VERSION,
    accessReasonContext: { reason: 'CUSTOMER_INITIATED_ACCESS' },
    isKeyHealthCheck: false,
  });
  const body = signRequest({ digest: { sha384: Buffer.from([1, 2, 3]) } }, CALL);
  assert.deepEqual(body.digest, { sha384: 'AQID' });
  assert.equal(body.data, undefined);
  assert.deepEqual(signRequest({ data: Buffer.from('hi') }, CALL).data, 'aGk=');

  assert.deepEqual(decodeBytes('AQID'), Buffer.from([1, 2, 3]));
  assert.deepEqual(decodeBytes('-_8'), Buffer.from([0xfb, 0xff]));
  assert.deepEqual(decodeBytes(''), Buffer.alloc(0));
  assert.equal(decodeBytes('not base64!'), undefined);
  assert.equal(decodeBytes(12), undefined);

  assert.equal(encodePath('v0/cryptospaces/a/keys/b'), 'v0/cryptospaces/a/keys/b');
  assert.equal(encodePath('/k?x=1#f'), 'k%3Fx=1%23f');
  assert.equal(encodePath('a b/ü%'), 'a%20b/%C3%BC%25');
});

void test('request bodies: base64 values written as they are, the rest as JSON.stringify writes it', () => {
  const bytes = Buffer.from([0xfb, 0xff, 0x00, 0x41]);
  const body = {
    plaintext: new Base64Value(bytes),
    skipped: undefined,
    additionalContext: { ...keyContext(CALL), note: 'quote " and ü' },
    'odd key': [1, null],
    digest: { sha256: new Base64Value(Buffer.from([1])) },
  };
  const text = bodyJson(body);
  assert.equal(text, JSON.stringify(body));
  assert.deepEqual(JSON.parse(text), {
    plaintext: bytes.toString('base64'),
    additionalContext: { ...keyContext(CALL), note: 'quote " and ü' },
    'odd key': [1, null],
    digest: { sha256: 'AQ==' },
  });
  assert.equal(bodyJson({}), '{}');
});

void test('a remembered context is the context as JSON, one per reason, probe and resource', () => {
  const text = bodyJson({ plaintext: new Base64Value(Buffer.from([1])), additionalContext: contextJson(CALL) });
  assert.deepEqual(JSON.parse(text), { plaintext: 'AQ==', additionalContext: keyContext(CALL) });
  assert.equal(contextJson(CALL), contextJson({ ...CALL }));
  const probe = { ...CALL, isKeyHealthCheck: true };
  assert.deepEqual(JSON.parse(contextJson(probe).json), keyContext(probe));
  const other = { ...CALL, reason: 'GOOGLE_INITIATED_SYSTEM_OPERATION' as const };
  assert.equal(JSON.parse(contextJson(other).json).accessReasonContext.reason, 'GOOGLE_INITIATED_SYSTEM_OPERATION');
  assert.notEqual(contextJson(other), contextJson(CALL));
});
