// EkmService through the official EkmServiceClient: EkmConnections with a
// real pinned certificate (its output fields checked against node:crypto),
// lists, updates with update_mask and etag, the EkmConfig singleton,
// VerifyConnectivity's answer until EKMs are called, and bad input.
import '../helpers/env';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { EkmServiceClient } from '@google-cloud/kms';
import { Code } from '../../src/errors';
import { decodeMessage, messageType } from '../../src/proto/registry';
import { makeCertificate } from '../helpers/certificates';
import { type Harness, LOCATION, rejectsWithCode, startKms } from '../helpers/kms';

const SERVICE = 'projects/test-project/locations/us-east1/namespaces/ekm/services/replicas';

describe('EkmService', () => {
  let kms: Harness;
  let ekm: EkmServiceClient;
  let cert: Buffer;
  let other: Buffer;
  const resolver = (hostname = 'ekm.example.test', certificates = [cert]) => ({
    serviceDirectoryService: SERVICE,
    hostname,
    serverCertificates: certificates.map((rawDer) => ({ rawDer })),
  });

  before(async () => {
    kms = await startKms();
    ekm = new EkmServiceClient({ apiEndpoint: '127.0.0.1', port: kms.server.grpcPort, sslCreds: grpc.credentials.createInsecure() });
    cert = await makeCertificate({ commonName: 'ekm.example.test', dnsNames: ['ekm.example.test', 'ekm-2.example.test'] });
    other = await makeCertificate({ commonName: 'other.example.test', dnsNames: ['other.example.test'] });
  });
  after(async () => {
    await ekm.close();
    await kms.close();
  });

  test('create fills the certificate fields from the DER; get answers the same', async () => {
    const [created] = await ekm.createEkmConnection({
      parent: LOCATION,
      ekmConnectionId: 'primary',
      ekmConnection: { serviceResolvers: [{ ...resolver(), endpointFilter: 'port=443' }] },
    });
    assert.equal(created.name, `${LOCATION}/ekmConnections/primary`);
    assert.equal(created.keyManagementMode, 'MANUAL');
    assert.ok(created.etag);
    assert.equal(Number(created.createTime?.seconds) * 1000, kms.clock.now());
    const [r] = created.serviceResolvers!;
    assert.equal(r.serviceDirectoryService, SERVICE);
    assert.equal(r.endpointFilter, 'port=443');
    assert.equal(r.hostname, 'ekm.example.test');
    const c = r.serverCertificates![0];
    const x509 = new X509Certificate(cert);
    assert.deepEqual(Buffer.from(c.rawDer as Uint8Array), cert);
    assert.equal(c.parsed, true);
    assert.match(c.subject!, /CN=ekm\.example\.test/);
    assert.match(c.issuer!, /CN=ekm\.example\.test/);
    assert.deepEqual(c.subjectAlternativeDnsNames, ['ekm.example.test', 'ekm-2.example.test']);
    assert.equal(Number(c.notBeforeTime?.seconds) * 1000, Date.parse(x509.validFrom));
    assert.equal(Number(c.notAfterTime?.seconds) * 1000, Date.parse(x509.validTo));
    assert.equal(c.serialNumber, x509.serialNumber.toLowerCase());
    assert.equal(c.sha256Fingerprint, createHash('sha256').update(cert).digest('hex'));
    const [got] = await ekm.getEkmConnection({ name: created.name });
    assert.deepEqual(got, created);
  });

  test('list: page_size, total_size, filter and order_by', async () => {
    for (const id of ['b-conn', 'c-conn']) {
      await ekm.createEkmConnection({
        parent: LOCATION,
        ekmConnectionId: id,
        ekmConnection: { serviceResolvers: [resolver()], keyManagementMode: 'CLOUD_KMS', cryptoSpacePath: `v0/cryptospaces/${id}` },
      });
    }
    const [page, , raw] = await ekm.listEkmConnections({ parent: LOCATION, pageSize: 2 }, { autoPaginate: false });
    assert.deepEqual(page.map((c) => c.name!.split('/').pop()), ['b-conn', 'c-conn']);
    assert.equal(raw?.totalSize, 3);
    assert.ok(raw?.nextPageToken);
    const [rest] = await ekm.listEkmConnections({ parent: LOCATION, pageSize: 2, pageToken: raw!.nextPageToken! }, { autoPaginate: false });
    assert.deepEqual(rest.map((c) => c.name!.split('/').pop()), ['primary']);
    const [coordinated] = await ekm.listEkmConnections({ parent: LOCATION, filter: 'key_management_mode=CLOUD_KMS', orderBy: 'name desc' });
    assert.deepEqual(coordinated.map((c) => c.name!.split('/').pop()), ['c-conn', 'b-conn']);
    const [none] = await ekm.listEkmConnections({ parent: 'projects/test-project/locations/europe-west1' });
    assert.equal(none.length, 0);
  });

  test('update the hostname with update_mask; the etag changes and a stale one is ABORTED', async () => {
    const name = `${LOCATION}/ekmConnections/primary`;
    const [before] = await ekm.getEkmConnection({ name });
    const [updated] = await ekm.updateEkmConnection({
      ekmConnection: { name, serviceResolvers: [resolver('ekm-2.example.test', [cert, other])], etag: before.etag },
      updateMask: { paths: ['service_resolvers'] },
    });
    assert.equal(updated.serviceResolvers![0].hostname, 'ekm-2.example.test');
    assert.equal(updated.serviceResolvers![0].serverCertificates!.length, 2);
    assert.equal(updated.keyManagementMode, 'MANUAL');
    assert.notEqual(updated.etag, before.etag);
    await rejectsWithCode(
      ekm.updateEkmConnection({ ekmConnection: { name, keyManagementMode: 'CLOUD_KMS', cryptoSpacePath: 'v0/x', etag: before.etag }, updateMask: { paths: ['key_management_mode', 'crypto_space_path'] } }),
      Code.ABORTED,
    );
    const [coordinated] = await ekm.updateEkmConnection({
      ekmConnection: { name, keyManagementMode: 'CLOUD_KMS', cryptoSpacePath: 'v0/cryptospaces/main' },
      updateMask: { paths: ['key_management_mode', 'crypto_space_path'] },
    });
    assert.equal(coordinated.keyManagementMode, 'CLOUD_KMS');
    assert.equal(coordinated.cryptoSpacePath, 'v0/cryptospaces/main');
    await rejectsWithCode(
      ekm.updateEkmConnection({ ekmConnection: { name, cryptoSpacePath: '' }, updateMask: { paths: ['crypto_space_path'] } }),
      Code.INVALID_ARGUMENT,
    );
    await rejectsWithCode(ekm.updateEkmConnection({ ekmConnection: { name }, updateMask: { paths: ['create_time'] } }), Code.INVALID_ARGUMENT);
    await rejectsWithCode(
      ekm.updateEkmConnection({ ekmConnection: { name: `${LOCATION}/ekmConnections/absent` }, updateMask: { paths: ['crypto_space_path'] } }),
      Code.NOT_FOUND,
    );
  });

  test('EkmConfig: empty by default, set to a connection of its location, cleared', async () => {
    const name = `${LOCATION}/ekmConfig`;
    const [empty] = await ekm.getEkmConfig({ name });
    assert.equal(empty.name, name);
    assert.equal(empty.defaultEkmConnection, '');
    const connection = `${LOCATION}/ekmConnections/b-conn`;
    const [set] = await ekm.updateEkmConfig({ ekmConfig: { name, defaultEkmConnection: connection }, updateMask: { paths: ['default_ekm_connection'] } });
    assert.equal(set.defaultEkmConnection, connection);
    assert.equal((await ekm.getEkmConfig({ name }))[0].defaultEkmConnection, connection);
    await rejectsWithCode(
      ekm.updateEkmConfig({ ekmConfig: { name, defaultEkmConnection: 'projects/test-project/locations/europe-west1/ekmConnections/b-conn' }, updateMask: { paths: ['default_ekm_connection'] } }),
      Code.INVALID_ARGUMENT,
    );
    await rejectsWithCode(
      ekm.updateEkmConfig({ ekmConfig: { name, defaultEkmConnection: `${LOCATION}/ekmConnections/absent` }, updateMask: { paths: ['default_ekm_connection'] } }),
      Code.NOT_FOUND,
    );
    await rejectsWithCode(ekm.getEkmConfig({ name: 'projects/test-project/locations/global/ekmConfig' }), Code.INVALID_ARGUMENT);
    const [cleared] = await ekm.updateEkmConfig({ ekmConfig: { name }, updateMask: { paths: ['default_ekm_connection'] } });
    assert.equal(cleared.defaultEkmConnection, '');
  });

  test('VerifyConnectivity: FAILED_PRECONDITION with a PreconditionFailure until EKMs are called', async () => {
    const err = await rejectsWithCode(ekm.verifyConnectivity({ name: `${LOCATION}/ekmConnections/primary` }), Code.FAILED_PRECONDITION);
    const bin = (err as unknown as { metadata: grpc.Metadata }).metadata.get('grpc-status-details-bin')[0] as Buffer;
    const status = decodeMessage(messageType('google.rpc.Status'), bin) as { details: { typeUrl?: string; type_url?: string; value: Buffer }[] };
    const detail = status.details[0];
    assert.equal(detail.type_url ?? detail.typeUrl, 'type.googleapis.com/google.rpc.PreconditionFailure');
    const failure = decodeMessage(messageType('google.rpc.PreconditionFailure'), detail.value) as { violations: { subject: string }[] };
    assert.equal(failure.violations[0].subject, `${LOCATION}/ekmConnections/primary`);
    await rejectsWithCode(ekm.verifyConnectivity({ name: `${LOCATION}/ekmConnections/absent` }), Code.NOT_FOUND);
  });

  test('garbage DER is kept with parsed=false', async () => {
    const [created] = await ekm.createEkmConnection({
      parent: LOCATION,
      ekmConnectionId: 'garbage',
      ekmConnection: { serviceResolvers: [{ ...resolver(), serverCertificates: [{ rawDer: Buffer.from('not a certificate') }] }] },
    });
    const c = created.serviceResolvers![0].serverCertificates![0];
    assert.equal(c.parsed, false);
    assert.equal(c.subject, '');
    assert.equal(c.sha256Fingerprint, '');
  });

  test('bad input: each refused with its code', async () => {
    const create = (ekmConnectionId: string, ekmConnection: Record<string, unknown>, parent = LOCATION) =>
      ekm.createEkmConnection({ parent, ekmConnectionId, ekmConnection });
    const cases: [string, () => Promise<unknown>, number][] = [
      ['CLOUD_KMS without crypto_space_path', () => create('x1', { serviceResolvers: [resolver()], keyManagementMode: 'CLOUD_KMS' }), Code.INVALID_ARGUMENT],
      ['unknown mode (a number the enum lacks)', () => create('x2', { serviceResolvers: [resolver()], keyManagementMode: 7 }), Code.INVALID_ARGUMENT],
      ['11 certificates', () => create('x3', { serviceResolvers: [resolver('ekm.example.test', Array(11).fill(cert) as Buffer[])] }), Code.INVALID_ARGUMENT],
      ['two resolvers', () => create('x4', { serviceResolvers: [resolver(), resolver()] }), Code.INVALID_ARGUMENT],
      ['no certificate', () => create('x5', { serviceResolvers: [resolver('ekm.example.test', [])] }), Code.INVALID_ARGUMENT],
      ['no hostname', () => create('x6', { serviceResolvers: [resolver('')] }), Code.INVALID_ARGUMENT],
      ['bad service name', () => create('x7', { serviceResolvers: [{ ...resolver(), serviceDirectoryService: 'projects/p/services/s' }] }), Code.INVALID_ARGUMENT],
      ['service in another location', () => create('x8', { serviceResolvers: [{ ...resolver(), serviceDirectoryService: SERVICE.replace('us-east1', 'europe-west1') }] }), Code.INVALID_ARGUMENT],
      ['endpoint filter syntax', () => create('x9', { serviceResolvers: [{ ...resolver(), endpointFilter: 'port=' }] }), Code.INVALID_ARGUMENT],
      ['bad id', () => create('bad id!', { serviceResolvers: [resolver()] }), Code.INVALID_ARGUMENT],
      ['bad parent', () => create('x10', {}, 'projects/test-project'), Code.INVALID_ARGUMENT],
      ['global', () => create('x11', {}, 'projects/test-project/locations/global'), Code.INVALID_ARGUMENT],
      ['multi-region', () => create('x12', {}, 'projects/test-project/locations/us'), Code.INVALID_ARGUMENT],
      ['duplicate', () => create('primary', { serviceResolvers: [resolver()] }), Code.ALREADY_EXISTS],
      ['bad get name', () => ekm.getEkmConnection({ name: `${LOCATION}/ekmConnection/x` }), Code.INVALID_ARGUMENT],
      ['absent', () => ekm.getEkmConnection({ name: `${LOCATION}/ekmConnections/absent` }), Code.NOT_FOUND],
      ['bad filter', () => ekm.listEkmConnections({ parent: LOCATION, filter: 'key_management_mode=' }), Code.INVALID_ARGUMENT],
      ['bad order_by', () => ekm.listEkmConnections({ parent: LOCATION, orderBy: 'hostname' }), Code.INVALID_ARGUMENT],
    ];
    for (const [what, call, code] of cases) {
      await rejectsWithCode(call(), code).catch((err: Error) => {
        throw new Error(`${what}: ${err.message}`);
      });
    }
    const err = await rejectsWithCode(create('x13', { serviceResolvers: [resolver('ekm.example.test', Array(11).fill(cert) as Buffer[])] }), Code.INVALID_ARGUMENT);
    assert.match(err.message, /ekm_connection\.service_resolvers\[0\]\.server_certificates/);
  });
});
