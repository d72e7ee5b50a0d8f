// Every error domain the KMS names, produced by a real fault behind a real
// KMS and read as a caller reads it, over gRPC and over REST: an EKM process
// that answers each HTTP status, a garbled or incomplete answer, one that
// never answers, one that is stopped, one whose certificate is not pinned, a
// Service Directory service without endpoints, and a tampered ciphertext.
// Each error is FAILED_PRECONDITION (DECRYPTION_FAILED: INVALID_ARGUMENT)
// with two violations: the key version's state, then the attempt.
import '../helpers/env';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import type * as http from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { Code } from '../../src/errors';
import { decodeMessage, messageType } from '../../src/proto/registry';
import { fakeEkm, refusingPort } from '../ekm-client/helpers';
import { rejectsWithCode } from '../helpers/kms';
import { type ExternalFixture, PARENT, startExternalFixture } from './fixture';

type Violation = { type: string; subject: string; description: string };

/** What the fake EKM does for a key path ending in the case's name. */
const ANSWERS: Record<string, (res: http.ServerResponse) => void> = {
  'status-403': (res) => status(res, 403, 7, 'caller not allowed'),
  'status-404': (res) => status(res, 404, 5, 'no such key'),
  'status-429': (res) => status(res, 429, 8, 'slow down'),
  'status-500': (res) => status(res, 500, 13, 'boom'),
  'status-501': (res) => status(res, 501, 12, 'not for this key'),
  'status-503': (res) => status(res, 503, 14, 'HSM offline'),
  'status-401': (res) => status(res, 401, 16, 'who are you'),
  'status-400-disabled': (res) => status(res, 400, 9, 'key disabled'),
  'status-302': (res) => {
    res.writeHead(302, { location: 'https://elsewhere.invalid/', 'content-length': '0' });
    res.end();
  },
  garbled: (res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"wrappedBlob": ');
  },
  'missing-field': (res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  },
  silent: () => undefined,
};

function status(res: http.ServerResponse, http: number, code: number, message: string): void {
  const body = JSON.stringify({ code, message });
  res.writeHead(http, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'retry-after': '0' });
  res.end(body);
}

/** The PreconditionFailure violations of a gRPC error. */
function grpcViolations(err: unknown): Violation[] {
  const bin = (err as { metadata: grpc.Metadata }).metadata.get('grpc-status-details-bin')[0] as Buffer;
  const decoded = decodeMessage(messageType('google.rpc.Status'), bin) as { details?: { value: Buffer }[] };
  return (decoded.details ?? []).flatMap((d) => (decodeMessage(messageType('google.rpc.PreconditionFailure'), d.value) as { violations: Violation[] }).violations);
}

const CASES: Array<[string, string]> = [
  ['status-403', 'EXTERNAL_PERMISSION_DENIED'],
  ['status-404', 'EXTERNAL_NOT_FOUND'],
  ['status-429', 'EXTERNAL_RESOURCE_EXHAUSTED'],
  ['status-500', 'EXTERNAL_SERVER_ERROR'],
  ['status-501', 'EXTERNAL_NOT_IMPLEMENTED'],
  ['status-503', 'OVERLOADED_EKM'],
  ['status-401', 'UNEXPECTED_ERROR'],
  ['status-400-disabled', 'UNEXPECTED_ERROR'],
  ['status-302', 'UNEXPECTED_RESPONSE'],
  ['garbled', 'UNEXPECTED_RESPONSE'],
  ['missing-field', 'UNEXPECTED_RESPONSE'],
  ['silent', 'TIMEOUT'],
];

