// `openekm dev` and `openekm demo`: the KMS and a reference EKM together on
// loopback. `dev` keeps both running (data in ./.openekm and ./.openekm-ekm,
// the EKM trusting the KMS's token signer) and prints how to reach them;
// `demo` runs Cloud EKM's usage flow end to end with the official clients in
// a temporary directory and stops.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { EkmServiceClient, KeyManagementServiceClient } from '@google-cloud/kms';
import { RegistrationServiceClient } from '@google-cloud/service-directory';
import { AdminClient } from '../ekm-server/admin-client';
import { createEkmServer, type EkmServer } from '../ekm-server/server';
import { silentLogger } from '../log';
import { createServer, type OpenEkmServer } from '../server';
import { serviceIdentityEmail } from '../services/ekm-client';

const EKM_HOSTNAME = 'localhost';

export interface Pair {
  kms: OpenEkmServer;
  ekm: EkmServer;
  close(): Promise<void>;
}

/**
 * Starts both: the EKM's first start makes its certificate (kept in its data
 * dir) so the KMS can trust it for EXTERNAL key URIs; the EKM trusts the
 * KMS's JWKS file.
 */
export async function startPair(kmsDir: string, ekmDir: string, ports: { grpc?: number; rest?: number; ekm?: number } = {}): Promise<Pair> {
  const certFile = path.join(ekmDir, 'tls-self-signed-cert.pem');
  const ekmOptions = (trust: string) => ({
    dataDir: ekmDir,
    port: ports.ekm ?? 0,
    hostname: EKM_HOSTNAME,
    audiences: [`https://${EKM_HOSTNAME}`, 'https://127.0.0.1'],
    trustedIssuers: [{ issuer: 'https://openekm.kms/', jwks: trust }],
    logger: silentLogger,
  });
  const jwksFile = path.join(kmsDir, 'kms-jwks.json');
  if (!fs.existsSync(certFile)) {
    fs.mkdirSync(kmsDir, { recursive: true, mode: 0o700 });
    if (!fs.existsSync(jwksFile)) fs.writeFileSync(jwksFile, '{"keys":[]}');
    await (await createEkmServer(ekmOptions(jwksFile))).close();
  }
  const kms = await createServer({
    dataDir: kmsDir,
    grpcPort: ports.grpc ?? 0,
    restPort: ports.rest ?? 0,
    ekm: { extraCaPem: fs.readFileSync(certFile, 'utf8') },
  });
  const ekm = await createEkmServer(ekmOptions(kms.jwksFile!)).catch(async (err: unknown) => {
    await kms.close();
    throw err;
  });
  return { kms, ekm, close: async () => void (await Promise.all([ekm.close(), kms.close()])) };
}

/** What `openekm dev` prints once both listen. */
export function howTo(pair: Pair): string {
  const { kms, ekm } = pair;
  const grpcPort = kms.grpcPort;
  return `OpenEKM: a KMS and a reference EKM on loopback.

  KMS gRPC   ${kms.addresses.grpc}
  KMS REST   ${kms.addresses.rest}
  EKM        ${ekm.url}  (hostname ${EKM_HOSTNAME}; certificate ${ekm.certificateDerPath}, sha256 ${ekm.sha256Fingerprint})
  KMS token issuer ${kms.issuer}, JWKS ${kms.jwksFile} (the EKM trusts it)

Official Node client:
  new KeyManagementServiceClient({ apiEndpoint: '127.0.0.1', port: ${grpcPort}, sslCreds: grpc.credentials.createInsecure() })
gcloud (with its own CLOUDSDK_CONFIG):
  gcloud config set auth/disable_credentials true
  gcloud config set api_endpoint_overrides/cloudkms ${kms.addresses.rest}/
  gcloud config set api_endpoint_overrides/servicedirectory ${kms.addresses.rest}/
Let a project's KMS identity use the EKM, and make a key (prints its key path):
  openekm ekm crypto-spaces create main --caller ${serviceIdentityEmail('my-project')} --reasons default=CUSTOMER_INITIATED_ACCESS,GOOGLE_INITIATED_SYSTEM_OPERATION
  openekm ekm keys create --crypto-space main --algorithm EXTERNAL_SYMMETRIC_ENCRYPTION
Then: a Service Directory endpoint 127.0.0.1:${ekm.port}, an EkmConnection with hostname ${EKM_HOSTNAME} and the
certificate above, and an EXTERNAL_VPC key whose version names that key path (npm run demo shows every step).
`;
}

type Say = (line: string) => void;

interface DemoClients {
  kms: KeyManagementServiceClient;
  ekm: EkmServiceClient;
  registration: RegistrationServiceClient;
}

/** Step 1: a crypto space the project's KMS identity may use, and a key in it; its key path. */
async function demoEkmKey(pair: Pair, project: string, say: Say): Promise<string> {
  const admin = new AdminClient(pair.ekm.adminSocketPath);
  await admin.call('createCryptoSpace', {
    name: 'demo',
    policy: { callers: [serviceIdentityEmail(project)], reasons: { default: ['CUSTOMER_INITIATED_ACCESS', 'GOOGLE_INITIATED_SYSTEM_OPERATION'] } },
  });
  const keyPath = (await admin.call<{ path: string }>('createKey', { cryptoSpace: 'demo', algorithm: 'EXTERNAL_SYMMETRIC_ENCRYPTION' })).path;
  say(`1. EKM key created at ${pair.ekm.url}: ${keyPath} (usable by ${serviceIdentityEmail(project)})`);
  return keyPath;
}

