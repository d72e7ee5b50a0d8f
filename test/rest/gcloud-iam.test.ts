// gcloud's IAM policy commands against the REST port: get-iam-policy,
// add-iam-policy-binding (with and without a condition), remove-iam-policy-
// binding and set-iam-policy on key rings, crypto keys, EKM connections and
// the EkmConfig; outputs checked, and a bad role refused in our words; and
// gcloud with auth/access_token_file against --auth required.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeCertificate } from '../helpers/certificates';
import { type Gcloud, gcloudSkip, startGcloud } from '../helpers/gcloud';
import { type Harness, startKms, tempDir } from '../helpers/kms';
import { createServer, KMS_AUDIENCE } from '../../src/server';
import { silentLogger } from '../../src/log';
import { TokenSigner } from '../../src/ekm-conformance/tokens';
import { writeJwks } from '../ekm-server/helpers';

const PROJECT = 'gcloud-iam';
const LOC = 'us-east1';
const PARENT = `projects/${PROJECT}/locations/${LOC}`;

type Policy = { etag?: string; version?: number; bindings?: { role: string; members: string[]; condition?: { title: string; expression: string } }[] };

describe('gcloud kms ... iam-policy commands against the REST port', { skip: gcloudSkip() }, () => {
  let kms: Harness;
  let gcloud: Gcloud;
  let dir: string;

  before(async () => {
    kms = await startKms();
    dir = tempDir('openekm-gcloud-iam-');
    gcloud = startGcloud({ cloudkms: kms.server.addresses.rest }, PROJECT, dir);
    await gcloud.run(['kms', 'keyrings', 'create', 'ring', '--location', LOC]);
    await gcloud.run(['kms', 'keys', 'create', 'key', '--keyring', 'ring', '--location', LOC, '--purpose', 'encryption']);
    const der = await makeCertificate({ commonName: 'ekm.iam.test', dnsNames: ['ekm.iam.test'] });
    fs.writeFileSync(path.join(dir, 'ekm.pem'), new X509Certificate(der).toString());
    await gcloud.run([
      'kms', 'ekm-connections', 'create', 'conn', '--location', LOC,
      '--service-directory-service', `${PARENT}/namespaces/ekm/services/replicas`, '--hostname', 'ekm.iam.test',
      '--server-certificates-files', path.join(dir, 'ekm.pem'),
    ]);
  });
  after(async () => {
    gcloud?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    await kms?.close();
  });

  test('keyrings: get (empty), add a binding, add a conditional one, remove one', async () => {
    const empty = await gcloud.json<Policy>(['kms', 'keyrings', 'get-iam-policy', 'ring', '--location', LOC]);
    assert.equal(empty.etag, 'ACAB');
    assert.equal(empty.bindings, undefined);
    const added = await gcloud.json<Policy>([
      'kms', 'keyrings', 'add-iam-policy-binding', 'ring', '--location', LOC, '--member', 'user:alice@example.com', '--role', 'roles/cloudkms.viewer',
    ]);
    assert.deepEqual(added.bindings, [{ role: 'roles/cloudkms.viewer', members: ['user:alice@example.com'] }]);
    const conditional = await gcloud.json<Policy>([
      'kms', 'keyrings', 'add-iam-policy-binding', 'ring', '--location', LOC, '--member', 'user:bob@example.com',
      '--role', 'roles/cloudkms.cryptoKeyEncrypter', '--condition', 'title=until-2031,expression=request.time < timestamp("2031-01-01T00:00:00Z")',
    ]);
    assert.equal(conditional.version, 3);
    const bound = conditional.bindings?.find((b) => b.role === 'roles/cloudkms.cryptoKeyEncrypter');
    assert.equal(bound?.condition?.title, 'until-2031');
    const removed = await gcloud.json<Policy>([
      'kms', 'keyrings', 'remove-iam-policy-binding', 'ring', '--location', LOC, '--member', 'user:alice@example.com', '--role', 'roles/cloudkms.viewer',
      '--condition', 'None',
    ]);
    assert.equal(removed.bindings?.some((b) => b.role === 'roles/cloudkms.viewer'), false);
    assert.equal(removed.bindings?.length, 1);
  });

  test('keys: set-iam-policy from a file, then get it back', async () => {
    const file = path.join(dir, 'policy.json');
    fs.writeFileSync(file, JSON.stringify({ bindings: [{ role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter', members: ['serviceAccount:app@gcloud-iam.iam.gserviceaccount.com'] }] }));
    await gcloud.run(['kms', 'keys', 'set-iam-policy', 'key', file, '--keyring', 'ring', '--location', LOC]);
    const got = await gcloud.json<Policy>(['kms', 'keys', 'get-iam-policy', 'key', '--keyring', 'ring', '--location', LOC]);
    assert.deepEqual(got.bindings, [{ role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter', members: ['serviceAccount:app@gcloud-iam.iam.gserviceaccount.com'] }]);
    // gcloud prints bytes in URL-safe base64.
    assert.match(got.etag ?? '', /^[A-Za-z0-9+/_-]+=*$/);
    assert.notEqual(got.etag, 'ACAB');
  });

  test('ekm-connections and ekm-config: add and get', async () => {
    await gcloud.run(['kms', 'ekm-connections', 'add-iam-policy-binding', 'conn', '--location', LOC, '--member', 'group:ops@example.com', '--role', 'roles/cloudkms.admin']);
    const conn = await gcloud.json<Policy>(['kms', 'ekm-connections', 'get-iam-policy', 'conn', '--location', LOC]);
    assert.deepEqual(conn.bindings, [{ role: 'roles/cloudkms.admin', members: ['group:ops@example.com'] }]);
    await gcloud.run(['kms', 'ekm-config', 'add-iam-policy-binding', '--location', LOC, '--member', 'user:ops@example.com', '--role', 'roles/cloudkms.ekmConnectionsAdmin']);
    const config = await gcloud.json<Policy>(['kms', 'ekm-config', 'get-iam-policy', '--location', LOC]);
    assert.deepEqual(config.bindings, [{ role: 'roles/cloudkms.ekmConnectionsAdmin', members: ['user:ops@example.com'] }]);
  });

  test('all four commands on each of key rings, keys and EKM connections', async () => {
    const kinds: Array<[string, string[]]> = [
      ['keyrings', ['ring', '--location', LOC]],
      ['keys', ['key', '--keyring', 'ring', '--location', LOC]],
      ['ekm-connections', ['conn', '--location', LOC]],
    ];
    for (const [kind, target] of kinds) {
      const file = path.join(dir, `${kind}.json`);
      fs.writeFileSync(file, JSON.stringify({ bindings: [{ role: 'roles/cloudkms.viewer', members: ['user:four@example.com'] }] }));
      await gcloud.run(['kms', kind, 'set-iam-policy', ...target.slice(0, 1), file, ...target.slice(1)]);
      await gcloud.run(['kms', kind, 'add-iam-policy-binding', ...target, '--member', 'user:five@example.com', '--role', 'roles/cloudkms.viewer']);
      let got = await gcloud.json<Policy>(['kms', kind, 'get-iam-policy', ...target]);
      assert.deepEqual(got.bindings, [{ role: 'roles/cloudkms.viewer', members: ['user:four@example.com', 'user:five@example.com'] }], kind);
      await gcloud.run(['kms', kind, 'remove-iam-policy-binding', ...target, '--member', 'user:four@example.com', '--role', 'roles/cloudkms.viewer', '--all']);
      got = await gcloud.json<Policy>(['kms', kind, 'get-iam-policy', ...target]);
      assert.deepEqual(got.bindings, [{ role: 'roles/cloudkms.viewer', members: ['user:five@example.com'] }], kind);
    }
  });

  test('a role Cloud KMS does not have is refused in our words', async () => {
    const stderr = await gcloud.fails([
      'kms', 'keys', 'add-iam-policy-binding', 'key', '--keyring', 'ring', '--location', LOC, '--member', 'user:a@example.com', '--role', 'roles/storage.admin',
    ]);
    assert.match(stderr, /Role roles\/storage\.admin is not supported for this resource/);
  });
});

describe('gcloud with auth/access_token_file against --auth required', { skip: gcloudSkip() }, () => {
  test('a token from a trusted issuer in the file authenticates gcloud; a caller without the role is denied in Cloud KMS words', async () => {
    const dir = tempDir('openekm-gcloud-token-');
    const signer = TokenSigner.generate('https://issuer.gcloud.test', 'ES256');
    const server = await createServer({
      inMemory: true, logger: silentLogger, schedulerIntervalMs: 0,
      auth: { mode: 'required', trustedIssuers: [{ issuer: 'https://issuer.gcloud.test', jwks: writeJwks(dir, signer) }], admins: ['user:ops@example.com'] },
    });
    const tokenFile = (email: string) => {
      const file = path.join(dir, `${email}.token`);
      fs.writeFileSync(file, signer.token({ email, audience: KMS_AUDIENCE, expiresIn: 1800 }));
      return file;
    };
    const ops = startGcloud({ cloudkms: server.addresses.rest }, PROJECT, dir, tokenFile('ops@example.com'));
    const guest = startGcloud({ cloudkms: server.addresses.rest }, PROJECT, dir, tokenFile('guest@example.com'));
    try {
      await ops.run(['kms', 'keyrings', 'create', 'ring', '--location', LOC]);
      const rings = await ops.json<{ name: string }[]>(['kms', 'keyrings', 'list', '--location', LOC]);
      assert.deepEqual(rings.map((r) => r.name), [`${PARENT}/keyRings/ring`]);
      const denied = await guest.fails(['kms', 'keyrings', 'list', '--location', LOC]);
      assert.match(denied, new RegExp(`Permission 'cloudkms\\.keyRings\\.list' denied on resource '${PARENT}' \\(or it may not exist\\)`));
    } finally {
      ops.close();
      guest.close();
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
