// Runs the conformance suite against any EKM:
//   EKM_CONFORMANCE_CONFIG=target.json node --test dist/test/ekm-server/conformance/run.js
// (docs/ekm-server.md, "Conformance suite", describes target.json). Without
// the variable, as in the project's own test run, it is skipped.
import { test } from 'node:test';
import { registerConformanceSuite } from './suite';
import { loadTarget } from './target';

const file = process.env.EKM_CONFORMANCE_CONFIG;
if (file) {
  registerConformanceSuite(file, () => loadTarget(file));
} else {
  void test('EKM conformance against EKM_CONFORMANCE_CONFIG', { skip: 'EKM_CONFORMANCE_CONFIG is not set' }, () => undefined);
}
