// The operator commands of `openekm ekm`: crypto-spaces, keys, policy and
// audit. Each parses its flags and makes one or two admin calls through the
// admin socket of the server running on --data DIR.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { AdminClient } from './admin-client';
import { follow, lastLines } from './audit-tail';
import type { FullPolicy, Policy } from './policy';

export const DEFAULT_DATA_DIR = '.openekm-ekm';

export class UsageError extends Error {}

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

type Options = NonNullable<ParseArgsConfig['options']>;
const DATA: Options = { data: { type: 'string' } };
const POLICY_FLAGS: Options = {
  caller: { type: 'string', multiple: true },
  callers: { type: 'string' },
  'add-caller': { type: 'string', multiple: true },
  'remove-caller': { type: 'string', multiple: true },
  reasons: { type: 'string', multiple: true },
  'allow-missing-reason': { type: 'string' },
  'policy-file': { type: 'string' },
  inherit: { type: 'boolean' },
};

function parse(args: string[], options: Options) {
  const { values, positionals } = parseArgs({ args, options: { ...DATA, ...options }, allowPositionals: true, strict: true });
  const client = AdminClient.forDataDir(path.resolve((values.data as string | undefined) ?? DEFAULT_DATA_DIR));
  return { values: values as Record<string, string | string[] | boolean | undefined>, positionals, client };
}

function one(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new UsageError(`expected one ${what}`);
  return positionals[0];
}

const json = (io: Io, value: unknown) => io.out(`${JSON.stringify(value, null, 2)}\n`);
const list = (value: string | string[] | boolean | undefined): string[] => (Array.isArray(value) ? value : []);

/** --reasons OP=R1,R2 (an empty list after = allows no reason for OP). */
function reasonsFlags(values: string[], base: Policy['reasons'] = {}): Policy['reasons'] {
  const reasons = { ...base };
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new UsageError(`--reasons takes OP=REASON,REASON, not ${v}`);
    (reasons as Record<string, string[]>)[v.slice(0, eq)] = v.slice(eq + 1).split(',').map((r) => r.trim()).filter(Boolean);
  }
  return reasons;
}

function bool(value: string | string[] | boolean | undefined, flag: string): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new UsageError(`${flag} takes true or false`);
}

/** Applies the policy flags to the current policy (for a key: its override over the effective one). */
function editPolicy(v: Record<string, string | string[] | boolean | undefined>, current: Policy, effective: FullPolicy): Policy {
  if (typeof v['policy-file'] === 'string') return JSON.parse(readFileSync(v['policy-file'], 'utf8')) as Policy;
  const next: Policy = { ...current };
  const add = [...list(v.caller), ...list(v['add-caller'])];
  const remove = list(v['remove-caller']).map((e) => e.toLowerCase());
  if (typeof v.callers === 'string' || add.length || remove.length) {
    const base = typeof v.callers === 'string' ? v.callers.split(',').map((c) => c.trim()).filter(Boolean) : current.callers ?? effective.callers;
    next.callers = [...new Set([...base, ...add])].filter((c) => !remove.includes(c.toLowerCase()));
  }
  if (list(v.reasons).length) next.reasons = reasonsFlags(list(v.reasons), current.reasons ?? effective.reasons);
  const allowMissing = bool(v['allow-missing-reason'], '--allow-missing-reason');
  if (allowMissing !== undefined) next.allowMissingReason = allowMissing;
  return next;
}

async function cryptoSpaces(sub: string | undefined, args: string[], io: Io): Promise<void> {
  const { values, positionals, client } = parse(args, { ...POLICY_FLAGS, 'allow-missing-reason': { type: 'boolean' } });
  if (sub === 'create') {
    const policy: Policy = { callers: list(values.caller), reasons: reasonsFlags(list(values.reasons)), allowMissingReason: values['allow-missing-reason'] === true };
    json(io, await client.call('createCryptoSpace', { name: one(positionals, 'crypto space name'), policy }));
  } else if (sub === 'list') {
    json(io, (await client.call<{ cryptoSpaces: unknown[] }>('listCryptoSpaces')).cryptoSpaces);
  } else if (sub === 'describe') {
    json(io, await client.call('getCryptoSpace', { name: one(positionals, 'crypto space name') }));
  } else {
    throw new UsageError('crypto-spaces takes create, list or describe');
  }
}

