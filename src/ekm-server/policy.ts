// Authorization: who may use a crypto space or key, and for which Key Access
// Justifications reasons (docs/ekm-server.md, "Policies").
//
// A crypto space has a full policy; a key may override any of its three
// top-level fields (a field present on the key replaces the space's field).
// For an operation with reason R, a caller is allowed when
//   1. its verified email is in `callers` (compared in lower case), and
//   2. the list reasons[op] ?? reasons.default allows R, or, when neither
//      is set, R is a reason this EKM knows. A list names a missing reason
//      (or REASON_UNSPECIFIED) with the pseudo-reason KAJ_UNAVAILABLE, and a
//      reason this EKM does not know with KAJ_UNKNOWN, as partner EKMs do;
//      `allowMissingReason: true` allows both for every operation.
import { invalidArgument } from '../errors';
import { ACCESS_REASONS } from '../protocol/ekm';
import type { ReasonReading } from './json';
import { isObject } from './json';

/** The operations a policy names reasons for, plus the fallback `default`. */
export const POLICY_OPERATIONS = ['wrap', 'unwrap', 'asymmetricSign', 'getPublicKey', 'createKey', 'destroyKey'] as const;
export type PolicyOperation = (typeof POLICY_OPERATIONS)[number];
export type ReasonKey = PolicyOperation | 'default';

export interface Policy {
  callers?: string[];
  reasons?: Partial<Record<ReasonKey, string[]>>;
  allowMissingReason?: boolean;
}

/** A crypto space's policy, every field present. */
export interface FullPolicy {
  callers: string[];
  reasons: Partial<Record<ReasonKey, string[]>>;
  allowMissingReason: boolean;
}

export const EMPTY_POLICY: FullPolicy = Object.freeze({ callers: [], reasons: {}, allowMissingReason: false });

const REASON_KEYS: readonly string[] = [...POLICY_OPERATIONS, 'default'];
/** A missing reason (or REASON_UNSPECIFIED) in a policy's lists. */
export const KAJ_UNAVAILABLE = 'KAJ_UNAVAILABLE';
/** A reason this EKM does not know, in a policy's lists. */
export const KAJ_UNKNOWN = 'KAJ_UNKNOWN';
/** REASON_UNSPECIFIED is not listable: a missing reason is KAJ_UNAVAILABLE. */
const LISTABLE_REASONS: readonly string[] = [...ACCESS_REASONS.filter((r) => r !== 'REASON_UNSPECIFIED'), KAJ_UNAVAILABLE, KAJ_UNKNOWN];
const MAX_CALLERS = 1000;
const EMAIL = /^[^\s@]{1,128}@[^\s@]{1,255}$/;

function validCallers(value: unknown): string[] {
  if (!Array.isArray(value) || value.length > MAX_CALLERS) {
    throw invalidArgument(`policy.callers must be a list of at most ${MAX_CALLERS} emails.`);
  }
  return value.map((v) => {
    if (typeof v !== 'string' || !EMAIL.test(v)) throw invalidArgument(`policy.callers: ${JSON.stringify(v)} is not an email.`);
    return v.toLowerCase();
  });
}

function validReasons(value: unknown): Partial<Record<ReasonKey, string[]>> {
  if (!isObject(value)) throw invalidArgument('policy.reasons must be an object of operation → reason list.');
  const out: Partial<Record<ReasonKey, string[]>> = {};
  for (const [op, list] of Object.entries(value)) {
    if (!REASON_KEYS.includes(op)) throw invalidArgument(`policy.reasons: unknown operation ${JSON.stringify(op)}; use one of ${REASON_KEYS.join(', ')}.`);
    if (!Array.isArray(list)) throw invalidArgument(`policy.reasons.${op} must be a list of reason names.`);
    for (const r of list) {
      if (typeof r !== 'string' || !LISTABLE_REASONS.includes(r)) {
        throw invalidArgument(`policy.reasons.${op}: ${JSON.stringify(r)} is not an AccessReason name, KAJ_UNAVAILABLE or KAJ_UNKNOWN (REASON_UNSPECIFIED is KAJ_UNAVAILABLE).`);
      }
    }
    out[op as ReasonKey] = [...new Set(list as string[])];
  }
  return out;
}

/** Validates and normalizes a policy (emails in lower case, no duplicate reasons). */
export function validatePolicy(value: unknown): Policy {
  if (!isObject(value)) throw invalidArgument('policy must be a JSON object.');
  for (const key of Object.keys(value)) {
    if (!['callers', 'reasons', 'allowMissingReason'].includes(key)) throw invalidArgument(`policy: unknown field ${JSON.stringify(key)}.`);
  }
  const policy: Policy = {};
  if (value.callers !== undefined) policy.callers = [...new Set(validCallers(value.callers))];
  if (value.reasons !== undefined) policy.reasons = validReasons(value.reasons);
  if (value.allowMissingReason !== undefined) {
    if (typeof value.allowMissingReason !== 'boolean') throw invalidArgument('policy.allowMissingReason must be true or false.');
    policy.allowMissingReason = value.allowMissingReason;
  }
  return policy;
}

export function fullPolicy(policy: Policy): FullPolicy {
  return {
    callers: policy.callers ?? [],
    reasons: policy.reasons ?? {},
    allowMissingReason: policy.allowMissingReason ?? false,
  };
}

/** The space's policy with the key's fields laid over it. */
export function effectivePolicy(space: FullPolicy, key: Policy | null): FullPolicy {
  if (!key) return space;
  return {
    callers: key.callers ?? space.callers,
    reasons: key.reasons ?? space.reasons,
    allowMissingReason: key.allowMissingReason ?? space.allowMissingReason,
  };
}

export type Denial = 'caller' | 'reason';

export function callerAllowed(policy: FullPolicy, email: string): boolean {
  return policy.callers.includes(email.toLowerCase());
}

export function reasonAllowed(policy: FullPolicy, op: PolicyOperation, reason: ReasonReading): boolean {
  const list = policy.reasons[op] ?? policy.reasons.default;
  if (reason.kind === 'known') return list === undefined || list.includes(reason.reason);
  if (policy.allowMissingReason) return true;
  return list !== undefined && list.includes(reason.kind === 'missing' ? KAJ_UNAVAILABLE : KAJ_UNKNOWN);
}

/** Why the caller is refused, or undefined when it is allowed. */
export function decide(policy: FullPolicy, email: string, op: PolicyOperation, reason: ReasonReading): Denial | undefined {
  if (!callerAllowed(policy, email)) return 'caller';
  if (!reasonAllowed(policy, op, reason)) return 'reason';
  return undefined;
}

/** Whether some reason would let the caller perform op (for checkCryptoSpacePermissions). */
export function mayPerform(policy: FullPolicy, email: string, op: PolicyOperation): boolean {
  if (!callerAllowed(policy, email)) return false;
  const list = policy.reasons[op] ?? policy.reasons.default;
  return list === undefined || list.length > 0 || policy.allowMissingReason;
}
