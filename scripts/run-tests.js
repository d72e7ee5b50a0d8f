#!/usr/bin/env node
// Runs the compiled test suite with node's test runner. The Google client
// libraries probe the cloud metadata server unless told not to: every test
// process gets the variables that turn the probe off.
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
const args = ['--test', '--test-concurrency=2', ...(process.argv.slice(2).length ? process.argv.slice(2) : [path.join('dist', 'test')])];
const result = spawnSync(process.execPath, args, { stdio: 'inherit', env });
process.exit(result.status ?? 1);
