// The EKM's certificate: the self-signed one is a valid X.509 leaf for the
// hostname and 127.0.0.1, kept across restarts; the printed fingerprint is the
// SHA-256 of the DER file; --tls-cert/--tls-key are served when given; mTLS
// refuses clients without a certificate from --client-ca.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { makeCertFiles as makeCert } from '../helpers/certificates';
import { BodyRefusedByClose, EkmHttpClient } from './conformance/client';
import { startReferenceEkm, tempDir } from './helpers';

void test('the self-signed certificate names the hostname and 127.0.0.1 and verifies under its own key', async () => {
  const ekm = await startReferenceEkm();
  try {
    const cert = new X509Certificate(fs.readFileSync(ekm.server.certificateDerPath));
    assert.ok(cert.checkHost('ekm.test'));
    assert.ok(cert.checkIP('127.0.0.1'));
    assert.equal(cert.checkHost('other.test'), undefined);
    assert.ok(cert.verify(cert.publicKey));
    assert.equal(cert.ca, false);
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1']);
    assert.ok(Date.parse(cert.validTo) > Date.now() + 365 * 86_400_000);
    const keyFile = path.join(ekm.dataDir, 'tls-self-signed-key.pem');
    assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);
  } finally {
    await ekm.close();
  }
});

void test('the fingerprint is the SHA-256 of the DER file, and survives a restart', async () => {
  const dataDir = tempDir();
  const first = await startReferenceEkm({ dataDir });
  const der = fs.readFileSync(first.server.certificateDerPath);
  assert.equal(first.server.sha256Fingerprint, createHash('sha256').update(der).digest('hex'));
  assert.equal(first.server.sha256Fingerprint, new X509Certificate(der).fingerprint256.replace(/:/g, '').toLowerCase());
  await first.close();
  const second = await startReferenceEkm({ dataDir });
  try {
    assert.equal(second.server.sha256Fingerprint, first.server.sha256Fingerprint);
    const pinned = new EkmHttpClient(second.server.url, { pinnedSha256: first.server.sha256Fingerprint });
    assert.equal((await pinned.request('GET', '/healthz')).status, 200);
    pinned.close();
    const wrongPin = new EkmHttpClient(second.server.url, { pinnedSha256: '00'.repeat(32) });
    await assert.rejects(wrongPin.request('GET', '/healthz'));
    wrongPin.close();
  } finally {
    await second.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

void test('a kept certificate for another hostname is a startup error', async () => {
  const dataDir = tempDir();
  await (await startReferenceEkm({ dataDir })).close();
  await assert.rejects(startReferenceEkm({ dataDir, hostname: 'elsewhere.test' }), /not for elsewhere\.test/);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

void test('an IPv6 hostname gets an IP SAN', async () => {
  const dir = tempDir();
  const { der } = makeCert(dir, ['::1', '127.0.0.1']);
  const cert = new X509Certificate(der);
  assert.ok(cert.checkIP('::1'));
  assert.ok(cert.checkIP('127.0.0.1'));
  fs.rmSync(dir, { recursive: true, force: true });
});

void test('--tls-cert and --tls-key are served instead of the self-signed certificate', async () => {
  const dir = tempDir();
  const own = makeCert(dir, ['ekm.test', '127.0.0.1']);
  const ekm = await startReferenceEkm({ tlsCertFile: own.certFile, tlsKeyFile: own.keyFile });
  try {
    assert.deepEqual(fs.readFileSync(ekm.server.certificateDerPath), own.der);
    const client = new EkmHttpClient(ekm.server.url, { ca: own.pem });
    assert.equal((await client.request('GET', '/healthz')).status, 200);
    client.close();
  } finally {
    await ekm.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

void test('with --client-ca, a client without a trusted certificate cannot connect', async () => {
  const dir = tempDir();
  const clientCert = makeCert(dir, ['kms-client.test'], 'clientAuth');
  const stranger = makeCert(fs.mkdtempSync(path.join(dir, 'stranger-')), ['stranger.test'], 'clientAuth');
  const ekm = await startReferenceEkm({ clientCaFile: clientCert.certFile });
  try {
    const anonymous = new EkmHttpClient(ekm.server.url, { ca: ekm.server.certificatePem });
    await assert.rejects(anonymous.request('GET', '/healthz'));
    anonymous.close();
    const untrusted = new EkmHttpClient(ekm.server.url, { ca: ekm.server.certificatePem, clientCert: stranger.pem, clientKey: stranger.keyPem });
    await assert.rejects(untrusted.request('GET', '/healthz'));
    untrusted.close();
    const trusted = new EkmHttpClient(ekm.server.url, { ca: ekm.server.certificatePem, clientCert: clientCert.pem, clientKey: clientCert.keyPem });
    assert.equal((await trusted.request('GET', '/healthz')).status, 200);
    trusted.close();
  } finally {
    await ekm.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

void test('conformance client: an EKM that closes the connection mid-body refuses it (BodyRefusedByClose), not a network error', async () => {
  const cert = makeCert(tempDir(), ['ekm.close.test']);
  let received = 0;
  const server = tls.createServer({ cert: cert.pem, key: cert.keyPem }, (socket) => {
    socket.on('error', () => undefined);
    // Read a little of the body, then drop the connection with the rest unread (a TCP reset).
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > 200 * 1024) socket.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const client = new EkmHttpClient(`https://127.0.0.1:${port}`, { ca: cert.pem, servername: 'ekm.close.test' });
  try {
    await assert.rejects(
      client.request('POST', '/v0/k:wrap', { raw: JSON.stringify({ plaintext: 'a'.repeat(2 * 1024 * 1024) }) }),
      (err: Error) => err instanceof BodyRefusedByClose && /closed the connection while the request body was being sent/.test(err.message),
    );
  } finally {
    client.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
