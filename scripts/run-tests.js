#!/usr/bin/env node
// Runs the compiled test suite with node's test runner. The Google client
// libraries probe the cloud metadata server unless told not to: every test
// process gets the variables that turn the probe off.
//
// Without arguments it runs everything, then runs again the suites that
// matter most for a second store on PostgreSQL (OPENEKM_TEST_STORE=postgres:
// test/helpers/kms.ts puts each of their servers on a fresh schema).
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const env = {
  ...process.env,
  METADATA_SERVER_DETECTION: 'none',
  GCE_METADATA_HOST: '127.0.0.1:9',
  GCE_METADATA_IP: '127.0.0.1:9',
  NO_GCE_CHECK: 'true',
};

/** Suites run a second time on PostgreSQL: lifecycle, lists, bad input, external keys. */
const ON_POSTGRES = [
  'kms/lifecycle.test.js',
  'kms/lists.test.js',
  'kms/bad-input.test.js',
  'kms/deletion.test.js',
  'kms/import.test.js',
  'external/external-keys.test.js',
  'external/pending-destruction.test.js',
  'external/backend-override.test.js',
].map((f) => path.join('dist', 'test', f));

function run(files, extraEnv) {
  const args = ['--test', '--test-concurrency=2', ...files];
  const result = spawnSync(process.execPath, args, { stdio: 'inherit', env: { ...env, ...extraEnv } });
  return result.status ?? 1;
}

const given = process.argv.slice(2);
if (given.length) process.exit(run(given, {}));
const all = run([path.join('dist', 'test')], {});
process.stdout.write('\n# the same suites on PostgreSQL (OPENEKM_TEST_STORE=postgres)\n');
const pg = run(ON_POSTGRES, { OPENEKM_TEST_STORE: 'postgres' });
process.exit(all || pg);
