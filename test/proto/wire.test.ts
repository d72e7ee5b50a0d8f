// The typed wire (src/proto/wire.ts): a response field the proto does not
// have is a compile error in a service that returns one of these types. The
// expected-error directives below make `npm run build` (and so `npm test`)
// fail if that ever stops being true; the runtime asserts check the
// narrowing of stored enum names.
import '../helpers/env';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type EncryptResponse, type Location, type PublicKey, protectionLevel, versionAlgorithm } from '../../src/proto/wire';

test('a misspelled response field does not compile; declared ones do', () => {
  const ok: EncryptResponse = { name: 'n', ciphertext: Buffer.alloc(1), protectionLevel: 'SOFTWARE' };
  // @ts-expect-error ciphertxt is not a field of EncryptResponse
  const misspelled: EncryptResponse = { name: 'n', ciphertxt: Buffer.alloc(1) };
  // @ts-expect-error an enum takes its names, not any string
  const badEnum: PublicKey = { protectionLevel: 'SOFTWARE_ISH' };
  assert.ok(ok && misspelled && badEnum);
});

test('the Locations mixin is typed too, its metadata an Any of LocationMetadata', () => {
  const ok: Location = { name: 'projects/p/locations/us', metadata: { '@type': 'type.googleapis.com/google.cloud.kms.v1.LocationMetadata', ekmAvailable: true } };
  // @ts-expect-error locationID is not a field of Location
  const misspelled: Location = { locationID: 'us' };
  // @ts-expect-error ekmAvaliable is not a field of LocationMetadata
  const badMetadata: Location = { metadata: { '@type': 'x', ekmAvaliable: true } };
  assert.ok(ok && misspelled && badMetadata);
});

test('stored enum names narrow to the wire type, and a name the proto lacks is our bug', () => {
  assert.equal(protectionLevel('EXTERNAL_VPC'), 'EXTERNAL_VPC');
  assert.equal(versionAlgorithm('EC_SIGN_P256_SHA256'), 'EC_SIGN_P256_SHA256');
  assert.throws(() => protectionLevel('NOPE'), /'NOPE' is not a value of google\.cloud\.kms\.v1\.ProtectionLevel/);
});
