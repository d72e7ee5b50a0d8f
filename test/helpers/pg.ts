// PostgreSQL for tests: the server on 127.0.0.1:5432 (trust auth; .ci/run
// starts it), one fresh schema per caller, dropped afterwards, so tests
// running side by side never see each other's rows. OPENEKM_TEST_PG_URL
// names another server or database.
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

export const PG_BASE_URL = process.env.OPENEKM_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface PgSchema {
  /** A connection string whose search_path is the new schema. */
  url: string;
  schema: string;
  drop(): Promise<void>;
}

/** The connection string of `base` with its search_path set to `schema`. */
export function withSearchPath(base: string, schema: string): string {
  const url = new URL(base);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

/** Runs SQL on the base database (administration: schemas, dumps' checks). */
export async function adminQuery<T = Record<string, unknown>>(sql: string, params: unknown[] = [], base = PG_BASE_URL): Promise<T[]> {
  const client = new Client({ connectionString: base });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/** A new empty schema; drop() removes it and everything in it. */
export async function freshSchema(base = PG_BASE_URL): Promise<PgSchema> {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  await adminQuery(`CREATE SCHEMA ${schema}`, [], base);
  return {
    url: withSearchPath(base, schema),
    schema,
    drop: async () => {
      await adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`, [], base);
    },
  };
}
