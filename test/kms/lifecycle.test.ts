// Lifecycle stories through the official client, over gRPC and over REST: create, encrypt,
// rotate, decrypt the old ciphertext, disable, FAILED_PRECONDITION, restore,
// scheduled destruction by a fast-forwarded clock.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Code } from '../../src/errors';
import { type Harness, LOCATION, rejectsWithCode, startKms, TRANSPORTS, uniqueId } from '../helpers/kms';

const DAY = 24 * 3600 * 1000;
const seconds = (ms: number) => ({ seconds: String(Math.floor(ms / 1000)), nanos: 0 });
const toMs = (t: { seconds?: unknown; nanos?: unknown } | null | undefined) =>
  Number(t?.seconds ?? 0) * 1000 + Math.floor(Number(t?.nanos ?? 0) / 1e6);

for (const transport of TRANSPORTS) {
  describe(`symmetric key lifecycle over ${transport}`, () => {
    let kms: Harness;
    let keyRing: string;
    before(async () => {
      kms = await startKms({ transport });
      const [ring] = await kms.client.createKeyRing({ parent: LOCATION, keyRingId: uniqueId('ring'), keyRing: {} });
      keyRing = ring.name!;
    });
    after(() => kms.close());

    test('create, encrypt, rotate, decrypt old, disable, restore, destroy by schedule', async () => {
      const { client, clock, server } = kms;
      const [key] = await client.createCryptoKey({
        parent: keyRing,
        cryptoKeyId: 'story',
        cryptoKey: { purpose: 'ENCRYPT_DECRYPT', labels: { team: 'payments' } },
      });
      assert.equal(key.primary?.name, `${key.name}/cryptoKeyVersions/1`);
      assert.equal(key.primary?.state, 'ENABLED');
      assert.equal(key.versionTemplate?.algorithm, 'GOOGLE_SYMMETRIC_ENCRYPTION');
      assert.equal(Number(key.destroyScheduledDuration?.seconds), 30 * 24 * 3600);

      const aad = Buffer.from('order-42');
      const [first] = await client.encrypt({ name: key.name, plaintext: Buffer.from('card 4111'), additionalAuthenticatedData: aad });
      assert.equal(first.name, `${key.name}/cryptoKeyVersions/1`);

      // Rotate by hand: a new version, made primary.
      const [v2] = await client.createCryptoKeyVersion({ parent: key.name, cryptoKeyVersion: {} });
      assert.equal(v2.name, `${key.name}/cryptoKeyVersions/2`);
      const [rotated] = await client.updateCryptoKeyPrimaryVersion({ name: key.name, cryptoKeyVersionId: '2' });
      assert.equal(rotated.primary?.name, v2.name);
      const [second] = await client.encrypt({ name: key.name, plaintext: Buffer.from('card 5500') });
      assert.equal(second.name, v2.name);

      // The old ciphertext still opens through the CryptoKey name.
      const [old] = await client.decrypt({ name: key.name, ciphertext: first.ciphertext, additionalAuthenticatedData: aad });
      assert.equal(Buffer.from(old.plaintext as Uint8Array).toString(), 'card 4111');
      assert.equal(old.usedPrimary, false);
      const [fresh] = await client.decrypt({ name: key.name, ciphertext: second.ciphertext });
      assert.equal(fresh.usedPrimary, true);

      // Disable version 1: its ciphertexts can't be opened.
      const v1 = `${key.name}/cryptoKeyVersions/1`;
      const [disabled] = await client.updateCryptoKeyVersion({
        cryptoKeyVersion: { name: v1, state: 'DISABLED' },
        updateMask: { paths: ['state'] },
      });
      assert.equal(disabled.state, 'DISABLED');
      await rejectsWithCode(client.decrypt({ name: key.name, ciphertext: first.ciphertext, additionalAuthenticatedData: aad }), Code.FAILED_PRECONDITION);
      await rejectsWithCode(client.updateCryptoKeyPrimaryVersion({ name: key.name, cryptoKeyVersionId: '1' }), Code.FAILED_PRECONDITION);
      await client.updateCryptoKeyVersion({ cryptoKeyVersion: { name: v1, state: 'ENABLED' }, updateMask: { paths: ['state'] } });
      await client.decrypt({ name: key.name, ciphertext: first.ciphertext, additionalAuthenticatedData: aad });

      // Destroy schedules; restore brings it back DISABLED.
      const [scheduled] = await client.destroyCryptoKeyVersion({ name: v1 });
      assert.equal(scheduled.state, 'DESTROY_SCHEDULED');
      assert.equal(toMs(scheduled.destroyTime), clock.now() + 30 * DAY);
      await rejectsWithCode(client.decrypt({ name: key.name, ciphertext: first.ciphertext, additionalAuthenticatedData: aad }), Code.FAILED_PRECONDITION);
      await rejectsWithCode(client.destroyCryptoKeyVersion({ name: v1 }), Code.FAILED_PRECONDITION);
      const [restored] = await client.restoreCryptoKeyVersion({ name: v1 });
      assert.equal(restored.state, 'DISABLED');
      assert.equal(restored.destroyTime, null);
      await rejectsWithCode(client.restoreCryptoKeyVersion({ name: v1 }), Code.FAILED_PRECONDITION);

      // Destroy again and let the clock run out: the scheduler destroys the material.
      await client.destroyCryptoKeyVersion({ name: v1 });
      clock.advance(30 * DAY - 1000);
      assert.deepEqual(await server.runScheduler(), { destroyed: 0, rotated: 0 });
      clock.advance(2000);
      assert.deepEqual(await server.runScheduler(), { destroyed: 1, rotated: 0 });
      const [gone] = await client.getCryptoKeyVersion({ name: v1 });
      assert.equal(gone.state, 'DESTROYED');
      assert.equal(toMs(gone.destroyEventTime), clock.now());
      await rejectsWithCode(client.decrypt({ name: key.name, ciphertext: first.ciphertext, additionalAuthenticatedData: aad }), Code.FAILED_PRECONDITION);
      await rejectsWithCode(client.restoreCryptoKeyVersion({ name: v1 }), Code.FAILED_PRECONDITION);
      await rejectsWithCode(
        client.updateCryptoKeyVersion({ cryptoKeyVersion: { name: v1, state: 'ENABLED' }, updateMask: { paths: ['state'] } }),
        Code.FAILED_PRECONDITION,
      );
      // Version 2 is untouched.
      await client.decrypt({ name: key.name, ciphertext: second.ciphertext });
    });

    test('automatic rotation at next_rotation_time, advanced by rotation_period', async () => {
      const { client, clock, server } = kms;
      const start = clock.now();
      const [key] = await client.createCryptoKey({
        parent: keyRing,
        cryptoKeyId: 'rotating',
        cryptoKey: { purpose: 'ENCRYPT_DECRYPT', rotationPeriod: seconds(7 * DAY), nextRotationTime: seconds(start + DAY) },
      });
      assert.equal(Number(key.rotationPeriod?.seconds), 7 * 24 * 3600);
      const [before] = await client.encrypt({ name: key.name, plaintext: Buffer.from('before rotation') });

      clock.advance(DAY);
      const run = await server.runScheduler();
      assert.equal(run.rotated, 1);
      const [after1] = await client.getCryptoKey({ name: key.name });
      assert.equal(after1.primary?.name, `${key.name}/cryptoKeyVersions/2`);
      assert.equal(toMs(after1.nextRotationTime), start + DAY + 7 * DAY);

      // A server that missed several periods rotates once and schedules past now.
      clock.advance(30 * DAY);
      await server.runScheduler();
      const [after2] = await client.getCryptoKey({ name: key.name });
      assert.equal(after2.primary?.name, `${key.name}/cryptoKeyVersions/3`);
      assert.ok(toMs(after2.nextRotationTime) > clock.now());

      const [old] = await client.decrypt({ name: key.name, ciphertext: before.ciphertext });
      assert.equal(Buffer.from(old.plaintext as Uint8Array).toString(), 'before rotation');
    });

    test('update labels, rotation schedule and algorithm with an update_mask', async () => {
      const { client, clock } = kms;
      const [key] = await client.createCryptoKey({
        parent: keyRing,
        cryptoKeyId: 'updatable',
        cryptoKey: { purpose: 'ENCRYPT_DECRYPT', labels: { env: 'dev' } },
      });
      const [updated] = await client.updateCryptoKey({
        cryptoKey: {
          name: key.name,
          labels: { env: 'prod', owner: 'team-a' },
          rotationPeriod: seconds(90 * DAY),
          nextRotationTime: seconds(clock.now() + 90 * DAY),
          purpose: 'MAC', // not in the mask: ignored
        },
        updateMask: { paths: ['labels', 'rotation_period', 'next_rotation_time'] },
      });
      assert.deepEqual(updated.labels, { env: 'prod', owner: 'team-a' });
      assert.equal(Number(updated.rotationPeriod?.seconds), 90 * 24 * 3600);
      assert.equal(updated.purpose, 'ENCRYPT_DECRYPT');
      const [got] = await client.getCryptoKey({ name: key.name });
      assert.deepEqual(got.labels, updated.labels);

      // Clearing the schedule: both fields in the mask, both unset.
      const [cleared] = await client.updateCryptoKey({
        cryptoKey: { name: key.name },
        updateMask: { paths: ['rotation_period', 'next_rotation_time'] },
      });
      assert.ok(cleared.rotationPeriod == null);
      assert.equal(cleared.nextRotationTime, null);
      await rejectsWithCode(
        client.updateCryptoKey({ cryptoKey: { name: key.name, purpose: 'MAC' }, updateMask: { paths: ['purpose'] } }),
        Code.INVALID_ARGUMENT,
      );
    });

    test('keys created with skip_initial_version_creation have no versions until one is made', async () => {
      const { client } = kms;
      const [key] = await client.createCryptoKey({
        parent: keyRing,
        cryptoKeyId: 'empty',
        cryptoKey: { purpose: 'ENCRYPT_DECRYPT' },
        skipInitialVersionCreation: true,
      });
      assert.equal(key.primary, null);
      const [versions] = await client.listCryptoKeyVersions({ parent: key.name });
      assert.equal(versions.length, 0);
      await rejectsWithCode(client.encrypt({ name: key.name, plaintext: Buffer.from('x') }), Code.FAILED_PRECONDITION);
      await client.createCryptoKeyVersion({ parent: key.name, cryptoKeyVersion: {} });
      await client.updateCryptoKeyPrimaryVersion({ name: key.name, cryptoKeyVersionId: '1' });
      await client.encrypt({ name: key.name, plaintext: Buffer.from('x') });
    });

    test('asymmetric keys have no primary; versions are used by name', async () => {
      const { client } = kms;
      const [key] = await client.createCryptoKey({
        parent: keyRing,
        cryptoKeyId: 'signer',
        cryptoKey: { purpose: 'ASYMMETRIC_SIGN', versionTemplate: { algorithm: 'EC_SIGN_P256_SHA256' } },
      });
      assert.equal(key.primary, null);
      const [version] = await client.getCryptoKeyVersion({ name: `${key.name}/cryptoKeyVersions/1` });
      assert.equal(version.algorithm, 'EC_SIGN_P256_SHA256');
      assert.equal(version.protectionLevel, 'SOFTWARE');
      await rejectsWithCode(client.updateCryptoKeyPrimaryVersion({ name: key.name, cryptoKeyVersionId: '1' }), Code.FAILED_PRECONDITION);
    });

    test('key rings: get, list, duplicate', async () => {
      const { client } = kms;
      const [ring] = await client.getKeyRing({ name: keyRing });
      assert.equal(ring.name, keyRing);
      const [rings] = await client.listKeyRings({ parent: LOCATION });
      assert.ok(rings.some((r) => r.name === keyRing));
      await rejectsWithCode(
        client.createKeyRing({ parent: LOCATION, keyRingId: keyRing.split('/').pop()!, keyRing: {} }),
        Code.ALREADY_EXISTS,
      );
    });
  });
}
