// IamStore on PostgreSQL (store contract: iam.ts). The statements and row
// mapper are the SQLite store's (sqlite-iam.ts).
//
// No generation(): a number answered without waiting can't be exact when
// another replica writes policies, so the Authorizer asks getIamPolicies on
// every call instead, which the read cache answers exactly (pg-common.ts).
import type { IamPolicyRecord, IamStore } from './iam';
import { type PgDb, Statement } from './pg-common';
import { IAM_SQL, NO_POLICY, policyChanged, policyFrom } from './sqlite-iam';

const S = Object.fromEntries(Object.entries(IAM_SQL).map(([name, sql]) => [name, new Statement(sql)])) as Record<
  keyof typeof IAM_SQL,
  Statement
>;

export class PgIamStore implements IamStore {
  constructor(private readonly db: PgDb) {}

  async getIamPolicy(resource: string): Promise<IamPolicyRecord | undefined> {
    return (await this.getIamPolicies([resource]))[0];
  }

  async getIamPolicies(resources: readonly string[]): Promise<(IamPolicyRecord | undefined)[]> {
    // Read on every call under --auth required, for a resource and its ancestors, most of which hold no
    // policy: absences are cached too (as a marker), and any write drops both. Each miss is read on its
    // own, all at once: one read shared by several keys might be made before another key's cache check,
    // and would cache a record older than that check.
    return Promise.all(
      resources.map(async (resource) => {
        const found = await this.db.cached<IamPolicyRecord | typeof NO_POLICY>(`iam_policies\0${resource}`, async () => {
          const row = await this.db.one(S.get, [resource]);
          return row ? Object.freeze(policyFrom(row)) : NO_POLICY;
        });
        return found === NO_POLICY ? undefined : (found as IamPolicyRecord | undefined);
      }),
    );
  }

  async putServiceAccountKey(email: string, keyId: string, publicKeyPem: string): Promise<void> {
    await this.db.write((tx) => tx.run(S.putKey, [email, keyId, publicKeyPem]));
  }

  async getServiceAccountKey(email: string, keyId: string): Promise<string | undefined> {
    const row = await this.db.one(S.getKey, [email, keyId]);
    return row?.public_key as string | undefined;
  }

  async putIamPolicy(record: IamPolicyRecord): Promise<IamPolicyRecord> {
    return this.db.write(async (tx) => {
      if (record.revision === 0) {
        if ((await tx.rows(S.get, [record.resource])).length > 0) throw policyChanged();
        await tx.run(S.insert, [record.resource, record.policy, record.etag]);
      } else if ((await tx.run(S.update, [record.policy, record.etag, record.resource, record.revision])) === 0) {
        throw policyChanged();
      }
      return policyFrom((await tx.rows(S.get, [record.resource]))[0]);
    });
  }
}
