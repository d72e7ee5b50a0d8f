// Who may do what: a principal holds a permission on a resource when a
// binding in the policy of that resource or of any ancestor (version → key →
// key ring → project; an EkmConnection or EkmConfig → project) grants a role
// holding it, names the principal, and its condition (if any) is true for
// this request. Project policies are the operator's (`openekm iam
// set-project-policy`), stored beside the others under projects/P; the
// server's --admin principals hold every permission. Conditions are CEL,
// evaluated with @bufbuild/cel on request.time, resource.name,
// resource.type and resource.service; one that fails to evaluate grants
// nothing, as in Cloud IAM.
import { celEnv, isCelError, parse, plan } from '@bufbuild/cel';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { Binding } from '../../proto/wire';
import type { IamPolicyRecord, IamStore } from '../../store/iam';
import { ROLES } from './roles';

/** An authenticated caller: its member form (user:EMAIL or serviceAccount:EMAIL). */
export interface Principal {
  member: string;
  email: string;
}

const SERVICE = 'cloudkms.googleapis.com';

/** The resource type Cloud IAM conditions see, from a resource name. */
export function resourceType(name: string): string {
  const parts = name.split('/');
  const kind = parts.length % 2 === 0 ? parts[parts.length - 2] : parts[parts.length - 1];
  const types: Record<string, string> = {
    projects: 'cloudresourcemanager.googleapis.com/Project', locations: `${SERVICE}/Location`, keyRings: `${SERVICE}/KeyRing`,
    cryptoKeys: `${SERVICE}/CryptoKey`, cryptoKeyVersions: `${SERVICE}/CryptoKeyVersion`, importJobs: `${SERVICE}/ImportJob`,
    ekmConnections: `${SERVICE}/EkmConnection`, ekmConfig: `${SERVICE}/EkmConfig`,
  };
  return types[kind] ?? `${SERVICE}/${kind}`;
}

const HOLDER_KINDS = new Set(['projects', 'keyRings', 'cryptoKeys', 'importJobs', 'ekmConnections']);

/** The names whose policies apply to `name`: itself first (when it holds one), then each ancestor that does, the project last. */
export function policyHolders(name: string): string[] {
  let holders = HOLDERS.get(name);
  if (!holders) {
    holders = holdersOf(name);
    if (HOLDERS.size >= MEMO_LIMIT) HOLDERS.clear();
    HOLDERS.set(name, holders);
  }
  return holders;
}

// Calls name the same few resources over and over: their holders are remembered (a bounded map).
const MEMO_LIMIT = 10_000;
const HOLDERS = new Map<string, string[]>();

function holdersOf(name: string): string[] {
  const parts = name.split('/');
  if (parts[0] !== 'projects' || parts.length < 2) return [];
  const holders: string[] = [];
  if (parts.length === 5 && parts[4] === 'ekmConfig') holders.push(name);
  for (let end = parts.length - (parts.length % 2); end >= 2; end -= 2) {
    if (HOLDER_KINDS.has(parts[end - 2])) holders.push(parts.slice(0, end).join('/'));
  }
  return holders;
}

type Evaluator = (bindings: Record<string, unknown>) => unknown;
const PLANS = new Map<string, Evaluator | undefined>();
const PLAN_LIMIT = 1000;

function evaluatorOf(expression: string): Evaluator | undefined {
  if (PLANS.has(expression)) return PLANS.get(expression);
  let evaluate: Evaluator | undefined;
  try {
    evaluate = plan(celEnv(), parse(expression)) as unknown as Evaluator;
  } catch {
    evaluate = undefined;
  }
  if (PLANS.size >= PLAN_LIMIT) PLANS.clear();
  PLANS.set(expression, evaluate);
  return evaluate;
}

function conditionHolds(binding: Binding, resource: string, now: number): boolean {
  const expression = binding.condition?.expression;
  if (!expression) return true;
  const evaluate = evaluatorOf(expression);
  if (!evaluate) return false;
  try {
    const result = evaluate({
      request: new Map([['time', timestampFromDate(new Date(now))]]),
      resource: new Map([['name', resource], ['type', resourceType(resource)], ['service', SERVICE]]),
    });
    return !isCelError(result) && result === true;
  } catch {
    return false;
  }
}

function names(member: string, principal: Principal): boolean {
  if (member === principal.member || member === 'allUsers' || member === 'allAuthenticatedUsers') return true;
  if (member.startsWith('domain:')) return principal.email.toLowerCase().endsWith(`@${member.slice('domain:'.length).toLowerCase()}`);
  return false;
}

// The store hands out the same frozen record until the policy changes: its bindings are parsed once.
const PARSED = new WeakMap<IamPolicyRecord, readonly Binding[]>();
function bindingsOf(record: IamPolicyRecord): readonly Binding[] {
  let bindings = PARSED.get(record);
  if (!bindings) {
    bindings = (JSON.parse(record.policy) as { bindings?: Binding[] }).bindings ?? [];
    PARSED.set(record, bindings);
  }
  return bindings;
}

export class Authorizer {
  constructor(
    private readonly iam: IamStore,
    private readonly now: () => number,
    private readonly admins: ReadonlySet<string> = new Set(),
  ) {}

  /**
   * Decisions by (principal, permission, resource), kept while the policies
   * they were made from are the same stored records and none of their
   * bindings has a condition (a condition may turn with request.time).
   */
  readonly #decisions = new Map<string, { records: readonly (IamPolicyRecord | undefined)[]; allowed: boolean; generation: number | undefined }>();

  /**
   * The decision without waiting, when one made under the store's current
   * generation is known (the common call: the same caller on the same key);
   * undefined means ask allowed().
   */
  knownDecision(principal: Principal, permission: string, resource: string): boolean | undefined {
    if (this.admins.has(principal.member)) return true;
    const generation = this.iam.generation?.();
    if (generation === undefined) return undefined;
    const known = this.#decisions.get(`${principal.member}\n${permission}\n${resource}`);
    return known && known.generation === generation ? known.allowed : undefined;
  }

  /** The permissions of `wanted` the principal holds on `resource`. */
  async held(principal: Principal, wanted: readonly string[], resource: string): Promise<string[]> {
    if (this.admins.has(principal.member)) return [...wanted];
    const records = await this.iam.getIamPolicies(policyHolders(resource));
    return wanted.filter((permission) => this.#decide(principal, permission, resource, records));
  }

  async allowed(principal: Principal, permission: string, resource: string): Promise<boolean> {
    if (this.admins.has(principal.member)) return true;
    const generation = this.iam.generation?.();
    const records = await this.iam.getIamPolicies(policyHolders(resource));
    return this.#decide(principal, permission, resource, records, generation);
  }

  #decide(principal: Principal, permission: string, resource: string, records: readonly (IamPolicyRecord | undefined)[], generation?: number): boolean {
    const key = `${principal.member}\n${permission}\n${resource}`;
    const known = this.#decisions.get(key);
    if (known && known.records.length === records.length && known.records.every((r, i) => r === records[i])) return known.allowed;
    const bindings = records.flatMap((r) => (r ? bindingsOf(r) : []));
    const now = this.now();
    const allowed = bindings.some((b) =>
      ROLES.get(b.role ?? '')?.has(permission) && (b.members ?? []).some((m) => names(m, principal)) && conditionHolds(b, resource, now));
    if (!bindings.some((b) => b.condition)) {
      if (this.#decisions.size >= MEMO_LIMIT) this.#decisions.clear();
      this.#decisions.set(key, { records, allowed, generation });
    }
    return allowed;
  }
}
