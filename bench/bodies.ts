// The three workloads' request bodies, built against keys created through the
// official client, and the checks that prove each body succeeds before it is
// replayed by h2load (which would count gRPC errors as successes).
import * as crypto from 'node:crypto';
import type { protos } from '@google-cloud/kms';
import * as grpc from '@grpc/grpc-js';
import { decodeMessage, encodeMessage, messageType, type Msg } from '../src/proto/registry';
import { grpcFrame, postGrpc } from './grpc-check';

type KmsClient = InstanceType<(typeof import('@google-cloud/kms'))['KeyManagementServiceClient']>;

const SERVICE = '/google.cloud.kms.v1.KeyManagementService';
const PLAINTEXT_BYTES = 1024;

export interface Workload {
  id: 'encrypt' | 'decrypt' | 'sign';
  label: string;
  /** The gRPC method path, the same on the KMS and on the echo server. */
  path: string;
  /** Framed request: 0, 4-byte big-endian length, serialized request. */
  body: Buffer;
  /** Throws unless a raw reply from the KMS is the right answer to `body`. */
  checkReply(message: Buffer): void;
}

async function loadClient(port: number): Promise<KmsClient> {
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

/**
 * Creates a key ring, a GOOGLE_SYMMETRIC_ENCRYPTION key and an
 * EC_SIGN_P256_SHA256 key on the KMS at `port`, builds the three bodies, and
 * checks every body with the official client and with a raw HTTP/2 call.
 */
export async function prepareWorkloads(port: number): Promise<Workload[]> {
  const client = await loadClient(port);
  try {
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

    const plaintext = crypto.randomBytes(PLAINTEXT_BYTES);
    const [encrypted] = await client.encrypt({ name: symKey.name, plaintext });
    const ciphertext = Buffer.from(encrypted.ciphertext as Uint8Array);
    const signedData = crypto.randomBytes(64);
    const digest = crypto.createHash('sha256').update(signedData).digest();

    const isPlaintext = (p: unknown) => p instanceof Uint8Array && plaintext.equals(p);
    const verifies = (sig: unknown) =>
      sig instanceof Uint8Array && crypto.verify('sha256', signedData, publicKey.pem!, Buffer.from(sig));

    const workloads: Workload[] = [
      {
        id: 'encrypt',
        label: 'Encrypt 1 KiB',
        path: `${SERVICE}/Encrypt`,
        body: body('EncryptRequest', { name: symKey.name, plaintext }),
        checkReply: (m) => {
          const r = decodeMessage(messageType('google.cloud.kms.v1.EncryptResponse'), m);
          // Same key, same plaintext: the same length as the client's own Encrypt.
          expect(Buffer.isBuffer(r.ciphertext) && r.ciphertext.length === ciphertext.length, 'Encrypt reply has no ciphertext');
        },
      },
      {
        id: 'decrypt',
        label: 'Decrypt 1 KiB',
        path: `${SERVICE}/Decrypt`,
        body: body('DecryptRequest', { name: symKey.name, ciphertext }),
        checkReply: (m) => {
          const r = decodeMessage(messageType('google.cloud.kms.v1.DecryptResponse'), m);
          expect(isPlaintext(r.plaintext), 'Decrypt reply is not the plaintext');
        },
      },
      {
        id: 'sign',
        label: 'AsymmetricSign P-256',
        path: `${SERVICE}/AsymmetricSign`,
        body: body('AsymmetricSignRequest', { name: signVersion, digest: { sha256: digest } }),
        checkReply: (m) => {
          const r = decodeMessage(messageType('google.cloud.kms.v1.AsymmetricSignResponse'), m);
          expect(verifies(r.signature), 'AsymmetricSign reply does not verify');
        },
      },
    ];

    // The exact bodies through the official client.
    const [enc] = await client.encrypt(requestOf(workloads[0].body, 'EncryptRequest') as protos.google.cloud.kms.v1.IEncryptRequest);
    const [dec] = await client.decrypt(requestOf(workloads[1].body, 'DecryptRequest') as protos.google.cloud.kms.v1.IDecryptRequest);
    const [sig] = await client.asymmetricSign(
      requestOf(workloads[2].body, 'AsymmetricSignRequest') as protos.google.cloud.kms.v1.IAsymmetricSignRequest,
    );
    expect(isPlaintext(dec.plaintext), 'client Decrypt of the body did not give the plaintext');
    expect(verifies(sig.signature), 'client AsymmetricSign of the body does not verify');
    const [back] = await client.decrypt({ name: symKey.name, ciphertext: enc.ciphertext });
    expect(isPlaintext(back.plaintext), 'client Encrypt of the body does not decrypt to the plaintext');

    // The exact bytes over raw HTTP/2: grpc-status must be 0.
    for (const w of workloads) await checkRaw(port, w);
    return workloads;
  } finally {
    await client.close();
  }
}

/** Sends the workload's body by hand and checks grpc-status 0 and the reply. */
export async function checkRaw(port: number, w: Workload): Promise<void> {
  const reply = await postGrpc(port, w.path, w.body);
  if (reply.grpcStatus !== '0') throw new Error(`${w.path}: grpc-status ${reply.grpcStatus} ${reply.grpcMessage}`);
  w.checkReply(reply.message);
}

/** The echo server must answer the same body with grpc-status 0 and the same bytes. */
export async function checkEcho(port: number, w: Workload): Promise<void> {
  const reply = await postGrpc(port, w.path, w.body);
  if (reply.grpcStatus !== '0' || !reply.message.equals(w.body.subarray(5))) {
    throw new Error(`echo ${w.path}: grpc-status ${reply.grpcStatus}, echoed ${reply.message.length} bytes`);
  }
}
