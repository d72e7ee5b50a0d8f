// `openekm ekm ...`: the reference EKM's command line. `serve` runs the
// server and prints one JSON line once it listens; the operator commands
// (cli-admin.ts) talk to the running server through its admin socket;
// `conformance` runs the conformance suite against any EKM (src/ekm-conformance).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { LIMIT_FLAG_OPTIONS, limitsFromFlags } from '../limits';
import { DEFAULT_DATA_DIR, UsageError, runAdminCommand, type Io } from './cli-admin';
import { createEkmServer } from './server';
import { parseTrustedIssuer, type TrustedIssuer } from '../jwt';

export const EKM_USAGE = `usage: openekm ekm serve --data DIR [--port P] [--host H] [--hostname NAME]
                         [--trust-issuer ISSUER=JWKS_FILE_OR_URL]... [--audience AUD]...
                         [--tls-cert FILE --tls-key FILE] [--client-ca FILE] [--jwks-ca FILE]
                         [--root-key-file FILE] [--max-token-lifetime-s S] [LIMITS]
       openekm ekm crypto-spaces create NAME [--caller EMAIL]... [--reasons OP=R1,R2]... [--allow-missing-reason]
       openekm ekm crypto-spaces list|describe [NAME]
       openekm ekm keys create --crypto-space NAME --algorithm ALG [--id ID]   (prints the key path)
       openekm ekm keys list [--crypto-space NAME]
       openekm ekm keys describe|disable|enable|destroy KEY_PATH
       openekm ekm policy get (--crypto-space NAME | --key KEY_PATH)
       openekm ekm policy set (--crypto-space NAME | --key KEY_PATH) [--callers A,B] [--add-caller E]...
                         [--remove-caller E]... [--reasons OP=R1,R2]... [--allow-missing-reason true|false]
                         [--policy-file FILE] [--inherit]
       openekm ekm audit tail [-n N] [--follow]
       openekm ekm conformance --url URL --issuer ISS --signing-key-file PEM --caller EMAIL --key-a PATH ...
                         the conformance suite against any EKM (openekm ekm conformance --help)
Every command but conformance takes --data DIR (default ./.openekm-ekm). OP is wrap, unwrap, asymmetricSign,
getPublicKey, createKey, destroyKey or default; R is an AccessReason name.
--max-token-lifetime-s S: tokens whose exp - iat is longer are refused [3600].
LIMITS of the HTTPS listener (defaults in brackets): --headers-timeout-ms MS [10000]
  --body-timeout-ms MS [30000] --idle-timeout-ms MS [60000] --max-connections N [1024]
  --max-buffered-bytes N (request bodies held at once) [33554432]
`;

// HTTP/1.1 only: the per-connection stream limit does not apply.
const EKM_LIMIT_FLAG_OPTIONS = Object.fromEntries(Object.entries(LIMIT_FLAG_OPTIONS).filter(([flag]) => flag !== 'max-concurrent-streams'));

function port(value: string | undefined): number {
  if (value === undefined) return 8443;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--port: not a port: ${value}`);
  return n;
}

function seconds(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[0-9]+$/.test(value) || Number(value) < 1) throw new UsageError(`${flag}: not a positive number of seconds: ${value}`);
  return Number(value) * 1000;
}

function trustedIssuers(values: readonly string[] = []): TrustedIssuer[] {
  return values.map((v) => {
    const trusted = parseTrustedIssuer(v);
    if (!trusted) throw new UsageError(`--trust-issuer takes ISSUER=JWKS_FILE_OR_URL, not ${v}`);
    return trusted;
  });
}

async function serve(args: string[], io: Io): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      data: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, hostname: { type: 'string' },
      'trust-issuer': { type: 'string', multiple: true }, audience: { type: 'string', multiple: true },
      'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' }, 'client-ca': { type: 'string' },
      'jwks-ca': { type: 'string' }, 'root-key-file': { type: 'string' }, 'max-token-lifetime-s': { type: 'string' },
      ...EKM_LIMIT_FLAG_OPTIONS,
    },
    strict: true,
  });
  const server = await createEkmServer({
    dataDir: values.data ?? DEFAULT_DATA_DIR,
    port: port(values.port),
    host: values.host ?? '127.0.0.1',
    hostname: values.hostname,
    trustedIssuers: trustedIssuers(values['trust-issuer']),
    audiences: values.audience,
    tlsCertFile: values['tls-cert'],
    tlsKeyFile: values['tls-key'],
    clientCaFile: values['client-ca'],
    jwksCa: values['jwks-ca'] ? readFileSync(values['jwks-ca']) : undefined,
    rootKeyFile: values['root-key-file'],
    limits: limitsFromFlags(values, (m) => new UsageError(m)),
    maxTokenLifetimeMs: seconds(values['max-token-lifetime-s'], '--max-token-lifetime-s'),
  });
  io.out(`${JSON.stringify({
    url: server.url, hostname: server.hostname, audiences: server.audiences, certificateDer: server.certificateDerPath,
    sha256Fingerprint: server.sha256Fingerprint, adminSocket: server.adminSocketPath, auditLog: server.auditLogPath,
  })}\n`);
  let closing = false;
  const stop = () => {
    if (closing) return;
    closing = true;
    server.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/** Runs one `openekm ekm` command; resolves with its exit code (serve resolves once listening). */
export async function runEkmCommand(args: string[], io: Io): Promise<number> {
  const [command, ...rest] = args;
  try {
    // Loaded only for this command: the server never carries the suite.
    if (command === 'conformance') return await (await import('../ekm-conformance/cli')).runConformanceCommand(rest, io);
    if (command === 'serve') await serve(rest, io);
    else if (command === undefined || command === 'help' || command === '--help') io.out(EKM_USAGE);
    else if (!(await runAdminCommand(command, rest, io))) throw new UsageError(`unknown command: ekm ${command}`);
    return 0;
  } catch (err) {
    const usage = err instanceof UsageError || String((err as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS');
    io.err(`openekm ekm: ${(err as Error).message}\n${usage ? EKM_USAGE : ''}`);
    return usage ? 2 : 1;
  }
}

/** The `openekm ekm` entry of src/cli/main.ts. */
export async function ekmMain(args: string[]): Promise<void> {
  const code = await runEkmCommand(args, { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) });
  if (code !== 0) process.exitCode = code;
}
