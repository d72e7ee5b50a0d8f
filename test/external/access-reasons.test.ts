// One rule for the access reason the KMS sends (docs/ekm-protocol.md, "Access
// reasons the KMS sends"): a caller's request sends its reason; the KMS's own
// calls (scheduled rotation, VerifyConnectivity's health check) send
// GOOGLE_INITIATED_SYSTEM_OPERATION; GET /info sends none. The KMS's log and
// the EKM's audit log agree on each.
import '../helpers/env';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { jsonLogger } from '../../src/log';
import { serviceIdentityEmail } from '../../src/services/ekm-client';
import { HOSTNAME } from '../ekm-server/helpers';
import { type ExternalFixture, PARENT, PROJECT, startExternalFixture } from './fixture';

const SYSTEM = 'GOOGLE_INITIATED_SYSTEM_OPERATION';
const HOUR = 3600 * 1000;

interface Line { operation?: string; reason?: string | null; decision?: string; healthCheck?: boolean; message?: string }

describe('the access reason of the KMS own calls', () => {
  let f: ExternalFixture;
  const kmsLog: Line[] = [];
  const audit = (): Line[] => fs.readFileSync(f.ekm.server.auditLogPath!, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Line);
  const policy = (createKey: string[]) => ({
    callers: [serviceIdentityEmail(PROJECT)], reasons: { default: ['CUSTOMER_INITIATED_ACCESS'], createKey },
  });

  before(async () => {
    f = await startExternalFixture({ kms: { logger: jsonLogger((l) => kmsLog.push(JSON.parse(l) as Line)) } });
  });
  after(async () => {
    await f.close();
  });

  test('rotation and VerifyConnectivity send GOOGLE_INITIATED_SYSTEM_OPERATION; /info none; both logs agree', async () => {
    await f.ekm.admin.call('setPolicy', { cryptoSpace: 'kms', policy: policy(['CUSTOMER_INITIATED_ACCESS']) });
    const service = `${PARENT}/namespaces/ekm/services/coordinated`;
    await f.directory.registration.createService({ parent: `${PARENT}/namespaces/ekm`, serviceId: 'coordinated', service: {} });
    await f.directory.registration.createEndpoint({ parent: service, endpointId: 'a', endpoint: { address: '127.0.0.1', port: f.ekm.server.port } });
    const [connection] = await f.ekmService.createEkmConnection({
      parent: PARENT,
      ekmConnectionId: 'coordinated',
      ekmConnection: {
        serviceResolvers: [{ serviceDirectoryService: service, hostname: HOSTNAME, serverCertificates: [{ rawDer: fs.readFileSync(f.ekm.server.certificateDerPath) }] }],
        keyManagementMode: 'CLOUD_KMS',
        cryptoSpacePath: 'v0/cryptospaces/kms',
      },
    });
    await f.ekmService.verifyConnectivity({ name: connection.name });
    const [info, check] = audit().slice(-2);
    assert.deepEqual([info.operation, info.reason], ['info', null], '/info has no body, so no reason');
    assert.deepEqual([check.operation, check.reason, check.healthCheck], ['checkCryptoSpacePermissions', SYSTEM, true]);

    // A version made for a caller's request carries the caller's reason.
    const now = f.kms.clock.now();
    const [key] = await f.kms.client.createCryptoKey({
      parent: `${PARENT}/keyRings/ring`,
      cryptoKeyId: 'rotating',
      cryptoKey: {
        purpose: 'ENCRYPT_DECRYPT', versionTemplate: { protectionLevel: 'EXTERNAL_VPC' }, cryptoKeyBackend: connection.name,
        rotationPeriod: { seconds: 24 * 3600 }, nextRotationTime: { seconds: Math.floor((now + HOUR) / 1000) },
      },
    });
    assert.deepEqual(audit().slice(-1).map((l) => [l.operation, l.reason]), [['createKey', 'CUSTOMER_INITIATED_ACCESS']]);

    // The scheduled rotation is the KMS's own: denied while the policy allows only the caller's reason.
    f.kms.clock.advance(2 * HOUR);
    await f.kms.server.runScheduler();
    const denied = audit().slice(-1)[0];
    assert.deepEqual([denied.operation, denied.reason, denied.decision], ['createKey', SYSTEM, 'DENIED']);
    const logged = kmsLog.filter((l) => l.message === 'ekm data access error' && l.operation === 'createKey');
    assert.equal(logged.length, 1);
    assert.equal(logged[0].reason, SYSTEM, 'the KMS log names the same reason');

    await f.ekm.admin.call('setPolicy', { cryptoSpace: 'kms', policy: policy(['CUSTOMER_INITIATED_ACCESS', SYSTEM]) });
    await f.kms.server.runScheduler();
    const allowed = audit().slice(-1)[0];
    assert.deepEqual([allowed.operation, allowed.reason, allowed.decision], ['createKey', SYSTEM, 'ALLOWED']);
    const [versions] = await f.kms.client.listCryptoKeyVersions({ parent: key.name });
    assert.equal(versions.length, 2, 'rotated once');
  });
});
