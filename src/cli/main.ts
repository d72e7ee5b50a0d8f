#!/usr/bin/env node
// The `openekm` command. `openekm serve` runs the KMS on the embedded store
// and prints one JSON line with its addresses once it is listening.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { LIMIT_FLAG_OPTIONS, limitsFromFlags } from '../limits';
import { parseTrustedIssuer } from '../jwt';
import { migrateDataDir } from '../data-dir';
import { type AuthOptions, createServer } from '../server';
import { migratePgDatabase } from '../store/pg-store';
import { projectNumber, serviceIdentityEmail } from '../services/ekm-client';
import { isProjectNumber } from '../services/projects';
import { checkHierarchy, type ResourceHierarchy } from '../services/autokey/hierarchy';
import { ekmMain } from '../ekm-server/cli';
import { howTo, runDemo, startPair } from './dev';
import { IAM_USAGE, iamMain, IamUsageError } from './iam';

const USAGE = `usage: openekm serve [--data DIR | --in-memory | --database URL [--migrate] [--database-connections N]]
                     [--host HOST] [--grpc-port PORT]
                     [--rest-port PORT] [--root-key-file FILE] [--allowed-host NAME]... [--cors-origin ORIGIN]...
                     [--ekm-ca-file PEM] [--ekm-deadline-ms MS] [--ekm-issuer URL]
                     [--ekm-client-cert PEM --ekm-client-key PEM] [--ekm-allowed-network CIDR]... [LIMITS]
                     [--auth none|required] [--trust-issuer ISSUER=JWKS_FILE_OR_URL]... [--audience AUD]... [--admin PRINCIPAL]...
                     [--audit-log FILE|-] [--data-access-logs] [--tls-cert PEM --tls-key PEM]
                     [--resource-hierarchy FILE]
       openekm dev [--grpc-port P] [--rest-port P] [--ekm-port P]
                         the KMS and a reference EKM together (./.openekm, ./.openekm-ekm)
       openekm demo      Cloud EKM's usage flow end to end, in a temporary directory
       openekm project ID  a project's number and its KMS service identity towards EKMs
       openekm iam ...   project-level IAM policies, on a stopped server's data directory (openekm iam help)
       openekm ekm ...   the reference external key manager and the EKM conformance suite (openekm ekm help)

  --data DIR          data directory (SQLite database, root key); default ./.openekm
  --in-memory         keep everything in memory; nothing is written to disk
  --database URL      PostgreSQL (postgres://USER@HOST:PORT/DB) instead of a data directory; every replica
                      given the same URL and root key is one KMS (docs/deploy.md); needs --root-key-file
                      or OPENEKM_ROOT_KEY. Default: OPENEKM_DATABASE_URL when set
  --migrate           upgrade the database's schema on start if it is older (else start is refused)
  --database-connections N  most PostgreSQL connections this replica holds; default 10
  --host HOST         interface to listen on; default 127.0.0.1
  --grpc-port PORT    gRPC port; 0 picks a free one; default 9090
  --rest-port PORT    REST/JSON port; 0 picks a free one; default 8080
  --root-key-file F   root key file (base64 of 32 bytes); default DIR/root.key, created on first start
  --ekm-ca-file PEM   extra CA certificates trusted for EXTERNAL key URIs (besides the system's)
  --ekm-deadline-ms MS  budget of one call to an EKM, retries included; default 5000
  --ekm-issuer URL    the iss of the tokens the KMS signs for EKMs; default https://openekm.kms/
                      (the signing keys: DIR/kms-jwks.json, and GET /openekm/v1/jwks.json on the REST port)
  --ekm-client-cert PEM, --ekm-client-key PEM
                      a client certificate (chain) and key the KMS shows EKMs that require mTLS
  --ekm-allowed-network CIDR
                      a network the KMS may connect to for EKM calls (repeatable); with none, any address:
                      set it when callers you do not trust may create EkmConnections or EXTERNAL keys
  --allowed-host NAME a Host header name the REST port answers to, besides its address and loopback
                      names (repeatable; * for any)
  --cors-origin ORIGIN  a web origin (https://host[:port]) whose pages may call the REST API (repeatable)
  --auth MODE         none (default): anyone may do anything, the emulator; required: every call carries
                      Authorization: Bearer <JWT> and needs the permission Cloud KMS checks (docs/iam.md);
                      off loopback it needs --tls-cert and --tls-key
  --trust-issuer ISSUER=JWKS_FILE_OR_URL
                      an issuer whose tokens (with a verified email) authenticate callers (repeatable)
  --audience AUD      an accepted token audience (repeatable); default https://cloudkms.googleapis.com/
  --admin PRINCIPAL   user:EMAIL or serviceAccount:EMAIL holding every permission everywhere (repeatable)
  --tls-cert PEM, --tls-key PEM
                      serve gRPC and REST over TLS (TLS 1.3, and 1.2 with ECDHE and AEAD) with this certificate chain and key
  --audit-log FILE|-  Cloud Audit Log entries as JSON lines, to FILE (appended, 0600) or standard output
  --data-access-logs  Data Access entries (reads, cryptographic calls) for every project, not only Admin Activity
  --resource-hierarchy FILE
                      projects' folders and folders' parents, as JSON, for Autokey (docs/autokey.md):
                      {"projects": {"my-app": "folders/123"}, "folders": {"123": "organizations/1"}}
LIMITS, for each of the gRPC and REST listeners (defaults in brackets):
  --headers-timeout-ms MS [10000]  --body-timeout-ms MS [30000]  --idle-timeout-ms MS [60000]
  --max-connections N [1024]  --max-concurrent-streams N (per HTTP/2 connection) [128]
  --max-buffered-bytes N (request bodies held at once) [67108864]
Environment: OPENEKM_ROOT_KEY (base64 of 32 bytes) overrides the root key file; OPENEKM_DATABASE_URL is
the default of --database (not with --data or --in-memory).
       openekm migrate [--database URL | --data DIR]
  brings the store's schema to this release's version and prints {"from":N,"to":M}; a newer schema is refused.
`;

