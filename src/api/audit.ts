// Cloud Audit Logs (`serve --audit-log FILE|-`): one LogEntry per call, in
// Cloud Logging's JSON shape, an AuditLog in its protoPayload (docs/iam.md,
// "Audit logs"). As Cloud KMS sorts them: a call whose permission is an
// ADMIN_WRITE one (create, update, destroy, restore, SetIamPolicy) goes to
// the Admin Activity log, always; reads of metadata (ADMIN_READ) and
// cryptographic calls (DATA_READ) go to the Data Access log when
// --data-access-logs says so or the project's policy has an audit config for
// that log type. Entries name resources, principals, permissions and codes;
// never plaintext, AAD, ciphertext, key material or a token.
//
// The entry is written before the answer goes out. The sink is checked
// before the call runs, so a call whose entry can't be written does not run:
// UNAVAILABLE. (A sink that fails between that check and the write, a few
// microseconds, leaves an effect without its entry; the answer is then
// UNAVAILABLE too.)
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { Code, KmsError } from '../errors';
import type { Msg } from '../proto/registry';
import type { CallContext } from '../services/context';
import { requirementOf } from '../services/iam/permissions';
import type { IamPolicyRecord, IamStore } from '../store/iam';
import type { Handler } from './methods';

export const AUDIT_LOG_TYPE = 'type.googleapis.com/google.cloud.audit.AuditLog';
const SERVICE = 'cloudkms.googleapis.com';

/** Where entries go: a JSON line each, in order; write() settles once the line is with the OS. */
export interface AuditSink {
  /** Throws when entries can't be written now. */
  check(): void;
  write(line: string): Promise<void>;
  close(): Promise<void>;
}

/** A file opened for appending (mode 0600), or standard output for "-". */
export function openAuditSink(target: string): AuditSink {
  if (target === '-') {
    return {
      check: () => undefined,
      write: (line) => new Promise((resolve, reject) => process.stdout.write(line, (err) => (err ? reject(err) : resolve()))),
      close: async () => undefined,
    };
  }
  let fd: number;
  try {
    fd = fs.openSync(target, 'a', 0o600);
  } catch {
    throw new Error(`--audit-log: can not open ${target} for appending (a writable file path, or - for standard output).`);
  }
  let broken: Error | undefined;
  return {
    check: () => {
      if (broken) throw broken;
    },
    write: (line) => new Promise((resolve, reject) => {
      fs.write(fd, line, null, 'utf8', (err) => {
        if (err) {
          broken = err;
          reject(err);
        } else {
          resolve();
        }
      });
    }),
    close: async () => fs.closeSync(fd),
  };
}

type LogType = 'ADMIN_WRITE' | 'ADMIN_READ' | 'DATA_READ';

/** The permission's type, as Cloud KMS's audit logging page sorts methods. */
export function logTypeOf(permission: string): LogType {
  if (/\.cryptoKeyVersions\.(useTo\w+|viewPublicKey)$|\.locations\.generateRandomBytes$/.test(permission)) return 'DATA_READ';
  if (/\.(get|list|getIamPolicy|verifyConnectivity)$/.test(permission)) return 'ADMIN_READ';
  return 'ADMIN_WRITE';
}

/** Cloud KMS's own methods are named short in its logs (Encrypt, SetIamPolicy); others by their full name. */
const methodName = (fullMethod: string): string =>
  /^google\.(cloud\.kms\.v1\.(KeyManagementService|EkmService)|iam\.v1\.IAMPolicy)\./.test(fullMethod) ? fullMethod.slice(fullMethod.lastIndexOf('.') + 1) : fullMethod;

/** The Cloud Logging monitored resource of a KMS name. */
function monitoredResource(name: string): { type: string; labels: Record<string, string> } {
  const parts = name.split('/');
  const labels: Record<string, string> = {};
  const put = (kind: string, label: string) => {
    const i = parts.indexOf(kind);
    if (i >= 0 && parts[i + 1] !== undefined) labels[label] = parts[i + 1];
  };
  put('projects', 'project_id');
  put('locations', 'location');
  put('keyRings', 'key_ring_id');
  put('cryptoKeys', 'crypto_key_id');
  put('cryptoKeyVersions', 'crypto_key_version_id');
  const type = labels.crypto_key_version_id ? 'cloudkms_cryptokeyversion' : labels.crypto_key_id ? 'cloudkms_cryptokey' : labels.key_ring_id ? 'cloudkms_keyring' : 'audited_resource';
  return { type, labels: type === 'audited_resource' ? { service: SERVICE, ...(labels.project_id ? { project_id: labels.project_id } : {}) } : labels };
}

