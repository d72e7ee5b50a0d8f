// gcloud's key import commands against the REST port: `kms import-jobs
// create/describe/list`, and `kms keys versions import` both ways: with
// --target-key-file (gcloud wraps the key itself, with the job's public key)
// and with --wrapped-key-file (wrapped here, the way the Cloud KMS docs do).
// The imported keys are used and node:crypto checks the results with the
// original keys.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { wrapForImport } from '../helpers/import-wrap-client';
import { type Gcloud, gcloudSkip, startGcloud } from '../helpers/gcloud';
import { type Harness, startKms, tempDir } from '../helpers/kms';

const PROJECT = 'gcloud-import';
const LOC = 'us-east1';
const at = ['--location', LOC, '--keyring', 'byok'];

type Job = { name: string; state: string; importMethod: string; protectionLevel: string; publicKey?: { pem?: string }; expireTime?: string };
type Version = { name: string; state: string; importJob?: string; algorithm: string; importFailureReason?: string };

describe('gcloud kms import-jobs and keys versions import against the REST port', { skip: gcloudSkip() }, () => {
  let kms: Harness;
  let gcloud: Gcloud;
  let dir: string;
  const file = (name: string) => path.join(dir, name);

  before(async () => {
    kms = await startKms();
    dir = tempDir('openekm-gcloud-import-');
    gcloud = startGcloud({ cloudkms: kms.server.addresses.rest }, PROJECT, dir);
    await gcloud.run(['kms', 'keyrings', 'create', 'byok', '--location', LOC]);
  });
  after(async () => {
    gcloud?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    await kms?.close();
  });

  async function activeJob(id: string, method: string): Promise<Job> {
    const created = await gcloud.resource<Job>(['kms', 'import-jobs', 'create', id, ...at, '--import-method', method, '--protection-level', 'software']);
    assert.equal(created.state, 'PENDING_GENERATION');
    for (let i = 0; i < 600; i++) {
      const job = await gcloud.resource<Job>(['kms', 'import-jobs', 'describe', id, ...at]);
      if (job.state === 'ACTIVE') return job;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`import job ${id} never became ACTIVE`);
  }

  test('import-jobs create, describe, list', async () => {
    const job = await activeJob('job-a', 'rsa-oaep-3072-sha256-aes-256');
    assert.equal(job.importMethod, 'RSA_OAEP_3072_SHA256_AES_256');
    assert.equal(job.protectionLevel, 'SOFTWARE');
    assert.match(job.publicKey?.pem ?? '', /^-----BEGIN PUBLIC KEY-----/);
    const jobs = await gcloud.json<Job[]>(['kms', 'import-jobs', 'list', ...at]);
    assert.deepEqual(jobs.map((j) => j.name), [job.name]);
  });

  test('versions import --target-key-file: gcloud wraps an EC key; the imported key signs for the original public key', async () => {
    const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    fs.writeFileSync(file('ec.der'), ec.privateKey.export({ type: 'pkcs8', format: 'der' }));
    await gcloud.run(['kms', 'keys', 'create', 'ec-key', ...at, '--purpose', 'asymmetric-signing', '--default-algorithm', 'ec-sign-p256-sha256', '--skip-initial-version-creation', '--import-only']);
    const version = await gcloud.resource<Version>([
      'kms', 'keys', 'versions', 'import', ...at, '--key', 'ec-key', '--import-job', 'job-a', '--algorithm', 'ec-sign-p256-sha256', '--target-key-file', file('ec.der'),
    ]);
    assert.equal(version.state, 'ENABLED');
    assert.match(version.importJob ?? '', /importJobs\/job-a$/);
    fs.writeFileSync(file('doc.txt'), 'signed by an imported key');
    await gcloud.run(['kms', 'asymmetric-sign', ...at, '--key', 'ec-key', '--version', '1', '--digest-algorithm', 'sha256', '--input-file', file('doc.txt'), '--signature-file', file('doc.sig')]);
    assert.ok(crypto.verify('sha256', fs.readFileSync(file('doc.txt')), ec.publicKey, fs.readFileSync(file('doc.sig'))));
  });

  test('versions import --wrapped-key-file: an AES-256 key wrapped by the user; RawEncrypt output opens with the original key', async () => {
    const job = await activeJob('job-b', 'rsa-oaep-4096-sha256');
    const aes = crypto.randomBytes(32);
    fs.writeFileSync(file('aes.wrapped'), await wrapForImport('RSA_OAEP_4096_SHA256', { pem: job.publicKey?.pem }, aes));
    await gcloud.run(['kms', 'keys', 'create', 'raw-key', ...at, '--purpose', 'raw-encryption', '--default-algorithm', 'aes-256-gcm', '--skip-initial-version-creation', '--import-only']);
    const version = await gcloud.resource<Version>([
      'kms', 'keys', 'versions', 'import', ...at, '--key', 'raw-key', '--import-job', 'job-b', '--algorithm', 'aes-256-gcm', '--wrapped-key-file', file('aes.wrapped'),
    ]);
    assert.equal(version.state, 'ENABLED');
    const [enc] = await kms.client.rawEncrypt({ name: version.name, plaintext: Buffer.from('byok via gcloud') });
    const ct = Buffer.from(enc.ciphertext as Uint8Array);
    const tag = Number(enc.tagLength);
    const decipher = crypto.createDecipheriv('aes-256-gcm', aes, Buffer.from(enc.initializationVector as Uint8Array));
    decipher.setAuthTag(ct.subarray(ct.length - tag));
    assert.equal(Buffer.concat([decipher.update(ct.subarray(0, ct.length - tag)), decipher.final()]).toString(), 'byok via gcloud');

    // A wrapped key made for another job's key: the version is IMPORT_FAILED and says why.
    const other = crypto.generateKeyPairSync('rsa', { modulusLength: 4096 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    fs.writeFileSync(file('bad.wrapped'), await wrapForImport('RSA_OAEP_4096_SHA256', { pem: other }, aes));
    const failed = await gcloud.resource<Version>([
      'kms', 'keys', 'versions', 'import', ...at, '--key', 'raw-key', '--import-job', 'job-b', '--algorithm', 'aes-256-gcm', '--wrapped-key-file', file('bad.wrapped'),
    ]);
    assert.equal(failed.state, 'IMPORT_FAILED');
    assert.ok(failed.importFailureReason);
  });
});