function port(value: string | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`${flag}: not a port: ${value}`);
  return n;
}

class UsageError extends Error {}

function positive(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag}: not a positive integer: ${value}`);
  return n;
}

function readPem(file: string, flag: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(`${flag}: can not read ${file}`);
  }
  if (!text.includes('-----BEGIN ')) throw new UsageError(`${flag}: ${file} is not PEM`);
  return text;
}

function readHierarchy(file: string | undefined): ResourceHierarchy | undefined {
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(`--resource-hierarchy: can not read ${file}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new UsageError(`--resource-hierarchy: ${file} is not valid JSON`);
  }
  try {
    return checkHierarchy(json, '--resource-hierarchy');
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function authFromFlags(values: { auth?: string; 'trust-issuer'?: string[]; audience?: string[]; admin?: string[] }): AuthOptions {
  const mode = values.auth ?? 'none';
  if (mode !== 'none' && mode !== 'required') throw new UsageError(`--auth takes none or required, not ${mode}`);
  const issuers = (values['trust-issuer'] ?? []).map((v) => {
    const trusted = parseTrustedIssuer(v);
    if (!trusted) throw new UsageError(`--trust-issuer takes ISSUER=JWKS_FILE_OR_URL, not ${v}`);
    return trusted;
  });
  for (const admin of values.admin ?? []) {
    if (!/^(user|serviceAccount):[^@\s]+@[^@\s]+$/.test(admin)) throw new UsageError(`--admin takes user:EMAIL or serviceAccount:EMAIL, not ${admin}`);
  }
  if (mode === 'none' && (issuers.length || values.admin?.length || values.audience?.length)) {
    throw new UsageError('--trust-issuer, --audience and --admin need --auth required');
  }
  return { mode, trustedIssuers: issuers, audiences: values.audience, admins: values.admin };
}

async function serve(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      data: { type: 'string' },
      'in-memory': { type: 'boolean' },
      database: { type: 'string' },
      migrate: { type: 'boolean' },
      'database-connections': { type: 'string' },
      host: { type: 'string' },
      'grpc-port': { type: 'string' },
      'rest-port': { type: 'string' },
      'root-key-file': { type: 'string' },
      'ekm-ca-file': { type: 'string' },
      'ekm-deadline-ms': { type: 'string' },
      'ekm-issuer': { type: 'string' },
      'ekm-client-cert': { type: 'string' },
      'ekm-client-key': { type: 'string' },
      'ekm-allowed-network': { type: 'string', multiple: true },
      'allowed-host': { type: 'string', multiple: true },
      'cors-origin': { type: 'string', multiple: true },
      auth: { type: 'string' },
      'trust-issuer': { type: 'string', multiple: true },
      audience: { type: 'string', multiple: true },
      admin: { type: 'string', multiple: true },
      'audit-log': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'data-access-logs': { type: 'boolean' },
      'resource-hierarchy': { type: 'string' },
      ...LIMIT_FLAG_OPTIONS,
    },
    strict: true,
  });
  if (values.data && values['in-memory']) throw new UsageError('--data and --in-memory exclude each other');
  const database = databaseUrl(values.database, values.data !== undefined || values['in-memory'] === true);
  if (!database && values.migrate) throw new UsageError('--migrate needs --database (a data directory is upgraded when opened)');
  if (!database && values['database-connections'] !== undefined) throw new UsageError('--database-connections needs --database');
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  if ((values['ekm-client-cert'] === undefined) !== (values['ekm-client-key'] === undefined)) {
    throw new UsageError('--ekm-client-cert and --ekm-client-key go together');
  }
  const server = await createServer({
    dataDir: values.data,
    inMemory: values['in-memory'],
    database,
    migrate: values.migrate,
    databaseConnections: positive(values['database-connections'], '--database-connections'),
    host: values.host ?? '127.0.0.1',
    grpcPort: port(values['grpc-port'], 9090, '--grpc-port'),
    restPort: port(values['rest-port'], 8080, '--rest-port'),
    rootKey: process.env.OPENEKM_ROOT_KEY || undefined,
    rootKeyFile: values['root-key-file'],
    ekm: {
      extraCaPem: values['ekm-ca-file'] ? fs.readFileSync(values['ekm-ca-file'], 'utf8') : undefined,
      deadlineMs: positive(values['ekm-deadline-ms'], '--ekm-deadline-ms'),
      issuer: values['ekm-issuer'],
      clientCertificate: values['ekm-client-cert'] ? {
        certPem: fs.readFileSync(values['ekm-client-cert'], 'utf8'),
        keyPem: fs.readFileSync(values['ekm-client-key']!, 'utf8'),
      } : undefined,
      allowedNetworks: values['ekm-allowed-network'],
    },
    limits: limitsFromFlags(values, (m) => new UsageError(m)),
    allowedHosts: values['allowed-host'],
    corsOrigins: values['cors-origin'],
    auth: authFromFlags(values),
    auditLog: values['audit-log'],
    tls: values['tls-cert'] ? { certPem: readPem(values['tls-cert'], '--tls-cert'), keyPem: readPem(values['tls-key']!, '--tls-key') } : undefined,
    dataAccessLogs: values['data-access-logs'],
    resourceHierarchy: readHierarchy(values['resource-hierarchy']),
  });
  process.stdout.write(`${JSON.stringify(server.addresses)}\n`);
  let closing = false;
  const stop = () => {
    if (closing) return;
    closing = true;
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/**
 * The PostgreSQL connection string to use: --database, else OPENEKM_DATABASE_URL
 * unless another store was named. Checked here so a typo is a usage error, not a connection failure.
 */
function databaseUrl(flag: string | undefined, otherStore: boolean): string | undefined {
  if (flag !== undefined && otherStore) throw new UsageError('--database excludes --data and --in-memory');
  const url = flag ?? (otherStore ? undefined : process.env.OPENEKM_DATABASE_URL || undefined);
  if (url === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--database takes a postgres:// or postgresql:// URL${flag === undefined ? ' (from OPENEKM_DATABASE_URL)' : ''}`);
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new UsageError(`--database takes a postgres:// or postgresql:// URL, not ${parsed.protocol}//...`);
  }
  return url;
}

/** `openekm migrate`: the store's schema brought to this release's version. */
async function migrate(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { database: { type: 'string' }, data: { type: 'string' } }, strict: true });
  const database = databaseUrl(values.database, values.data !== undefined);
  const result = database
    ? await migratePgDatabase(database, true)
    : await migrateDataDir(values.data ?? '.openekm');
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

