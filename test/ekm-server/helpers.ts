// The reference EKM for tests: a server on an ephemeral loopback port with a
// temporary data directory, a real token signer whose JWKS it trusts, and the
// admin client; plus the fixture the conformance suite runs against.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { silentLogger } from '../../src/log';
import { AdminClient } from '../../src/ekm-server/admin-client';
import { createEkmServer, type EkmServer, type EkmServerOptions } from '../../src/ekm-server/server';
import { EkmHttpClient } from './conformance/client';
import type { ConformanceTarget } from './conformance/target';
import { TokenSigner, jwksDocument } from './conformance/tokens';

export const ISSUER = 'https://kms.test/ekm-token-issuer';
export const HOSTNAME = 'ekm.test';
export const AUDIENCE = `https://${HOSTNAME}`;
export const CALLER = 'service-123@gcp-sa-ekms.iam.gserviceaccount.com';
export const STRANGER = 'service-999@gcp-sa-ekms.iam.gserviceaccount.com';

export function tempDir(prefix = 'openekm-ekm-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function writeJwks(dir: string, ...signers: TokenSigner[]): string {
  const file = path.join(dir, 'jwks.json');
  fs.writeFileSync(file, JSON.stringify(jwksDocument(...signers)));
  return file;
}

export interface ReferenceEkm {
  server: EkmServer;
  dataDir: string;
  admin: AdminClient;
  signer: TokenSigner;
  /** An HTTPS client trusting the server's certificate. */
  client: EkmHttpClient;
  /** A token for email (default CALLER) that the server accepts. */
  token(email?: string): string;
  close(): Promise<void>;
}

export async function startReferenceEkm(options: Partial<EkmServerOptions> = {}): Promise<ReferenceEkm> {
  const dataDir = options.dataDir ?? tempDir();
  const trustDir = tempDir('openekm-ekm-trust-');
  const signer = TokenSigner.generate(ISSUER, 'ES256');
  const removeDirs = () => {
    fs.rmSync(trustDir, { recursive: true, force: true });
    if (!options.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  };
  let server: EkmServer;
  try {
    server = await createEkmServer({
      hostname: HOSTNAME,
      trustedIssuers: [{ issuer: ISSUER, jwks: writeJwks(trustDir, signer) }],
      logger: silentLogger,
      ...options,
      dataDir,
      host: '127.0.0.1',
      port: 0,
    });
  } catch (err) {
    removeDirs();
    throw err;
  }
  const client = new EkmHttpClient(server.url, { ca: server.certificatePem });
  return {
    server, dataDir, signer, client,
    admin: new AdminClient(server.adminSocketPath),
    token: (email = CALLER) => signer.token({ email, audience: AUDIENCE }),
    close: async () => {
      client.close();
      await server.close();
      removeDirs();
    },
  };
}

/** The body of a request with a KMS-like additionalContext carrying reason. */
export function withReason(body: Record<string, unknown>, reason: string | null = 'CUSTOMER_INITIATED_ACCESS'): Record<string, unknown> {
  return {
    ...body,
    additionalContext: {
      relativeResourceName: 'projects/p/locations/us-east1/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1',
      ...(reason === null ? {} : { accessReasonContext: { reason } }),
    },
  };
}

const ALLOWED = ['CUSTOMER_INITIATED_ACCESS', 'GOOGLE_INITIATED_SYSTEM_OPERATION'];
const SIGNING_ALGORITHMS = ['EC_SIGN_P256_SHA256', 'EC_SIGN_P384_SHA384', 'RSA_SIGN_PSS_2048_SHA256', 'RSA_SIGN_PKCS1_3072_SHA256', 'RSA_SIGN_PSS_4096_SHA512'];

/** Creates, through the admin interface, what the conformance suite needs, and describes it. */
export async function conformanceFixture(ekm: ReferenceEkm): Promise<ConformanceTarget> {
  const { admin } = ekm;
  await admin.call('createCryptoSpace', {
    name: 'conformance',
    policy: {
      callers: [CALLER],
      reasons: { default: ALLOWED, wrap: [...ALLOWED, 'GOOGLE_INITIATED_SERVICE'], destroyKey: ['GOOGLE_INITIATED_SYSTEM_OPERATION', 'CUSTOMER_INITIATED_ACCESS'] },
    },
  });
  const create = async (algorithm: string) => (await admin.call<{ path: string }>('createKey', { cryptoSpace: 'conformance', algorithm })).path;
  const [wrapA, wrapB, disabled, destroyed] = await Promise.all([1, 2, 3, 4].map(() => create('EXTERNAL_SYMMETRIC_ENCRYPTION')));
  await admin.call('disableKey', { path: disabled });
  await admin.call('destroyKey', { path: destroyed });
  const signing = await Promise.all(SIGNING_ALGORITHMS.map(async (algorithm) => ({ algorithm, path: await create(algorithm) })));
  return {
    url: ekm.server.url,
    tls: { ca: ekm.server.certificatePem, pinnedSha256: ekm.server.sha256Fingerprint },
    audience: AUDIENCE,
    signer: { issuer: ekm.signer.issuer, alg: ekm.signer.alg, kid: ekm.signer.kid, privateKeyPem: ekm.signer.privateKeyPem },
    callerEmail: CALLER,
    deniedCallerEmail: STRANGER,
    allowedReason: 'CUSTOMER_INITIATED_ACCESS',
    deniedReasons: {
      wrap: ['THIRD_PARTY_DATA_REQUEST', 'GOOGLE_INITIATED_REVIEW'],
      unwrap: ['GOOGLE_INITIATED_SERVICE', 'CUSTOMER_INITIATED_SUPPORT', 'REASON_NOT_EXPECTED'],
      asymmetricSign: ['THIRD_PARTY_DATA_REQUEST'],
      getPublicKey: ['GOOGLE_RESPONSE_TO_PRODUCTION_ALERT'],
      createKey: ['GOOGLE_INITIATED_REVIEW'],
      destroyKey: ['CUSTOMER_AUTHORIZED_WORKFLOW_SERVICING'],
    },
    keys: { wrapA, wrapB, disabled, destroyed, unknown: 'v0/cryptospaces/conformance/keys/no-such-key', signing },
    cryptoSpace: 'v0/cryptospaces/conformance',
    auditLogFile: ekm.server.auditLogPath,
  };
}
