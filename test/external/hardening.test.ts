// The external-key path against an attacker: a token captured by a rogue
// endpoint is refused by the real EKM; the KMS presents a client certificate
// to an EKM that requires mTLS; --ekm-allowed-network stops calls before any
// connection; VerifyConnectivity names the failed step in our own words; and
// the EKM offers only TLS 1.3 and TLS 1.2 ECDHE AEAD suites.
import '../helpers/env';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as net from 'node:net';
import * as tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { Code } from '../../src/errors';
import { decodeMessage, messageType } from '../../src/proto/registry';
import { TLS12_CIPHERS } from '../../src/tls-policy';
import { makeCertFiles } from '../helpers/certificates';
import { rejectsWithCode, tempDir } from '../helpers/kms';
import { HOSTNAME } from '../ekm-server/helpers';
import { startExternalFixture, type ExternalFixture, PARENT } from './fixture';

/** The PreconditionFailure violations of a gRPC error. */
function violations(err: unknown): { type: string; subject: string; description: string }[] {
  const bin = (err as { metadata: grpc.Metadata }).metadata.get('grpc-status-details-bin')[0] as Buffer;
  const status = decodeMessage(messageType('google.rpc.Status'), bin) as { details?: { value: Buffer }[] };
  return (status.details ?? []).flatMap(
    (d) => (decodeMessage(messageType('google.rpc.PreconditionFailure'), d.value) as { violations: never[] }).violations,
  );
}

/** Library texts that must not reach a caller: OpenSSL's error lines, Node's error codes and messages. */
const LIBRARY_TEXT = /error:[0-9A-F]{8}|SSL routines|ERR_SSL|ERR_TLS|ECONNREFUSED|Hostname\/IP does not match|altnames/;

/** A TLS server posing as the EKM with a certificate of its own, that records what the KMS sends it. */
async function rogueEkm(dir: string): Promise<{ server: https.Server; port: number; der: Buffer; seen: string[] }> {
  const cert = makeCertFiles(dir, [HOSTNAME]);
  const seen: string[] = [];
  const server = https.createServer({ cert: cert.pem, key: cert.keyPem }, (req, res) => {
    seen.push(String(req.headers.authorization ?? ''));
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ vendor: 'rogue', version: '1', operations: ['wrap'], algorithms: [] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as net.AddressInfo).port, der: cert.der, seen };
}

