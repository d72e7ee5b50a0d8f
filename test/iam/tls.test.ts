// The KMS over TLS (`--tls-cert/--tls-key`): the official client over gRPC
// with TLS (h2 by ALPN) and a token per call; REST over HTTPS; --auth
// required is then allowed off loopback (checked without binding one); a
// plaintext connection to the TLS port is refused; a certificate and key that
// do not go together are refused at start in our words.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { Agent, fetch } from 'undici';
import { createServer, KMS_AUDIENCE } from '../../src/server';
import { silentLogger } from '../../src/log';
import { TokenSigner } from '../../src/ekm-conformance/tokens';
import { makeCertFiles } from '../helpers/certificates';
import { tempDir, writeJwks } from '../ekm-server/helpers';

const NAME = 'kms.tls.test';
const ISSUER = 'https://issuer.tls.test';

void test('gRPC over TLS and REST over HTTPS, under --auth required', async () => {
  const dir = tempDir('openekm-kms-tls-');
  const cert = makeCertFiles(dir, [NAME]);
  const signer = TokenSigner.generate(ISSUER, 'ES256');
  const server = await createServer({
    inMemory: true, logger: silentLogger, schedulerIntervalMs: 0, tls: { certPem: cert.pem, keyPem: cert.keyPem },
    auth: { mode: 'required', trustedIssuers: [{ issuer: ISSUER, jwks: writeJwks(dir, signer) }], admins: ['user:admin@example.com'] },
  });
  assert.match(server.addresses.rest, /^https:\/\/127\.0\.0\.1:\d+$/);
  const client = new KeyManagementServiceClient({
    apiEndpoint: '127.0.0.1', port: server.grpcPort, sslCreds: grpc.credentials.createSsl(Buffer.from(cert.pem)),
    'grpc.ssl_target_name_override': NAME, 'grpc.default_authority': NAME,
  } as ConstructorParameters<typeof KeyManagementServiceClient>[0]);
  const token = signer.token({ email: 'admin@example.com', audience: KMS_AUDIENCE });
  const dispatcher = new Agent({ connect: { ca: cert.pem, servername: NAME } });
  try {
    const [ring] = await client.createKeyRing({ parent: 'projects/tls/locations/us-east1', keyRingId: 'r', keyRing: {} }, { otherArgs: { headers: { authorization: `Bearer ${token}` } } });
    assert.equal(ring.name, 'projects/tls/locations/us-east1/keyRings/r');
    const res = await fetch(`${server.addresses.rest}/v1/${ring.name}`, { dispatcher, headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { name: string }).name, ring.name);
    const anonymous = await fetch(`${server.addresses.rest}/v1/${ring.name}`, { dispatcher });
    assert.equal(anonymous.status, 401);
    // Plaintext HTTP to the TLS port gets no answer a client could mistake for one.
    const plain = await new Promise<string>((resolve) => {
      const socket = net.connect(server.restPort, '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      let got = '';
      socket.on('data', (d) => (got += d.toString('latin1')));
      socket.on('close', () => resolve(got));
      socket.on('error', () => resolve(got));
    });
    assert.doesNotMatch(plain, /^HTTP\/1\.1 200/);
  } finally {
    await client.close();
    await dispatcher.close();
    await server.close();
  }
});

void test('--auth required off loopback needs TLS; a certificate and key that are not a pair are refused in our words', async () => {
  const dir = tempDir('openekm-kms-tls-');
  const signer = TokenSigner.generate(ISSUER, 'ES256');
  const auth = { mode: 'required' as const, trustedIssuers: [{ issuer: ISSUER, jwks: writeJwks(dir, signer) }] };
  await assert.rejects(createServer({ inMemory: true, logger: silentLogger, host: '192.0.2.1', auth }), /needs --tls-cert and --tls-key/);
  const a = makeCertFiles(tempDir('openekm-kms-tls-a-'), [NAME]);
  const b = makeCertFiles(tempDir('openekm-kms-tls-b-'), [NAME]);
  await assert.rejects(createServer({ inMemory: true, logger: silentLogger, tls: { certPem: a.pem, keyPem: b.keyPem } }), (err: Error) =>
    /are not a PEM certificate chain and its private key/.test(err.message) && !/OpenSSL|error:/.test(err.message));
});
