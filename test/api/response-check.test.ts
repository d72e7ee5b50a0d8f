// A service that answers with a field its response message does not declare
// (a misspelling) fails, naming the field, instead of the encoder dropping it
// without a word. Every server the test harness starts has the check on, so
// the whole suite runs every answer through it.
import '../helpers/env';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { undeclaredFields, withResponseCheck } from '../../src/api/response-check';
import type { Handler } from '../../src/api/methods';
import { Code, KmsError } from '../../src/errors';
import { messageType } from '../../src/proto/registry';
import { rejectsWithCode, startKms } from '../helpers/kms';

const GET_KEY_RING = 'google.cloud.kms.v1.KeyManagementService.GetKeyRing';
const LIST_KEYS = 'google.cloud.kms.v1.KeyManagementService.ListCryptoKeys';

test('undeclared keys are found at any depth: nested messages, lists, maps', () => {
  const type = messageType('google.cloud.kms.v1.ListCryptoKeysResponse');
  assert.deepEqual(undeclaredFields(type, { cryptoKeys: [], nextPageToken: '', totalSize: 0 }), []);
  assert.deepEqual(undeclaredFields(type, {
    cryptoKeys: [
      { name: 'k', primary: { name: 'v', stat: 'ENABLED' }, labels: { a: 'b' } },
      { name: 'k2', versionTemplate: { algorythm: 'GOOGLE_SYMMETRIC_ENCRYPTION' } },
    ],
    nextPageTokn: 'x',
  }), [
    'cryptoKeys[0].primary.stat (not a field of google.cloud.kms.v1.CryptoKeyVersion)',
    'cryptoKeys[1].versionTemplate.algorythm (not a field of google.cloud.kms.v1.CryptoKeyVersionTemplate)',
    'nextPageTokn (not a field of google.cloud.kms.v1.ListCryptoKeysResponse)',
  ]);
});

test('an Any is checked against the type its @type names', () => {
  const type = messageType('google.cloud.location.Location');
  const metadata = { '@type': 'type.googleapis.com/google.cloud.kms.v1.LocationMetadata', hsmAvailable: true, ekmAvailable: true };
  assert.deepEqual(undeclaredFields(type, { name: 'l', metadata }), []);
  assert.deepEqual(undeclaredFields(type, { name: 'l', metadata: { ...metadata, ekmAvailible: true } }), [
    'metadata.ekmAvailible (not a field of google.cloud.kms.v1.LocationMetadata)',
  ]);
});

test('a handler answering with a misspelled field fails with INTERNAL naming it', async () => {
  const misspelled: Handler = () => Promise.resolve({ name: 'projects/p/locations/l/keyRings/r', createTme: { seconds: '1' } });
  const table = withResponseCheck(new Map([[GET_KEY_RING, misspelled], [LIST_KEYS, () => Promise.resolve({ cryptoKeys: [] })]]));
  await assert.rejects(table.get(GET_KEY_RING)!({}, { headers: {} }), (err: unknown) => {
    assert.ok(err instanceof KmsError);
    assert.equal(err.code, Code.INTERNAL);
    assert.match(err.message, /GetKeyRing answered with undeclared fields: createTme \(not a field of google\.cloud\.kms\.v1\.KeyRing\)/);
    return true;
  });
  assert.deepEqual(await table.get(LIST_KEYS)!({}, { headers: {} }), { cryptoKeys: [] });
});

test('the harness serves with the check on, and real answers pass it', async () => {
  const kms = await startKms();
  try {
    await kms.client.createKeyRing({ parent: 'projects/p/locations/us-east1', keyRingId: 'checked', keyRing: {} });
    const [ring] = await kms.client.getKeyRing({ name: 'projects/p/locations/us-east1/keyRings/checked' });
    assert.equal(ring.name, 'projects/p/locations/us-east1/keyRings/checked');
    await rejectsWithCode(kms.client.getKeyRing({ name: 'projects/p/locations/us-east1/keyRings/none' }), Code.NOT_FOUND);
  } finally {
    await kms.close();
  }
});