async function dev(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { 'grpc-port': { type: 'string' }, 'rest-port': { type: 'string' }, 'ekm-port': { type: 'string' } },
    strict: true,
  });
  const pair = await startPair(path.resolve('.openekm'), path.resolve('.openekm-ekm'), {
    grpc: port(values['grpc-port'], 9090, '--grpc-port'),
    rest: port(values['rest-port'], 8080, '--rest-port'),
    ekm: port(values['ekm-port'], 8443, '--ekm-port'),
  });
  process.stdout.write(`${JSON.stringify({ ...pair.kms.addresses, ekm: pair.ekm.url })}\n${howTo(pair)}`);
  let closing = false;
  const stop = () => {
    if (closing) return;
    closing = true;
    pair.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/** `openekm project ID`: what names a project here besides its id, and what EKMs see it as. */
function project(args: string[]): void {
  const [id, ...extra] = args;
  if (id === undefined || extra.length > 0 || !/^[a-zA-Z0-9._:-]{1,128}$/.test(id)) {
    throw new UsageError('openekm project takes one project id');
  }
  const number = isProjectNumber(id) ? id : projectNumber(id);
  process.stdout.write(`${JSON.stringify({ ...(isProjectNumber(id) ? {} : { projectId: id }), projectNumber: number, ekmServiceIdentity: serviceIdentityEmail(number) })}\n`);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === 'project') return project(rest);
  if (command === 'serve') return serve(rest);
  if (command === 'migrate') return migrate(rest);
  if (command === 'ekm') return ekmMain(rest);
  if (command === 'iam') return iamMain(rest, (text) => process.stdout.write(text));
  if (command === 'dev') return dev(rest);
  if (command === 'demo') return runDemo((line) => process.stdout.write(`${line}\n`));
  if (command === undefined || command === 'help' || command === '--help') {
    process.stdout.write(USAGE);
    return;
  }
  throw new UsageError(`unknown command: ${command}`);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const iam = err instanceof IamUsageError;
  const usage = iam || err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
  process.stderr.write(`openekm: ${(err as Error).message}\n${usage ? (iam ? IAM_USAGE : USAGE) : ''}`);
  process.exit(usage ? 2 : 1);
});
