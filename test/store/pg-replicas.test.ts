// Two KMS servers on one PostgreSQL schema are one KMS: each has its own
// pool and its own read cache, and a write acknowledged by one is read by the
// other at once, also when the other had the old record cached (it reads
// first, then the write, then reads again). Page tokens, the root key and the
// EKM token signing key work across them; scheduled work is done once
// however many replicas find it due; /readyz follows the database.
import '../helpers/env';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { EkmServiceClient, KeyManagementServiceClient } from '@google-cloud/kms';
import { ManualClock } from '../../src/clock';
import { RootKey } from '../../src/crypto/root-key';
import { Code } from '../../src/errors';
import { silentLogger } from '../../src/log';
import { createServer, type OpenEkmServer } from '../../src/server';
import { openPgStore } from '../../src/store/pg-store';
import { makeCertificate } from '../helpers/certificates';
import { clientOptions, grpcClient, LOCATION, rejectsWithCode } from '../helpers/kms';
import { freshSchema, type PgSchema, PG_BASE_URL, withSearchPath } from '../helpers/pg';
import { directoryClients, type DirectoryClients } from '../service-directory/clients';

const RING = `${LOCATION}/keyRings/replicas`;
const DAY = 86_400_000;

async function replica(url: string, rootKey: string, clock: ManualClock): Promise<OpenEkmServer> {
  return createServer({ database: url, rootKey, clock, logger: silentLogger, checkResponses: true, schedulerIntervalMs: 0, grpcPort: 0, restPort: 0 });
}

