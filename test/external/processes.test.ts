// Cloud EKM as a user runs it: the KMS (`openekm serve`) and the reference
// EKM (`openekm ekm serve`) as two processes over real TLS, the EKM set up
// with its operator commands, gcloud and the official Node client driving the KMS: Service Directory
// endpoint, EkmConnection, VerifyConnectivity, EXTERNAL_VPC and EXTERNAL
// keys, encrypt/decrypt of files; then the EKM stopped and the same call
// failing with FAILED_PRECONDITION.
import '../helpers/env';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { serviceIdentityEmail } from '../../src/services/ekm-client';
import { type Gcloud, gcloudSkip, startGcloud } from '../helpers/gcloud';
import { tempDir } from '../helpers/kms';

const MAIN = path.resolve(__dirname, '../../src/cli/main.js');
const PROJECT = 'ekm-processes';
const LOC = 'us-east1';
const PARENT = `projects/${PROJECT}/locations/${LOC}`;
const SERVICE = `${PARENT}/namespaces/ekm/services/replicas`;
const HOSTNAME = 'ekm.test';

interface Running {
  child: ChildProcess;
  line: Record<string, string>;
}

/** Spawns `openekm ARGS` and waits for its JSON line. */
function start(args: string[]): Promise<Running> {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).once('line', (line) => resolve({ child, line: JSON.parse(line) as Record<string, string> }));
    child.once('exit', (code) => reject(new Error(`openekm ${args[0]} exited ${code}: ${stderr}`)));
  });
}

async function stop(running: Running | undefined): Promise<void> {
  if (!running || running.child.exitCode !== null) return;
  const exited = new Promise((resolve) => running.child.once('exit', resolve));
  running.child.kill('SIGTERM');
  await exited;
}

const openekm = async (args: string[]): Promise<string> =>
  (await promisify(execFile)(process.execPath, [MAIN, ...args], { encoding: 'utf8' })).stdout.trim();

