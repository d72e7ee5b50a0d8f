// The external-keys workload: Encrypt of 1 KiB with an EXTERNAL_VPC key, the
// KMS and a reference EKM each in its own process (both on the server CPU),
// over pinned TLS with a token per call. Set up as a user would: the EKM
// with its operator commands (trusting the KMS's JWKS file), then through
// the official clients a Service Directory endpoint, an EkmConnection with
// the EKM's certificate, the key and its version. Its target is judged
// against SOFTWARE Encrypt in the same run (it is two hops), not an echo.
import * as crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { decodeMessage, messageType } from '../src/proto/registry';
import { serviceIdentityEmail } from '../src/services/ekm-client/identity';
import { grpcWorkload, loadClient, type Workload } from './bodies';
import { startPinned, type ServerProcess } from './processes';

export const EXTERNAL_WORKLOAD_ID = 'encrypt-external';
const PROJECT = 'openekm-bench';
const PARENT = `projects/${PROJECT}/locations/us-east1`;
const HOSTNAME = 'ekm.external.bench.test';
const PLAINTEXT_BYTES = 1024;

function operator(serverMain: string, dataDir: string, args: string[]): string {
  return execFileSync(process.execPath, [serverMain, 'ekm', ...args, '--data', dataDir], { encoding: 'utf8' }).trim();
}

/** Starts the EKM the KMS's external key lives in, sets everything up, and checks the workload's body. */
export async function prepareExternalEncrypt(
  kms: ServerProcess,
  kmsDataDir: string,
  tmp: string,
  serverMain: string,
  profArgs: string[],
): Promise<{ ekm: ServerProcess; workload: Workload; floor: ExternalFloorSetup }> {
  const dataDir = path.join(tmp, 'external-ekm');
  const ekm = await startPinned('openekm ekm (external key)', [
    ...profArgs, serverMain, 'ekm', 'serve', '--data', dataDir, '--port', '0', '--hostname', HOSTNAME,
    '--trust-issuer', `https://openekm.kms/=${path.join(kmsDataDir, 'kms-jwks.json')}`,
  ]);
  try {
    operator(serverMain, dataDir, ['crypto-spaces', 'create', 'kms', '--caller', serviceIdentityEmail(PROJECT), '--reasons', 'default=CUSTOMER_INITIATED_ACCESS']);
    const keyPath = operator(serverMain, dataDir, ['keys', 'create', '--crypto-space', 'kms', '--algorithm', 'EXTERNAL_SYMMETRIC_ENCRYPTION']);
    const key = await createExternalKey(kms.port('grpc'), ekm.port('ekm'), fs.readFileSync(path.join(dataDir, 'server-cert.der')), keyPath);
    const plaintext = crypto.randomBytes(PLAINTEXT_BYTES);
    const workload = grpcWorkload(EXTERNAL_WORKLOAD_ID, 'Encrypt 1 KiB, EXTERNAL_VPC key', 'Encrypt', ['EncryptRequest', { name: key, plaintext }], (m) => {
      const r = decodeMessage(messageType('google.cloud.kms.v1.EncryptResponse'), m);
      // The external format (0x02) and the EKM's blob around the inner ciphertext.
      if (!Buffer.isBuffer(r.ciphertext) || r.ciphertext[0] !== 0x02 || r.ciphertext.length <= PLAINTEXT_BYTES) {
        throw new Error('bench setup: the EXTERNAL_VPC Encrypt reply is not a double-wrapped ciphertext');
      }
    });
    workload.concurrencies = [16, 64];
    await checkRoundTrip(kms.port('grpc'), key, plaintext);
    await workload.verify('ours', kms.port('grpc'));
    const floor = { certFile: path.join(dataDir, 'tls-self-signed-cert.pem'), keyFile: path.join(dataDir, 'tls-self-signed-key.pem'), keyPath };
    return { ekm, workload, floor };
  } catch (err) {
    await ekm.stop();
    throw err;
  }
}