describe('PostgreSQL replicas', () => {
  let schema: PgSchema;
  let a: OpenEkmServer;
  let b: OpenEkmServer;
  let ka: KeyManagementServiceClient;
  let kb: KeyManagementServiceClient;
  const clock = new ManualClock(Date.UTC(2030, 0, 1));
  const rootKey = RootKey.generate().toBase64();

  before(async () => {
    schema = await freshSchema();
    // Started together: the schema is made once (the migration's advisory lock), both agree on the signing key.
    [a, b] = await Promise.all([replica(schema.url, rootKey, clock), replica(schema.url, rootKey, clock)]);
    ka = grpcClient(a.grpcPort);
    kb = grpcClient(b.grpcPort);
    await ka.createKeyRing({ parent: LOCATION, keyRingId: 'replicas', keyRing: {} });
  });
  after(async () => {
    await ka?.close();
    await kb?.close();
    await a?.close();
    await b?.close();
    await schema?.drop();
  });

  test('keys and versions: a write on A is what B reads next, though B had read the old one', async () => {
    const [key] = await ka.createCryptoKey({ parent: RING, cryptoKeyId: 'seen', cryptoKey: { purpose: 'ENCRYPT_DECRYPT' } });
    for (let i = 0; i < 20; i++) {
      assert.deepEqual((await kb.getCryptoKey({ name: key.name }))[0].labels, i === 0 ? {} : { round: String(i - 1) });
      await ka.updateCryptoKey({ cryptoKey: { name: key.name, labels: { round: String(i) } }, updateMask: { paths: ['labels'] } });
      assert.deepEqual((await kb.getCryptoKey({ name: key.name }))[0].labels, { round: String(i) });
    }
    // Key material made on A opens on B (one root key); a disable on A stops B's next call.
    const version = `${key.name}/cryptoKeyVersions/1`;
    const [sealed] = await kb.encrypt({ name: key.name, plaintext: Buffer.from('across replicas') });
    assert.equal(Buffer.from((await ka.decrypt({ name: key.name, ciphertext: sealed.ciphertext }))[0].plaintext as Uint8Array).toString(), 'across replicas');
    await ka.updateCryptoKeyVersion({ cryptoKeyVersion: { name: version, state: 'DISABLED' }, updateMask: { paths: ['state'] } });
    await rejectsWithCode(kb.encrypt({ name: key.name, plaintext: Buffer.from('x') }), Code.FAILED_PRECONDITION);
    await kb.updateCryptoKeyVersion({ cryptoKeyVersion: { name: version, state: 'ENABLED' }, updateMask: { paths: ['state'] } });
    await ka.encrypt({ name: key.name, plaintext: Buffer.from('x') });
    // A new primary made on A is B's next primary.
    const [v2] = await ka.createCryptoKeyVersion({ parent: key.name, cryptoKeyVersion: {} });
    await ka.updateCryptoKeyPrimaryVersion({ name: key.name, cryptoKeyVersionId: '2' });
    assert.equal((await kb.encrypt({ name: key.name, plaintext: Buffer.from('x') }))[0].name, v2.name);
  });

  test('EkmConnections, EkmConfig, Service Directory and IAM policies: written on A, read on B at once', async () => {
    const ea = new EkmServiceClient(clientOptions(a.grpcPort, 'grpc'));
    const eb = new EkmServiceClient(clientOptions(b.grpcPort, 'grpc'));
    const sa: DirectoryClients = directoryClients(a);
    const sb: DirectoryClients = directoryClients(b);
    try {
      const ns = `${LOCATION}/namespaces/ekm`;
      const svc = `${ns}/services/replicated`;
      await sa.registration.createNamespace({ parent: LOCATION, namespaceId: 'ekm', namespace: {} });
      await sa.registration.createService({ parent: ns, serviceId: 'replicated', service: { annotations: { round: '0' } } });
      for (let i = 1; i <= 5; i++) {
        assert.equal((await sb.registration.getService({ name: svc }))[0].annotations?.round, String(i - 1));
        await sa.registration.updateService({ service: { name: svc, annotations: { round: String(i) } }, updateMask: { paths: ['annotations'] } });
        assert.equal((await sb.registration.getService({ name: svc }))[0].annotations?.round, String(i));
        assert.equal((await sb.lookup.resolveService({ name: svc }))[0].service?.endpoints?.length ?? 0, i - 1);
        await sa.registration.createEndpoint({ parent: svc, endpointId: `e${i}`, endpoint: { address: '10.0.0.1', port: 443 + i } });
        assert.equal((await sb.lookup.resolveService({ name: svc }))[0].service?.endpoints?.length, i);
      }

      const cert = await makeCertificate({ commonName: 'ekm.example.test', dnsNames: ['ekm.example.test'] });
      const resolver = (hostname: string) => ({ serviceDirectoryService: svc, hostname, serverCertificates: [{ rawDer: cert }] });
      const [conn] = await ea.createEkmConnection({ parent: LOCATION, ekmConnectionId: 'shared', ekmConnection: { serviceResolvers: [resolver('ekm.example.test')] } });
      for (let i = 1; i <= 5; i++) {
        const seen = (await eb.getEkmConnection({ name: conn.name }))[0];
        await ea.updateEkmConnection({ ekmConnection: { name: conn.name, serviceResolvers: [resolver(`ekm-${i}.example.test`)] }, updateMask: { paths: ['service_resolvers'] } });
        const now = (await eb.getEkmConnection({ name: conn.name }))[0];
        assert.equal(now.serviceResolvers?.[0].hostname, `ekm-${i}.example.test`);
        assert.notEqual(now.etag, seen.etag);
      }
      const config = `${LOCATION}/ekmConfig`;
      assert.equal((await eb.getEkmConfig({ name: config }))[0].defaultEkmConnection, '');
      await ea.updateEkmConfig({ ekmConfig: { name: config, defaultEkmConnection: conn.name }, updateMask: { paths: ['default_ekm_connection'] } });
      assert.equal((await eb.getEkmConfig({ name: config }))[0].defaultEkmConnection, conn.name);

      // The client's IAM mixin methods take the request loosely typed (as test/iam/policies.test.ts does).
      type Policy = { bindings?: { members?: string[] | null }[] | null; etag?: Uint8Array | string | null };
      type Iam = { getIamPolicy(r: object): Promise<[Policy]>; setIamPolicy(r: object): Promise<[Policy]> };
      const [ia, ib] = [ka as unknown as Iam, kb as unknown as Iam];
      const etag = (p: Policy) => (typeof p.etag === 'string' ? p.etag : Buffer.from(p.etag ?? []).toString('base64'));
      for (let i = 1; i <= 5; i++) {
        const seen = (await ib.getIamPolicy({ resource: RING }))[0];
        const member = `user:u${i}@example.com`;
        await ia.setIamPolicy({ resource: RING, policy: { bindings: [{ role: 'roles/cloudkms.viewer', members: [member] }] } });
        const now = (await ib.getIamPolicy({ resource: RING }))[0];
        assert.deepEqual(now.bindings?.[0].members, [member]);
        assert.notEqual(etag(now), etag(seen));
      }
    } finally {
      await Promise.all([ea.close(), eb.close(), sa.close(), sb.close()]);
    }
  });

  test('a page token from A reads the next page on B; both publish one JWKS', async () => {
    for (const id of ['p1', 'p2', 'p3', 'p4', 'p5']) await ka.createKeyRing({ parent: `projects/pages/locations/global`, keyRingId: id, keyRing: {} });
    const parent = 'projects/pages/locations/global';
    const [first, , raw] = await ka.listKeyRings({ parent, pageSize: 2 }, { autoPaginate: false });
    const [second, , raw2] = await kb.listKeyRings({ parent, pageSize: 2, pageToken: raw!.nextPageToken! }, { autoPaginate: false });
    const [third] = await ka.listKeyRings({ parent, pageSize: 2, pageToken: raw2!.nextPageToken! }, { autoPaginate: false });
    assert.deepEqual([...first, ...second, ...third].map((r) => r.name!.split('/').pop()), ['p1', 'p2', 'p3', 'p4', 'p5']);
    assert.deepEqual(a.jwks, b.jwks);
    const served = async (s: OpenEkmServer) => (await fetch(`${s.addresses.rest}/openekm/v1/jwks.json`)).json();
    assert.deepEqual(await served(a), await served(b));
  });

  test('another root key is refused at start: it could not open what the others sealed', async () => {
    await assert.rejects(replica(schema.url, RootKey.generate().toBase64(), clock), /root key does not match/);
  });

  test('due rotations and destructions are done once across replicas, however many run at once', async () => {
    const keys: string[] = [];
    for (let i = 0; i < 8; i++) {
      const [key] = await ka.createCryptoKey({
        parent: RING,
        cryptoKeyId: `rotating-${i}`,
        cryptoKey: {
          purpose: 'ENCRYPT_DECRYPT',
          rotationPeriod: { seconds: 30 * 86_400 },
          nextRotationTime: { seconds: Math.floor((clock.now() + DAY) / 1000) },
        },
      });
      keys.push(key.name!);
      await ka.destroyCryptoKeyVersion({ name: `${key.name}/cryptoKeyVersions/1` });
    }
    clock.advance(31 * DAY);
    const runs = await Promise.all([a.runScheduler(), b.runScheduler(), a.runScheduler(), b.runScheduler()]);
    // Concurrent calls on one server share a run; across servers each job went to one of them.
    const distinct = [runs[0], runs[1]];
    assert.equal(distinct.reduce((n, r) => n + r.rotated, 0), 8, JSON.stringify(runs));
    assert.equal(distinct.reduce((n, r) => n + r.destroyed, 0), 8, JSON.stringify(runs));
    for (const key of keys) {
      const [versions] = await kb.listCryptoKeyVersions({ parent: key }, { autoPaginate: false });
      assert.deepEqual(versions.map((v) => [v.name!.split('/').pop(), v.state]), [['1', 'DESTROYED'], ['2', 'ENABLED']]);
    }
    const again = await Promise.all([a.runScheduler(), b.runScheduler()]);
    assert.deepEqual(again, [{ destroyed: 0, rotated: 0 }, { destroyed: 0, rotated: 0 }]);
  });

  test('a claim held by a process that is killed (-9) is free again: its job goes to the next replica', async () => {
    const store = await openPgStore(schema.url);
    const child = spawn(process.execPath, [path.join(__dirname, 'pg-claim-holder.js'), schema.url, 'rotate held-job'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', (d: Buffer) => d.toString().includes('held') && resolve());
        child.on('exit', (code) => reject(new Error(`the claim holder exited (${code})`)));
      });
      assert.equal(await store.claim('rotate held-job', async () => 'ran'), undefined);
      child.kill('SIGKILL');
      let got: string | undefined;
      for (let i = 0; i < 100 && got === undefined; i++) {
        got = await store.claim('rotate held-job', async () => 'ran');
        if (got === undefined) await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(got, 'ran');
    } finally {
      child.kill('SIGKILL');
      await store.close();
    }
  });
});

