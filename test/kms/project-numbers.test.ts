// A project's id and its number name the same project (AIP-2510): resources
// made through one are found through the other, answers and errors come in
// the form the caller used, page tokens work across forms, ciphertexts open
// under either name, and both forms carry the same EKM identity. A number no
// project here has is NOT_FOUND, in the caller's words.
import '../helpers/env';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Code } from '../../src/errors';
import { projectNumber, serviceIdentityEmail } from '../../src/services/ekm-client';
import { type Harness, rejectsWithCode, startKms, TRANSPORTS } from '../helpers/kms';

for (const transport of TRANSPORTS) {
  describe(`project numbers over ${transport}`, () => {
    let kms: Harness;
    const id = `numbers-${transport}`;
    const number = projectNumber(id);
    const byId = `projects/${id}/locations/us-east1`;
    const byNumber = `projects/${number}/locations/us-east1`;

    before(async () => {
      kms = await startKms({ transport });
    });
    after(() => kms.close());

    test('made by id, found by number, and answered in the form asked', async () => {
      const [ring] = await kms.client.createKeyRing({ parent: byId, keyRingId: 'r', keyRing: {} });
      assert.equal(ring.name, `${byId}/keyRings/r`);
      const [got] = await kms.client.getKeyRing({ name: `${byNumber}/keyRings/r` });
      assert.equal(got.name, `${byNumber}/keyRings/r`);
      const [key] = await kms.client.createCryptoKey({
        parent: `${byNumber}/keyRings/r`, cryptoKeyId: 'k', cryptoKey: { purpose: 'ENCRYPT_DECRYPT' },
      });
      assert.equal(key.name, `${byNumber}/keyRings/r/cryptoKeys/k`);
      assert.equal(key.primary?.name, `${byNumber}/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1`);
      const [keyById] = await kms.client.getCryptoKey({ name: `${byId}/keyRings/r/cryptoKeys/k` });
      assert.equal(keyById.name, `${byId}/keyRings/r/cryptoKeys/k`);
      assert.equal(keyById.createTime?.seconds, key.createTime?.seconds, 'one key, two names');
    });

    test('a ciphertext made under the number opens under the id, and the other way', async () => {
      const plaintext = Buffer.from('same project');
      const [enc] = await kms.client.encrypt({ name: `${byNumber}/keyRings/r/cryptoKeys/k`, plaintext });
      assert.equal(enc.name, `${byNumber}/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1`);
      const [dec] = await kms.client.decrypt({ name: `${byId}/keyRings/r/cryptoKeys/k`, ciphertext: enc.ciphertext });
      assert.deepEqual(Buffer.from(dec.plaintext as Uint8Array), plaintext);
      const [enc2] = await kms.client.encrypt({ name: `${byId}/keyRings/r/cryptoKeys/k`, plaintext });
      const [dec2] = await kms.client.decrypt({ name: `${byNumber}/keyRings/r/cryptoKeys/k`, ciphertext: enc2.ciphertext });
      assert.deepEqual(Buffer.from(dec2.plaintext as Uint8Array), plaintext);
    });

    test('lists and their page tokens work across both forms', async () => {
      await kms.client.createKeyRing({ parent: byNumber, keyRingId: 'r2', keyRing: {} });
      const [page1, , response] = await kms.client.listKeyRings({ parent: byNumber, pageSize: 1 }, { autoPaginate: false });
      assert.deepEqual(page1.map((r) => r.name), [`${byNumber}/keyRings/r`]);
      const [page2] = await kms.client.listKeyRings({ parent: byId, pageSize: 1, pageToken: response!.nextPageToken! }, { autoPaginate: false });
      assert.deepEqual(page2.map((r) => r.name), [`${byId}/keyRings/r2`]);
    });

    test('errors name the resource as the caller did; an unknown number is NOT_FOUND', async () => {
      const missing = await rejectsWithCode(kms.client.getCryptoKey({ name: `${byNumber}/keyRings/r/cryptoKeys/nope` }), Code.NOT_FOUND);
      assert.match(missing.message, new RegExp(`projects/${number}/`));
      assert.doesNotMatch(missing.message, new RegExp(`projects/${id}`));
      const unknown = await rejectsWithCode(kms.client.listKeyRings({ parent: 'projects/999999999999/locations/us-east1' }), Code.NOT_FOUND);
      assert.match(unknown.message, /Project 999999999999 is not known/);
    });

    test('only a write that succeeded records a project: reads and failed writes leave nothing behind', async () => {
      const stranger = `looked-at-${transport}`;
      const strangerNumber = `projects/${projectNumber(stranger)}/locations/us-east1`;
      await kms.client.listKeyRings({ parent: `projects/${stranger}/locations/us-east1` });
      await rejectsWithCode(kms.client.getKeyRing({ name: `projects/${stranger}/locations/us-east1/keyRings/r` }), Code.NOT_FOUND);
      await rejectsWithCode(kms.client.createKeyRing({ parent: `projects/${stranger}/locations/us-east1`, keyRingId: 'bad id!', keyRing: {} }), Code.INVALID_ARGUMENT);
      await rejectsWithCode(kms.client.listKeyRings({ parent: strangerNumber }), Code.NOT_FOUND);
      await kms.client.createKeyRing({ parent: `projects/${stranger}/locations/us-east1`, keyRingId: 'r', keyRing: {} });
      const [rings] = await kms.client.listKeyRings({ parent: strangerNumber });
      assert.deepEqual(rings.map((r) => r.name), [`${strangerNumber}/keyRings/r`]);
    });
  });
}

test('both forms of a project carry one EKM identity; other projects have their own', () => {
  const number = projectNumber('my-project');
  assert.match(number, /^[1-9][0-9]{11}$/);
  assert.equal(serviceIdentityEmail(number), serviceIdentityEmail('my-project'));
  assert.notEqual(serviceIdentityEmail('other-project'), serviceIdentityEmail('my-project'));
});
