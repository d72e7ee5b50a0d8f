// A KMS stopped between its two steps of destroying a CLOUD_KMS-managed
// external version (its own half erased, the EKM not yet asked) leaves the
// version PENDING_EXTERNAL_DESTRUCTION in its store; the next scheduler run
// after a restart asks the EKM and settles it. The stop is simulated on the
// store file itself, as the first step leaves it.
import '../helpers/env';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import Database from 'better-sqlite3';
import { EkmServiceClient } from '@google-cloud/kms';
import { ManualClock } from '../../src/clock';
import { serviceIdentityEmail } from '../../src/services/ekm-client';
import { directoryClients } from '../service-directory/clients';
import { HOSTNAME, startReferenceEkm } from '../ekm-server/helpers';
import { startKms, tempDir } from '../helpers/kms';

const PROJECT = 'pending-project';
const PARENT = `projects/${PROJECT}/locations/us-east1`;
const SERVICE = `${PARENT}/namespaces/ekm/services/one`;
const CONNECTION = `${PARENT}/ekmConnections/coordinated`;

void test('a version left PENDING_EXTERNAL_DESTRUCTION is destroyed at the EKM after a restart', async () => {
  const kmsData = tempDir('openekm-pending-kms-');
  const trustDir = tempDir('openekm-pending-trust-');
  const ekmData = tempDir('openekm-pending-ekm-');
  const clock = new ManualClock(Date.UTC(2030, 0, 1));
  let kms = await startKms({ dataDir: kmsData, clock });
  fs.writeFileSync(path.join(trustDir, 'kms-jwks.json'), JSON.stringify(kms.server.jwks));
  const ekm = await startReferenceEkm({
    dataDir: ekmData,
    trustedIssuers: [{ issuer: kms.server.issuer, jwks: path.join(trustDir, 'kms-jwks.json') }],
  });
  try {
    await ekm.admin.call('createCryptoSpace', {
      name: 'kms',
      policy: {
        callers: [serviceIdentityEmail(PROJECT)],
        reasons: { default: ['CUSTOMER_INITIATED_ACCESS'], destroyKey: ['GOOGLE_INITIATED_SYSTEM_OPERATION'] },
      },
    });
    const directory = directoryClients(kms.server);
    await directory.registration.createNamespace({ parent: PARENT, namespaceId: 'ekm', namespace: {} });
    await directory.registration.createService({ parent: `${PARENT}/namespaces/ekm`, serviceId: 'one', service: {} });
    await directory.registration.createEndpoint({ parent: SERVICE, endpointId: 'a', endpoint: { address: '127.0.0.1', port: ekm.server.port } });
    await directory.close();
    const ekmService = new EkmServiceClient({ apiEndpoint: '127.0.0.1', port: kms.server.grpcPort, sslCreds: grpc.credentials.createInsecure() });
    await ekmService.createEkmConnection({
      parent: PARENT,
      ekmConnectionId: 'coordinated',
      ekmConnection: {
        serviceResolvers: [{ serviceDirectoryService: SERVICE, hostname: HOSTNAME, serverCertificates: [{ rawDer: fs.readFileSync(ekm.server.certificateDerPath) }] }],
        keyManagementMode: 'CLOUD_KMS',
        cryptoSpacePath: 'v0/cryptospaces/kms',
      },
    });
    await ekmService.close();
    await kms.client.createKeyRing({ parent: PARENT, keyRingId: 'ring', keyRing: {} });
    const [key] = await kms.client.createCryptoKey({
      parent: `${PARENT}/keyRings/ring`,
      cryptoKeyId: 'k',
      cryptoKey: { purpose: 'ENCRYPT_DECRYPT', versionTemplate: { protectionLevel: 'EXTERNAL_VPC' }, cryptoKeyBackend: CONNECTION },
    });
    const version = key.primary!;
    const ekmKeyPath = version.externalProtectionLevelOptions!.ekmConnectionKeyPath!;
    await kms.close();

    // What the first step writes, in one transaction: the state and the erased material.
    const db = new Database(path.join(kmsData, 'kms.sqlite'));
    db.prepare(`UPDATE crypto_key_versions SET state = 'PENDING_EXTERNAL_DESTRUCTION', destroy_event_time = ?,
      revision = revision + 1 WHERE name = ?`).run(clock.now(), version.name);
    db.prepare('DELETE FROM key_material WHERE version_name = ?').run(version.name);
    db.close();
    assert.equal((await ekm.admin.call<{ state: string }>('getKey', { path: ekmKeyPath })).state, 'ENABLED');

    kms = await startKms({ dataDir: kmsData, clock });
    await kms.server.runScheduler();
    const [after] = await kms.client.getCryptoKeyVersion({ name: version.name });
    assert.equal(after.state, 'DESTROYED');
    assert.equal((await ekm.admin.call<{ state: string }>('getKey', { path: ekmKeyPath })).state, 'DESTROYED');
  } finally {
    await kms.close();
    await ekm.close();
    for (const dir of [kmsData, trustDir, ekmData]) fs.rmSync(dir, { recursive: true, force: true });
  }
});
