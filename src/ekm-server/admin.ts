// The operator's admin interface: JSON RPC over HTTP on a Unix socket,
// DATA_DIR/admin.sock, mode 0600 inside a 0700 data directory, so only the
// operator's user can connect; the CLI's operator commands talk to it while
// the server runs. `POST /v1/{method}` with a JSON body; errors in the same
// JSON body as the HTTPS front. Every call is audited (caller "operator").
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Clock } from '../clock';
import { Code, KmsError, invalidArgument } from '../errors';
import type { Logger } from '../log';
import { requestedAlgorithm } from './algorithms';
import { auditLine, type AuditSink } from './audit';
import { HttpFault, errorAnswer } from './errors';
import { readBodyAsync, sendJson } from './http';
import { isObject, parseJsonObject, stringField, type JsonObject } from './json';
import type { KeyManager } from './keys';
import { cryptoSpaceName, cryptoSpacePath, requireKeyPath } from './paths';
import { validatePolicy } from './policy';
import type { CryptoSpaceRecord, KeyRecord } from './store';

const MAX_ADMIN_BODY = 1024 * 1024;
const OPERATOR = 'operator';

const iso = (ms: number | null): string | undefined => (ms === null ? undefined : new Date(ms).toISOString());

export function spaceView(s: CryptoSpaceRecord) {
  return { name: s.name, path: cryptoSpacePath(s.name), policy: s.policy, createTime: iso(s.createTime), updateTime: iso(s.updateTime) };
}

export function keyView(k: KeyRecord) {
  return {
    path: k.path, cryptoSpace: k.cryptoSpace, algorithm: k.algorithm, state: k.state,
    policy: k.policy ?? undefined, requestId: k.requestId ?? undefined,
    createTime: iso(k.createTime), updateTime: iso(k.updateTime), destroyTime: iso(k.destroyTime),
  };
}

function required(body: JsonObject, name: string): string {
  const value = stringField(body, name, 1024);
  if (!value) throw invalidArgument(`${name} is required.`);
  return value;
}

type AdminMethod = (body: JsonObject) => Promise<{ result: unknown; target?: string }>;

function adminMethods(keys: KeyManager): Record<string, AdminMethod> {
  const keyPathOf = (body: JsonObject) => {
    const path = required(body, 'path');
    requireKeyPath(path, 'path');
    return path;
  };
  return {
    createCryptoSpace: async (b) => {
      const policy = b.policy === undefined ? {} : validatePolicy(b.policy);
      const space = await keys.createCryptoSpace(required(b, 'name'), policy);
      return { result: spaceView(space), target: cryptoSpacePath(space.name) };
    },
    listCryptoSpaces: async () => ({ result: { cryptoSpaces: (await keys.listCryptoSpaces()).map(spaceView) } }),
    getCryptoSpace: async (b) => ({ result: spaceView(await keys.cryptoSpace(cryptoSpaceName(required(b, 'name'), 'name'))) }),
    createKey: async (b) => {
      const space = cryptoSpaceName(required(b, 'cryptoSpace'));
      const keyId = stringField(b, 'keyId', 63);
      const { record } = await keys.createKey({ cryptoSpace: space, algorithm: requestedAlgorithm(b.algorithm), keyId });
      return { result: keyView(record), target: record.path };
    },
    listKeys: async (b) => {
      const space = stringField(b, 'cryptoSpace', 1024);
      return { result: { keys: (await keys.listKeys(space)).map(keyView) } };
    },
    getKey: async (b) => ({ result: keyView((await keys.key(keyPathOf(b))).record) }),
    disableKey: async (b) => ({ result: keyView(await keys.disable(keyPathOf(b))), target: keyPathOf(b) }),
    enableKey: async (b) => ({ result: keyView(await keys.enable(keyPathOf(b))), target: keyPathOf(b) }),
    destroyKey: async (b) => ({ result: keyView(await keys.destroy(keyPathOf(b))), target: keyPathOf(b) }),
    getPolicy: async (b) => {
      if (b.key !== undefined) {
        const key = await keys.key(required(b, 'key'));
        return { result: { key: key.record.path, policy: key.record.policy, effective: await keys.policyFor(key.record) } };
      }
      const space = await keys.cryptoSpace(cryptoSpaceName(required(b, 'cryptoSpace')));
      return { result: { cryptoSpace: cryptoSpacePath(space.name), policy: space.policy } };
    },
    setPolicy: async (b) => {
      if (b.key !== undefined) {
        const path = required(b, 'key');
        const policy = b.policy === null ? null : validatePolicy(b.policy);
        const record = await keys.setKeyPolicy(path, policy);
        return { result: { key: path, policy: record.policy, effective: await keys.policyFor(record) }, target: path };
      }
      const space = await keys.setCryptoSpacePolicy(cryptoSpaceName(required(b, 'cryptoSpace')), validatePolicy(b.policy));
      return { result: { cryptoSpace: cryptoSpacePath(space.name), policy: space.policy }, target: cryptoSpacePath(space.name) };
    },
  };
}

