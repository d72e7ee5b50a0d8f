// The EKM workloads: wrap and unwrap of 1 KiB on the reference EKM
// (`openekm ekm serve`), over keep-alive TLS with a bearer token verified on
// every request, as the KMS calls it (docs/ekm-protocol.md). The EKM runs as
// its own process, set up the way an operator sets it up: a trusted token
// issuer on its command line, then a crypto space and a wrapping key made
// with the operator CLI over its admin socket.
import * as crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Workload } from './bodies';
import { checkEcho, checkUnwrap, wrapOnce, type HttpsTarget } from './ekm-check';
import { BENCH_CALLER, BENCH_ISSUER, BenchSigner } from './ekm-token';
import type { ServerProcess } from './processes';
import type { ServerKind } from './report';

export type EkmWorkloadId = 'ekm-wrap' | 'ekm-unwrap';
export const EKM_WORKLOAD_IDS: readonly EkmWorkloadId[] = ['ekm-wrap', 'ekm-unwrap'];

/** An EKM workload: a workload with the headers h2load must send besides content-type. */
export interface EkmWorkload extends Omit<Workload, 'id'> {
  id: EkmWorkloadId;
  headers: string[];
}

/** Any workload the bench runs. */
export type BenchWorkload = Workload | EkmWorkload;

/** Keep-alive TLS connections, one request in flight on each (the issue's). */
const EKM_CONCURRENCIES = [16, 64];
const PLAINTEXT_BYTES = 1024;
const HOSTNAME = 'ekm.bench.test';
const CRYPTO_SPACE = 'bench';
const REASON = 'CUSTOMER_INITIATED_ACCESS';
/**
 * The token is valid for a day: the EKM caps no lifetime (it checks exp,
 * nbf and iat only), and one token must outlast the whole bench. The KMS
 * reuses its token for a few minutes, so in its steady state the EKM verifies
 * a signature once per few minutes and otherwise finds the token in its cache:
 * what one long-lived token measures.
 */
export const TOKEN_LIFETIME_S = 24 * 3600;
/** What the KMS sends with each call (docs/ekm-protocol.md, "Request context"). */
const KMS_VERSION = 'projects/openekm-bench/locations/global/keyRings/bench/cryptoKeys/external/cryptoKeyVersions/1';
const ADDITIONAL_CONTEXT = {
  fullResourceName: `//cloudkms.googleapis.com/${KMS_VERSION}`,
  relativeResourceName: KMS_VERSION,
  accessReasonContext: { reason: REASON },
  isKeyHealthCheck: false,
};

/** The EKM's data directory and issuer, made before it starts. */
export interface EkmSetup {
  dataDir: string;
  signer: BenchSigner;
  /** The self-signed certificate and key the EKM makes in its data directory on first start (the HTTPS echo serves them too). */
  certFile: string;
  keyFile: string;
  /** node ARGS for `openekm ekm serve` on a free port. */
  serveArgs: string[];
}

/** A fresh signer, its JWKS in `tmp`, and the `ekm serve` arguments that trust it. */
export function ekmSetup(serverMain: string, tmp: string): EkmSetup {
  const dataDir = path.join(tmp, 'ekm-data');
  const jwksFile = path.join(tmp, 'ekm-trusted-jwks.json');
  const signer = new BenchSigner();
  signer.writeJwks(jwksFile);
  return {
    dataDir,
    signer,
    certFile: path.join(dataDir, 'tls-self-signed-cert.pem'),
    keyFile: path.join(dataDir, 'tls-self-signed-key.pem'),
    serveArgs: [
      serverMain, 'ekm', 'serve', '--data', dataDir, '--port', '0', '--hostname', HOSTNAME,
      '--trust-issuer', `${BENCH_ISSUER}=${jwksFile}`,
    ],
  };
}

