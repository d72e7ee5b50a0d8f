// A conformance case: a stable id (group.name[.variant]), a group, a one-line
// name, and a run that throws on failure (an AssertionError carries the
// readable reason) or throws CaseSkipped (through skip()) when the target
// lacks what it needs.
import type { Session } from './session';

export interface ConformanceCase {
  /** Stable, e.g. token.flipped-signature-bit or authz.denied-reason.wrap.THIRD_PARTY_DATA_REQUEST. */
  id: string;
  group: string;
  /** One line saying what the EKM must do. */
  name: string;
  run(s: Session): Promise<void>;
}

export class CaseSkipped extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'CaseSkipped';
  }
}

/** Ends the running case as skipped, with why. */
export function skip(reason: string): never {
  throw new CaseSkipped(reason);
}

/** A maker of cases of one group: `c('roundtrip', 'name', run)` has the id `{group}.roundtrip`. */
export function caseMaker(group: string): (id: string, name: string, run: (s: Session) => Promise<void>) => ConformanceCase {
  return (id, name, run) => ({ id: `${group}.${id}`, group, name, run });
}

/** The target's crypto space, or a skip. */
export function needCryptoSpace(s: Session): string {
  return s.target.cryptoSpace ?? skip('the target names no crypto space (--crypto-space)');
}
