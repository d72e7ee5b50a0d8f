// The conformance suite against the reference EKM: real TLS on loopback, a
// real token signer, fixture keys made through the admin interface. Every
// case runs as its own subtest (so a failure names it), then the real
// `openekm ekm conformance` command runs as a child process against the same
// EKM: once as it should pass, once with a target that must fail.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runEkmCommand } from '../../src/ekm-server/cli';
import { openSession } from '../../src/ekm-conformance/session';
import { runCase, type CaseResult, type ConformanceReport } from '../../src/ekm-conformance/runner';
import { conformanceCases } from '../../src/ekm-conformance/suite';
import { loadTarget, type ConformanceTarget } from '../../src/ekm-conformance/target';
import { conformanceFixture, startReferenceEkm, tempDir, type ReferenceEkm } from './helpers';

const MAIN = path.resolve(__dirname, '../../src/cli/main.js');

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `openekm ARGS` as a child process (asynchronously: the EKM under test answers from this process). */
function openekm(args: string[]): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, METADATA_SERVER_DETECTION: 'none' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The command-line flags that describe the fixture target; its PEMs are written into dir. */
function flagsFor(target: ConformanceTarget, dir: string): string[] {
  const ca = path.join(dir, 'ekm-ca.pem');
  const key = path.join(dir, 'signer-key.pem');
  fs.writeFileSync(ca, target.tls.ca!);
  fs.writeFileSync(key, target.signer.privateKeyPem, { mode: 0o600 });
  return [
    '--url', target.url, '--audience', target.audience, '--ca-file', ca, '--pin-sha256', target.tls.pinnedSha256!,
    '--issuer', target.signer.issuer, '--signing-key-file', key, '--alg', target.signer.alg, '--kid', target.signer.kid!,
    '--caller', target.callerEmail, '--denied-caller', target.deniedCallerEmail, '--allowed-reason', target.allowedReason,
    ...Object.entries(target.deniedReasons).flatMap(([op, reasons]) => ['--denied-reason', `${op}=${reasons!.join(',')}`]),
    '--key-a', target.keys.wrapA, '--key-b', target.keys.wrapB, '--disabled-key', target.keys.disabled,
    '--destroyed-key', target.keys.destroyed, '--unknown-key', target.keys.unknown,
    ...(target.keys.signing ?? []).flatMap((k) => ['--signing-key', `${k.path}=${k.algorithm}`]),
    '--crypto-space', target.cryptoSpace!, '--audit-log', target.auditLogFile!,
  ];
}

