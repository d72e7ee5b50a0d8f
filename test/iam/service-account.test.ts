// The official client given a service account key file, against a KMS that
// reaches no Google endpoint: `openekm iam service-accounts add-key` keeps
// the account's public key, a project policy grants the account roles, and
// the client's self-signed JWTs (kid = private_key_id) authenticate it over
// gRPC with TLS and over REST with HTTPS; a permission it lacks is denied; a
// key that was not registered, and a key file that is not one, are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { createServer } from '../../src/server';
import { silentLogger } from '../../src/log';
import { makeCertFiles } from '../helpers/certificates';
import { tempDir } from '../ekm-server/helpers';

const MAIN = path.resolve(__dirname, '../../src/cli/main.js');
const CHILD = path.resolve(__dirname, 'sa-client.js');
const openekm = (args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 30_000 });
const SA = 'app@sa-project.iam.gserviceaccount.com';

function keyFile(dir: string, name: string, email = SA): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify({
    type: 'service_account', project_id: 'sa-project', private_key_id: randomBytes(20).toString('hex'),
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }), client_email: email, client_id: '1',
    // Never reached: the clients sign their own tokens for Cloud KMS.
    token_uri: 'https://127.0.0.1:9/token',
  }));
  return file;
}

void test('the official client with a key file, over gRPC (TLS) and REST (HTTPS); roles from the project policy', async () => {
  const dir = tempDir('openekm-sa-');
  const dataDir = path.join(dir, 'data');
  const sa = keyFile(dir, 'sa.json');
  const added = openekm(['iam', 'service-accounts', 'add-key', '--data', dataDir, '--key-file', sa]);
  assert.equal(added.status, 0, added.stderr);
  assert.equal((JSON.parse(added.stdout) as { member: string }).member, `serviceAccount:${SA}`);
  assert.doesNotMatch(fs.readFileSync(path.join(dataDir, 'kms.sqlite')).toString('latin1'), /PRIVATE KEY/, 'the private key is not kept');
  const policy = path.join(dir, 'policy.json');
  fs.writeFileSync(policy, JSON.stringify({ bindings: [
    { role: 'roles/cloudkms.admin', members: [`serviceAccount:${SA}`] },
    { role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter', members: [`serviceAccount:${SA}`] },
  ] }));
  assert.equal(openekm(['iam', 'set-project-policy', '--data', dataDir, '--project', 'sa-project', '--policy-file', policy]).status, 0);
  // Unrelated account, key not registered.
  const stranger = keyFile(dir, 'stranger.json', 'other@sa-project.iam.gserviceaccount.com');

  const cert = makeCertFiles(dir, ['localhost']);
  const certFile = path.join(dir, 'server.pem');
  fs.writeFileSync(certFile, cert.pem);
  const server = await createServer({
    dataDir, logger: silentLogger, schedulerIntervalMs: 0, tls: { certPem: cert.pem, keyPem: cert.keyPem }, auth: { mode: 'required' },
  });
  const run = async (transport: string, port: number, file: string) => {
    const env = { ...process.env, METADATA_SERVER_DETECTION: 'none', GCE_METADATA_HOST: '127.0.0.1:9', GRPC_DEFAULT_SSL_ROOTS_FILE_PATH: certFile, NODE_EXTRA_CA_CERTS: certFile };
    const { stdout } = await promisify(execFile)(process.execPath, [CHILD, transport, String(port), file, 'projects/sa-project/locations/us-east1'], { env, timeout: 60_000 });
    return JSON.parse(stdout.trim().split('\n').pop()!) as { plaintext?: string; destroy?: unknown; error?: { code?: number; message: string } };
  };
  try {
    for (const [transport, port] of [['grpc', server.grpcPort], ['rest', server.restPort]] as const) {
      const result = await run(transport, port, sa);
      assert.equal(result.error, undefined, `${transport}: ${JSON.stringify(result.error)}`);
      assert.equal(result.plaintext, 'from a key file', transport);
      // roles/cloudkms.admin holds cryptoKeyVersions.destroy.
      assert.equal(result.destroy, 'allowed', transport);
      const refused = await run(transport, port, stranger);
      assert.equal(refused.error?.code, 16, `${transport}: ${JSON.stringify(refused)}`);
      assert.match(refused.error?.message ?? '', /is not registered with this KMS/);
    }
  } finally {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

void test('add-key refuses what is not a service account key, in words', () => {
  const dir = tempDir('openekm-sa-bad-');
  const write = (name: string, value: unknown) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, typeof value === 'string' ? value : JSON.stringify(value));
    return f;
  };
  const cases: Array<[string, RegExp]> = [
    [write('a', 'nope'), /is not a readable JSON key file/],
    [write('b', { type: 'authorized_user' }), /is not a service account key/],
    [write('c', { type: 'service_account', client_email: SA, private_key_id: 'zz' }), /has no private_key_id/],
    [write('d', { type: 'service_account', client_email: SA, private_key_id: 'ab12', private_key: 'not a key' }), /holds no RSA private key/],
  ];
  for (const [file, words] of cases) {
    const result = openekm(['iam', 'service-accounts', 'add-key', '--data', path.join(dir, 'data'), '--key-file', file]);
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, words);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  }
  fs.rmSync(dir, { recursive: true, force: true });
});
