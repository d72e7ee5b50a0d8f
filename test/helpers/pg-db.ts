// A PgDb on a fresh PostgreSQL schema (helpers/pg.ts) with the store's tables
// made, for tests of the PostgreSQL table families. close() closes the pool
// and drops the schema; more() opens another PgDb on the same schema, as
// another replica would.
import { PgDb } from '../../src/store/pg-common';
import { migratePg } from '../../src/store/pg-schema';
import { freshSchema } from './pg';

export interface TestPgDb {
  db: PgDb;
  url: string;
  /** Another pool on the same schema (another replica); closed by close(). */
  more(): PgDb;
  close(): Promise<void>;
}

export async function openTestPgDb(): Promise<TestPgDb> {
  const schema = await freshSchema();
  const db = new PgDb(schema.url);
  const opened = [db];
  try {
    const client = await db.pool.connect();
    try {
      await migratePg(client, { upgrade: false });
    } finally {
      client.release();
    }
  } catch (err) {
    await db.close();
    await schema.drop();
    throw err;
  }
  return {
    db,
    url: schema.url,
    more: () => {
      const another = new PgDb(schema.url);
      opened.push(another);
      return another;
    },
    close: async () => {
      await Promise.all(opened.map((d) => d.close()));
      await schema.drop();
    },
  };
}