/** The request's own names, nothing else (no payload, no ciphertext, no policy). */
function requestSummary(request: Msg): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of ['name', 'parent', 'resource', 'location']) if (typeof request[key] === 'string') out[key] = request[key] as string;
  return out;
}

export interface AuditOptions {
  sink: AuditSink;
  /** Data Access entries for every project (--data-access-logs), besides those whose policy asks for them. */
  dataAccess: boolean;
  iam: IamStore;
  now: () => number;
}

/** Whether the project's policy asks for Data Access entries of this type (an audit config for the service or allServices). */
async function projectWants(iam: IamStore, project: string, logType: LogType): Promise<boolean> {
  const record = await iam.getIamPolicy(`projects/${project}`);
  return record ? logTypesOf(record).has(logType) : false;
}

// The store hands out the same frozen record until the policy changes: its audit configs are read once.
const LOG_TYPES = new WeakMap<IamPolicyRecord, ReadonlySet<string>>();
function logTypesOf(record: IamPolicyRecord): ReadonlySet<string> {
  let types = LOG_TYPES.get(record);
  if (!types) {
    const configs = (JSON.parse(record.policy) as { auditConfigs?: { service?: string; auditLogConfigs?: { logType?: string }[] }[] }).auditConfigs ?? [];
    types = new Set(configs.filter((c) => c.service === 'allServices' || c.service === SERVICE).flatMap((c) => (c.auditLogConfigs ?? []).map((l) => l.logType ?? '')));
    LOG_TYPES.set(record, types);
  }
  return types;
}

/** Every call audited: outermost but for authentication, so the entry names the principal and sees denials. */
export function withAuditLog(table: ReadonlyMap<string, Handler>, options: AuditOptions): ReadonlyMap<string, Handler> {
  const wrap = (fullMethod: string, handler: Handler): Handler => async (request: Msg, call: CallContext) => {
    try {
      options.sink.check();
    } catch {
      throw new KmsError(Code.UNAVAILABLE, 'The audit log can not be written; the call was not run.');
    }
    let need: ReturnType<typeof requirementOf>;
    try {
      need = requirementOf(fullMethod, request);
    } catch {
      need = undefined;
    }
    const names = requestSummary(request);
    const resource = need?.resource ?? names.name ?? names.parent ?? names.resource ?? '';
    let status: { code: number; message?: string } = { code: 0 };
    let answer: Msg | undefined;
    let failure: unknown;
    try {
      answer = await handler(request, call);
    } catch (err) {
      failure = err;
      status = err instanceof KmsError ? { code: err.code, message: err.message } : { code: Code.INTERNAL, message: 'internal error' };
    }
    const logType = need ? logTypeOf(need.permission) : 'ADMIN_WRITE';
    const project = /^projects\/([^/]+)/.exec(resource)?.[1] ?? '-';
    const admin = logType === 'ADMIN_WRITE';
    if (admin || options.dataAccess || (project !== '-' && (await projectWants(options.iam, project, logType)))) {
      const granted = !(failure instanceof KmsError && failure.code === Code.PERMISSION_DENIED);
      const entry = {
        logName: `projects/${project}/logs/cloudaudit.googleapis.com%2F${admin ? 'activity' : 'data_access'}`,
        resource: monitoredResource(resource),
        timestamp: new Date(options.now()).toISOString(),
        severity: status.code === 0 ? (admin ? 'NOTICE' : 'INFO') : 'ERROR',
        insertId: randomBytes(8).toString('hex'),
        protoPayload: {
          '@type': AUDIT_LOG_TYPE,
          serviceName: SERVICE,
          methodName: methodName(fullMethod),
          resourceName: resource,
          authenticationInfo: call.principal ? { principalEmail: call.principal.email } : {},
          authorizationInfo: need ? [{ resource: need.resource, permission: need.permission, granted }] : [],
          requestMetadata: { ...(call.peer ? { callerIp: call.peer } : {}), ...(call.headers['user-agent'] ? { callerSuppliedUserAgent: String(call.headers['user-agent']).slice(0, 256) } : {}) },
          status,
          request: { '@type': `type.googleapis.com/${fullMethod.replace(/\.[^.]+\.([^.]+)$/, '.$1Request')}`, ...names },
        },
      };
      try {
        await options.sink.write(`${JSON.stringify(entry)}\n`);
      } catch {
        throw new KmsError(Code.UNAVAILABLE, 'The audit log could not be written; the answer is withheld.');
      }
    }
    if (failure !== undefined) throw failure;
    return answer!;
  };
  return new Map([...table].map(([method, handler]) => [method, wrap(method, handler)]));
}
