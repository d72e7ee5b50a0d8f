// The workloads' request bodies, built against keys created through the
// official client, and the checks that prove each body succeeds before it is
// replayed by h2load (which would count gRPC errors as successes). Three are
// gRPC calls; one is Encrypt over REST (rest-check.ts).
import * as crypto from 'node:crypto';
import type { protos } from '@google-cloud/kms';
import * as grpc from '@grpc/grpc-js';
import { decodeMessage, encodeMessage, messageType, type Msg } from '../src/proto/registry';
import { grpcFrame, postGrpc } from './grpc-check';
import type { Protocol, ServerProcess } from './processes';
import type { ServerKind } from './report';
import { restEncryptWorkload } from './rest-check';

export type KmsClient = InstanceType<(typeof import('@google-cloud/kms'))['KeyManagementServiceClient']>;

const SERVICE = '/google.cloud.kms.v1.KeyManagementService';
const PLAINTEXT_BYTES = 1024;
/** gRPC concurrencies: streams in flight on one HTTP/2 connection. */
const GRPC_CONCURRENCIES = [1, 16, 64];

export interface Workload {
  id: 'encrypt' | 'decrypt' | 'sign' | 'rest-encrypt' | 'encrypt-external' | 'encrypt-pg';
  label: string;
  protocol: Protocol;
  /** The concurrencies it runs at unless --concurrency says otherwise. */
  concurrencies: number[];
  /** The server under test when not the protocol's usual one (the KMS on PostgreSQL). */
  server?: ServerProcess;
  /** The request path, the same on the KMS and on the echo server. */
  path: string;
  /** The exact bytes h2load sends. gRPC: 0, 4-byte big-endian length, serialized request. REST: the JSON body. */
  body: Buffer;
  /**
   * The body the work floor gets, when it can't be `body`: an unwrap body
   * carries a blob that only the server that made it can open.
   */
  floorBody?: Buffer;
  /** Makes floorBody against the work floor on `port`, once it is up. */
  prepareFloor?(port: number): Promise<void>;
  /** Sends the body of that kind once by hand to a server of that kind; throws unless the reply is the right answer. */
  verify(kind: ServerKind, port: number): Promise<void>;
  /**
   * Other processes of the system under test (the EKM behind an external
   * key): on the server CPU by design, so their CPU counts as the server's,
   * not as a disturbance.
   */
  companions?: ServerProcess[];
  /** The same for the work floor (the EKM floor behind the KMS floor of an external key). */
  floorCompanions?: ServerProcess[];
}

export async function loadClient(port: number): Promise<KmsClient> {
  // gax probes the GCE metadata server for credentials while loading and on
  // first use; pointing it at a closed local port keeps the bench offline.
  process.env.METADATA_SERVER_DETECTION = 'none';
  process.env.GCE_METADATA_HOST = '127.0.0.1:9';
  const { KeyManagementServiceClient } = await import('@google-cloud/kms');
  return new KeyManagementServiceClient({ apiEndpoint: '127.0.0.1', port, sslCreds: grpc.credentials.createInsecure() });
}

function body(requestType: string, request: Msg): Buffer {
  return grpcFrame(encodeMessage(messageType(`google.cloud.kms.v1.${requestType}`), request));
}

/** The request back from the body, as a plain object the official client accepts. */
function requestOf(workloadBody: Buffer, requestType: string): Msg {
  return decodeMessage(messageType(`google.cloud.kms.v1.${requestType}`), workloadBody.subarray(5));
}

function expect(ok: boolean, what: string): void {
  if (!ok) throw new Error(`bench setup: ${what}`);
}

/** A gRPC workload; `checkReply` throws unless a raw reply from the KMS is the right answer. */
export function grpcWorkload(
  id: Workload['id'],
  label: string,
  method: string,
  request: [requestType: string, value: Msg],
  checkReply: (message: Buffer) => void,
): Workload {
  const w: Workload = {
    id,
    label,
    protocol: 'grpc',
    concurrencies: GRPC_CONCURRENCIES,
    path: `${SERVICE}/${method}`,
    body: body(...request),
    // A work floor (external keys only) is checked as ours is.
    verify: (kind, port) => (kind === 'echo' ? checkEcho(port, w.path, w.body) : checkRaw(port, w.path, w.body, checkReply)),
  };
  return w;
}

interface Keys {
  /** The GOOGLE_SYMMETRIC_ENCRYPTION crypto key's name. */
  symKey: string;
  /** Version 1 of the EC_SIGN_P256_SHA256 key. */
  signVersion: string;
  publicKeyPem: string;
}