/** What the work floor of this workload needs: the EKM's certificate and key (the EKM floor serves them) and the key path. */
export interface ExternalFloorSetup {
  certFile: string;
  keyFile: string;
  keyPath: string;
}

/**
 * The work floor of the external workload (kms-floor-server.ts), with the
 * EKM floor (ekm-floor-server.ts) it calls as its companion, both pinned like
 * ours and added to `servers` at once.
 */
export async function startExternalFloor(setup: ExternalFloorSetup, tmp: string, servers: ServerProcess[]): Promise<{ floor: ServerProcess; ekm: ServerProcess }> {
  const ekm = await startPinned('ekm floor (external key)', [
    path.join(__dirname, 'ekm-floor-server.js'), '0', setup.certFile, setup.keyFile, path.join(tmp, 'external-floor-audit.log'),
  ]);
  servers.push(ekm);
  const floor = await startPinned('kms floor (external key)', [
    path.join(__dirname, 'kms-floor-server.js'), '0', String(ekm.port('ekm')), setup.certFile, setup.keyPath,
  ]);
  servers.push(floor);
  return { floor, ekm };
}

async function createExternalKey(kmsPort: number, ekmPort: number, certificateDer: Buffer, keyPath: string): Promise<string> {
  const { RegistrationServiceClient } = await import('@google-cloud/service-directory');
  const { EkmServiceClient } = await import('@google-cloud/kms');
  const options = { apiEndpoint: '127.0.0.1', port: kmsPort, sslCreds: grpc.credentials.createInsecure() };
  const registration = new RegistrationServiceClient(options as never);
  const ekmService = new EkmServiceClient(options);
  const kms = await loadClient(kmsPort);
  try {
    const service = `${PARENT}/namespaces/ekm/services/replicas`;
    await registration.createNamespace({ parent: PARENT, namespaceId: 'ekm', namespace: {} });
    await registration.createService({ parent: `${PARENT}/namespaces/ekm`, serviceId: 'replicas', service: {} });
    await registration.createEndpoint({ parent: service, endpointId: 'a', endpoint: { address: '127.0.0.1', port: ekmPort } });
    const [connection] = await ekmService.createEkmConnection({
      parent: PARENT,
      ekmConnectionId: 'bench',
      ekmConnection: { serviceResolvers: [{ serviceDirectoryService: service, hostname: HOSTNAME, serverCertificates: [{ rawDer: certificateDer }] }] },
    });
    await kms.createKeyRing({ parent: PARENT, keyRingId: 'external', keyRing: {} });
    const [key] = await kms.createCryptoKey({
      parent: `${PARENT}/keyRings/external`,
      cryptoKeyId: 'vpc',
      cryptoKey: { purpose: 'ENCRYPT_DECRYPT', versionTemplate: { protectionLevel: 'EXTERNAL_VPC' }, cryptoKeyBackend: connection.name },
      skipInitialVersionCreation: true,
    });
    await kms.createCryptoKeyVersion({ parent: key.name, cryptoKeyVersion: { externalProtectionLevelOptions: { ekmConnectionKeyPath: keyPath } } });
    await kms.updateCryptoKeyPrimaryVersion({ name: key.name, cryptoKeyVersionId: '1' });
    return key.name!;
  } finally {
    await Promise.all([registration.close(), ekmService.close(), kms.close()]);
  }
}

async function checkRoundTrip(kmsPort: number, key: string, plaintext: Buffer): Promise<void> {
  const kms = await loadClient(kmsPort);
  try {
    const [enc] = await kms.encrypt({ name: key, plaintext });
    const [dec] = await kms.decrypt({ name: key, ciphertext: enc.ciphertext });
    if (!plaintext.equals(Buffer.from(dec.plaintext as Uint8Array))) throw new Error('bench setup: EXTERNAL_VPC Decrypt did not give the plaintext back');
  } finally {
    await kms.close();
  }
}
