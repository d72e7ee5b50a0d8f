// The IAMPolicy mixin of Cloud KMS: GetIamPolicy, SetIamPolicy and
// TestIamPermissions on key rings, crypto keys, import jobs, EkmConnections
// and EkmConfigs (docs/iam.md). Policies follow Cloud IAM's rules: versions
// 1 and 3 (3 when a binding has a condition), etag read-modify-write
// (ABORTED on a stale etag), update_mask defaulting to bindings and etag,
// audit configs kept, the empty policy's etag ACAB.
import { createHash, randomBytes } from 'node:crypto';
import { aborted, invalidArgument } from '../../errors';
import type {
  AuditConfig, Binding, GetIamPolicyRequest, Policy, SetIamPolicyRequest, TestIamPermissionsRequest, TestIamPermissionsResponse,
} from '../../proto/wire';
import type { IamPolicyRecord, IamStore } from '../../store/iam';
import type { CallContext, ServiceContext } from '../context';
import { retryOnConflict } from '../retry';
import { normaliseMask } from '../update-mask';
import { checkCondition } from './conditions';
import { checkMember } from './members';
import { BASIC_ROLES, checkPermissionsFor, isPredefinedRole } from './roles';
import { checkExists, parseIamResource } from './resources';

/** The etag of a resource whose policy was never written, as Cloud IAM gives it. */
export const EMPTY_ETAG = Buffer.from('ACAB', 'base64');
// gcloud's set-iam-policy and add-iam-policy-binding send version too; a policy's version follows its bindings.
const MASKABLE = new Set(['bindings', 'etag', 'audit_configs', 'version']);
const DEFAULT_MASK = ['bindings', 'etag'];
/** Cloud IAM's limit on principals in one policy. */
const MAX_MEMBERS = 1500;
const AUDIT_SERVICES = new Set(['allServices', 'cloudkms.googleapis.com']);
const LOG_TYPES = new Set(['ADMIN_READ', 'DATA_WRITE', 'DATA_READ']);

/** What is stored: the policy without its etag (kept beside it). */
interface StoredPolicy {
  version: number;
  bindings: Binding[];
  auditConfigs: AuditConfig[];
}

/** A resource's policy before any is set: version 0, shown as the etag alone (as Cloud IAM does). */
const EMPTY: StoredPolicy = { version: 0, bindings: [], auditConfigs: [] };

function storedFrom(record: IamPolicyRecord | undefined): StoredPolicy {
  return record ? (JSON.parse(record.policy) as StoredPolicy) : EMPTY;
}

function wireFrom(p: StoredPolicy, etag: Buffer): Policy {
  return {
    ...(p.version ? { version: p.version } : {}),
    ...(p.bindings.length ? { bindings: p.bindings } : {}),
    ...(p.auditConfigs.length ? { auditConfigs: p.auditConfigs } : {}),
    etag,
  };
}

const etagOf = (record: IamPolicyRecord | undefined): Buffer => (record ? Buffer.from(record.etag, 'base64') : EMPTY_ETAG);

/**
 * A conditional binding as a version-1 reader sees it (Cloud IAM's rule): the
 * role with `_withcond_` and a hash of the condition, no condition.
 */
function withoutConditions(bindings: Binding[]): Binding[] {
  return bindings.map((b) => {
    if (!b.condition) return b;
    const hash = createHash('sha256').update(JSON.stringify([b.role, b.condition])).digest('hex').slice(0, 20);
    return { role: `${b.role}_withcond_${hash}`, members: b.members };
  });
}

export class IamPolicyService {
  constructor(private readonly ctx: ServiceContext) {}

  async getIamPolicy(req: GetIamPolicyRequest): Promise<Policy> {
    const resource = parseIamResource(req.resource, 'resource');
    const requested = req.options?.requestedPolicyVersion ?? 0;
    if (![0, 1, 3].includes(requested)) {
      throw invalidArgument(`options.requested_policy_version: ${requested} is not a policy version; use 1 or 3.`);
    }
    await checkExists(this.ctx, resource);
    const record = await this.ctx.store.iam.getIamPolicy(resource.name);
    const stored = storedFrom(record);
    if (stored.version === 3 && requested < 3) {
      return wireFrom({ ...stored, version: 1, bindings: withoutConditions(stored.bindings) }, etagOf(record));
    }
    return wireFrom(stored, etagOf(record));
  }

  async setIamPolicy(req: SetIamPolicyRequest): Promise<Policy> {
    const resource = parseIamResource(req.resource, 'resource');
    if (!req.policy) throw invalidArgument('policy: required field is empty.');
    const paths = req.updateMask?.paths?.length ? normaliseMask(req.updateMask, MASKABLE, new Set()) : DEFAULT_MASK;
    const incoming = checkPolicy(req.policy);
    await checkExists(this.ctx, resource);
    return retryOnConflict(async () => {
      const record = await this.ctx.store.iam.getIamPolicy(resource.name);
      const current = storedFrom(record);
      const given = req.policy!.etag;
      // An etag in the request is a read-modify-write: it must be the stored one.
      if (paths.includes('etag') && given && given.length > 0 && !Buffer.from(given).equals(etagOf(record))) {
        throw staleEtag();
      }
      const bindings = paths.includes('bindings') ? incoming.bindings : current.bindings;
      const next: StoredPolicy = {
        version: bindings.some((b) => b.condition) ? 3 : 1,
        bindings,
        auditConfigs: paths.includes('audit_configs') ? incoming.auditConfigs : current.auditConfigs,
      };
      const etag = randomBytes(8);
      await this.ctx.store.iam.putIamPolicy({
        resource: resource.name, policy: JSON.stringify(next), etag: etag.toString('base64'), revision: record?.revision ?? 0,
      });
      return wireFrom(next, etag);
    });
  }

