// The PostgreSQL store in the bench: a KMS served from a fresh schema of the
// local PostgreSQL (OPENEKM_BENCH_PG_URL, default the CI machine's
// postgres://postgres@127.0.0.1:5432/test), pinned like the SQLite one, so
// that Encrypt on both stores is measured in the same rounds ('encrypt-pg'
// is judged against 'encrypt'), and the write path compared directly:
// CreateCryptoKeyVersion per second on each store, through the official
// client, counting only calls that succeeded.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { RootKey } from '../src/crypto/root-key';
import { loadClient, type KmsClient } from './bodies';
import { startPinned, type ServerProcess } from './processes';

export const PG_URL = process.env.OPENEKM_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface PgBench {
  server: ServerProcess;
  /** Drops the bench's schema (after the server stopped). */
  drop(): Promise<void>;
}

async function admin(sql: string): Promise<void> {
  const client = new Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A KMS on a new schema of PG_URL, its root key in tmp. */
export async function startPgKms(serverMain: string, tmp: string, profArgs: string[]): Promise<PgBench> {
  const schema = `bench_${randomBytes(5).toString('hex')}`;
  await admin(`CREATE SCHEMA ${schema}`);
  const url = new URL(PG_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const keyFile = path.join(tmp, 'pg-root.key');
  fs.writeFileSync(keyFile, RootKey.generate().toBase64(), { mode: 0o600 });
  try {
    const server = await startPinned('openekm (PostgreSQL)', [
      ...profArgs, serverMain, 'serve', '--database', url.toString(), '--root-key-file', keyFile, '--grpc-port', '0', '--rest-port', '0',
    ]);
    return { server, drop: () => admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`) };
  } catch (err) {
    await admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    throw err;
  }
}

export interface WriteRun {
  store: string;
  round: number;
  created: number;
  failed: number;
  seconds: number;
  perSecond: number;
}

/** WORKERS concurrent CreateCryptoKeyVersion loops, each on a key of its own, for `seconds`. */
const WORKERS = 16;

async function createVersions(client: KmsClient, seconds: number): Promise<{ created: number; failed: number; elapsed: number }> {
  const run = Date.now().toString(36) + randomBytes(2).toString('hex');
  const [ring] = await client.createKeyRing({ parent: 'projects/openekm-bench/locations/global', keyRingId: `writes-${run}`, keyRing: {} });
  const keys = await Promise.all(Array.from({ length: WORKERS }, async (_, i) =>
    (await client.createCryptoKey({ parent: ring.name, cryptoKeyId: `k${i}`, cryptoKey: { purpose: 'ENCRYPT_DECRYPT' } }))[0].name!));
  let created = 0;
  let failed = 0;
  const start = process.hrtime.bigint();
  const until = Date.now() + seconds * 1000;
  await Promise.all(keys.map(async (key) => {
    while (Date.now() < until) {
      try {
        await client.createCryptoKeyVersion({ parent: key, cryptoKeyVersion: {} }, { maxRetries: 0 });
        created++;
      } catch {
        failed++;
      }
    }
  }));
  return { created, failed, elapsed: Number(process.hrtime.bigint() - start) / 1e9 };
}

/** Rounds of CreateCryptoKeyVersion on each store, alternating which goes first. */
export async function measureWrites(stores: [string, ServerProcess][], rounds: number, seconds: number, progress: (line: string) => void): Promise<WriteRun[]> {
  const clients = await Promise.all(stores.map(async ([name, server]) => [name, await loadClient(server.port('grpc'))] as const));
  const runs: WriteRun[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const [store, client] of round % 2 ? clients : [...clients].reverse()) {
        const { created, failed, elapsed } = await createVersions(client, seconds);
        runs.push({ store, round, created, failed, seconds: elapsed, perSecond: created / elapsed });
        progress(`  writes round ${round}: ${store} ${(created / elapsed).toFixed(0)} CreateCryptoKeyVersion/s (${failed} failed)`);
      }
    }
  } finally {
    await Promise.all(clients.map(([, c]) => c.close()));
  }
  return runs;
}

/** Median per-second of each store, and per round PostgreSQL over SQLite. */
export function summarizeWrites(runs: WriteRun[]): { medians: Record<string, number>; roundRatios: number[]; pairedRatio: number } {
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const stores = [...new Set(runs.map((r) => r.store))];
  const medians = Object.fromEntries(stores.map((s) => [s, median(runs.filter((r) => r.store === s).map((r) => r.perSecond))]));
  const rounds = [...new Set(runs.map((r) => r.round))];
  const roundRatios = rounds.map((round) => {
    const of = (s: string) => runs.find((r) => r.round === round && r.store === s)?.perSecond ?? NaN;
    return of('postgresql') / of('sqlite');
  });
  return { medians, roundRatios, pairedRatio: median(roundRatios) };
}
