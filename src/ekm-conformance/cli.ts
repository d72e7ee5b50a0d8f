// `openekm ekm conformance`: the conformance suite against any EKM, the
// reference one or a vendor's. The target comes from --config FILE (the JSON
// format of target.ts) and flags that build or override it; the command
// prints a table as cases end and a summary line, writes the JSON report
// with --report, and exits 0 when no case failed, 1 when one did, 2 for a
// usage error. `make-signer OUT_DIR` makes the token signer a vendor's EKM
// must trust first.
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { makeSigner, DEFAULT_CONFORMANCE_ISSUER } from './make-signer';
import { runConformance, UnknownCaseError } from './runner';
import { formatSummary, tablePrinter } from './table';
import {
  completeTarget, readTargetFile, REASON_OPERATIONS,
  type ConformanceTarget, type PartialTarget, type ReasonOperation, type RequiredField, type SigningKey,
} from './target';
import type { SigningAlg } from './tokens';

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export class ConformanceUsageError extends Error {}

export const CONFORMANCE_USAGE = `usage: openekm ekm conformance [--config FILE] [TARGET FLAGS] [--skip ID]... [--only ID]... [--report FILE]
       openekm ekm conformance make-signer OUT_DIR [--issuer ISS] [--alg ES256|RS256]
Runs the EKM conformance suite against the EKM at --url. Flags override the --config file
(docs/ekm-server.md, "Conformance suite"). Defaults in brackets; * marks a required fact.
  --url URL               * the EKM's base URL, https://HOST[:PORT][/PREFIX]
  --audience AUD            the token aud the EKM accepts [https://{--url's hostname}]
  --ca-file PEM             the EKM's certificate or CA [the system's CAs]
  --pin-sha256 HEX          SHA-256 of the EKM's leaf certificate; without --ca-file, the pin alone is checked
  --servername NAME         TLS name to check and send (SNI) when --url names an address
  --client-cert PEM --client-key PEM   a client certificate, for EKMs that require mTLS
  --issuer ISS            * the iss of the suite's tokens: an issuer the EKM trusts
  --signing-key-file PEM  * that issuer's private key (EC P-256 or RSA)
  --alg ES256|RS256         [from the key's type]     --kid KID   the key's kid in the EKM's JWKS
  --caller EMAIL          * a caller allowed on every key and the crypto space
  --denied-caller EMAIL     a caller allowed nowhere [a random address @example.invalid]
  --allowed-reason R        a reason allowed for every operation [CUSTOMER_INITIATED_ACCESS]
  --denied-reason OP=R1,R2  reasons the policy denies for OP (repeatable; one case each);
                            OP is wrap, unwrap, asymmetricSign, getPublicKey, createKey or destroyKey
  --missing-reason-allowed  the policy allows requests without a reason (those cases skip)
  --key-a PATH, --key-b PATH            * two enabled AES-256 wrapping keys
  --disabled-key PATH, --destroyed-key PATH  * a disabled and a destroyed wrapping key
  --unknown-key PATH        a well-formed path no key has [--key-a's, last segment replaced]
  --signing-key PATH=ALG    a signing key and its algorithm, e.g. EC_SIGN_P256_SHA256 (repeatable)
  --crypto-space PATH       where the caller may create and destroy keys (control-plane cases)
  --create-key-algorithm A  what the control-plane cases create [EXTERNAL_SYMMETRIC_ENCRYPTION]
  --audit-log FILE          the EKM's audit log, in the reference EKM's format (audit cases)
  --skip ID                 report case ID (or every id starting with PREFIX, as PREFIX*) as skipped
  --only ID                 run only these cases (ID or PREFIX*; repeatable)
  --report FILE             write the JSON report to FILE
Cases that need a fact the target lacks (signing keys, crypto space, audit log) are skipped.
Exit status: 0 when no case failed, 1 when one did, 2 for a usage error.
`;

const OPTIONS = {
  config: { type: 'string' }, url: { type: 'string' }, audience: { type: 'string' },
  'ca-file': { type: 'string' }, 'pin-sha256': { type: 'string' }, servername: { type: 'string' },
  'client-cert': { type: 'string' }, 'client-key': { type: 'string' },
  issuer: { type: 'string' }, 'signing-key-file': { type: 'string' }, alg: { type: 'string' }, kid: { type: 'string' },
  caller: { type: 'string' }, 'denied-caller': { type: 'string' }, 'allowed-reason': { type: 'string' },
  'denied-reason': { type: 'string', multiple: true }, 'missing-reason-allowed': { type: 'boolean' },
  'key-a': { type: 'string' }, 'key-b': { type: 'string' }, 'disabled-key': { type: 'string' },
  'destroyed-key': { type: 'string' }, 'unknown-key': { type: 'string' }, 'signing-key': { type: 'string', multiple: true },
  'crypto-space': { type: 'string' }, 'create-key-algorithm': { type: 'string' }, 'audit-log': { type: 'string' },
  skip: { type: 'string', multiple: true }, only: { type: 'string', multiple: true }, report: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; strict: true }>>['values'];

