// Runs the conformance cases against one target, one after the other, and
// reports each as pass, fail or skip with its time and a readable reason.
// Plaintexts, blobs and tokens the run sent never appear in a detail: they
// are replaced by [redacted] wherever an EKM's message echoes them.
import { AssertionError } from 'node:assert';
import { performance } from 'node:perf_hooks';
import { CaseSkipped, type ConformanceCase } from './case';
import { openSession, type Session } from './session';
import { conformanceCases } from './suite';
import type { ConformanceTarget } from './target';

export type CaseStatus = 'pass' | 'fail' | 'skip';

export interface CaseResult {
  id: string;
  group: string;
  name: string;
  status: CaseStatus;
  ms: number;
  /** Why it failed or was skipped. */
  detail?: string;
}

export interface ConformanceReport {
  /** The EKM's URL. */
  target: string;
  /** ISO 8601, when the run began. */
  started: string;
  cases: CaseResult[];
  passed: number;
  failed: number;
  skipped: number;
}

export interface RunOptions {
  /** Case ids (or prefixes ending in *) reported as skipped without running. */
  skip?: readonly string[];
  /** When given, only the cases these ids or prefixes select run (the rest are left out of the report). */
  only?: readonly string[];
  /** Called before the first case with the cases that will be reported. */
  onStart?(cases: readonly ConformanceCase[]): void;
  /** Called as each case ends. */
  onResult?(result: CaseResult): void;
}

/** A --skip or --only entry that names no case. */
export class UnknownCaseError extends Error {}

const MAX_DETAIL = 500;
const JWT = /eyJ[\w-]{4,}\.[\w-]+\.[\w-]*/g;

const matches = (pattern: string, id: string): boolean =>
  (pattern.endsWith('*') ? id.startsWith(pattern.slice(0, -1)) : id === pattern);

function checkPatterns(cases: readonly ConformanceCase[], patterns: readonly string[], what: string): void {
  for (const p of patterns) {
    if (!cases.some((c) => matches(p, c.id))) throw new UnknownCaseError(`${what} ${p}: no case has that id`);
  }
}

/** The cases to report, in run order, after only; throws UnknownCaseError for an entry that selects nothing. */
export function selectCases(all: readonly ConformanceCase[], options: RunOptions = {}): ConformanceCase[] {
  checkPatterns(all, options.skip ?? [], 'skip');
  checkPatterns(all, options.only ?? [], 'only');
  const only = options.only?.length ? options.only : undefined;
  return all.filter((c) => !only || only.some((p) => matches(p, c.id)));
}

/** The text with every secret of the session, and anything shaped like a JWT, replaced. */
export function redact(text: string, secrets: Iterable<string>): string {
  let out = text;
  const long = [...secrets].filter((s) => s.length >= 8).sort((a, b) => b.length - a.length);
  for (const secret of long) out = out.split(secret).join('[redacted]');
  out = out.replace(JWT, '[redacted token]').replace(/\s+/g, ' ').trim();
  return out.length > MAX_DETAIL ? `${out.slice(0, MAX_DETAIL)}…` : out;
}

function failureText(err: unknown): string {
  if (err instanceof AssertionError) return err.message;
  if (err instanceof Error) return `${(err as { code?: unknown }).code ? `${String((err as { code?: unknown }).code)}: ` : ''}${err.message}`;
  return String(err);
}

/** Runs one case on the session; never throws. */
export async function runCase(s: Session, c: ConformanceCase): Promise<CaseResult & { transportFailure?: boolean }> {
  const base = { id: c.id, group: c.group, name: c.name };
  const start = performance.now();
  const ms = () => Math.round(performance.now() - start);
  try {
    await c.run(s);
    return { ...base, status: 'pass', ms: ms() };
  } catch (err) {
    if (err instanceof CaseSkipped) return { ...base, status: 'skip', ms: ms(), detail: redact(err.reason, s.secrets) };
    const transportFailure = !(err instanceof AssertionError) && typeof (err as { code?: unknown }).code === 'string';
    return { ...base, status: 'fail', ms: ms(), detail: redact(failureText(err), s.secrets), transportFailure };
  }
}

function tally(target: string, started: Date, cases: CaseResult[]): ConformanceReport {
  const count = (status: CaseStatus) => cases.filter((c) => c.status === status).length;
  return { target, started: started.toISOString(), cases, passed: count('pass'), failed: count('fail'), skipped: count('skip') };
}

/**
 * Runs every selected case against the target, in order. When the first
 * case run fails because the EKM cannot be reached at all (a connection or
 * TLS error), the rest are reported failed without being tried.
 */
export async function runConformance(target: ConformanceTarget, options: RunOptions = {}): Promise<ConformanceReport> {
  const started = new Date();
  const cases = selectCases(conformanceCases(target), options);
  options.onStart?.(cases);
  const session = openSession(target);
  const results: CaseResult[] = [];
  let unreachable: string | undefined;
  try {
    for (const c of cases) {
      let result: CaseResult;
      if (options.skip?.some((p) => matches(p, c.id))) {
        result = { id: c.id, group: c.group, name: c.name, status: 'skip', ms: 0, detail: 'skipped on request' };
      } else if (unreachable) {
        result = { id: c.id, group: c.group, name: c.name, status: 'fail', ms: 0, detail: `not run: the EKM could not be reached (${unreachable})` };
      } else {
        const { transportFailure, ...ran } = await runCase(session, c);
        if (transportFailure && !results.some((r) => r.status !== 'skip')) unreachable = ran.detail;
        result = ran;
      }
      results.push(result);
      options.onResult?.(result);
    }
  } finally {
    session.close();
  }
  return tally(target.url, started, results);
}
