// The store contract for IAM policies: one policy per resource that can hold
// one (key rings, crypto keys, import jobs, EkmConnections, EkmConfigs; the
// projects' policies come from the operator). The store keeps the policy as
// the service hands it over and decides nothing; a write is conditional on
// the revision the caller read (ABORTED otherwise).

export interface IamPolicyRecord {
  /** The resource's name. */
  resource: string;
  /** The google.iam.v1.Policy, as JSON text (the service's plain object form). */
  policy: string;
  /** The policy's etag, base64. */
  etag: string;
  /** 0 for a resource whose policy was never written. */
  revision: number;
}

export interface IamStore {
  /** The stored policy, or undefined when none was ever written. */
  getIamPolicy(resource: string): Promise<IamPolicyRecord | undefined>;
  /** The stored policies of several resources at once (each undefined when none): one round trip for a resource and its ancestors. */
  getIamPolicies(resources: readonly string[]): Promise<(IamPolicyRecord | undefined)[]>;
  /**
   * Optional: a number that changes whenever any stored policy may have
   * changed, read without waiting; decisions made under one generation are
   * reused while it holds (services/iam/authorize.ts).
   */
  generation?(): number;
  /** Registers a service account's public key (PEM) under its key id; the private key is never stored. */
  putServiceAccountKey(email: string, keyId: string, publicKeyPem: string): Promise<void>;
  /** A registered service account key's public key (PEM). */
  getServiceAccountKey(email: string, keyId: string): Promise<string | undefined>;
  /** Writes the policy if its stored revision equals record.revision (0: not yet stored). */
  putIamPolicy(record: IamPolicyRecord): Promise<IamPolicyRecord>;
}