const KEY_ACTIONS: Record<string, string> = { describe: 'getKey', disable: 'disableKey', enable: 'enableKey', destroy: 'destroyKey' };

async function keys(sub: string | undefined, args: string[], io: Io): Promise<void> {
  const { values, positionals, client } = parse(args, { 'crypto-space': { type: 'string' }, algorithm: { type: 'string' }, id: { type: 'string' } });
  if (sub === 'create') {
    if (typeof values['crypto-space'] !== 'string' || typeof values.algorithm !== 'string') {
      throw new UsageError('keys create needs --crypto-space and --algorithm');
    }
    const key = await client.call<{ path: string }>('createKey', { cryptoSpace: values['crypto-space'], algorithm: values.algorithm, keyId: values.id });
    io.out(`${key.path}\n`);
  } else if (sub === 'list') {
    json(io, (await client.call<{ keys: unknown[] }>('listKeys', { cryptoSpace: values['crypto-space'] })).keys);
  } else if (sub !== undefined && Object.hasOwn(KEY_ACTIONS, sub)) {
    json(io, await client.call(KEY_ACTIONS[sub], { path: one(positionals, 'key path') }));
  } else {
    throw new UsageError('keys takes create, list, describe, disable, enable or destroy');
  }
}

async function policy(sub: string | undefined, args: string[], io: Io): Promise<void> {
  const { values, client } = parse(args, { ...POLICY_FLAGS, 'crypto-space': { type: 'string' }, key: { type: 'string' } });
  const target = typeof values.key === 'string' ? { key: values.key } : typeof values['crypto-space'] === 'string' ? { cryptoSpace: values['crypto-space'] } : undefined;
  if (!target) throw new UsageError('policy needs --crypto-space NAME or --key KEY_PATH');
  const current = await client.call<{ policy: Policy | null; effective?: FullPolicy }>('getPolicy', target);
  if (sub === 'get') {
    json(io, current);
  } else if (sub === 'set') {
    const policy = values.inherit === true ? null : editPolicy(values, current.policy ?? {}, current.effective ?? (current.policy as FullPolicy));
    if (policy === null && !('key' in target)) throw new UsageError('--inherit applies to keys only');
    json(io, await client.call('setPolicy', { ...target, policy }));
  } else {
    throw new UsageError('policy takes get or set');
  }
}

async function audit(sub: string | undefined, args: string[], io: Io): Promise<void> {
  const { values } = parseArgs({ args, options: { data: { type: 'string' }, n: { type: 'string', short: 'n' }, follow: { type: 'boolean', short: 'f' } }, strict: true });
  if (sub !== 'tail') throw new UsageError('audit takes tail');
  const n = values.n === undefined ? 20 : Number(values.n);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`-n takes a count, not ${values.n}`);
  const file = path.join(path.resolve(values.data ?? DEFAULT_DATA_DIR), 'audit.log');
  const { lines, end } = await lastLines(file, n);
  for (const line of lines) io.out(`${line}\n`);
  if (values.follow) {
    const stop = new AbortController();
    process.once('SIGINT', () => stop.abort());
    process.once('SIGTERM', () => stop.abort());
    await follow(file, end, (line) => io.out(`${line}\n`), stop.signal);
  }
}

const COMMANDS: Record<string, (sub: string | undefined, args: string[], io: Io) => Promise<void>> = {
  'crypto-spaces': cryptoSpaces,
  keys,
  policy,
  audit,
};

/** Runs an operator command; false if `command` is not one. */
export async function runAdminCommand(command: string, args: string[], io: Io): Promise<boolean> {
  if (!Object.hasOwn(COMMANDS, command)) return false;
  const [sub, ...rest] = args;
  await COMMANDS[command](sub, rest, io);
  return true;
}
