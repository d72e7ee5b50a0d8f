// Deletion stories through the official client, over gRPC and REST: a
// version is deleted only once destroyed, a key only once it has no
// versions; each returns a finished long-running operation that
// GetOperation finds again; a deleted key leaves a RetiredResource and its
// name can never be used again.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Code } from '../../src/errors';
import { type Harness, LOCATION, rejectsWithCode, startKms, TRANSPORTS, uniqueId } from '../helpers/kms';

const DAY = 24 * 3600 * 1000;

for (const transport of TRANSPORTS) {
  describe(`deletion over ${transport}`, () => {
    let kms: Harness;
    let keyRing: string;
    before(async () => {
      kms = await startKms({ transport });
      const [ring] = await kms.client.createKeyRing({ parent: LOCATION, keyRingId: uniqueId('ring'), keyRing: {} });
      keyRing = ring.name!;
    });
    after(() => kms.close());

    async function destroyedVersion(keyId: string): Promise<{ key: string; version: string }> {
      const [key] = await kms.client.createCryptoKey({ parent: keyRing, cryptoKeyId: keyId, cryptoKey: { purpose: 'ENCRYPT_DECRYPT' } });
      const version = key.primary!.name!;
      await kms.client.destroyCryptoKeyVersion({ name: version });
      kms.clock.advance(31 * DAY);
      await kms.server.runScheduler();
      return { key: key.name!, version };
    }

    test('delete a destroyed version, then its key; the name is retired for good', async () => {
      const { client } = kms;
      const { key, version } = await destroyedVersion('retire-me');

      // The key still has a version: FAILED_PRECONDITION.
      await rejectsWithCode(client.deleteCryptoKey({ name: key }), Code.FAILED_PRECONDITION);

      const [versionOp] = await client.deleteCryptoKeyVersion({ name: version });
      assert.equal(versionOp.done, true);
      assert.match(versionOp.name!, new RegExp(`^${LOCATION}/operations/[0-9a-f]{32}$`));
      await versionOp.promise();
      await rejectsWithCode(client.getCryptoKeyVersion({ name: version }), Code.NOT_FOUND);
      const [versions] = await client.listCryptoKeyVersions({ parent: key });
      assert.equal(versions.length, 0);
      const [primaryless] = await client.getCryptoKey({ name: key });
      assert.equal(primaryless.primary, null);

      const [keyOp] = await client.deleteCryptoKey({ name: key });
      assert.equal(keyOp.done, true);
      const retiredName = (keyOp.metadata as { retiredResource?: string }).retiredResource!;
      assert.match(retiredName, new RegExp(`^${LOCATION}/retiredResources/[0-9a-f]{32}$`));
      await keyOp.promise();
      await rejectsWithCode(client.getCryptoKey({ name: key }), Code.NOT_FOUND);

      // GetOperation finds the finished operation again, with its metadata.
      const check = await client.checkDeleteCryptoKeyProgress(keyOp.name!);
      assert.equal(check.done, true);
      assert.equal((check.metadata as { retiredResource?: string }).retiredResource, retiredName);
      const [raw] = await client.getOperation({ name: keyOp.name! } as never);
      assert.equal(raw.done, true);

      const [retired] = await client.getRetiredResource({ name: retiredName });
      assert.equal(retired.originalResource, key);
      assert.equal(retired.resourceType, 'cloudkms.googleapis.com/CryptoKey');
      assert.equal(Number(retired.deleteTime?.seconds), Math.floor(kms.clock.now() / 1000));
      const listed = [];
      for await (const r of client.listRetiredResourcesAsync({ parent: LOCATION })) listed.push(r.name);
      assert.ok(listed.includes(retiredName));

      // The name can never be used again.
      await rejectsWithCode(
        client.createCryptoKey({ parent: keyRing, cryptoKeyId: 'retire-me', cryptoKey: { purpose: 'ENCRYPT_DECRYPT' } }),
        Code.ALREADY_EXISTS,
      );
    });

    test('preconditions: only DESTROYED (or failed) versions; unknown names are NOT_FOUND', async () => {
      const { client } = kms;
      const [key] = await client.createCryptoKey({ parent: keyRing, cryptoKeyId: uniqueId('live'), cryptoKey: { purpose: 'ENCRYPT_DECRYPT' } });
      const v1 = key.primary!.name!;
      await rejectsWithCode(client.deleteCryptoKeyVersion({ name: v1 }), Code.FAILED_PRECONDITION);
      await client.destroyCryptoKeyVersion({ name: v1 });
      // DESTROY_SCHEDULED is not DESTROYED yet.
      await rejectsWithCode(client.deleteCryptoKeyVersion({ name: v1 }), Code.FAILED_PRECONDITION);
      await rejectsWithCode(client.deleteCryptoKeyVersion({ name: `${key.name}/cryptoKeyVersions/9` }), Code.NOT_FOUND);
      await rejectsWithCode(client.deleteCryptoKey({ name: `${keyRing}/cryptoKeys/nope` }), Code.NOT_FOUND);
      await rejectsWithCode(client.getRetiredResource({ name: `${LOCATION}/retiredResources/nope` }), Code.NOT_FOUND);
      await rejectsWithCode(client.getOperation({ name: `${LOCATION}/operations/nope` } as never), Code.NOT_FOUND);
      // A malformed name: the REST client refuses to build a path for it, so only gRPC carries it.
      if (transport === 'grpc') {
        await rejectsWithCode(client.deleteCryptoKey({ name: 'projects/p/keyRings/r' }), Code.INVALID_ARGUMENT);
        await rejectsWithCode(client.getRetiredResource({ name: 'retiredResources/x' }), Code.INVALID_ARGUMENT);
      }
    });
  });
}
