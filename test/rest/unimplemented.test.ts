// What OpenEKM does not serve says so: every method the loaded protos declare
// and no table entry serves (HsmManagement, the Operations methods Cloud KMS
// does not serve either) answers UNIMPLEMENTED over gRPC and 501 over REST,
// with a message naming the method, never a bare 404.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HsmManagementClient } from '@google-cloud/kms';
import { Code } from '../../src/errors';
import { request } from '../helpers/http';
import { clientOptions, type Harness, rejectsWithCode, startKms } from '../helpers/kms';

const LOC = 'projects/p/locations/us-east1';

describe('unserved methods: UNIMPLEMENTED over gRPC, 501 over REST', () => {
  let kms: Harness;
  before(async () => {
    kms = await startKms();
  });
  after(() => kms.close());

  test('REST: HsmManagement and the Operations methods Cloud KMS does not serve', async () => {
    for (const [method, path, name] of [
      ['GET', `/v1/${LOC}/singleTenantHsmInstances`, 'ListSingleTenantHsmInstances'],
      ['GET', `/v1/${LOC}/singleTenantHsmInstances/i`, 'GetSingleTenantHsmInstance'],
      ['GET', `/v1/${LOC}/operations`, 'ListOperations'],
      ['DELETE', `/v1/${LOC}/operations/o`, 'DeleteOperation'],
      ['POST', `/v1/${LOC}/operations/o:cancel`, 'CancelOperation'],
    ] as const) {
      const answer = await request(kms.server.addresses.rest, method, path, method === 'POST' ? '{}' : undefined);
      assert.equal(answer.status, 501, `${method} ${path}: ${answer.text}`);
      const error = answer.json.error!;
      assert.equal(error.status, 'UNIMPLEMENTED');
      assert.match(error.message, new RegExp(`^${name} is not implemented by OpenEKM`));
    }
  });

  test('gRPC: the official HsmManagement client gets UNIMPLEMENTED', async () => {
    const hsm = new HsmManagementClient(clientOptions(kms.server.grpcPort, 'grpc'));
    try {
      const err = await rejectsWithCode(hsm.getSingleTenantHsmInstance({ name: `${LOC}/singleTenantHsmInstances/i` }), Code.UNIMPLEMENTED);
      assert.match(err.message, /GetSingleTenantHsmInstance is not implemented by OpenEKM/);
    } finally {
      await hsm.close();
    }
  });
});