describe('PostgreSQL readiness', () => {
  let schema: PgSchema;
  let proxy: net.Server;
  let sockets: net.Socket[] = [];
  let server: OpenEkmServer;
  let port = 0;

  // A TCP relay to PostgreSQL that the test can cut: the database as seen from the KMS goes away and comes back.
  const listen = (onPort: number) => new Promise<void>((resolve) => {
    proxy = net.createServer((inbound) => {
      const upstream = net.connect(5432, '127.0.0.1');
      sockets.push(inbound, upstream);
      inbound.pipe(upstream).pipe(inbound);
      inbound.on('error', () => upstream.destroy());
      upstream.on('error', () => inbound.destroy());
    });
    proxy.listen(onPort, '127.0.0.1', () => {
      port = (proxy.address() as net.AddressInfo).port;
      resolve();
    });
  });
  const cut = async () => {
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
    for (const s of sockets) s.destroy();
    sockets = [];
  };

  before(async () => {
    schema = await freshSchema();
    await listen(0);
    const url = withSearchPath(PG_BASE_URL.replace(':5432', `:${port}`), schema.schema);
    server = await createServer({ database: url, rootKey: RootKey.generate().toBase64(), logger: silentLogger, schedulerIntervalMs: 0, grpcPort: 0, restPort: 0 });
  });
  after(async () => {
    await server?.close();
    if (proxy.listening) await cut();
    await schema?.drop();
  });

  test('/readyz is 503 while the database is unreachable and calls are UNAVAILABLE; /healthz stays 200; both recover', async () => {
    const get = async (p: string) => {
      const res = await fetch(`${server.addresses.rest}${p}`);
      return { status: res.status, body: await res.json() as { status: string } };
    };
    const client = grpcClient(server.grpcPort);
    try {
      assert.deepEqual(await get('/readyz'), { status: 200, body: { status: 'ready' } });
      await client.createKeyRing({ parent: LOCATION, keyRingId: 'ready', keyRing: {} });
      await cut();
      const down = await get('/readyz');
      assert.equal(down.status, 503);
      assert.equal(down.body.status, 'not ready');
      assert.deepEqual(await get('/healthz'), { status: 200, body: { status: 'ok' } });
      const err = await rejectsWithCode(client.getKeyRing({ name: `${LOCATION}/keyRings/ready` }, { retry: { retryCodes: [] } }), Code.UNAVAILABLE);
      assert.match(err.message, /database is unreachable/);
      await listen(port);
      assert.deepEqual(await get('/readyz'), { status: 200, body: { status: 'ready' } });
      assert.ok((await client.getKeyRing({ name: `${LOCATION}/keyRings/ready` }))[0].name);
    } finally {
      await client.close();
    }
  });
});