/** A key ring with a GOOGLE_SYMMETRIC_ENCRYPTION key and an EC_SIGN_P256_SHA256 key. */
async function createKeys(client: KmsClient): Promise<Keys> {
  const run = `${Date.now().toString(36)}`;
  const [ring] = await client.createKeyRing({ parent: 'projects/openekm-bench/locations/global', keyRingId: `bench-${run}`, keyRing: {} });
  const [symKey] = await client.createCryptoKey({
    parent: ring.name,
    cryptoKeyId: 'encrypt',
    cryptoKey: { purpose: 'ENCRYPT_DECRYPT', versionTemplate: { algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION' } },
  });
  const [signKey] = await client.createCryptoKey({
    parent: ring.name,
    cryptoKeyId: 'sign',
    cryptoKey: { purpose: 'ASYMMETRIC_SIGN', versionTemplate: { algorithm: 'EC_SIGN_P256_SHA256' } },
  });
  const signVersion = `${signKey.name}/cryptoKeyVersions/1`;
  const [version] = await client.getCryptoKeyVersion({ name: signVersion });
  expect(version.state === 'ENABLED', `${signVersion} is ${String(version.state)}, not ENABLED`);
  const [publicKey] = await client.getPublicKey({ name: signVersion });
  return { symKey: symKey.name!, signVersion, publicKeyPem: publicKey.pem! };
}

/**
 * Creates the keys on the KMS, builds the four bodies, and checks every body
 * with the official client (gRPC) and with one raw request on its own
 * protocol (grpc-status 0 and the right content; REST: 200, and the
 * ciphertext decrypts).
 */
export async function prepareWorkloads(ours: ServerProcess): Promise<Workload[]> {
  const client = await loadClient(ours.port('grpc'));
  try {
    const keys = await createKeys(client);
    const plaintext = crypto.randomBytes(PLAINTEXT_BYTES);
    const [encrypted] = await client.encrypt({ name: keys.symKey, plaintext });
    const ciphertext = Buffer.from(encrypted.ciphertext as Uint8Array);
    const signedData = crypto.randomBytes(64);
    const digest = crypto.createHash('sha256').update(signedData).digest();

    const isPlaintext = (p: unknown) => p instanceof Uint8Array && plaintext.equals(p);
    const verifies = (sig: unknown) =>
      sig instanceof Uint8Array && crypto.verify('sha256', signedData, keys.publicKeyPem, Buffer.from(sig));

    const workloads: Workload[] = [
      grpcWorkload('encrypt', 'Encrypt 1 KiB', 'Encrypt', ['EncryptRequest', { name: keys.symKey, plaintext }], (m) => {
        const r = decodeMessage(messageType('google.cloud.kms.v1.EncryptResponse'), m);
        // Same key, same plaintext: the same length as the client's own Encrypt.
        expect(Buffer.isBuffer(r.ciphertext) && r.ciphertext.length === ciphertext.length, 'Encrypt reply has no ciphertext');
      }),
      grpcWorkload('decrypt', 'Decrypt 1 KiB', 'Decrypt', ['DecryptRequest', { name: keys.symKey, ciphertext }], (m) => {
        const r = decodeMessage(messageType('google.cloud.kms.v1.DecryptResponse'), m);
        expect(isPlaintext(r.plaintext), 'Decrypt reply is not the plaintext');
      }),
      grpcWorkload('sign', 'AsymmetricSign P-256', 'AsymmetricSign', ['AsymmetricSignRequest', { name: keys.signVersion, digest: { sha256: digest } }], (m) => {
        const r = decodeMessage(messageType('google.cloud.kms.v1.AsymmetricSignResponse'), m);
        expect(verifies(r.signature), 'AsymmetricSign reply does not verify');
      }),
      restEncryptWorkload(keys.symKey, plaintext),
    ];

    // The exact gRPC bodies through the official client.
    const [enc] = await client.encrypt(requestOf(workloads[0].body, 'EncryptRequest') as protos.google.cloud.kms.v1.IEncryptRequest);
    const [dec] = await client.decrypt(requestOf(workloads[1].body, 'DecryptRequest') as protos.google.cloud.kms.v1.IDecryptRequest);
    const [sig] = await client.asymmetricSign(
      requestOf(workloads[2].body, 'AsymmetricSignRequest') as protos.google.cloud.kms.v1.IAsymmetricSignRequest,
    );
    expect(isPlaintext(dec.plaintext), 'client Decrypt of the body did not give the plaintext');
    expect(verifies(sig.signature), 'client AsymmetricSign of the body does not verify');
    const [back] = await client.decrypt({ name: keys.symKey, ciphertext: enc.ciphertext });
    expect(isPlaintext(back.plaintext), 'client Encrypt of the body does not decrypt to the plaintext');

    // The exact bytes by hand, each on its own protocol.
    for (const w of workloads) await w.verify('ours', ours.port(w.protocol));
    return workloads;
  } finally {
    await client.close();
  }
}

/** Sends a gRPC body by hand and checks grpc-status 0 and the reply. */
async function checkRaw(port: number, path: string, body: Buffer, checkReply: (message: Buffer) => void): Promise<void> {
  const reply = await postGrpc(port, path, body);
  if (reply.grpcStatus !== '0') throw new Error(`${path}: grpc-status ${reply.grpcStatus} ${reply.grpcMessage}`);
  checkReply(reply.message);
}

/** The gRPC echo server must answer the same body with grpc-status 0 and the same bytes. */
async function checkEcho(port: number, path: string, body: Buffer): Promise<void> {
  const reply = await postGrpc(port, path, body);
  if (reply.grpcStatus !== '0' || !reply.message.equals(body.subarray(5))) {
    throw new Error(`echo ${path}: grpc-status ${reply.grpcStatus}, echoed ${reply.message.length} bytes`);
  }
}