const FLAG_OF: Readonly<Record<RequiredField, string>> = {
  url: '--url', 'signer.issuer': '--issuer', 'signer.privateKeyPem': '--signing-key-file', callerEmail: '--caller',
  'keys.wrapA': '--key-a', 'keys.wrapB': '--key-b', 'keys.disabled': '--disabled-key', 'keys.destroyed': '--destroyed-key',
};

/** Why a file could not be read or written, in our words (never the system's message). */
export function fileProblem(err: unknown): string {
  switch ((err as { code?: unknown }).code) {
    case 'ENOENT': return 'no such file';
    case 'EACCES': case 'EPERM': return 'permission denied';
    case 'EISDIR': return 'it is a directory';
    case 'ENOTDIR': return 'a part of the path is not a directory';
    default: return err instanceof SyntaxError ? 'it is not valid JSON' : 'it could not be used';
  }
}

function readFlagFile(file: string | undefined, flag: string): string | undefined {
  if (file === undefined) return undefined;
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConformanceUsageError(`${flag}: cannot read ${file}: ${fileProblem(err)}`);
  }
}

/** parseArgs' refusals, in our words and naming the flag. */
function parseProblem(err: unknown): ConformanceUsageError | undefined {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS')) return undefined;
  const flag = /'(-{1,2}[^' ]*)/.exec((err as Error).message)?.[1] ?? 'an argument';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return new ConformanceUsageError(`unknown flag ${flag}`);
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return new ConformanceUsageError('unexpected argument: every value follows its flag');
  return new ConformanceUsageError(`${flag} needs a value, or takes none`);
}

/** OP=VALUE flags, split at the last '=' (key paths may hold anything else). */
function pairs(values: readonly string[] | undefined, flag: string, shape: string): Array<[string, string]> {
  return (values ?? []).map((v) => {
    const eq = v.lastIndexOf('=');
    if (eq <= 0 || eq === v.length - 1) throw new ConformanceUsageError(`${flag} takes ${shape}, not ${v}`);
    return [v.slice(0, eq), v.slice(eq + 1)];
  });
}

function deniedReasons(values: readonly string[] | undefined): PartialTarget['deniedReasons'] {
  const out: Partial<Record<ReasonOperation, string[]>> = {};
  for (const [op, list] of pairs(values, '--denied-reason', 'OP=REASON,REASON')) {
    if (!REASON_OPERATIONS.includes(op as ReasonOperation)) throw new ConformanceUsageError(`--denied-reason: ${op} is not one of ${REASON_OPERATIONS.join(', ')}`);
    out[op as ReasonOperation] = list.split(',').map((r) => r.trim()).filter(Boolean);
  }
  return values?.length ? out : undefined;
}

function signingKeys(values: readonly string[] | undefined): SigningKey[] | undefined {
  if (!values?.length) return undefined;
  return pairs(values, '--signing-key', 'PATH=ALGORITHM').map(([keyPath, algorithm]) => ({ path: keyPath, algorithm }));
}

/** Only the fields a flag set, so they can lie over the --config file. */
function defined<T extends object>(obj: T): Partial<T> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function overlay(v: Values): PartialTarget {
  if ((v['client-cert'] === undefined) !== (v['client-key'] === undefined)) throw new ConformanceUsageError('--client-cert and --client-key go together');
  return defined({
    url: v.url, audience: v.audience, callerEmail: v.caller, deniedCallerEmail: v['denied-caller'], allowedReason: v['allowed-reason'],
    deniedReasons: deniedReasons(v['denied-reason']), missingReasonDenied: v['missing-reason-allowed'] ? false : undefined,
    cryptoSpace: v['crypto-space'], createKeyAlgorithm: v['create-key-algorithm'],
    auditLogFile: v['audit-log'] === undefined ? undefined : path.resolve(v['audit-log']),
    tls: defined({
      ca: readFlagFile(v['ca-file'], '--ca-file'), pinnedSha256: v['pin-sha256'], servername: v.servername,
      clientCert: readFlagFile(v['client-cert'], '--client-cert'), clientKey: readFlagFile(v['client-key'], '--client-key'),
    }),
    signer: defined({
      issuer: v.issuer, alg: v.alg as SigningAlg | undefined, kid: v.kid,
      privateKeyPem: readFlagFile(v['signing-key-file'], '--signing-key-file'),
    }),
    keys: defined({
      wrapA: v['key-a'], wrapB: v['key-b'], disabled: v['disabled-key'], destroyed: v['destroyed-key'],
      unknown: v['unknown-key'], signing: signingKeys(v['signing-key']),
    }),
  });
}