/** Steps 2-5: the EKM in Service Directory, an EkmConnection pinning it, the location's default, VerifyConnectivity. */
async function demoConnection(clients: DemoClients, pair: Pair, parent: string, say: Say): Promise<void> {
  const service = `${parent}/namespaces/ekm/services/replicas`;
  await clients.registration.createNamespace({ parent, namespaceId: 'ekm', namespace: {} });
  await clients.registration.createService({ parent: `${parent}/namespaces/ekm`, serviceId: 'replicas', service: {} });
  await clients.registration.createEndpoint({ parent: service, endpointId: 'a', endpoint: { address: '127.0.0.1', port: pair.ekm.port } });
  say(`2. Service Directory: ${service} -> 127.0.0.1:${pair.ekm.port}`);
  const [connection] = await clients.ekm.createEkmConnection({
    parent,
    ekmConnectionId: 'demo',
    ekmConnection: {
      serviceResolvers: [{
        serviceDirectoryService: service,
        hostname: EKM_HOSTNAME,
        serverCertificates: [{ rawDer: fs.readFileSync(pair.ekm.certificateDerPath) }],
      }],
    },
  });
  say(`3. EkmConnection ${connection.name} pinning the EKM's certificate (sha256 ${pair.ekm.sha256Fingerprint})`);
  await clients.ekm.updateEkmConfig({ ekmConfig: { name: `${parent}/ekmConfig`, defaultEkmConnection: connection.name }, updateMask: { paths: ['default_ekm_connection'] } });
  say(`4. Default EKM connection of ${parent} set`);
  await clients.ekm.verifyConnectivity({ name: connection.name });
  say('5. VerifyConnectivity: resolved, TLS pinned, token accepted, /info answered');
}

/** Step 6: an EXTERNAL_VPC key whose version 1 names the EKM's key path; its name. */
async function demoKey(kms: KeyManagementServiceClient, parent: string, keyPath: string, say: Say): Promise<string> {
  await kms.createKeyRing({ parent, keyRingId: 'demo', keyRing: {} });
  const [key] = await kms.createCryptoKey({
    parent: `${parent}/keyRings/demo`,
    cryptoKeyId: 'external',
    cryptoKey: { purpose: 'ENCRYPT_DECRYPT', versionTemplate: { protectionLevel: 'EXTERNAL_VPC' } },
    skipInitialVersionCreation: true,
  });
  await kms.createCryptoKeyVersion({ parent: key.name, cryptoKeyVersion: { externalProtectionLevelOptions: { ekmConnectionKeyPath: keyPath } } });
  await kms.updateCryptoKeyPrimaryVersion({ name: key.name, cryptoKeyVersionId: '1' });
  say(`6. EXTERNAL_VPC key ${key.name} (backend ${key.cryptoKeyBackend}), version 1 -> ${keyPath}`);
  return key.name!;
}

/** Steps 7-8: Encrypt and Decrypt through both layers; then, with the EKM stopped, Decrypt fails. */
async function demoRoundTrip(kms: KeyManagementServiceClient, key: string, stopEkm: () => Promise<void>, say: Say): Promise<void> {
  const [enc] = await kms.encrypt({ name: key, plaintext: Buffer.from('card 4111 1111 1111 1111') });
  const [dec] = await kms.decrypt({ name: key, ciphertext: enc.ciphertext });
  say(`7. Encrypted (${(enc.ciphertext as Uint8Array).length} bytes, double-wrapped) and decrypted: "${Buffer.from(dec.plaintext as Uint8Array).toString()}"`);
  await stopEkm();
  try {
    await kms.decrypt({ name: key, ciphertext: enc.ciphertext }, { maxRetries: 0 });
    throw new Error('decrypt succeeded with the EKM stopped');
  } catch (err) {
    const e = err as Error & { code?: number };
    if (e.code !== grpc.status.FAILED_PRECONDITION) throw err;
    say(`8. EKM stopped: the same Decrypt fails with FAILED_PRECONDITION: ${e.message.replace(/^9 FAILED_PRECONDITION: /, '')}`);
  }
}

/** Cloud EKM's usage flow, step by step, with the official clients. */
export async function runDemo(say: Say): Promise<void> {
  // The official clients look for the cloud metadata server (credentials)
  // unless told not to; the demo talks to loopback only. A value the user set
  // is kept.
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openekm-demo-'));
  const pair = await startPair(path.join(dir, 'kms'), path.join(dir, 'ekm'));
  const project = 'demo-project';
  const parent = `projects/${project}/locations/us-east1`;
  const options = { apiEndpoint: '127.0.0.1', port: pair.kms.grpcPort, sslCreds: grpc.credentials.createInsecure() };
  const clients: DemoClients = {
    kms: new KeyManagementServiceClient(options),
    ekm: new EkmServiceClient(options),
    registration: new RegistrationServiceClient(options as never),
  };
  let ekmStopped = false;
  try {
    const keyPath = await demoEkmKey(pair, project, say);
    await demoConnection(clients, pair, parent, say);
    const key = await demoKey(clients.kms, parent, keyPath, say);
    await demoRoundTrip(clients.kms, key, async () => {
      await pair.ekm.close();
      ekmStopped = true;
    }, say);
  } finally {
    await Promise.all([clients.kms.close(), clients.ekm.close(), clients.registration.close()]);
    await (ekmStopped ? pair.kms.close() : pair.close());
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
