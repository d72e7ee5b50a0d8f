// IamStore on the KMS's SQLite database (store contract: iam.ts). The
// statements and row mapper are exported: the PostgreSQL store (pg-iam.ts)
// runs the same SQL over the same columns.
import type Database from 'better-sqlite3';
import { aborted } from '../errors';
import type { IamPolicyRecord, IamStore } from './iam';
import { ReadCache } from './sqlite-common';

export const IAM_SCHEMA = `
CREATE TABLE IF NOT EXISTS iam_policies (
  resource TEXT PRIMARY KEY,
  policy TEXT NOT NULL,
  etag TEXT NOT NULL,
  revision INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS iam_service_account_keys (
  email TEXT NOT NULL,
  key_id TEXT NOT NULL,
  public_key TEXT NOT NULL,
  PRIMARY KEY (email, key_id)
);
`;

type Row = Record<string, unknown>;

/** A resource without a policy, as the read cache holds it. */
export const NO_POLICY = Object.freeze({ absent: true as const });

export const policyFrom = (r: Row): IamPolicyRecord => ({
  resource: r.resource as string,
  policy: r.policy as string,
  etag: r.etag as string,
  revision: r.revision as number,
});

/** Statements of the IAM tables, in SQL both databases take. */
export const IAM_SQL = {
  get: 'SELECT * FROM iam_policies WHERE resource = ?',
  insert: 'INSERT INTO iam_policies (resource, policy, etag, revision) VALUES (?, ?, ?, 1)',
  update: 'UPDATE iam_policies SET policy = ?, etag = ?, revision = revision + 1 WHERE resource = ? AND revision = ?',
  putKey: 'INSERT INTO iam_service_account_keys (email, key_id, public_key) VALUES (?, ?, ?) ON CONFLICT (email, key_id) DO UPDATE SET public_key = excluded.public_key',
  getKey: 'SELECT public_key FROM iam_service_account_keys WHERE email = ? AND key_id = ?',
} as const;

/** The message both stores give when a policy moved under a read-modify-write. */
export const policyChanged = () => aborted('There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.');

export class SqliteIamStore implements IamStore {
  private readonly s;

  constructor(
    private readonly db: Database.Database,
    private readonly cache: ReadCache = new ReadCache(db),
  ) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      get: p(IAM_SQL.get),
      insert: p(IAM_SQL.insert),
      update: p(IAM_SQL.update),
      putKey: p(IAM_SQL.putKey),
      getKey: p(IAM_SQL.getKey).pluck(),
    };
  }

  generation(): number {
    return this.cache.generation;
  }

  async getIamPolicy(resource: string): Promise<IamPolicyRecord | undefined> {
    return (await this.getIamPolicies([resource]))[0];
  }

  async getIamPolicies(resources: readonly string[]): Promise<(IamPolicyRecord | undefined)[]> {
    // Read on every call under --auth required, for a resource and its ancestors, most of which hold no
    // policy: absences are cached too (ReadCache keeps objects, so as a marker), and any write drops both.
    return resources.map((resource) => {
      const found = this.cache.get<IamPolicyRecord | typeof NO_POLICY>(`iam_policies\0${resource}`, () => {
        const row = this.s.get.get(resource) as Row | undefined;
        return row ? Object.freeze(policyFrom(row)) : NO_POLICY;
      });
      return found === NO_POLICY ? undefined : (found as IamPolicyRecord | undefined);
    });
  }

  async putServiceAccountKey(email: string, keyId: string, publicKeyPem: string): Promise<void> {
    this.cache.writing(() => this.s.putKey.run(email, keyId, publicKeyPem));
  }

  async getServiceAccountKey(email: string, keyId: string): Promise<string | undefined> {
    return this.s.getKey.get(email, keyId) as string | undefined;
  }

  async putIamPolicy(record: IamPolicyRecord): Promise<IamPolicyRecord> {
    return this.cache.writing(() => {
      return this.db.transaction(() => {
        if (record.revision === 0) {
          if (this.s.get.get(record.resource)) throw policyChanged();
          this.s.insert.run(record.resource, record.policy, record.etag);
        } else if (this.s.update.run(record.policy, record.etag, record.resource, record.revision).changes === 0) {
          throw policyChanged();
        }
        return policyFrom(this.s.get.get(record.resource) as Row);
      })();
    });
  }
}