void describe('EKM conformance: reference EKM', () => {
  let ekm: ReferenceEkm | undefined;
  let target: ConformanceTarget;
  let dir: string;

  before(async () => {
    ekm = await startReferenceEkm();
    target = await conformanceFixture(ekm);
    dir = tempDir('openekm-conformance-');
  });
  after(async () => {
    await ekm?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  void test('every case passes, each as its own subtest', async (t) => {
    const cases = conformanceCases(target);
    const session = openSession(target);
    const results: CaseResult[] = [];
    try {
      for (const c of cases) {
        await t.test(c.id, async () => {
          const result = await runCase(session, c);
          results.push(result);
          assert.equal(result.status, 'pass', `${c.id} (${c.name}): ${result.status}: ${result.detail}`);
        });
      }
    } finally {
      session.close();
    }
    assert.ok(results.length >= 50, `only ${results.length} cases ran`);
    assert.deepEqual(results.filter((r) => r.status !== 'pass').map((r) => r.id), []);
  });

  void test('openekm ekm conformance passes against it, prints the table and writes the report', async () => {
    const reportFile = path.join(dir, 'report.json');
    const run = await openekm(['ekm', 'conformance', ...flagsFor(target, dir), '--report', reportFile]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const report = JSON.parse(fs.readFileSync(reportFile, 'utf8')) as ConformanceReport;
    assert.equal(report.target, target.url);
    assert.ok(!Number.isNaN(Date.parse(report.started)));
    assert.ok(report.cases.length >= 50, `${report.cases.length} cases`);
    assert.deepEqual([report.passed, report.failed, report.skipped], [report.cases.length, 0, 0]);
    for (const id of ['transport.healthz', 'wrap.roundtrip-aad', 'token.flipped-signature-bit', 'audit.no-secrets']) {
      assert.match(run.stdout, new RegExp(`^${id.replace(/\./g, '\\.')} +pass +\\d+$`, 'm'), `the table lacks ${id}`);
    }
    assert.match(run.stdout, new RegExp(`^${report.cases.length} cases against .*: ${report.passed} passed, 0 failed, 0 skipped: PASS$`, 'm'));
    assert.doesNotMatch(run.stdout, /eyJ|BEGIN/, 'a token or key in the output');
  });

  void test('openekm ekm conformance exits 1 and lists the failures when the target is wrong', async () => {
    const reportFile = path.join(dir, 'failing.json');
    const flags = [...flagsFor(target, dir), '--allowed-reason', 'THIRD_PARTY_DATA_REQUEST', '--skip', 'sign.*', '--report', reportFile];
    const run = await openekm(['ekm', 'conformance', ...flags]);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    const report = JSON.parse(fs.readFileSync(reportFile, 'utf8')) as ConformanceReport;
    const roundTrip = report.cases.find((c) => c.id === 'wrap.roundtrip');
    assert.equal(roundTrip?.status, 'fail');
    assert.match(roundTrip?.detail ?? '', /expected 200, got HTTP 403, PERMISSION_DENIED/);
    assert.ok(report.failed > 0 && report.failed === report.cases.filter((c) => c.status === 'fail').length);
    assert.ok(report.skipped >= 5, 'the sign cases are reported skipped');
    assert.match(run.stdout, /^wrap\.roundtrip +fail +\d+ +wrap: expected 200, got HTTP 403, PERMISSION_DENIED/m);
    assert.match(run.stdout, /^sign\.digest-wrong-hash +skip +0 +skipped on request$/m);
    assert.match(run.stdout, new RegExp(`: ${report.passed} passed, ${report.failed} failed, ${report.skipped} skipped: FAIL \\(`, 'm'));
  });

  void test('openekm ekm conformance: --help, and a usage error naming the missing flag', async () => {
    const help = await openekm(['ekm', 'conformance', '--help']);
    assert.equal(help.code, 0, help.stderr);
    for (const flag of ['--url', '--signing-key-file', '--denied-reason', '--signing-key', '--report', '--skip']) assert.ok(help.stdout.includes(flag), flag);
    const missing = await openekm(['ekm', 'conformance', '--url', target.url]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--issuer is required/);
    const unknown = await openekm(['ekm', 'conformance', ...flagsFor(target, dir), '--skip', 'no.such-case']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no\.such-case: no case has that id/);
  });
  void test('bad flags and files: exit 2 in our words naming the flag, never a library message', async () => {
    const base = flagsFor(target, dir);
    const without = (flag: string) => { const i = base.indexOf(flag); return [...base.slice(0, i), ...base.slice(i + 2)]; };
    const write = (name: string, text: string) => { const f = path.join(dir, name); fs.writeFileSync(f, text); return f; };
    const cases: Array<[string, string[], RegExp]> = [
      ['unknown flag', [...base, '--frobnicate'], /unknown flag --frobnicate/],
      ['flag without a value', [...base, '--url'], /--url needs a value/],
      ['stray argument', [...base, 'extra'], /unexpected argument/],
      ['not a URL', [...without('--url'), '--url', 'not a url'], /the EKM URL "not a url" is not a URL/],
      ['http URL', [...without('--url'), '--url', 'http://127.0.0.1:1/'], /must be https:\/\/HOST/],
      ['missing CA file', [...without('--ca-file'), '--ca-file', path.join(dir, 'nope.pem')], /--ca-file: cannot read .*nope\.pem: no such file/],
      ['signing key not PEM', [...without('--signing-key-file'), '--signing-key-file', write('junk.pem', 'junk')], /the signing key is not a PEM private key/],
      ['bad --alg', [...without('--alg'), '--alg', 'HS256'], /ES256 or RS256, not HS256/],
      ['bad --denied-reason', [...base, '--denied-reason', 'wrap'], /--denied-reason takes OP=REASON,REASON, not wrap/],
      ['unknown operation', [...base, '--denied-reason', 'frob=X'], /--denied-reason: frob is not one of/],
      ['bad --signing-key', [...base, '--signing-key', 'path='], /--signing-key takes PATH=ALGORITHM/],
      ['client cert alone', [...base, '--client-cert', write('c.pem', 'x')], /--client-cert and --client-key go together/],
      ['config not JSON', [...base, '--config', write('bad.json', '{"url":')], /--config: cannot read .*bad\.json: it is not valid JSON/],
      ['config not an object', [...base, '--config', write('list.json', '[1]')], /--config: cannot read .*list\.json: it must hold a JSON object/],
      ['missing config', [...base, '--config', path.join(dir, 'none.json')], /--config: cannot read .*none\.json: no such file/],
    ];
    for (const [name, args, expected] of cases) {
      const run = await openekm(['ekm', 'conformance', ...args]);
      assert.equal(run.code, 2, `${name}: ${run.stderr}`);
      assert.match(run.stderr, expected, name);
      assert.doesNotMatch(run.stderr, /ENOENT|ERR_|SyntaxError|TypeError|Unexpected token|DECODER|\n\s+at /, name);
    }
    const unwritable = await openekm(['ekm', 'conformance', ...base, '--only', 'transport.healthz', '--report', path.join(dir, 'no-dir', 'r.json')]);
    assert.equal(unwritable.code, 1);
    assert.match(unwritable.stderr, /--report: cannot write .*r\.json: no such file/);
  });

  void test('--config FILE describes the target, flags override it, --only picks cases', async () => {
    fs.writeFileSync(path.join(dir, 'ekm-ca.pem'), target.tls.ca!);
    fs.writeFileSync(path.join(dir, 'signer-key.pem'), target.signer.privateKeyPem, { mode: 0o600 });
    const file = path.join(dir, 'target.json');
    const { tls, signer, ...rest } = target;
    fs.writeFileSync(file, JSON.stringify({
      ...rest, keys: { ...rest.keys, wrapB: 'v0/cryptospaces/conformance/keys/overridden-below' }, auditLogFile: path.relative(dir, target.auditLogFile!),
      tls: { caFile: 'ekm-ca.pem', pinnedSha256: tls.pinnedSha256 },
      signer: { issuer: signer.issuer, alg: signer.alg, kid: signer.kid, privateKeyFile: 'signer-key.pem' },
    }));
    const loaded = loadTarget(file);
    assert.equal(loaded.tls.ca, target.tls.ca);
    assert.equal(loaded.auditLogFile, target.auditLogFile);
    let out = '';
    const io = { out: (t: string) => { out += t; }, err: (t: string) => { out += t; } };
    const code = await runEkmCommand(['conformance', '--config', file, '--key-b', target.keys.wrapB, '--only', 'wrap.*', '--only', 'audit.no-secrets'], io);
    assert.equal(code, 0, out);
    assert.match(out, /^wrap\.wrong-key +pass/m);
    assert.match(out, /^audit\.no-secrets +pass/m);
    assert.doesNotMatch(out, /^token\./m);
    assert.match(out, /^12 cases against .*: 12 passed, 0 failed, 0 skipped: PASS$/m);
  });

  void test('make-signer writes a signing key, its JWKS and a target skeleton, and never overwrites them', async () => {
    const out = path.join(dir, 'signer');
    let text = '';
    const io = { out: (t: string) => { text += t; }, err: (t: string) => { text += t; } };
    assert.equal(await runEkmCommand(['conformance', 'make-signer', out, '--issuer', 'https://issuer.test', '--alg', 'RS256'], io), 0, text);
    const made = JSON.parse(text.split('\n')[0]) as { kid: string; privateKey: string; jwks: string; target: string };
    assert.equal(fs.statSync(made.privateKey).mode & 0o777, 0o600);
    const jwks = JSON.parse(fs.readFileSync(made.jwks, 'utf8')) as { keys: Array<{ kid: string; kty: string; alg: string }> };
    assert.deepEqual(jwks.keys.map((k) => [k.kid, k.kty, k.alg]), [[made.kid, 'RSA', 'RS256']]);
    const skeleton = JSON.parse(fs.readFileSync(made.target, 'utf8')) as { signer: { issuer: string; kid: string } };
    assert.deepEqual([skeleton.signer.issuer, skeleton.signer.kid], ['https://issuer.test', made.kid]);
    text = '';
    assert.equal(await runEkmCommand(['conformance', 'make-signer', out], io), 1);
    assert.match(text, /already exists/);
  });
});
