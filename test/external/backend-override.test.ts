// ExternalProtectionLevelOptions.ekm_connection_backend_override (KMS protos
// of @google-cloud/kms 6): an EXTERNAL_VPC version may name its own
// EkmConnection in place of its key's crypto_key_backend. Here the key's
// backend points at a port nobody listens on and the override at the real
// EKM: a version with the override works, one without does not.
import '../helpers/env';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { Code } from '../../src/errors';
import { rejectsWithCode } from '../helpers/kms';
import { startExternalFixture, type ExternalFixture, PARENT } from './fixture';

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('ekm_connection_backend_override', () => {
  let f: ExternalFixture;
  let live: string;
  let dead: string;
  let key: string;

  before(async () => {
    f = await startExternalFixture();
    const der = fs.readFileSync(f.ekm.server.certificateDerPath);
    live = await f.connection('live', f.ekm.server.port, der);
    dead = await f.connection('dead', await closedPort(), der);
    const [created] = await f.kms.client.createCryptoKey({
      parent: `${PARENT}/keyRings/ring`,
      cryptoKeyId: 'overridden',
      cryptoKey: { purpose: 'ENCRYPT_DECRYPT', versionTemplate: { protectionLevel: 'EXTERNAL_VPC' }, cryptoKeyBackend: dead },
      skipInitialVersionCreation: true,
    });
    key = created.name!;
  });
  after(() => f.close());

  test('a version on its own connection is reached through it, and says so', async () => {
    const [version] = await f.kms.client.createCryptoKeyVersion({
      parent: key,
      cryptoKeyVersion: { externalProtectionLevelOptions: { ekmConnectionKeyPath: f.keyPath, ekmConnectionBackendOverride: live } },
    });
    assert.equal(version.externalProtectionLevelOptions?.ekmConnectionBackendOverride, live);
    const [got] = await f.kms.client.getCryptoKeyVersion({ name: version.name! });
    assert.equal(got.externalProtectionLevelOptions?.ekmConnectionBackendOverride, live);
    const plaintext = Buffer.from('through the override');
    const [enc] = await f.kms.client.encrypt({ name: version.name!, plaintext });
    const [dec] = await f.kms.client.decrypt({ name: key, ciphertext: enc.ciphertext });
    assert.deepEqual(Buffer.from(dec.plaintext as Uint8Array), plaintext);
    const [listed] = await f.kms.client.listCryptoKeyVersions({
      parent: key, filter: `external_protection_level_options.ekm_connection_backend_override="${live}"`,
    });
    assert.deepEqual(listed.map((v) => v.name), [version.name]);
  });

  test('a version without it uses the key\'s backend (here unreachable)', async () => {
    const [version] = await f.kms.client.createCryptoKeyVersion({
      parent: key, cryptoKeyVersion: { externalProtectionLevelOptions: { ekmConnectionKeyPath: f.keyPath } },
    });
    assert.equal(version.externalProtectionLevelOptions?.ekmConnectionBackendOverride ?? '', '');
    await rejectsWithCode(f.kms.client.encrypt({ name: version.name!, plaintext: Buffer.from('x') }), Code.FAILED_PRECONDITION);
  });

  test('bad overrides are refused, naming the field', async () => {
    const create = (override: string, keyName = key) => f.kms.client.createCryptoKeyVersion({
      parent: keyName, cryptoKeyVersion: { externalProtectionLevelOptions: { ekmConnectionKeyPath: f.keyPath, ekmConnectionBackendOverride: override } },
    });
    const malformed = await rejectsWithCode(create('not-a-connection'), Code.INVALID_ARGUMENT);
    assert.match(malformed.message, /external_protection_level_options\.ekm_connection_backend_override/);
    const elsewhere = await rejectsWithCode(create('projects/hardening-project/locations/europe-west1/ekmConnections/live'), Code.INVALID_ARGUMENT);
    assert.match(elsewhere.message, /ekm_connection_backend_override: must be an EkmConnection in projects\/hardening-project\/locations\/us-east1/);
    const missing = await rejectsWithCode(create(`${PARENT}/ekmConnections/nope`), Code.FAILED_PRECONDITION);
    assert.match(missing.message, /ekm_connection_backend_override: EkmConnection .*nope not found/);
    const [external] = await f.kms.client.createCryptoKey({
      parent: `${PARENT}/keyRings/ring`, cryptoKeyId: 'by-uri',
      cryptoKey: { purpose: 'ENCRYPT_DECRYPT', versionTemplate: { protectionLevel: 'EXTERNAL' } }, skipInitialVersionCreation: true,
    });
    const onUri = await rejectsWithCode(f.kms.client.createCryptoKeyVersion({
      parent: external.name!,
      cryptoKeyVersion: { externalProtectionLevelOptions: { externalKeyUri: 'https://ekm.test/v0/k', ekmConnectionBackendOverride: live } },
    }), Code.INVALID_ARGUMENT);
    assert.match(onUri.message, /ekm_connection_backend_override: only EXTERNAL_VPC versions/);
  });

  test('REST knows the field (it was "Unknown name" before the 6.x protos)', async () => {
    const res = await fetch(`${f.kms.server.addresses.rest}/v1/${key}/cryptoKeyVersions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ externalProtectionLevelOptions: { ekmConnectionKeyPath: f.keyPath, ekmConnectionBackendOverride: live } }),
    });
    const body = (await res.json()) as { externalProtectionLevelOptions?: { ekmConnectionBackendOverride?: string } };
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.externalProtectionLevelOptions?.ekmConnectionBackendOverride, live);
  });
});
