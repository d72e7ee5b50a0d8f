// Shared test helpers for the crypto tests (not a test file itself).

import assert from 'node:assert/strict';
import { constants, publicDecrypt, verify, type KeyObject } from 'node:crypto';
import { Code, KmsError } from '../../src/errors';
import { HASH_BYTES, algorithmInfo, type AlgorithmInfo, type HashName } from '../../src/crypto/algorithms';

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

/** Asserts promise rejects with a KmsError of the given code, and returns that error; what labels a failure. */
export async function rejectsKmsError(promise: Promise<unknown>, code: Code = Code.INVALID_ARGUMENT, what = ''): Promise<KmsError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof KmsError, `${what}: expected a KmsError, got ${String(err)}`);
    assert.equal(err.code, code, what);
    return err;
  }
  assert.fail(`${what}: expected a rejection`);
}

/** Verifies sig over data with node:crypto alone, following each algorithm's scheme. */
export function verifies(a: AlgorithmInfo, pub: KeyObject, data: Buffer, sig: Buffer): boolean {
  switch (a.kind) {
    case 'rsa-sign-pss':
      return verify(a.hash as string, data, {
        key: pub,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: HASH_BYTES[a.hash as HashName],
      }, sig);
    case 'rsa-sign-pkcs1':
      return verify(a.hash as string, data, pub, sig);
    case 'ec-sign':
      return verify(a.hash as string, data, { key: pub, dsaEncoding: 'der' }, sig);
    case 'ed25519':
      return verify(null, data, pub, sig);
    case 'rsa-sign-raw-pkcs1':
      return publicDecrypt({ key: pub, padding: constants.RSA_PKCS1_PADDING }, sig).equals(data);
    default:
      throw new Error(`not a signing algorithm: ${a.name}`);
  }
}
