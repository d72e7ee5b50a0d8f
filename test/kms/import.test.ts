// Key import (BYOK) through the official client, over gRPC and REST: an
// import job goes PENDING_GENERATION → ACTIVE → EXPIRED; keys wrapped on the
// client's side (test/helpers/import-wrap-client.ts, the way gcloud and the
// Cloud KMS docs wrap) are imported and then used, and node:crypto checks
// what the imported key did with the original key; a key that can't be
// unwrapped leaves an IMPORT_FAILED version saying why; re-import brings a
// destroyed version back only with the same key.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createDecipheriv, createHash, createHmac, createPublicKey, generateKeyPairSync, publicEncrypt, constants, randomBytes, verify } from 'node:crypto';
import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { Code } from '../../src/errors';
import { wrapForImport } from '../helpers/import-wrap-client';
import { type Harness, LOCATION, rejectsWithCode, startKms, TRANSPORTS, uniqueId } from '../helpers/kms';

const DAY = 24 * 3600 * 1000;
const PKCS8 = { type: 'pkcs8', format: 'der' } as const;
type Job = { name?: string | null; state?: unknown; publicKey?: { pem?: string | null; data?: Uint8Array | string | null } | null };

for (const transport of TRANSPORTS) {
  describe(`key import over ${transport}`, () => {
    let kms: Harness;
    let ring: string;
    before(async () => {
      kms = await startKms({ transport });
      const [r] = await kms.client.createKeyRing({ parent: LOCATION, keyRingId: uniqueId('import'), keyRing: {} });
      ring = r.name!;
    });
    after(() => kms.close());

    /** A job, waited on until its wrapping key is made. */
    async function activeJob(method: string, protectionLevel = 'SOFTWARE'): Promise<Job & { name: string }> {
      const [created] = await kms.client.createImportJob({ parent: ring, importJobId: uniqueId('job'), importJob: { importMethod: method as never, protectionLevel: protectionLevel as never } });
      assert.equal(created.state, 'PENDING_GENERATION');
      assert.equal(created.publicKey, null);
      for (let i = 0; i < 600; i++) {
        const [job] = await kms.client.getImportJob({ name: created.name });
        if (job.state === 'ACTIVE') return job as Job & { name: string };
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`${created.name} never became ACTIVE`);
    }

    const jobKey = (job: Job) => ({ pem: job.publicKey?.pem, data: job.publicKey?.data ? Buffer.from(job.publicKey.data as Uint8Array) : undefined });

    async function key(purpose: string, algorithm: string, protectionLevel = 'SOFTWARE'): Promise<string> {
      const [k] = await kms.client.createCryptoKey({
        parent: ring, cryptoKeyId: uniqueId('k'), skipInitialVersionCreation: true,
        cryptoKey: { purpose: purpose as never, importOnly: true, versionTemplate: { algorithm: algorithm as never, protectionLevel: protectionLevel as never } },
      });
      return k.name!;
    }

    async function importInto(parent: string, job: Job & { name: string }, algorithm: string, target: Buffer, method: string, extra: object = {}) {
      const wrappedKey = await wrapForImport(method, jobKey(job), target);
      const [version] = await kms.client.importCryptoKeyVersion({ parent, importJob: job.name, algorithm: algorithm as never, wrappedKey, ...extra });
      return version;
    }

    test('RSA-AES job: AES-256-GCM, EC P-256, RSA-OAEP and HMAC keys imported and used; node:crypto checks each', async () => {
      const method = 'RSA_OAEP_3072_SHA256_AES_256';
      const job = await activeJob(method);
      assert.match(job.publicKey?.pem ?? '', /^-----BEGIN PUBLIC KEY-----/);
      assert.equal(createPublicKey(job.publicKey!.pem!).asymmetricKeyDetails?.modulusLength, 3072);

      const aes = randomBytes(32);
      const rawKey = await key('RAW_ENCRYPT_DECRYPT', 'AES_256_GCM');
      const v = await importInto(rawKey, job, 'AES_256_GCM', aes, method);
      assert.equal(v.state, 'ENABLED');
      assert.equal(v.importJob, job.name);
      assert.ok(v.importTime);
      assert.equal(v.reimportEligible, true);
      const [enc] = await kms.client.rawEncrypt({ name: v.name, plaintext: Buffer.from('imported aes'), additionalAuthenticatedData: Buffer.from('aad') });
      const ct = Buffer.from(enc.ciphertext as Uint8Array);
      const tagLength = Number(enc.tagLength);
      const decipher = createDecipheriv('aes-256-gcm', aes, Buffer.from(enc.initializationVector as Uint8Array));
      decipher.setAAD(Buffer.from('aad'));
      decipher.setAuthTag(ct.subarray(ct.length - tagLength));
      assert.equal(Buffer.concat([decipher.update(ct.subarray(0, ct.length - tagLength)), decipher.final()]).toString(), 'imported aes');

      const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const ecKey = await key('ASYMMETRIC_SIGN', 'EC_SIGN_P256_SHA256');
      const ev = await importInto(ecKey, job, 'EC_SIGN_P256_SHA256', ec.privateKey.export(PKCS8), method);
      const digest = createHash('sha256').update('signed by an imported key').digest();
      const [sig] = await kms.client.asymmetricSign({ name: ev.name, digest: { sha256: digest } });
      assert.ok(verify('sha256', Buffer.from('signed by an imported key'), ec.publicKey, Buffer.from(sig.signature as Uint8Array)));

      const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const rsaKey = await key('ASYMMETRIC_DECRYPT', 'RSA_DECRYPT_OAEP_2048_SHA256');
      const rv = await importInto(rsaKey, job, 'RSA_DECRYPT_OAEP_2048_SHA256', rsa.privateKey.export(PKCS8), method);
      const sealed = publicEncrypt({ key: rsa.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, Buffer.from('for the imported key'));
      const [opened] = await kms.client.asymmetricDecrypt({ name: rv.name, ciphertext: sealed });
      assert.equal(Buffer.from(opened.plaintext as Uint8Array).toString(), 'for the imported key');

      const hmac = randomBytes(32);
      const macKey = await key('MAC', 'HMAC_SHA256');
      const mv = await importInto(macKey, job, 'HMAC_SHA256', hmac, method);
      const [mac] = await kms.client.macSign({ name: mv.name, data: Buffer.from('m') });
      assert.deepEqual(Buffer.from(mac.mac as Uint8Array), createHmac('sha256', hmac).update('m').digest());

      const [listed] = await kms.client.listImportJobs({ parent: ring });
      assert.ok(listed.some((j) => j.name === job.name && j.state === 'ACTIVE'));
    });

    test('Ed25519, RSA-PSS and secp256k1 keys and an ML-KEM-768 seed: each used after import, checked with the original key', async () => {
      const method = 'RSA_OAEP_3072_SHA1_AES_256';
      const job = await activeJob(method);
      const message = Buffer.from('imported signer');

      const ed = generateKeyPairSync('ed25519');
      const edVersion = await importInto(await key('ASYMMETRIC_SIGN', 'EC_SIGN_ED25519'), job, 'EC_SIGN_ED25519', ed.privateKey.export(PKCS8), method);
      const [edSig] = await kms.client.asymmetricSign({ name: edVersion.name, data: message });
      assert.ok(verify(null, message, ed.publicKey, Buffer.from(edSig.signature as Uint8Array)));

      const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const pssVersion = await importInto(await key('ASYMMETRIC_SIGN', 'RSA_SIGN_PSS_2048_SHA256'), job, 'RSA_SIGN_PSS_2048_SHA256', rsa.privateKey.export(PKCS8), method);
      const [pssSig] = await kms.client.asymmetricSign({ name: pssVersion.name, digest: { sha256: createHash('sha256').update(message).digest() } });
      assert.ok(verify('sha256', message, { key: rsa.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, Buffer.from(pssSig.signature as Uint8Array)));

      const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
      const k1Version = await importInto(await key('ASYMMETRIC_SIGN', 'EC_SIGN_SECP256K1_SHA256'), job, 'EC_SIGN_SECP256K1_SHA256', k1.privateKey.export(PKCS8), method);
      const [k1Sig] = await kms.client.asymmetricSign({ name: k1Version.name, digest: { sha256: createHash('sha256').update(message).digest() } });
      assert.ok(verify('sha256', message, k1.publicKey, Buffer.from(k1Sig.signature as Uint8Array)));

      const seed = randomBytes(64);
      const kemVersion = await importInto(await key('KEY_ENCAPSULATION', 'ML_KEM_768'), job, 'ML_KEM_768', seed, method);
      const { cipherText, sharedSecret } = ml_kem768.encapsulate(ml_kem768.keygen(seed).publicKey);
      const [opened] = await kms.client.decapsulate({ name: kemVersion.name, ciphertext: Buffer.from(cipherText) });
      assert.deepEqual(Buffer.from(opened.sharedSecret as Uint8Array), Buffer.from(sharedSecret));
    });

    test('HPKE ML-KEM-768 job: its wrapping key is NIST_PQC bytes; an ML-DSA-65 seed imported signs', async () => {
      const method = 'HPKE_KEM_ML_KEM_768_HKDF_SHA256_AES_256_GCM';
      const job = await activeJob(method);
      assert.equal(Buffer.from(job.publicKey!.data as Uint8Array).length, 1184);
      const [asked] = await kms.client.getImportJob({ name: job.name, publicKeyFormat: 'NIST_PQC' });
      assert.equal(asked.publicKeyFormat, 'NIST_PQC');
      await rejectsWithCode(kms.client.getImportJob({ name: job.name, publicKeyFormat: 'PEM' }), Code.INVALID_ARGUMENT);
      const seed = randomBytes(32);
      const signer = await key('ASYMMETRIC_SIGN', 'PQ_SIGN_ML_DSA_65');
      const v = await importInto(signer, job, 'PQ_SIGN_ML_DSA_65', seed, method);
      const [sig] = await kms.client.asymmetricSign({ name: v.name, data: Buffer.from('pq import') });
      assert.ok(ml_dsa65.verify(Buffer.from(sig.signature as Uint8Array), Buffer.from('pq import'), ml_dsa65.keygen(seed).publicKey));
    });

    test('failures: IMPORT_FAILED with a reason, re-import rules, job rules, expiry, deletion', async () => {
      const method = 'RSA_OAEP_4096_SHA1_AES_256';
      const job = await activeJob(method);
      const aesKey = await key('ENCRYPT_DECRYPT', 'GOOGLE_SYMMETRIC_ENCRYPTION');
      const good = randomBytes(32);

      // Tampered: the version exists, IMPORT_FAILED, and says why.
      const wrapped = await wrapForImport(method, jobKey(job), good);
      wrapped[wrapped.length - 1] ^= 1;
      const [failed] = await kms.client.importCryptoKeyVersion({ parent: aesKey, importJob: job.name, algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION', wrappedKey: wrapped });
      assert.equal(failed.state, 'IMPORT_FAILED');
      assert.match(failed.importFailureReason!, /wrapped_key/);
      // Re-import the right key into the failed version: ENABLED, and it works.
      const [fixed] = await kms.client.importCryptoKeyVersion({
        parent: aesKey, importJob: job.name, algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION', cryptoKeyVersion: failed.name, wrappedKey: await wrapForImport(method, jobKey(job), good),
      });
      assert.equal(fixed.state, 'ENABLED');
      await kms.client.updateCryptoKeyPrimaryVersion({ name: aesKey, cryptoKeyVersionId: fixed.name!.split('/').pop()! });
      const [enc] = await kms.client.encrypt({ name: aesKey, plaintext: Buffer.from('byok') });

      // Destroy it; re-import a different key: IMPORT_FAILED; the same key: ENABLED, and the old ciphertext opens again.
      await kms.client.destroyCryptoKeyVersion({ name: fixed.name });
      kms.clock.advance(31 * DAY);
      await kms.server.runScheduler();
      const again = await activeJob(method); // the first job expired with the clock
      const [other] = await kms.client.importCryptoKeyVersion({
        parent: aesKey, importJob: again.name, algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION', cryptoKeyVersion: fixed.name, wrappedKey: await wrapForImport(method, jobKey(again), randomBytes(32)),
      });
      assert.equal(other.state, 'IMPORT_FAILED');
      assert.match(other.importFailureReason!, /differs from the material first imported/);
      const [back] = await kms.client.importCryptoKeyVersion({
        parent: aesKey, importJob: again.name, algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION', cryptoKeyVersion: fixed.name, wrappedKey: await wrapForImport(method, jobKey(again), good),
      });
      assert.equal(back.state, 'ENABLED');
      const [dec] = await kms.client.decrypt({ name: aesKey, ciphertext: enc.ciphertext });
      assert.equal(Buffer.from(dec.plaintext as Uint8Array).toString(), 'byok');
      // An ENABLED version can't be re-imported into.
      await rejectsWithCode(kms.client.importCryptoKeyVersion({
        parent: aesKey, importJob: again.name, algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION', cryptoKeyVersion: back.name, wrappedKey: await wrapForImport(method, jobKey(again), good),
      }), Code.FAILED_PRECONDITION);

      // The expired job: EXPIRED, with its expire_event_time, and no public key.
      const [expired] = await kms.client.getImportJob({ name: job.name });
      assert.equal(expired.state, 'EXPIRED');
      assert.ok(expired.expireEventTime);
      assert.equal(expired.publicKey, null);
      await rejectsWithCode(kms.client.importCryptoKeyVersion({ parent: aesKey, importJob: job.name, algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION', wrappedKey: wrapped }), Code.FAILED_PRECONDITION);

      // Job rules: the key's protection level must match; an algorithm of another purpose; wrapped_key is required.
      const hsmKey = await key('ENCRYPT_DECRYPT', 'GOOGLE_SYMMETRIC_ENCRYPTION', 'HSM');
      await rejectsWithCode(kms.client.importCryptoKeyVersion({ parent: hsmKey, importJob: again.name, algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION', wrappedKey: wrapped }), Code.FAILED_PRECONDITION);
      await rejectsWithCode(kms.client.importCryptoKeyVersion({ parent: aesKey, importJob: again.name, algorithm: 'EC_SIGN_P256_SHA256', wrappedKey: wrapped }), Code.INVALID_ARGUMENT);
      await rejectsWithCode(kms.client.importCryptoKeyVersion({ parent: aesKey, importJob: again.name, algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION' }), Code.INVALID_ARGUMENT);
      await rejectsWithCode(kms.client.createImportJob({ parent: ring, importJobId: uniqueId('j'), importJob: { importMethod: 'RSA_OAEP_3072_SHA256', protectionLevel: 'EXTERNAL' } }), Code.INVALID_ARGUMENT);
      await rejectsWithCode(kms.client.createImportJob({ parent: ring, importJobId: uniqueId('j'), importJob: { protectionLevel: 'SOFTWARE' } }), Code.INVALID_ARGUMENT);
      await rejectsWithCode(kms.client.getImportJob({ name: `${ring}/importJobs/absent` }), Code.NOT_FOUND);

      // A failed import can be deleted.
      const [failedAgain] = await kms.client.importCryptoKeyVersion({ parent: aesKey, importJob: again.name, algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION', wrappedKey: wrapped });
      assert.equal(failedAgain.state, 'IMPORT_FAILED');
      const [op] = await kms.client.deleteCryptoKeyVersion({ name: failedAgain.name });
      assert.equal(op.done, true);
    });

    test('an imported version is never deleted, not even after a later re-import failed', async () => {
      const method = 'RSA_OAEP_3072_SHA256';
      const job = await activeJob(method);
      const macKey = await key('MAC', 'HMAC_SHA256');
      const v = await importInto(macKey, job, 'HMAC_SHA256', randomBytes(32), method);
      await kms.client.destroyCryptoKeyVersion({ name: v.name });
      kms.clock.advance(31 * DAY);
      await kms.server.runScheduler();
      await rejectsWithCode(kms.client.deleteCryptoKeyVersion({ name: v.name }), Code.FAILED_PRECONDITION);
      const fresh = await activeJob(method);
      const [failed] = await kms.client.importCryptoKeyVersion({
        parent: macKey, importJob: fresh.name, algorithm: 'HMAC_SHA256', cryptoKeyVersion: v.name, wrappedKey: await wrapForImport(method, jobKey(fresh), randomBytes(32)),
      });
      assert.equal(failed.state, 'IMPORT_FAILED');
      await rejectsWithCode(kms.client.deleteCryptoKeyVersion({ name: v.name }), Code.FAILED_PRECONDITION);
    });

    test('two re-imports of different keys into one failed version at once: one wins, the other is refused', async () => {
      const method = 'RSA_OAEP_3072_SHA256';
      const job = await activeJob(method);
      const macKey = await key('MAC', 'HMAC_SHA256');
      const bad = await wrapForImport(method, jobKey(job), randomBytes(31));
      const [failed] = await kms.client.importCryptoKeyVersion({ parent: macKey, importJob: job.name, algorithm: 'HMAC_SHA256', wrappedKey: bad });
      assert.equal(failed.state, 'IMPORT_FAILED');
      const keys = [randomBytes(32), randomBytes(32)];
      const outcomes = await Promise.allSettled(keys.map(async (k) => kms.client.importCryptoKeyVersion({
        parent: macKey, importJob: job.name, algorithm: 'HMAC_SHA256', cryptoKeyVersion: failed.name, wrappedKey: await wrapForImport(method, jobKey(job), k),
      })));
      const won = outcomes.findIndex((o) => o.status === 'fulfilled');
      assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1, 'exactly one re-import succeeds');
      const lost = outcomes[1 - won] as PromiseRejectedResult;
      assert.equal((lost.reason as { code: number }).code, Code.FAILED_PRECONDITION);
      const [mac] = await kms.client.macSign({ name: failed.name, data: Buffer.from('m') });
      assert.deepEqual(Buffer.from(mac.mac as Uint8Array), createHmac('sha256', keys[won]).update('m').digest());
    });

    test('trusted-key wrapped import and export: FAILED_PRECONDITION, no trusted keys without a single-tenant HSM', async () => {
      const target = await key('ASYMMETRIC_SIGN', 'EC_SIGN_P256_SHA256');
      const [wrapper] = await kms.client.createCryptoKey({ parent: ring, cryptoKeyId: uniqueId('kwp'), cryptoKey: { purpose: 'AES_WRAPPING', versionTemplate: { algorithm: 'AES_256_KWP' } } });
      const wrapperVersion = `${wrapper.name}/cryptoKeyVersions/1`;
      await rejectsWithCode(kms.client.importTrustedKeyWrappedCryptoKeyVersion({
        parent: target, importingKey: wrapperVersion, wrappedKey: randomBytes(48), algorithm: 'EC_SIGN_P256_SHA256',
      }), Code.FAILED_PRECONDITION);
      await rejectsWithCode(kms.client.importTrustedKeyWrappedCryptoKeyVersion({
        parent: target, importingKey: `${wrapper.name}/cryptoKeyVersions/9`, wrappedKey: randomBytes(48), algorithm: 'EC_SIGN_P256_SHA256',
      }), Code.NOT_FOUND);
      await rejectsWithCode(kms.client.exportTrustedKeyWrappedCryptoKeyVersion({ name: wrapperVersion, wrappingKey: wrapperVersion }), Code.FAILED_PRECONDITION);
    });
  });
}
