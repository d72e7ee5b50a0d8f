// `openekm iam ...`: the operator's side of IAM, on a stopped server's data
// directory (the server holds it while it runs): project-level policies,
// which Cloud KMS reads from Resource Manager and this KMS from here.
import { createPrivateKey, createPublicKey } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { openDataDir } from '../data-dir';
import { KmsError } from '../errors';
import type { Policy } from '../proto/wire';
import { getProjectPolicy, setProjectPolicy } from '../services/iam/policies';
import { PROJECT } from '../services/names';

export const IAM_USAGE = `usage: openekm iam set-project-policy --project ID --policy-file FILE [--data DIR]
       openekm iam get-project-policy --project ID [--data DIR]
       openekm iam service-accounts add-key --key-file SA_KEY.json [--data DIR]
  Project-level IAM policies (bindings on every key ring, key and EKM connection of the project, and
  its audit configs), in the JSON gcloud prints and reads. A service account's key file (as Google
  issues them) registers its public key, so that the official clients given that key file
  authenticate with their self-signed tokens; the private key is read and not kept.
  On a data directory no server holds.
  --data DIR   the KMS's data directory; default ./.openekm
`;

export class IamUsageError extends Error {}

/** The JSON policy a file holds, as the services take it (etag bytes from base64; gcloud writes URL-safe base64). */
function readPolicy(file: string): Policy {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new IamUsageError(`--policy-file: can not read ${file}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new IamUsageError(`--policy-file: ${file} is not JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new IamUsageError(`--policy-file: ${file} does not hold a JSON object (a Policy)`);
  const policy = parsed as Policy & { etag?: unknown };
  return { ...policy, etag: typeof policy.etag === 'string' ? Buffer.from(policy.etag, 'base64') : undefined };
}

/** The policy as gcloud prints it: etag in base64. */
const printable = (policy: Policy): string =>
  `${JSON.stringify({ ...policy, etag: policy.etag ? Buffer.from(policy.etag).toString('base64') : undefined }, null, 2)}\n`;

/** The service account and public key of a Google key file; its private key is used to derive them and dropped. */
function readKeyFile(file: string): { email: string; keyId: string; publicKeyPem: string } {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    throw new IamUsageError(`--key-file: ${file} is not a readable JSON key file`);
  }
  const email = parsed.client_email;
  const keyId = parsed.private_key_id;
  if (parsed.type !== 'service_account' || typeof email !== 'string' || !/^[a-z0-9-]+@[a-z0-9.-]+\.gserviceaccount\.com$/.test(email)) {
    throw new IamUsageError(`--key-file: ${file} is not a service account key (type service_account, client_email ...@....gserviceaccount.com)`);
  }
  if (typeof keyId !== 'string' || !/^[0-9a-f]{1,64}$/i.test(keyId)) throw new IamUsageError(`--key-file: ${file} has no private_key_id`);
  let publicKeyPem: string;
  try {
    const key = createPrivateKey(String(parsed.private_key));
    if (key.asymmetricKeyType !== 'rsa') throw new Error('not RSA');
    publicKeyPem = createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
  } catch {
    throw new IamUsageError(`--key-file: ${file} holds no RSA private key (private_key)`);
  }
  return { email, keyId, publicKeyPem };
}

async function serviceAccounts(args: string[], write: (text: string) => void): Promise<void> {
  const [command, ...rest] = args;
  if (command !== 'add-key') throw new IamUsageError(`unknown iam service-accounts command: ${command ?? '(none)'}`);
  const { values } = parseArgs({ args: rest, options: { 'key-file': { type: 'string' }, data: { type: 'string' } }, strict: true });
  if (!values['key-file']) throw new IamUsageError('--key-file: required');
  const key = readKeyFile(values['key-file']);
  const opened = openDataDir(path.resolve(values.data ?? '.openekm'));
  try {
    await opened.store.iam.putServiceAccountKey(key.email, key.keyId, key.publicKeyPem);
    write(`${JSON.stringify({ serviceAccount: key.email, keyId: key.keyId, member: `serviceAccount:${key.email}` })}\n`);
  } finally {
    await opened.store.close();
    opened.release();
  }
}

export async function iamMain(args: string[], write: (text: string) => void): Promise<void> {
  const [command, ...rest] = args;
  if (command === undefined || command === 'help' || command === '--help') {
    write(IAM_USAGE);
    return;
  }
  if (command === 'service-accounts') return serviceAccounts(rest, write);
  if (command !== 'set-project-policy' && command !== 'get-project-policy') throw new IamUsageError(`unknown iam command: ${command}`);
  const { values } = parseArgs({ args: rest, options: { project: { type: 'string' }, 'policy-file': { type: 'string' }, data: { type: 'string' } }, strict: true });
  const project = values.project;
  if (!project || !PROJECT.test(project)) throw new IamUsageError('--project: a project id is required');
  if (command === 'set-project-policy' && !values['policy-file']) throw new IamUsageError('--policy-file: required');
  const policy = command === 'set-project-policy' ? readPolicy(values['policy-file']!) : undefined;
  const dir = path.resolve(values.data ?? '.openekm');
  // A directory a running server holds is refused, naming that process (data-dir.ts).
  const opened = openDataDir(dir);
  try {
    const shown = policy ? await setProjectPolicy(opened.store.iam, project, policy) : await getProjectPolicy(opened.store.iam, project);
    write(printable(shown));
  } catch (err) {
    // The policy's checks answer in the API's words, naming the field.
    if (err instanceof KmsError) throw new IamUsageError(err.message);
    throw err;
  } finally {
    await opened.store.close();
    opened.release();
  }
}