describe('error domains from real faults, over gRPC and REST', () => {
  let f: ExternalFixture;
  let fake: Awaited<ReturnType<typeof fakeEkm>>;
  let fakeConnection: string;

  before(async () => {
    f = await startExternalFixture({ kms: { ekm: { deadlineMs: 1000 } } });
    fake = await fakeEkm((req, res) => {
      req.resume();
      const name = /\/keys\/([^:]+):/.exec(req.url ?? '')?.[1] ?? '';
      (ANSWERS[name] ?? ((r: http.ServerResponse) => status(r, 404, 5, 'unknown')))(res);
    });
    fakeConnection = await f.connection('fake', fake.port, fake.der);
  });
  after(async () => {
    await fake.close();
    await f.close();
  });

  /** An EXTERNAL_VPC key on `connection` whose one version is at `keyPath`. */
  async function key(id: string, connection: string, keyPath: string): Promise<string> {
    const [created] = await f.kms.client.createCryptoKey({
      parent: `${PARENT}/keyRings/ring`, cryptoKeyId: id,
      cryptoKey: { purpose: 'ENCRYPT_DECRYPT', versionTemplate: { protectionLevel: 'EXTERNAL_VPC' }, cryptoKeyBackend: connection },
      skipInitialVersionCreation: true,
    });
    await f.kms.client.createCryptoKeyVersion({ parent: created.name!, cryptoKeyVersion: { externalProtectionLevelOptions: { ekmConnectionKeyPath: keyPath } } });
    await f.kms.client.updateCryptoKeyPrimaryVersion({ name: created.name!, cryptoKeyVersionId: '1' });
    return created.name!;
  }

  /** Encrypt over gRPC and REST: both fail with `code`, the version's state, then `domain`. */
  async function expectDomain(name: string, domain: string, code = Code.FAILED_PRECONDITION): Promise<void> {
    const err = await rejectsWithCode(f.kms.client.encrypt({ name, plaintext: Buffer.from('x') }), code);
    const viaGrpc = grpcViolations(err);
    assert.deepEqual(viaGrpc.map((v) => v.type), ['EXTERNAL_KEY_VERSION_STATE', domain], err.message);
    assert.equal(viaGrpc[1].subject, `${name}/cryptoKeyVersions/1`);
    if (domain === 'EXTERNAL_PERMISSION_DENIED') {
      // The EKM's denial disabled the version, and the first violation says so; enabled again for the REST call.
      assert.match(viaGrpc[0].description, /is DISABLED/);
      await f.kms.client.updateCryptoKeyVersion({ cryptoKeyVersion: { name: `${name}/cryptoKeyVersions/1`, state: 'ENABLED' }, updateMask: { paths: ['state'] } });
    }
    const res = await fetch(`${f.kms.server.addresses.rest}/v1/${name}:encrypt`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ plaintext: 'eA==' }),
    });
    const body = await res.json() as { error: { status: string; message: string; details: Array<{ '@type': string; violations?: Violation[] }> } };
    assert.equal(body.error.status, Code[code]);
    const detail = body.error.details.find((d) => d['@type'] === 'type.googleapis.com/google.rpc.PreconditionFailure');
    assert.deepEqual(detail?.violations?.map((v) => v.type), ['EXTERNAL_KEY_VERSION_STATE', domain]);
    assert.equal(body.error.message, detail?.violations?.[1].description);
  }

  for (const [name, domain] of CASES) {
    test(`an EKM answering ${name}: ${domain}`, async () => {
      await expectDomain(await key(name, fakeConnection, `v0/fake/keys/${name}`), domain);
    });
  }

  test('a stopped EKM: UNREACHABLE_NETWORK', async () => {
    const connection = await f.connection('stopped', await refusingPort(), fake.der);
    await expectDomain(await key('stopped', connection, 'v0/fake/keys/any'), 'UNREACHABLE_NETWORK');
  });

  test('an EKM whose certificate is not the pinned one: TLS_CERT', async () => {
    const connection = await f.connection('impostor', fake.port, fs.readFileSync(f.ekm.server.certificateDerPath));
    await expectDomain(await key('impostor', connection, 'v0/fake/keys/any'), 'TLS_CERT');
  });

  test('a Service Directory service without endpoints: DNS', async () => {
    const service = `${PARENT}/namespaces/ekm/services/empty`;
    await f.directory.registration.createService({ parent: `${PARENT}/namespaces/ekm`, serviceId: 'empty', service: {} });
    const [connection] = await f.ekmService.createEkmConnection({
      parent: PARENT, ekmConnectionId: 'empty',
      ekmConnection: { serviceResolvers: [{ serviceDirectoryService: service, hostname: 'ekm.test', serverCertificates: [{ rawDer: fake.der }] }] },
    });
    await expectDomain(await key('empty', connection.name!, 'v0/fake/keys/any'), 'DNS');
  });
});
