// The hardening flags as a user types them, right and wrong: each bad value
// is refused before anything listens, naming the flag, without a stack trace;
// and `openekm project` prints a project's number and EKM identity.
import '../helpers/env';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { projectNumber, serviceIdentityEmail } from '../../src/services/ekm-client';
import { tempDir } from '../helpers/kms';

const MAIN = path.resolve(__dirname, '../../src/cli/main.js');
/** A --resource-hierarchy file holding `json`. */
function hierarchy(json: string): string {
  const file = path.join(tempDir(), 'hierarchy.json');
  fs.writeFileSync(file, json);
  return file;
}

const run = (args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 20_000 });

test('bad values of the hardening flags: refused, naming the flag, no stack trace', () => {
  const serve = ['serve', '--in-memory', '--grpc-port', '0', '--rest-port', '0'];
  const cases: Array<[string[], RegExp]> = [
    [[...serve, '--max-connections', '0'], /--max-connections: not a positive integer: 0/],
    [[...serve, '--max-buffered-bytes', '12abc'], /--max-buffered-bytes: not a positive integer: 12abc/],
    [[...serve, '--body-timeout-ms=-5'], /--body-timeout-ms: not a positive integer: -5/],
    [[...serve, '--headers-timeout-ms', '1.5'], /--headers-timeout-ms: not a positive integer: 1\.5/],
    [[...serve, '--ekm-allowed-network', '10.0.0.0/40'], /--ekm-allowed-network: '10\.0\.0\.0\/40'/],
    [[...serve, '--ekm-allowed-network', 'example.com'], /--ekm-allowed-network: 'example\.com'/],
    [[...serve, '--cors-origin', 'not an origin'], /--cors-origin: 'not an origin' is not an origin/],
    [[...serve, '--ekm-client-cert', '/nonexistent'], /--ekm-client-cert and --ekm-client-key go together/],
    [[...serve, '--auth', 'maybe'], /--auth takes none or required, not maybe/],
    [[...serve, '--auth', 'required', '--trust-issuer', 'no-equals'], /--trust-issuer takes ISSUER=JWKS_FILE_OR_URL, not no-equals/],
    [[...serve, '--auth', 'required', '--trust-issuer', 'https://i=/x.json', '--admin', 'alice@example.com'], /--admin takes user:EMAIL or serviceAccount:EMAIL, not alice@example\.com/],
    [[...serve, '--admin', 'user:alice@example.com'], /--trust-issuer, --audience and --admin need --auth required/],
    [[...serve, '--host', '192.0.2.1', '--auth', 'required', '--trust-issuer', 'https://i=/nonexistent.json'], /needs --tls-cert and --tls-key/],
    [[...serve, '--tls-cert', '/nonexistent'], /--tls-cert and --tls-key go together/],
    [[...serve, '--tls-cert', '/nonexistent', '--tls-key', '/nonexistent'], /--tls-cert: can not read \/nonexistent/],
    [[...serve, '--audit-log', '/nonexistent-dir/audit.jsonl'], /--audit-log: can not open \/nonexistent-dir\/audit\.jsonl for appending/],
    [[...serve, '--resource-hierarchy', '/nonexistent.json'], /--resource-hierarchy: can not read \/nonexistent\.json/],
    [[...serve, '--resource-hierarchy', hierarchy('{"projects": ')], /--resource-hierarchy: \S+ is not valid JSON/],
    [[...serve, '--resource-hierarchy', hierarchy('{"projects": {"p": "folder/1"}}')], /--resource-hierarchy\.projects\.p: parent "folder\/1" must be folders\/NUMBER or organizations\/NUMBER/],
    [[...serve, '--resource-hierarchy', hierarchy('{"folders": {"1": "folders/2", "2": "folders/1"}}')], /--resource-hierarchy\.folders: folder 1 is its own ancestor/],
    [[...serve, '--resource-hierarchy', hierarchy('{"orgs": {}}')], /--resource-hierarchy: unknown key "orgs"/],
    [['serve', '--database', 'not a url', '--root-key-file', '/nonexistent'], /--database takes a postgres:\/\/ or postgresql:\/\/ URL/],
    [['serve', '--database', 'mysql://u@h/db'], /--database takes a postgres:\/\/ or postgresql:\/\/ URL, not mysql:\/\/\.\.\./],
    [[...serve, '--database', 'postgres://u@127.0.0.1:9/db'], /--database excludes --data and --in-memory/],
    [['serve', '--database', 'postgres://u@127.0.0.1:9/db', '--grpc-port', '0', '--rest-port', '0'], /--database needs the root key every replica shares/],
    [['serve', '--database', 'postgres://u:secret@127.0.0.1:9/db', '--root-key-file', path.join(tempDir(), 'k'), '--grpc-port', '0', '--rest-port', '0'], /Cannot connect to postgres:\/\/u:\*\*\*@127\.0\.0\.1:9\/db: the connection was refused/],
    [[...serve, '--migrate'], /--migrate needs --database/],
    [['serve', '--database', 'postgres://u@127.0.0.1:9/db', '--database-connections', '0'], /--database-connections: not a positive integer: 0/],
    [['migrate', '--database', 'http://x'], /--database takes a postgres:\/\/ or postgresql:\/\/ URL/],
    [['migrate', '--data', tempDir(), '--database', 'postgres://u@h/db'], /--database excludes --data and --in-memory/],
    [['migrate', '--wat'], /Unknown option '--wat'/],
    [['ekm', 'serve', '--data', tempDir(), '--port', '0', '--max-token-lifetime-s', '0'], /--max-token-lifetime-s: not a positive number of seconds: 0/],
    [['ekm', 'serve', '--data', tempDir(), '--port', '0', '--max-connections', 'many'], /--max-connections: not a positive integer: many/],
    [['ekm', 'serve', '--data', tempDir(), '--port', '0', '--max-concurrent-streams', '4'], /Unknown option '--max-concurrent-streams'/],
  ];
  for (const [args, message] of cases) {
    const result = run(args);
    assert.notEqual(result.status, 0, args.join(' '));
    assert.match(result.stderr, message, args.join(' '));
    assert.doesNotMatch(result.stderr, /\n\s+at /, `no stack trace for ${args.join(' ')}`);
  }
});

test('openekm project prints the number and the EKM identity; a number prints its identity', () => {
  const byId = run(['project', 'my-project']);
  assert.equal(byId.status, 0);
  assert.deepEqual(JSON.parse(byId.stdout), {
    projectId: 'my-project', projectNumber: projectNumber('my-project'), ekmServiceIdentity: serviceIdentityEmail('my-project'),
  });
  const byNumber = run(['project', projectNumber('my-project')]);
  assert.equal((JSON.parse(byNumber.stdout) as { ekmServiceIdentity: string }).ekmServiceIdentity, serviceIdentityEmail('my-project'));
  for (const bad of [[], ['a', 'b'], ['bad/name']]) {
    const result = run(['project', ...bad]);
    assert.equal(result.status, 2, bad.join(' '));
    assert.match(result.stderr, /openekm project takes one project id/);
  }
});
