// The EKM conformance suite, in the spirit of the public XKS test client:
// everything the protocol (docs/ekm-protocol.md) promises, as named cases run
// over real HTTPS against any EKM URL. Which cases there are depends on the
// target only where it lists things (one case per denied reason and per
// signing key); the audit cases come last, as they check what the others left.
import { auditCases } from './audit';
import type { ConformanceCase } from './case';
import { authzCases } from './cases-authz';
import { bodyCases } from './cases-body';
import { controlPlaneCases, keyStateCases } from './cases-keys';
import { tokenCases } from './cases-token';
import { transportCases } from './cases-transport';
import { wrapCases } from './cases-wrap';
import { signingCases } from './signing';
import type { ConformanceTarget } from './target';

/** The groups, in the order they run. */
export const GROUPS = ['transport', 'wrap', 'body', 'token', 'authz', 'key', 'sign', 'control', 'audit'] as const;

/** Every case for this target, in the order they run. */
export function conformanceCases(target: ConformanceTarget): ConformanceCase[] {
  const cases = [
    ...transportCases(),
    ...wrapCases(),
    ...bodyCases(),
    ...tokenCases(),
    ...authzCases(target),
    ...keyStateCases(),
    ...signingCases(target),
    ...controlPlaneCases(),
    ...auditCases(),
  ];
  const ids = new Set<string>();
  for (const c of cases) {
    if (ids.has(c.id)) throw new Error(`two conformance cases have the id ${c.id}`);
    ids.add(c.id);
  }
  return cases;
}