function readConfig(file: string | undefined): PartialTarget {
  if (file === undefined) return {};
  try {
    return readTargetFile(file);
  } catch (err) {
    // readTargetFile's own refusals (a field of the wrong type) are ours; file and JSON errors are put in our words.
    const ours = !(err instanceof SyntaxError) && (err as { code?: unknown }).code === undefined;
    throw new ConformanceUsageError(`--config: cannot read ${file}: ${ours ? (err as Error).message : fileProblem(err)}`);
  }
}

/** The target the flags describe, over the --config file when there is one. */
export function targetFromFlags(v: Values): ConformanceTarget {
  const base = readConfig(v.config);
  const top = overlay(v);
  const merged: PartialTarget = {
    ...base, ...top,
    tls: { ...base.tls, ...top.tls }, signer: { ...base.signer, ...top.signer }, keys: { ...base.keys, ...top.keys },
    deniedReasons: base.deniedReasons || top.deniedReasons ? { ...base.deniedReasons, ...top.deniedReasons } : undefined,
  };
  try {
    return completeTarget(merged, (field) => new ConformanceUsageError(`${FLAG_OF[field]} is required (or ${field} in the --config file)`));
  } catch (err) {
    throw err instanceof ConformanceUsageError ? err : new ConformanceUsageError((err as Error).message);
  }
}

async function run(v: Values, io: Io): Promise<number> {
  const target = targetFromFlags(v);
  let printer: ReturnType<typeof tablePrinter> | undefined;
  const report = await runConformance(target, {
    skip: v.skip, only: v.only,
    onStart: (cases) => {
      printer = tablePrinter(cases.map((c) => c.id));
      io.out(printer.header());
    },
    onResult: (r) => io.out(printer!.row(r)),
  });
  io.out(formatSummary(report));
  if (v.report) {
    try {
      writeFileSync(v.report, `${JSON.stringify(report, null, 2)}\n`);
    } catch (err) {
      io.err(`openekm ekm conformance: --report: cannot write ${v.report}: ${fileProblem(err)}\n`);
      return 1;
    }
    io.out(`report: ${v.report}\n`);
  }
  return report.failed === 0 ? 0 : 1;
}

function makeSignerCommand(args: string[], io: Io): number {
  const { values, positionals } = parseArgs({
    args, options: { issuer: { type: 'string' }, alg: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true,
  });
  if (values.help) {
    io.out(CONFORMANCE_USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new ConformanceUsageError('make-signer takes one OUT_DIR');
  const alg = values.alg ?? 'ES256';
  if (alg !== 'ES256' && alg !== 'RS256') throw new ConformanceUsageError(`--alg: ES256 or RS256, not ${alg}`);
  const made = makeSigner(positionals[0], values.issuer ?? DEFAULT_CONFORMANCE_ISSUER, alg);
  io.out(`${JSON.stringify({ issuer: made.issuer, alg: made.alg, kid: made.kid, ...made.files })}\n`);
  io.out(`Trust ${made.files.jwks} for issuer ${made.issuer} in your EKM, then run: openekm ekm conformance --url URL --issuer ${made.issuer} `
    + `--signing-key-file ${made.files.privateKey} --kid ${made.kid} --caller EMAIL --key-a PATH --key-b PATH --disabled-key PATH --destroyed-key PATH\n`);
  return 0;
}

const isUsage = (err: unknown): boolean => err instanceof ConformanceUsageError || err instanceof UnknownCaseError
  || String((err as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS');

/** `openekm ekm conformance ...`; resolves with the exit code. */
export async function runConformanceCommand(args: string[], io: Io): Promise<number> {
  try {
    if (args[0] === 'make-signer') return makeSignerCommand(args.slice(1), io);
    const { values } = parseArgs({ args, options: OPTIONS, strict: true });
    if (values.help) {
      io.out(CONFORMANCE_USAGE);
      return 0;
    }
    return await run(values, io);
  } catch (thrown) {
    const err = parseProblem(thrown) ?? thrown;
    const usage = isUsage(err);
    io.err(`openekm ekm conformance: ${(err as Error).message}\n${usage ? CONFORMANCE_USAGE : ''}`);
    return usage ? 2 : 1;
  }
}
