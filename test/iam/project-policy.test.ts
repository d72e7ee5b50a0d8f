// Project-level policies from the operator: `openekm iam set-project-policy`
// and `get-project-policy` on a data directory, then a server on it under
// --auth required: a principal bound on the project lists its key rings and
// may not encrypt, and the project's audit config turns on Data Access
// entries for its reads. Bad files and a held directory are refused in words.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { createServer, KMS_AUDIENCE } from '../../src/server';
import { silentLogger } from '../../src/log';
import { TokenSigner } from '../../src/ekm-conformance/tokens';
import { tempDir, writeJwks } from '../ekm-server/helpers';

const MAIN = path.resolve(__dirname, '../../src/cli/main.js');
const openekm = (args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 30_000 });
const ISSUER = 'https://issuer.project.test';
const LOCATION = 'projects/pp/locations/us-east1';

void test('a project policy set by the operator binds every resource of the project, and its audit config is honoured', async () => {
  const dir = tempDir('openekm-project-policy-');
  const dataDir = path.join(dir, 'data');
  const policyFile = path.join(dir, 'policy.json');
  fs.writeFileSync(policyFile, JSON.stringify({
    bindings: [{ role: 'roles/cloudkms.viewer', members: ['user:bob@example.com'] }],
    auditConfigs: [{ service: 'cloudkms.googleapis.com', auditLogConfigs: [{ logType: 'ADMIN_READ' }] }],
  }));
  const set = openekm(['iam', 'set-project-policy', '--data', dataDir, '--project', 'pp', '--policy-file', policyFile]);
  assert.equal(set.status, 0, set.stderr);
  assert.equal((JSON.parse(set.stdout) as { version: number }).version, 1);
  const got = openekm(['iam', 'get-project-policy', '--data', dataDir, '--project', 'pp']);
  assert.equal(got.status, 0, got.stderr);
  assert.deepEqual((JSON.parse(got.stdout) as { bindings: unknown }).bindings, [{ role: 'roles/cloudkms.viewer', members: ['user:bob@example.com'] }]);

  const signer = TokenSigner.generate(ISSUER, 'ES256');
  const audit = path.join(dir, 'audit.jsonl');
  const server = await createServer({
    dataDir, logger: silentLogger, schedulerIntervalMs: 0, auditLog: audit,
    auth: { mode: 'required', trustedIssuers: [{ issuer: ISSUER, jwks: writeJwks(dir, signer) }], admins: ['user:admin@example.com'] },
  });
  const client = new KeyManagementServiceClient({ apiEndpoint: '127.0.0.1', port: server.grpcPort, sslCreds: grpc.credentials.createInsecure() });
  const as = (email: string) => ({ otherArgs: { headers: { authorization: `Bearer ${signer.token({ email, audience: KMS_AUDIENCE })}` } }, retry: null });
  try {
    // A second process can't write the policy while the server holds the directory.
    const held = openekm(['iam', 'get-project-policy', '--data', dataDir, '--project', 'pp']);
    assert.equal(held.status, 1);
    assert.match(held.stderr, /is in use by process \d+ .*Stop that KMS/);

    const [ring] = await client.createKeyRing({ parent: LOCATION, keyRingId: 'r', keyRing: {} }, as('admin@example.com'));
    const [key] = await client.createCryptoKey({ parent: ring.name!, cryptoKeyId: 'k', cryptoKey: { purpose: 'ENCRYPT_DECRYPT' } }, as('admin@example.com'));
    const [rings] = await client.listKeyRings({ parent: LOCATION }, as('bob@example.com'));
    assert.deepEqual(rings.map((r) => r.name), [ring.name]);
    await assert.rejects(client.encrypt({ name: key.name!, plaintext: Buffer.from('x') }, as('bob@example.com')), { code: grpc.status.PERMISSION_DENIED });
    const logged = fs.readFileSync(audit, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { logName: string; protoPayload: { methodName: string } });
    const list = logged.find((e) => e.protoPayload.methodName === 'ListKeyRings');
    assert.equal(list?.logName, 'projects/pp/logs/cloudaudit.googleapis.com%2Fdata_access', 'the project audit config asked for ADMIN_READ entries');
    assert.equal(logged.some((e) => e.protoPayload.methodName === 'Encrypt'), false, 'DATA_READ was not asked for');
  } finally {
    await client.close();
    await server.close();
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

void test('bad policy files and flags are refused in words, exit 2', () => {
  const dir = tempDir('openekm-project-policy-bad-');
  const file = (name: string, text: string) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, text);
    return f;
  };
  const cases: Array<[string[], RegExp]> = [
    [['iam', 'set-project-policy', '--project', 'pp', '--policy-file', file('a', 'not json')], /--policy-file: .* is not JSON/],
    [['iam', 'set-project-policy', '--project', 'pp', '--policy-file', file('b', '[]')], /does not hold a JSON object/],
    [['iam', 'set-project-policy', '--project', 'pp', '--policy-file', file('c', '{"bindings":[{"role":"roles/nope","members":["user:a@example.com"]}]}')], /policy\.bindings\[0\]\.role: Role roles\/nope is not supported/],
    [['iam', 'set-project-policy', '--project', 'pp', '--policy-file', path.join(dir, 'missing')], /--policy-file: can not read/],
    [['iam', 'set-project-policy', '--project', 'pp'], /--policy-file: required/],
    [['iam', 'get-project-policy'], /--project: a project id is required/],
    [['iam', 'frobnicate'], /unknown iam command: frobnicate/],
  ];
  for (const [args, words] of cases) {
    const result = openekm([...args, '--data', path.join(dir, 'data')]);
    assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, words, args.join(' '));
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  }
  fs.rmSync(dir, { recursive: true, force: true });
});