export interface AdminDeps {
  keys: KeyManager;
  audit: AuditSink;
  clock: Clock;
  logger: Logger;
}

interface AdminAnswer {
  status: number;
  body: unknown;
  target?: string;
}

async function answer(methods: Record<string, AdminMethod>, name: string | undefined, req: http.IncomingMessage, res: http.ServerResponse, logger: Logger): Promise<AdminAnswer> {
  try {
    if (name === undefined) throw new HttpFault(404, new KmsError(Code.NOT_FOUND, 'no such admin method'), `No admin method at ${req.url?.slice(0, 100)}.`);
    if (req.method !== 'POST') throw new HttpFault(405, undefined, 'Admin methods take POST.', { allow: 'POST' });
    const { result, target } = await methods[name](parseJsonObject(await readBodyAsync(req, res, MAX_ADMIN_BODY)));
    return { status: 200, body: result, target };
  } catch (err) {
    if (!req.complete) req.resume();
    if (!(err instanceof KmsError) && !(err instanceof HttpFault)) logger.error('admin call failed', { error: String(err) });
    const a = errorAnswer(err);
    return { status: a.httpStatus, body: a.body };
  }
}

function handler(deps: AdminDeps) {
  const methods = adminMethods(deps.keys);
  return async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const started = performance.now();
    const match = /^\/v1\/([A-Za-z]+)$/.exec(req.url ?? '');
    const name = match && Object.hasOwn(methods, match[1]) ? match[1] : undefined;
    let result = await answer(methods, name, req, res, deps.logger);
    if (name !== undefined && req.method === 'POST') {
      const error = result.status >= 400 && isObject(result.body) && typeof result.body.code === 'number' ? result.body : undefined;
      try {
        deps.audit.write(auditLine({
          operation: `admin.${name}`, keyPath: result.target ?? null, caller: OPERATOR, reason: null, decision: 'ALLOWED',
        }, {
          time: new Date(deps.clock.now()).toISOString(), requestId: randomUUID(),
          status: error ? Code[error.code as number] ?? `HTTP_${result.status}` : 'OK',
          httpStatus: result.status, latencyMs: Math.round((performance.now() - started) * 1000) / 1000,
        }));
      } catch (err) {
        deps.logger.error('EKM audit write failed; failing the admin call', { error: String(err) });
        result = { status: 500, body: errorAnswer(new KmsError(Code.INTERNAL, 'The audit log could not be written.')).body };
      }
    }
    sendJson(res, result.status, result.body);
  };
}

/** Refuses to start beside a live server; removes a socket left by one that died. */
async function clearStaleSocket(socketPath: string): Promise<void> {
  if (!existsSync(socketPath)) return;
  const live = await new Promise<boolean>((resolve) => {
    const probe = net.connect(socketPath);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live) throw new Error(`an EKM is already running on this data directory (${socketPath} answers)`);
  unlinkSync(socketPath);
}

export async function startAdminServer(socketPath: string, deps: AdminDeps): Promise<http.Server> {
  await clearStaleSocket(socketPath);
  const onRequest = handler(deps);
  const server = http.createServer((req, res) => {
    onRequest(req, res).catch((err: unknown) => {
      deps.logger.error('admin handler crashed', { error: String(err) });
      if (!res.headersSent) sendJson(res, 500, errorAnswer(err).body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  // The data directory is 0700, so nobody else can reach the socket in the moment before this.
  chmodSync(socketPath, 0o600);
  return server;
}
