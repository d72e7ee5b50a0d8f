// Command-line flags of `npm run bench`.
import * as path from 'node:path';
import { parseArgs } from 'node:util';

export const USAGE = `usage: npm run bench -- [--duration S] [--rounds N] [--quick]
                       [--workloads encrypt,decrypt,sign,rest-encrypt,encrypt-external,encrypt-pg,create-version,ekm-wrap,ekm-unwrap]
                       [--concurrency 1,16,64] [--cpu-prof DIR] [--baseline MAIN_JS]

  --duration S    measured seconds per run, after 1 s of warm-up; default 5
  --rounds N      rounds, each running every case on both servers; default 3
  --quick         1 round of 2 s (a smoke check)
  --workloads L   subset of encrypt,decrypt,sign (gRPC), rest-encrypt (REST),
                  encrypt-external (an EXTERNAL_VPC key), encrypt-pg (Encrypt on a KMS whose
                  store is PostgreSQL: OPENEKM_BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432/test),
                  create-version (CreateCryptoKeyVersion/s on the SQLite and PostgreSQL stores)
                  and ekm-wrap,ekm-unwrap (the reference EKM, over TLS)
  --concurrency L requests in flight, for every workload run (gRPC: streams on one
                  connection; REST, EKM: keep-alive connections). Default: 1,16,64 for
                  gRPC, 16,64 for REST and EKM
  --cpu-prof DIR  run the servers under test with node --cpu-prof, profiles written to DIR
                  (results are then not written: a profiled server is slower)
  --baseline F    another build of the KMS (its dist/src/cli/main.js), run in the same rounds
                  as ours for the gRPC and REST workloads: an A/B of two builds, as "ours / baseline"
`;

export interface Options {
  durationS: number;
  rounds: number;
  /** Workload ids to run; undefined for all. */
  workloads: string[] | undefined;
  /** Concurrencies for every workload; undefined: each workload's own. */
  concurrencies: number[] | undefined;
  cpuProfDir: string | undefined;
  /** Another build's dist/src/cli/main.js, measured beside ours (A/B). */
  baseline: string | undefined;
  help: boolean;
}

export class UsageError extends Error {}

function positive(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag}: not a positive integer: ${value}`);
  return n;
}

export function parseOptions(argv: string[]): Options {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        duration: { type: 'string' },
        rounds: { type: 'string' },
        quick: { type: 'boolean' },
        workloads: { type: 'string' },
        concurrency: { type: 'string' },
        'cpu-prof': { type: 'string' },
        baseline: { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return {
    durationS: positive(values.duration ?? (values.quick ? '2' : '5'), '--duration'),
    rounds: positive(values.rounds ?? (values.quick ? '1' : '3'), '--rounds'),
    workloads: values.workloads?.split(','),
    concurrencies: values.concurrency?.split(',').map((c) => positive(c, '--concurrency')),
    cpuProfDir: values['cpu-prof'] ? path.resolve(values['cpu-prof']) : undefined,
    baseline: values.baseline ? path.resolve(values.baseline) : undefined,
    help: values.help ?? false,
  };
}