describe('a token captured by a rogue endpoint is useless at the real EKM', () => {
  let f: ExternalFixture;
  let dir: string;
  before(async () => {
    dir = tempDir('openekm-rogue-');
    f = await startExternalFixture();
  });
  after(async () => {
    await f.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('VerifyConnectivity hands the rogue a 60 s token bound to the rogue\'s certificate; replayed, the EKM answers 401', async () => {
    const rogue = await rogueEkm(dir);
    try {
      // Whoever may create EkmConnections: a rogue endpoint, the real EKM's hostname, the rogue's certificate pinned.
      const connection = await f.connection('rogue', rogue.port, rogue.der);
      await f.ekmService.verifyConnectivity({ name: connection });
      assert.equal(rogue.seen.length, 1);
      const token = rogue.seen[0].replace(/^Bearer /, '');
      const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as Record<string, number | string>;
      assert.ok(Number(claims.exp) - Number(claims.iat) <= 60, 'a token lives 60 s or less');
      assert.equal(claims.aud, `https://${HOSTNAME}`);
      assert.equal(claims.ekm_cert_sha256, createHash('sha256').update(rogue.der).digest('hex'));

      const replays = [
        await f.ekm.client.request('POST', `/${f.keyPath}:wrap`, {
          token, body: { plaintext: 'AAEC', additionalContext: { accessReasonContext: { reason: 'CUSTOMER_INITIATED_ACCESS' } } },
        }),
        await f.ekm.client.request('POST', `/${f.keyPath}:destroyKey`, { token, body: {} }),
        await f.ekm.client.request('GET', '/info', { token }),
      ];
      for (const answer of replays) {
        assert.equal(answer.status, 401);
        assert.match(JSON.stringify(answer.body), /bound to another EKM's certificate/);
      }
      const key = await f.ekm.admin.call<{ state: string }>('getKey', { path: f.keyPath });
      assert.equal(key.state, 'ENABLED', 'destroyKey did not run');
    } finally {
      rogue.server.close();
    }
  });

  test('the KMS\'s own calls through the pinned connection still work', async () => {
    const connection = await f.connection('real', f.ekm.server.port, fs.readFileSync(f.ekm.server.certificateDerPath));
    const key = await f.vpcKey('bound', connection);
    const plaintext = randomBytes(100);
    const [enc] = await f.kms.client.encrypt({ name: key, plaintext });
    const [dec] = await f.kms.client.decrypt({ name: key, ciphertext: enc.ciphertext });
    assert.deepEqual(Buffer.from(dec.plaintext as Uint8Array), plaintext);
  });
});

describe('mTLS: the KMS presents a client certificate to an EKM that requires one', () => {
  let f: ExternalFixture;
  let dir: string;
  let client: ReturnType<typeof makeCertFiles>;
  before(async () => {
    dir = tempDir('openekm-mtls-');
    client = makeCertFiles(dir, ['kms-client.test'], 'clientAuth');
    f = await startExternalFixture({
      kms: { ekm: { clientCertificate: { certPem: client.pem, keyPem: client.keyPem } } },
      ekm: { clientCaFile: client.certFile },
    });
  });
  after(async () => {
    await f.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('an EXTERNAL_VPC key works through an EKM started with --client-ca', async () => {
    const connection = await f.connection('mtls', f.ekm.server.port, fs.readFileSync(f.ekm.server.certificateDerPath));
    await f.ekmService.verifyConnectivity({ name: connection });
    const key = await f.vpcKey('mtls', connection);
    const plaintext = randomBytes(64);
    const [enc] = await f.kms.client.encrypt({ name: key, plaintext, additionalAuthenticatedData: Buffer.from('a') });
    const [dec] = await f.kms.client.decrypt({ name: key, ciphertext: enc.ciphertext, additionalAuthenticatedData: Buffer.from('a') });
    assert.deepEqual(Buffer.from(dec.plaintext as Uint8Array), plaintext);
    assert.equal(enc.protectionLevel, 'EXTERNAL_VPC');
  });

  test('a KMS without the client certificate is refused, in our words', async () => {
    const other = await startExternalFixture();
    try {
      const connection = await other.connection('no-client-cert', f.ekm.server.port, fs.readFileSync(f.ekm.server.certificateDerPath));
      const err = await rejectsWithCode(other.ekmService.verifyConnectivity({ name: connection }), Code.FAILED_PRECONDITION);
      assert.doesNotMatch(err.message, LIBRARY_TEXT);
      for (const v of violations(err)) assert.doesNotMatch(v.description, LIBRARY_TEXT);
    } finally {
      await other.close();
    }
  });
});

describe('--ekm-allowed-network: the KMS connects only where it is allowed', () => {
  let f: ExternalFixture;
  let connections = 0;
  let listener: net.Server;
  before(async () => {
    f = await startExternalFixture({ kms: { ekm: { allowedNetworks: ['10.0.0.0/8', 'fd00::/8'] } } });
    listener = net.createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    listener.close();
    await f.close();
  });

  test('a Service Directory endpoint outside the networks fails before dialing', async () => {
    const port = (listener.address() as net.AddressInfo).port;
    const connection = await f.connection('outside', port, fs.readFileSync(f.ekm.server.certificateDerPath));
    const err = await rejectsWithCode(f.ekmService.verifyConnectivity({ name: connection }), Code.FAILED_PRECONDITION);
    const [, v] = violations(err);
    assert.equal(v.type, 'EXTERNAL_KEY_HOST_NOT_WHITELISTED');
    assert.match(v.description, /127\.0\.0\.1.*outside the networks/);
    assert.equal(connections, 0, 'nothing was sent');
  });

  test('an EXTERNAL key URI whose host resolves outside the networks fails before dialing', async () => {
    const port = (listener.address() as net.AddressInfo).port;
    const [key] = await f.kms.client.createCryptoKey({
      parent: `${PARENT}/keyRings/ring`, cryptoKeyId: 'uri',
      cryptoKey: { purpose: 'ENCRYPT_DECRYPT', versionTemplate: { protectionLevel: 'EXTERNAL' } },
      skipInitialVersionCreation: true,
    });
    await f.kms.client.createCryptoKeyVersion({
      parent: key.name!, cryptoKeyVersion: { externalProtectionLevelOptions: { externalKeyUri: `https://localhost:${port}/v0/k` } },
    });
    await f.kms.client.updateCryptoKeyPrimaryVersion({ name: key.name!, cryptoKeyVersionId: '1' });
    const err = await rejectsWithCode(f.kms.client.encrypt({ name: key.name!, plaintext: Buffer.from('x') }), Code.FAILED_PRECONDITION);
    assert.equal(violations(err)[1].type, 'EXTERNAL_KEY_HOST_NOT_WHITELISTED');
    assert.match(violations(err)[1].description, /\(localhost\)/);
    assert.equal(connections, 0);
  });

  test('a malformed network is refused at start', async () => {
    await assert.rejects(startExternalFixture({ kms: { ekm: { allowedNetworks: ['10.0.0.0/33'] } } }), /--ekm-allowed-network: '10\.0\.0\.0\/33'/);
  });
});

describe('VerifyConnectivity names the step that failed, without library text', () => {
  let f: ExternalFixture;
  let dir: string;
  before(async () => {
    dir = tempDir('openekm-steps-');
    f = await startExternalFixture();
  });
  after(async () => {
    await f.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('closed port, plain HTTP, unpinned certificate, wrong hostname', async () => {
    const ekmDer = fs.readFileSync(f.ekm.server.certificateDerPath);
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const plain = net.createServer((socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    const cases: Array<[string, number, Buffer, string, RegExp]> = [
      ['closed', closedPort, ekmDer, HOSTNAME, /^TCP connection .* failed: connection refused/],
      ['plain', (plain.address() as net.AddressInfo).port, ekmDer, HOSTNAME, /^TLS handshake .* failed: the EKM did not answer with TLS/],
      ['unpinned', f.ekm.server.port, makeCertFiles(dir, ['x.test']).der, HOSTNAME, /^TLS pinning failed/],
      ['hostname', f.ekm.server.port, ekmDer, 'not-the-ekm.test', /^Hostname check failed: .* does not name not-the-ekm\.test/],
    ];
    try {
      for (const [id, port, der, hostname, expected] of cases) {
        const connection = await f.connection(`step-${id}`, port, der, hostname);
        const err = await rejectsWithCode(f.ekmService.verifyConnectivity({ name: connection }), Code.FAILED_PRECONDITION);
        const [, v] = violations(err);
        assert.match(v.description, expected, id);
        assert.doesNotMatch(v.description, LIBRARY_TEXT, id);
        assert.doesNotMatch(err.message, LIBRARY_TEXT, id);
      }
    } finally {
      plain.close();
    }
  });
});

describe('the EKM offers TLS 1.3 and TLS 1.2 ECDHE AEAD suites only', () => {
  let f: ExternalFixture;
  before(async () => {
    f = await startExternalFixture();
  });
  after(() => f.close());

  /** The suite negotiated with one cipher offered at TLS 1.2, or undefined when the handshake fails. */
  function handshake(cipher: string | undefined, version: tls.SecureVersion): Promise<string | undefined> {
    return new Promise((resolve) => {
      const socket = tls.connect({
        host: '127.0.0.1', port: f.ekm.server.port, servername: HOSTNAME, rejectUnauthorized: false,
        minVersion: version, maxVersion: version, ...(cipher ? { ciphers: cipher } : {}),
      });
      socket.once('secureConnect', () => {
        resolve(socket.getCipher().standardName);
        socket.destroy();
      });
      socket.once('error', () => resolve(undefined));
    });
  }

  test('every TLS 1.2 suite OpenSSL knows: only ECDHE with AES-GCM or ChaCha20-Poly1305 completes', async () => {
    const accepted: string[] = [];
    for (const cipher of tls.getCiphers().map((c) => c.toUpperCase()).filter((c) => !c.startsWith('TLS_'))) {
      if (await handshake(cipher, 'TLSv1.2')) accepted.push(cipher);
    }
    assert.ok(accepted.length > 0);
    for (const cipher of accepted) {
      assert.match(cipher, /^ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/);
      assert.ok((TLS12_CIPHERS as readonly string[]).includes(cipher));
    }
    for (const weak of ['ECDHE-ECDSA-AES128-SHA', 'ECDHE-ECDSA-AES256-SHA384', 'AES128-GCM-SHA256', 'AES128-SHA']) {
      assert.equal(await handshake(weak, 'TLSv1.2'), undefined, weak);
    }
    assert.match(String(await handshake(undefined, 'TLSv1.3')), /^TLS_(AES_(128|256)_GCM|CHACHA20_POLY1305)_SHA(256|384)$/);
    assert.equal(await handshake(undefined, 'TLSv1.1'), undefined);
  });
});
