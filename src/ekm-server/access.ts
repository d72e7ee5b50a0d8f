// The authorization step every key and crypto space operation shares: read
// the reason, find the key, apply its policy, and record the decision in the
// audit fields before anything else can fail.
import { failedPrecondition, unimplemented } from '../errors';
import type { AuditFields } from './audit';
import { Code } from '../errors';
import { fieldError, permissionDenied } from './errors';
import type { VerifiedCaller } from '../jwt';
import { readReason, type JsonObject, type ReasonReading } from './json';
import type { KeyKind } from './algorithms';
import type { KeyManager, LoadedKey } from './keys';
import { decide, type FullPolicy, type PolicyOperation } from './policy';

/** What an operation handler gets. */
export interface OperationContext {
  caller: VerifiedCaller;
  /** The key path or crypto space path of the request. */
  target: string;
  body: JsonObject;
  audit: AuditFields;
}

/** The request field a reason denial names. */
export const REASON_FIELD = 'additionalContext.accessReasonContext.reason';

export function reasonLabel(reason: ReasonReading): string | null {
  if (reason.kind === 'known') return reason.reason;
  return reason.kind === 'missing' ? null : `UNRECOGNIZED:${reason.raw}`;
}

/** Applies a policy; throws PERMISSION_DENIED and records the decision either way. */
export function authorize(ctx: OperationContext, policy: FullPolicy, op: PolicyOperation): void {
  const reason = readReason(ctx.body);
  ctx.audit.reason = reasonLabel(reason);
  const denial = decide(policy, ctx.caller.email, op, reason);
  ctx.audit.decision = denial ? 'DENIED' : 'ALLOWED';
  if (denial === 'caller') throw permissionDenied(`${ctx.caller.email} may not use ${ctx.target}.`);
  if (denial === 'reason') {
    throw fieldError(
      REASON_FIELD,
      `The access reason ${ctx.audit.reason ?? '(none)'} is not allowed for ${op} on ${ctx.target}.`,
      Code.PERMISSION_DENIED,
    );
  }
}

/** The key of the request, once its policy allows the caller. */
export async function authorizedKey(keys: KeyManager, ctx: OperationContext, op: PolicyOperation): Promise<LoadedKey> {
  const key = await keys.key(ctx.target);
  authorize(ctx, await keys.policyFor(key.record), op);
  return key;
}

/** A key usable for an operation of `kind`: right kind (else UNIMPLEMENTED) and ENABLED. */
export function usable(key: LoadedKey, kind: KeyKind, op: string): LoadedKey {
  if (key.algorithm.kind !== kind) {
    throw unimplemented(`${op} is not supported for ${key.record.path}, a ${key.algorithm.name} key.`);
  }
  if (key.record.state !== 'ENABLED') throw failedPrecondition(`Key ${key.record.path} is ${key.record.state}.`);
  return key;
}
