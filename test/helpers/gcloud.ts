// gcloud pointed at an OpenEKM REST port: a temporary CLOUDSDK_CONFIG whose
// properties send cloudkms to the server, with credentials, the metadata
// probe, usage reporting, prompts and update checks all off.
//
// On a machine without gcloud the suites using it are skipped with a visible
// line; OPENEKM_REQUIRE_GCLOUD=1 (set by .ci/run) turns that skip into a failure.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from './kms';

export interface GcloudResult {
  stdout: string;
  stderr: string;
}

export interface Gcloud {
  configDir: string;
  /** Runs gcloud; rejects with stderr in the message when it exits non-zero. */
  run(args: string[]): Promise<GcloudResult>;
  /** Runs gcloud with --format=json and parses stdout. */
  json<T = Record<string, unknown>>(args: string[]): Promise<T>;
  /** Like json, for commands that print one resource (create prints it as a list of one). */
  resource<T = Record<string, unknown>>(args: string[]): Promise<T>;
  /** Runs gcloud expecting failure; resolves with its stderr. */
  fails(args: string[]): Promise<string>;
  close(): void;
}

/**
 * The gcloud binary, or undefined when this machine has none. OPENEKM_GCLOUD,
 * when set, is the only place looked at (a missing path means no gcloud).
 */
export function findGcloud(): string | undefined {
  const override = process.env.OPENEKM_GCLOUD;
  const candidates = override ? [override] : ['/usr/bin/gcloud'];
  if (!override) for (const dir of (process.env.PATH ?? '').split(path.delimiter)) if (dir) candidates.push(path.join(dir, 'gcloud'));
  for (const candidate of candidates) {
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not this one
    }
  }
  return undefined;
}

/**
 * Why the gcloud suites are skipped, or false to run them. Throws when gcloud
 * is missing and OPENEKM_REQUIRE_GCLOUD=1 says it must be there.
 */
export function gcloudSkip(): string | false {
  if (findGcloud()) return false;
  const reason = 'gcloud not found ($OPENEKM_GCLOUD, else /usr/bin/gcloud and PATH): gcloud tests SKIPPED';
  if (process.env.OPENEKM_REQUIRE_GCLOUD === '1') throw new Error(`${reason}, but OPENEKM_REQUIRE_GCLOUD=1 requires them`);
  process.stderr.write(`# ${reason}\n`);
  return reason;
}

/** gcloud with the given API endpoint overrides; it runs in `cwd` (some commands write files there). */
export function startGcloud(endpoints: Record<string, string>, project = 'test-project', cwd?: string, accessTokenFile?: string): Gcloud {
  const binary = findGcloud();
  if (!binary) throw new Error('gcloud is not installed');
  const configDir = tempDir('openekm-gcloud-');
  fs.mkdirSync(path.join(configDir, 'configurations'));
  fs.writeFileSync(path.join(configDir, 'active_config'), 'default');
  const overrides = Object.entries(endpoints).map(([api, url]) => `${api} = ${url.endsWith('/') ? url : `${url}/`}`);
  fs.writeFileSync(
    path.join(configDir, 'configurations', 'config_default'),
    [
      '[core]',
      `project = ${project}`,
      'disable_usage_reporting = true',
      'check_gce_metadata = false',
      'disable_prompts = true',
      '[auth]',
      // With a token file gcloud sends its content as the bearer token; without one, no credentials at all.
      ...(accessTokenFile ? [`access_token_file = ${accessTokenFile}`] : ['disable_credentials = true']),
      '[component_manager]',
      'disable_update_check = true',
      '[survey]',
      'disable_prompts = true',
      '[api_endpoint_overrides]',
      ...overrides,
      '',
    ].join('\n'),
  );
  const env = {
    ...process.env,
    CLOUDSDK_CONFIG: configDir,
    CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
    METADATA_SERVER_DETECTION: 'none',
    GCE_METADATA_HOST: '127.0.0.1:9',
    GCE_METADATA_IP: '127.0.0.1:9',
    NO_GCE_CHECK: 'true',
  };
  const exec = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(binary, args, { env, cwd: cwd ?? configDir, maxBuffer: 64 * 1024 * 1024, timeout: 120_000 }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  const run = async (args: string[]): Promise<GcloudResult> => {
    const r = await exec(args);
    if (r.code !== 0) throw new Error(`gcloud ${args.join(' ')} exited ${r.code}:\n${r.stderr}`);
    return r;
  };
  return {
    configDir,
    run,
    json: async <T>(args: string[]) => JSON.parse((await run([...args, '--format=json'])).stdout) as T,
    resource: async <T>(args: string[]) => {
      const parsed = JSON.parse((await run([...args, '--format=json'])).stdout) as T | T[];
      if (!Array.isArray(parsed)) return parsed;
      if (parsed.length !== 1) throw new Error(`gcloud ${args.join(' ')} printed ${parsed.length} resources, not one`);
      return parsed[0];
    },
    fails: async (args: string[]) => {
      const r = await exec(args);
      if (r.code === 0) throw new Error(`gcloud ${args.join(' ')} succeeded; a failure was expected:\n${r.stdout}`);
      return r.stderr;
    },
    close: () => fs.rmSync(configDir, { recursive: true, force: true }),
  };
}