describe('KMS and EKM as two processes, driven by gcloud', { skip: gcloudSkip() }, () => {
  const dir = tempDir('openekm-two-processes-');
  const kmsData = path.join(dir, 'kms');
  const ekmData = path.join(dir, 'ekm');
  let kms: Running | undefined;
  let ekm: Running | undefined;
  let gcloud: Gcloud;
  let keyPath: string;
  let ekmCertPem: string;
  const file = (name: string) => path.join(dir, name);
  const ekmArgs = () => [
    'ekm', 'serve', '--data', ekmData, '--port', '0', '--hostname', HOSTNAME,
    '--trust-issuer', `https://openekm.kms/=${path.join(kmsData, 'kms-jwks.json')}`,
    '--audience', `https://${HOSTNAME}`, '--audience', 'https://127.0.0.1',
  ];
  const ekmPort = () => Number(new URL(ekm!.line.url).port);

  before(async () => {
    // The EKM's first start makes its certificate; the KMS trusts it for EXTERNAL key URIs.
    fs.mkdirSync(kmsData);
    fs.writeFileSync(path.join(kmsData, 'kms-jwks.json'), '{"keys":[]}');
    ekm = await start(ekmArgs());
    ekmCertPem = new crypto.X509Certificate(fs.readFileSync(ekm.line.certificateDer)).toString();
    fs.writeFileSync(file('ekm-cert.pem'), ekmCertPem);
    await stop(ekm);
    kms = await start(['serve', '--data', kmsData, '--grpc-port', '0', '--rest-port', '0', '--ekm-ca-file', file('ekm-cert.pem'), '--ekm-deadline-ms', '3000']);
    ekm = await start(ekmArgs());

    await openekm(['ekm', 'crypto-spaces', 'create', 'kms', '--caller', serviceIdentityEmail(PROJECT),
      '--reasons', 'default=CUSTOMER_INITIATED_ACCESS', '--data', ekmData]);
    keyPath = await openekm(['ekm', 'keys', 'create', '--crypto-space', 'kms', '--algorithm', 'EXTERNAL_SYMMETRIC_ENCRYPTION', '--data', ekmData]);
    assert.match(keyPath, /^v0\/cryptospaces\/kms\/keys\//);
    gcloud = startGcloud({ cloudkms: kms.line.rest, servicedirectory: kms.line.rest }, PROJECT, dir);
  });
  after(async () => {
    gcloud?.close();
    await stop(ekm);
    await stop(kms);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('Service Directory endpoint, EkmConnection with the EKM certificate, VerifyConnectivity', async () => {
    await gcloud.run(['service-directory', 'namespaces', 'create', 'ekm', '--location', LOC]);
    await gcloud.run(['service-directory', 'services', 'create', 'replicas', '--namespace', 'ekm', '--location', LOC]);
    await gcloud.run(['service-directory', 'endpoints', 'create', 'a', '--service', 'replicas', '--namespace', 'ekm',
      '--location', LOC, '--address', '127.0.0.1', '--port', String(ekmPort())]);
    await gcloud.run(['kms', 'ekm-connections', 'create', 'conn', '--location', LOC, '--service-directory-service', SERVICE,
      '--hostname', HOSTNAME, '--server-certificates-files', file('ekm-cert.pem')]);
    // gcloud (528) has no ekm-connections verify-connectivity: the REST route it would call.
    const verified = await fetch(`${kms!.line.rest}/v1/${PARENT}/ekmConnections/conn:verifyConnectivity`);
    assert.equal(verified.status, 200, await verified.clone().text());
    assert.deepEqual(await verified.json(), {});
  });

  test('EXTERNAL_VPC key: versions create --ekm-connection-key-path, encrypt and decrypt files', async () => {
    await gcloud.run(['kms', 'keyrings', 'create', 'ring', '--location', LOC]);
    const key = await gcloud.resource(['kms', 'keys', 'create', 'vpc', '--keyring', 'ring', '--location', LOC, '--purpose', 'encryption',
      '--protection-level', 'external-vpc', '--default-algorithm', 'external-symmetric-encryption',
      '--crypto-key-backend', `${PARENT}/ekmConnections/conn`, '--skip-initial-version-creation']);
    assert.equal((key.versionTemplate as Record<string, unknown>).protectionLevel, 'EXTERNAL_VPC');
    const version = await gcloud.resource(['kms', 'keys', 'versions', 'create', '--key', 'vpc', '--keyring', 'ring',
      '--location', LOC, '--ekm-connection-key-path', keyPath, '--primary']);
    assert.equal((version.externalProtectionLevelOptions as Record<string, unknown>).ekmConnectionKeyPath, keyPath);
    const plaintext = crypto.randomBytes(2000);
    fs.writeFileSync(file('plain'), plaintext);
    const at = ['--key', 'vpc', '--keyring', 'ring', '--location', LOC];
    await gcloud.run(['kms', 'encrypt', ...at, '--plaintext-file', file('plain'), '--ciphertext-file', file('ct')]);
    await gcloud.run(['kms', 'decrypt', ...at, '--ciphertext-file', file('ct'), '--plaintext-file', file('back')]);
    assert.deepEqual(fs.readFileSync(file('back')), plaintext);
  });

  test('EXTERNAL key: versions create --external-key-uri, encrypt and decrypt', async () => {
    await gcloud.run(['kms', 'keys', 'create', 'uri', '--keyring', 'ring', '--location', LOC, '--purpose', 'encryption',
      '--protection-level', 'external', '--default-algorithm', 'external-symmetric-encryption', '--skip-initial-version-creation']);
    await gcloud.run(['kms', 'keys', 'versions', 'create', '--key', 'uri', '--keyring', 'ring', '--location', LOC,
      '--external-key-uri', `https://127.0.0.1:${ekmPort()}/${keyPath}`, '--primary']);
    fs.writeFileSync(file('plain2'), 'over the internet');
    const at = ['--key', 'uri', '--keyring', 'ring', '--location', LOC];
    await gcloud.run(['kms', 'encrypt', ...at, '--plaintext-file', file('plain2'), '--ciphertext-file', file('ct2')]);
    await gcloud.run(['kms', 'decrypt', ...at, '--ciphertext-file', file('ct2'), '--plaintext-file', file('back2')]);
    assert.equal(fs.readFileSync(file('back2'), 'utf8'), 'over the internet');
  });

  test('the official Node client against the KMS process: Encrypt and Decrypt with the EXTERNAL_VPC key', async () => {
    const [host, port] = kms!.line.grpc.split(':');
    const client = new KeyManagementServiceClient({ apiEndpoint: host, port: Number(port), sslCreds: grpc.credentials.createInsecure() });
    try {
      const name = `${PARENT}/keyRings/ring/cryptoKeys/vpc`;
      const [enc] = await client.encrypt({ name, plaintext: Buffer.from('two processes'), additionalAuthenticatedData: Buffer.from('aad') });
      assert.equal(enc.protectionLevel, 'EXTERNAL_VPC');
      const [dec] = await client.decrypt({ name, ciphertext: enc.ciphertext, additionalAuthenticatedData: Buffer.from('aad') });
      assert.equal(Buffer.from(dec.plaintext as Uint8Array).toString(), 'two processes');
    } finally {
      await client.close();
    }
  });

  test('the EKM stopped: the same decrypt fails with FAILED_PRECONDITION naming the cause', async () => {
    await stop(ekm);
    ekm = undefined;
    const stderr = await gcloud.fails(['kms', 'decrypt', '--key', 'vpc', '--keyring', 'ring', '--location', LOC,
      '--ciphertext-file', file('ct'), '--plaintext-file', file('nope')]);
    assert.match(stderr, /FAILED_PRECONDITION/);
    assert.match(stderr, /EKM|external key manager/i);
  });
});
