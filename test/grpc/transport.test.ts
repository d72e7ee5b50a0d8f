// The node:http2 gRPC transport at the wire level: what a non-gRPC or odd
// request gets, compression, size limits, and messages that need encoding.
import '../helpers/env';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import * as zlib from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { Code, invalidArgument } from '../../src/errors';
import { MAX_REQUEST_BYTES, startGrpc, type GrpcTransport } from '../../src/grpc/server';
import { encodeMessage, messageType } from '../../src/proto/registry';
import { silentLogger } from '../../src/log';

const KMS = 'google.cloud.kms.v1.KeyManagementService';
const PATH = `/${KMS}/GetKeyRing`;

interface Reply { status: number; headers: http2.IncomingHttpHeaders; trailers: http2.IncomingHttpHeaders; body: Buffer }

function post(port: number, path: string, body: Buffer, headers: http2.OutgoingHttpHeaders = {}): Promise<Reply> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...headers });
    let responseHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    req.on('response', (h) => (responseHeaders = h));
    req.on('trailers', (t) => (trailers = t));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      session.close();
      resolve({ status: Number(responseHeaders[':status']), headers: responseHeaders, trailers, body: Buffer.concat(chunks) });
    });
    req.on('error', reject);
    if (headers[':method'] === 'GET') req.end();
    else req.end(body);
  });
}

function framed(message: Buffer, compressed = false): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out[0] = compressed ? 1 : 0;
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
}

const getKeyRing = (name: string) => encodeMessage(messageType('google.cloud.kms.v1.GetKeyRingRequest'), { name });
const grpcStatus = (r: Reply) => Number(r.headers['grpc-status'] ?? r.trailers['grpc-status']);

describe('gRPC over node:http2', () => {
  let transport: GrpcTransport;
  before(async () => {
    const table = new Map([
      [`${KMS}.GetKeyRing`, async (req: Record<string, unknown>) => {
        if (req.name === 'projects/p/locations/l/keyRings/ünïcödé') throw invalidArgument('name: ünïcödé 100% wrong');
        return { name: req.name };
      }],
    ]);
    transport = await startGrpc(table, '127.0.0.1', 0, silentLogger);
  });
  after(() => transport.close());

  test('a unary call answers one framed message and grpc-status 0 in trailers', async () => {
    const reply = await post(transport.port, PATH, framed(getKeyRing('projects/p/locations/l/keyRings/r')));
    assert.equal(reply.status, 200);
    assert.match(String(reply.headers['content-type']), /^application\/grpc/);
    assert.equal(reply.trailers['grpc-status'], '0');
    assert.equal(reply.body.readUInt32BE(1), reply.body.length - 5);
  });

  test('a gzip-compressed request is accepted', async () => {
    const body = framed(zlib.gzipSync(getKeyRing('projects/p/locations/l/keyRings/z')), true);
    const reply = await post(transport.port, PATH, body, { 'grpc-encoding': 'gzip' });
    assert.equal(grpcStatus(reply), Code.OK);
  });

  test('a compressed message with an unknown encoding is UNIMPLEMENTED', async () => {
    const reply = await post(transport.port, PATH, framed(Buffer.from('x'), true), { 'grpc-encoding': 'snappy' });
    assert.equal(grpcStatus(reply), Code.UNIMPLEMENTED);
  });

  test('two messages in a unary call, a short frame, or garbage protobuf are INVALID_ARGUMENT', async () => {
    const one = framed(getKeyRing('a'));
    for (const body of [Buffer.concat([one, one]), Buffer.from([0, 0, 0]), framed(Buffer.from([0xff, 0xff, 0xff]))]) {
      assert.equal(grpcStatus(await post(transport.port, PATH, body)), Code.INVALID_ARGUMENT);
    }
  });

  test('an unknown method is UNIMPLEMENTED; GET is 405; a non-gRPC content type is 415', async () => {
    assert.equal(grpcStatus(await post(transport.port, `/${KMS}/NoSuchMethod`, framed(Buffer.alloc(0)))), Code.UNIMPLEMENTED);
    assert.equal((await post(transport.port, PATH, Buffer.alloc(0), { ':method': 'GET' })).status, 405);
    assert.equal((await post(transport.port, PATH, Buffer.alloc(0), { 'content-type': 'application/json' })).status, 415);
  });

  test('a body over the limit is RESOURCE_EXHAUSTED', async () => {
    const reply = await post(transport.port, PATH, framed(Buffer.alloc(MAX_REQUEST_BYTES + 10)));
    assert.equal(grpcStatus(reply), Code.RESOURCE_EXHAUSTED);
  });

  test('a non-ASCII error message reaches the official client intact', async () => {
    const client = new KeyManagementServiceClient({ apiEndpoint: '127.0.0.1', port: transport.port, sslCreds: grpc.credentials.createInsecure() });
    await assert.rejects(client.getKeyRing({ name: 'projects/p/locations/l/keyRings/ünïcödé' }), (err: Error & { code: number; details: string }) => {
      assert.equal(err.code, Code.INVALID_ARGUMENT);
      assert.equal(err.details, 'name: ünïcödé 100% wrong');
      return true;
    });
    await client.close();
  });

  test('a gzip-compressing official client works', async () => {
    const client = new KeyManagementServiceClient({
      apiEndpoint: '127.0.0.1', port: transport.port, sslCreds: grpc.credentials.createInsecure(),
      'grpc.default_compression_algorithm': 2,
    } as ConstructorParameters<typeof KeyManagementServiceClient>[0]);
    const [ring] = await client.getKeyRing({ name: 'projects/p/locations/l/keyRings/' + 'x'.repeat(60) });
    assert.equal(ring.name, 'projects/p/locations/l/keyRings/' + 'x'.repeat(60));
    await client.close();
  });
});