/** One operator command against the running EKM; its stdout. */
function operator(serverMain: string, args: string[]): string {
  try {
    return execFileSync(process.execPath, [serverMain, 'ekm', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`bench setup: openekm ekm ${args.join(' ')} failed: ${(e.stderr ?? e.message).trim()}`);
  }
}

function contextBody(fields: Record<string, string>): Buffer {
  return Buffer.from(JSON.stringify({ ...fields, additionalContext: ADDITIONAL_CONTEXT }));
}

/**
 * Sets up the running EKM with the operator CLI (a crypto space that allows
 * the bench's caller with reason CUSTOMER_INITIATED_ACCESS, one AES-256
 * wrapping key), builds the two bodies (the unwrap body carries a blob from a
 * real wrap call) and checks each by hand: the wrap body's blob unwraps to
 * the plaintext, and the unwrap body answers the plaintext.
 */
export async function prepareEkmWorkloads(ekm: ServerProcess, setup: EkmSetup, serverMain: string): Promise<EkmWorkload[]> {
  const data = ['--data', setup.dataDir];
  operator(serverMain, ['crypto-spaces', 'create', CRYPTO_SPACE, ...data, '--caller', BENCH_CALLER, '--reasons', `default=${REASON}`]);
  const keyPath = operator(serverMain, ['keys', 'create', '--crypto-space', CRYPTO_SPACE, '--algorithm', 'EXTERNAL_SYMMETRIC_ENCRYPTION', ...data]).trim();
  if (!/^v0\/cryptospaces\/[\w-]+\/keys\/[\w-]+$/.test(keyPath)) throw new Error(`bench setup: keys create printed ${keyPath}, not a key path`);

  const token = setup.signer.token(BENCH_CALLER, `https://${HOSTNAME}`, TOKEN_LIFETIME_S);
  const headers = [`authorization: Bearer ${token}`];
  const ca = fs.readFileSync(setup.certFile, 'utf8');
  const target = (port: number): HttpsTarget => ({ port, ca, headers: ['content-type: application/json', ...headers] });

  const plaintext = crypto.randomBytes(PLAINTEXT_BYTES);
  const wrapPath = `/${keyPath}:wrap`;
  const unwrapPath = `/${keyPath}:unwrap`;
  const wrapBody = contextBody({ plaintext: plaintext.toString('base64') });
  const blob = await wrapOnce(target(ekm.port('ekm')), wrapPath, wrapBody, plaintext);
  const unwrapBody = contextBody({ wrappedBlob: blob });

  // ours and the work floor are checked alike (each with its own unwrap body); the echo must return the body.
  const workload = (id: EkmWorkloadId, label: string, p: string, body: Buffer, check: (t: HttpsTarget, kind: ServerKind) => Promise<void>): EkmWorkload => ({
    id,
    label,
    protocol: 'ekm',
    concurrencies: EKM_CONCURRENCIES,
    path: p,
    body,
    headers,
    verify: (kind, port) => (kind === 'echo' ? checkEcho(target(port), p, body) : check(target(port), kind)),
  });
  const wrapWorkload = workload('ekm-wrap', 'EKM wrap 1 KiB', wrapPath, wrapBody, async (t) => {
    // A fresh blob each time (random IV): it must unwrap to the plaintext.
    const fresh = await wrapOnce(t, wrapPath, wrapBody, plaintext);
    await checkUnwrap(t, unwrapPath, contextBody({ wrappedBlob: fresh }), plaintext);
  });
  const unwrapWorkload: EkmWorkload = workload('ekm-unwrap', 'EKM unwrap 1 KiB', unwrapPath, unwrapBody, (t, kind) => {
    const own = kind === 'floor' ? unwrapWorkload.floorBody : unwrapBody;
    if (!own) throw new Error('bench setup: the work floor has no unwrap body yet');
    return checkUnwrap(t, unwrapPath, own, plaintext);
  });
  // The work floor opens only its own blobs: its unwrap body carries one it wrapped.
  unwrapWorkload.prepareFloor = async (port) => {
    unwrapWorkload.floorBody = contextBody({ wrappedBlob: await wrapOnce(target(port), wrapPath, wrapBody, plaintext) });
  };
  const workloads = [wrapWorkload, unwrapWorkload];
  for (const w of workloads) await w.verify('ours', ekm.port('ekm'));
  return workloads;
}
