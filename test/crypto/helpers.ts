// Shared test helpers for the crypto tests (not a test file itself).

import assert from 'node:assert/strict';
import { Code, KmsError } from '../../src/errors';
import { algorithmInfo, type AlgorithmInfo } from '../../src/crypto/algorithms';

/** Asserts fn throws a KmsError with the given code (never checks message text). */
export function assertKmsError(fn: () => unknown, code: Code = Code.INVALID_ARGUMENT): void {
  assert.throws(fn, (err: unknown) => err instanceof KmsError && err.code === code);
}

/** The catalogue entry for name, failing the test if it is missing. */
export function alg(name: string): AlgorithmInfo {
  const info = algorithmInfo(name);
  assert.ok(info, `algorithm ${name} missing from the catalogue`);
  return info;
}