  async testIamPermissions(req: TestIamPermissionsRequest, call?: CallContext): Promise<TestIamPermissionsResponse> {
    const resource = parseIamResource(req.resource, 'resource');
    const permissions = req.permissions ?? [];
    checkPermissionsFor(permissions, resource.type, 'permissions');
    // Cloud IAM's rule: a resource that does not exist holds no permission for anyone (not NOT_FOUND).
    try {
      await checkExists(this.ctx, resource);
    } catch {
      return {};
    }
    // Without authentication every caller may do everything (docs/iam.md): all the permissions asked for are held.
    const wanted = [...new Set(permissions)];
    const held = call?.principal && this.ctx.authorizer ? await this.ctx.authorizer.held(call.principal, wanted, resource.name) : wanted;
    return held.length ? { permissions: held } : {};
  }
}

/**
 * A project's policy, which Cloud KMS reads from Resource Manager and this
 * server from its operator (`openekm iam set-project-policy`): checked as
 * SetIamPolicy checks a policy, written whole (bindings and audit configs).
 */
export async function setProjectPolicy(store: IamStore, project: string, policy: Policy): Promise<Policy> {
  const name = `projects/${project}`;
  const { bindings, auditConfigs } = checkPolicy(policy);
  const current = await store.getIamPolicy(name);
  const next: StoredPolicy = { version: bindings.some((b) => b.condition) ? 3 : 1, bindings, auditConfigs };
  const etag = randomBytes(8);
  await store.putIamPolicy({ resource: name, policy: JSON.stringify(next), etag: etag.toString('base64'), revision: current?.revision ?? 0 });
  return wireFrom(next, etag);
}

/** A project's policy as stored (the empty one when none was set). */
export async function getProjectPolicy(store: IamStore, project: string): Promise<Policy> {
  const record = await store.getIamPolicy(`projects/${project}`);
  return wireFrom(storedFrom(record), etagOf(record));
}

function staleEtag(): Error {
  return aborted('There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.');
}

/** The policy as it will be stored: checked field by field, bindings of one role and condition merged, members unique. */
function checkPolicy(policy: Policy): { bindings: Binding[]; auditConfigs: AuditConfig[] } {
  const version = policy.version ?? 0;
  if (![0, 1, 3].includes(version)) throw invalidArgument(`policy.version: ${version} is not a policy version; use 1 or 3.`);
  const merged = new Map<string, Binding>();
  let members = 0;
  (policy.bindings ?? []).forEach((b, i) => {
    const field = `policy.bindings[${i}]`;
    const role = b.role ?? '';
    if (role === '') throw invalidArgument(`${field}.role: required field is empty.`);
    if (!isPredefinedRole(role)) throw invalidArgument(`${field}.role: Role ${role.slice(0, 200)} is not supported for this resource.`);
    if (b.condition) {
      if (BASIC_ROLES.has(role)) throw invalidArgument(`${field}.condition: IAM Conditions can't be used with the basic role ${role}.`);
      if (version !== 3) throw invalidArgument(`policy.version: a policy with a conditional binding (${field}) must be version 3.`);
      checkCondition(b.condition, `${field}.condition`);
    }
    const list = (b.members ?? []).map((m, j) => checkMember(m, `${field}.members[${j}]`));
    const condition = b.condition ? { expression: b.condition.expression, title: b.condition.title, ...(b.condition.description ? { description: b.condition.description } : {}) } : undefined;
    const key = JSON.stringify([role, condition ?? null]);
    const into: Binding & { members: string[] } = (merged.get(key) as Binding & { members: string[] } | undefined) ?? { role, members: [], ...(condition ? { condition } : {}) };
    for (const m of list) if (!into.members.includes(m)) into.members.push(m);
    merged.set(key, into);
  });
  const bindings = [...merged.values()].filter((b) => b.members!.length > 0);
  for (const b of bindings) members += b.members!.length;
  if (members > MAX_MEMBERS) throw invalidArgument(`policy.bindings: ${members} principals; a policy holds at most ${MAX_MEMBERS}.`);
  const auditConfigs = (policy.auditConfigs ?? []).map((a, i) => checkAuditConfig(a, `policy.audit_configs[${i}]`));
  return { bindings, auditConfigs };
}

function checkAuditConfig(a: AuditConfig, field: string): AuditConfig {
  const service = a.service ?? '';
  if (!AUDIT_SERVICES.has(service)) throw invalidArgument(`${field}.service: '${service.slice(0, 100)}' is not allServices or cloudkms.googleapis.com.`);
  const configs = (a.auditLogConfigs ?? []).map((c, j) => {
    const f = `${field}.audit_log_configs[${j}]`;
    if (!c.logType || !LOG_TYPES.has(c.logType)) throw invalidArgument(`${f}.log_type: must be ADMIN_READ, DATA_WRITE or DATA_READ.`);
    const exempted = (c.exemptedMembers ?? []).map((m, k) => checkMember(m, `${f}.exempted_members[${k}]`));
    return { logType: c.logType, ...(exempted.length ? { exemptedMembers: exempted } : {}) };
  });
  return { service, auditLogConfigs: configs };
}
