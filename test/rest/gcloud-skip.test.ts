// Without gcloud the gcloud suites skip with a visible line, and
// OPENEKM_REQUIRE_GCLOUD=1 (as .ci/run sets it) turns that skip into a failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const SUITE = path.join(__dirname, 'gcloud.test.js');

function runSuite(extra: Record<string, string>) {
  // A child of a test process is taken for a nested run unless NODE_TEST_CONTEXT goes.
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  return spawnSync(process.execPath, ['--test', '--test-reporter=tap', SUITE], {
    env: { ...env, OPENEKM_GCLOUD: '/nonexistent/gcloud', OPENEKM_REQUIRE_GCLOUD: '', ...extra },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

void test('no gcloud: the suite is skipped with a visible line', () => {
  const run = runSuite({});
  assert.equal(run.status, 0, run.stdout + run.stderr);
  assert.match(run.stdout + run.stderr, /gcloud not found .*gcloud tests SKIPPED/);
  assert.match(run.stdout, /# SKIP gcloud not found/);
});

void test('no gcloud with OPENEKM_REQUIRE_GCLOUD=1: the run fails', () => {
  const run = runSuite({ OPENEKM_REQUIRE_GCLOUD: '1' });
  assert.notEqual(run.status, 0);
  assert.match(run.stdout + run.stderr, /OPENEKM_REQUIRE_GCLOUD=1 requires them/);
});
