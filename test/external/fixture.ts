// A KMS and a reference EKM wired as Cloud EKM users wire them, for tests of
// the external-key path: the EKM trusts the KMS's JWKS, a crypto space lets
// the project's identity in, a Service Directory service has the EKM as its
// endpoint, and an EkmConnection pins the EKM's certificate. The KMS and EKM
// options are the test's (mTLS, network policy, ...).
import '../helpers/env';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { EkmServiceClient } from '@google-cloud/kms';
import type { EkmServerOptions } from '../../src/ekm-server/server';
import { serviceIdentityEmail } from '../../src/services/ekm-client';
import { directoryClients, type DirectoryClients } from '../service-directory/clients';
import { HOSTNAME, type ReferenceEkm, startReferenceEkm } from '../ekm-server/helpers';
import { type Harness, type KmsOptions, startKms, tempDir } from '../helpers/kms';

export const PROJECT = 'hardening-project';
export const PARENT = `projects/${PROJECT}/locations/us-east1`;

export interface ExternalFixture {
  kms: Harness;
  ekm: ReferenceEkm;
  ekmService: EkmServiceClient;
  directory: DirectoryClients;
  /** The EKM key path of a symmetric key the project may use. */
  keyPath: string;
  /** Registers `service` with one endpoint and an EkmConnection `id` pinning `certDer` for hostname; returns its name. */
  connection(id: string, port: number, certDer: Buffer, hostname?: string): Promise<string>;
  /** An EXTERNAL_VPC key on connection with one version at keyPath; returns the key's name. */
  vpcKey(id: string, connection: string): Promise<string>;
  close(): Promise<void>;
}

export async function startExternalFixture(options: { kms?: KmsOptions; ekm?: Partial<EkmServerOptions> } = {}): Promise<ExternalFixture> {
  const trustDir = tempDir('openekm-fixture-trust-');
  const jwksFile = path.join(trustDir, 'kms-jwks.json');
  const kms = await startKms({ ...options.kms, ekm: { deadlineMs: 3000, ...options.kms?.ekm } });
  fs.writeFileSync(jwksFile, JSON.stringify(kms.server.jwks));
  const restarted = await startReferenceEkm({ ...options.ekm, trustedIssuers: [{ issuer: kms.server.issuer, jwks: jwksFile }] });
  await restarted.admin.call('createCryptoSpace', {
    name: 'kms', policy: { callers: [serviceIdentityEmail(PROJECT)], reasons: { default: ['CUSTOMER_INITIATED_ACCESS'] } },
  });
  const keyPath = (await restarted.admin.call<{ path: string }>('createKey', { cryptoSpace: 'kms', algorithm: 'EXTERNAL_SYMMETRIC_ENCRYPTION' })).path;
  const directory = directoryClients(kms.server);
  const ekmService = new EkmServiceClient({ apiEndpoint: '127.0.0.1', port: kms.server.grpcPort, sslCreds: grpc.credentials.createInsecure() });
  await directory.registration.createNamespace({ parent: PARENT, namespaceId: 'ekm', namespace: {} });
  await kms.client.createKeyRing({ parent: PARENT, keyRingId: 'ring', keyRing: {} });
  return {
    kms, ekm: restarted, ekmService, directory, keyPath,
    connection: async (id, port, certDer, hostname = HOSTNAME) => {
      const service = `${PARENT}/namespaces/ekm/services/${id}`;
      await directory.registration.createService({ parent: `${PARENT}/namespaces/ekm`, serviceId: id, service: {} });
      await directory.registration.createEndpoint({ parent: service, endpointId: 'a', endpoint: { address: '127.0.0.1', port } });
      const [created] = await ekmService.createEkmConnection({
        parent: PARENT,
        ekmConnectionId: id,
        ekmConnection: { serviceResolvers: [{ serviceDirectoryService: service, hostname, serverCertificates: [{ rawDer: certDer }] }] },
      });
      return created.name!;
    },
    vpcKey: async (id, connection) => {
      const [key] = await kms.client.createCryptoKey({
        parent: `${PARENT}/keyRings/ring`,
        cryptoKeyId: id,
        cryptoKey: { purpose: 'ENCRYPT_DECRYPT', versionTemplate: { protectionLevel: 'EXTERNAL_VPC' }, cryptoKeyBackend: connection },
        skipInitialVersionCreation: true,
      });
      await kms.client.createCryptoKeyVersion({ parent: key.name!, cryptoKeyVersion: { externalProtectionLevelOptions: { ekmConnectionKeyPath: keyPath } } });
      await kms.client.updateCryptoKeyPrimaryVersion({ name: key.name!, cryptoKeyVersionId: '1' });
      return key.name!;
    },
    close: async () => {
      await ekmService.close();
      await directory.close();
      await kms.close();
      await restarted.close();
      fs.rmSync(trustDir, { recursive: true, force: true });
    },
  };
}
