// Post-quantum keys through the official client, over gRPC and REST: every
// ML-DSA and SLH-DSA algorithm signs and the signature verifies under the
// public key GetPublicKey gives (checked with @noble/post-quantum's
// verifiers, and for ML-DSA PEM with the public key inside the
// SubjectPublicKeyInfo); every KEM decapsulates what @noble/post-quantum
// encapsulated to the public key GetPublicKey gave. The crypto module's own
// known-answer tests (test/crypto/pq.test.ts) pin the algorithms to the
// NIST ACVP, Wycheproof and X-Wing draft vectors.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
import { ml_kem1024, ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js';
import { slh_dsa_sha2_128s } from '@noble/post-quantum/slh-dsa.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { Code } from '../../src/errors';
import { type Harness, LOCATION, rejectsWithCode, startKms, TRANSPORTS, uniqueId } from '../helpers/kms';

const shake256 = (b: Uint8Array, bytes: number): Buffer => createHash('shake256', { outputLength: bytes }).update(b).digest();
const DSA = { 44: ml_dsa44, 65: ml_dsa65, 87: ml_dsa87 } as const;
const bytes = (v: unknown): Buffer => Buffer.from(v as Uint8Array);

for (const transport of TRANSPORTS) {
  describe(`post-quantum keys over ${transport}`, () => {
    let kms: Harness;
    let ring: string;
    before(async () => {
      kms = await startKms({ transport });
      const [r] = await kms.client.createKeyRing({ parent: LOCATION, keyRingId: uniqueId('pq'), keyRing: {} });
      ring = r.name!;
    });
    after(() => kms.close());

    async function version(purpose: string, algorithm: string): Promise<string> {
      const [key] = await kms.client.createCryptoKey({
        parent: ring, cryptoKeyId: uniqueId(algorithm.toLowerCase().replace(/_/g, '-')),
        cryptoKey: { purpose: purpose as never, versionTemplate: { algorithm: algorithm as never } },
      });
      return `${key.name}/cryptoKeyVersions/1`;
    }

    const publicKey = async (name: string, format: string): Promise<Buffer> => {
      const [pk] = await kms.client.getPublicKey({ name, publicKeyFormat: format as never });
      assert.equal(pk.publicKeyFormat, format);
      return bytes(pk.publicKey?.data);
    };

    for (const level of [44, 65, 87] as const) {
      test(`ML-DSA-${level}: data signed, external mu signed, PEM carries the raw key`, async () => {
        const pure = await version('ASYMMETRIC_SIGN', `PQ_SIGN_ML_DSA_${level}`);
        const raw = await publicKey(pure, 'NIST_PQC');
        const message = Buffer.from(`ml-dsa-${level} over ${transport}`);
        const [signed] = await kms.client.asymmetricSign({ name: pure, data: message });
        assert.ok(DSA[level].verify(bytes(signed.signature), message, raw));
        const pem = (await publicKey(pure, 'PEM')).toString('ascii');
        assert.match(pem, /^-----BEGIN PUBLIC KEY-----\n/);
        const der = await publicKey(pure, 'DER');
        assert.deepEqual(der.subarray(der.length - raw.length), raw, 'the SubjectPublicKeyInfo ends with the raw key');
        assert.deepEqual(Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64'), der);
        await rejectsWithCode(kms.client.getPublicKey({ name: pure }), Code.INVALID_ARGUMENT);

        const mu = await version('ASYMMETRIC_SIGN', `PQ_SIGN_ML_DSA_${level}_EXTERNAL_MU`);
        const muKey = await publicKey(mu, 'NIST_PQC');
        // FIPS 204 §6.2: mu = SHAKE256(SHAKE256(pk, 64) || 0 || 0 || message, 64) for an empty context.
        const digest = shake256(Buffer.concat([shake256(muKey, 64), Buffer.of(0, 0), message]), 64);
        const [muSigned] = await kms.client.asymmetricSign({ name: mu, digest: { externalMu: digest } });
        assert.ok(DSA[level].verify(bytes(muSigned.signature), message, muKey));
        await rejectsWithCode(kms.client.asymmetricSign({ name: mu, digest: { externalMu: digest.subarray(1) } }), Code.INVALID_ARGUMENT);
        await rejectsWithCode(kms.client.asymmetricSign({ name: pure, digest: { externalMu: digest } }), Code.INVALID_ARGUMENT);
      });
    }

    test('SLH-DSA-SHA2-128s and HashSLH-DSA with SHA-256: raw public keys only', { timeout: 120_000 }, async () => {
      const pure = await version('ASYMMETRIC_SIGN', 'PQ_SIGN_SLH_DSA_SHA2_128S');
      const raw = await publicKey(pure, 'NIST_PQC');
      const message = Buffer.from('slh-dsa');
      const [signed] = await kms.client.asymmetricSign({ name: pure, data: message });
      assert.ok(slh_dsa_sha2_128s.verify(bytes(signed.signature), message, raw));
      await rejectsWithCode(kms.client.getPublicKey({ name: pure, publicKeyFormat: 'PEM' }), Code.INVALID_ARGUMENT);

      const hashed = await version('ASYMMETRIC_SIGN', 'PQ_SIGN_HASH_SLH_DSA_SHA2_128S_SHA256');
      const hashedKey = await publicKey(hashed, 'NIST_PQC');
      const [digestSigned] = await kms.client.asymmetricSign({ name: hashed, digest: { sha256: createHash('sha256').update(message).digest() } });
      assert.equal(bytes(digestSigned.signature).length, 7856);
      // HashSLH-DSA (FIPS 205 §10.2) over the SHA-256 pre-hash: the library's own prehash verifier, given the message.
      assert.ok(slh_dsa_sha2_128s.prehash(sha256).verify(bytes(digestSigned.signature), message, hashedKey));
    });

    test('an SLH-DSA signature is made off the event loop: a call started after it finishes first', { timeout: 120_000 }, async () => {
      const slow = await version('ASYMMETRIC_SIGN', 'PQ_SIGN_SLH_DSA_SHA2_128S');
      const [sym] = await kms.client.createCryptoKey({ parent: ring, cryptoKeyId: uniqueId('sym'), cryptoKey: { purpose: 'ENCRYPT_DECRYPT' } });
      const order: string[] = [];
      const signing = kms.client.asymmetricSign({ name: slow, data: Buffer.from('slow') }).then(() => order.push('sign'));
      // Long enough for the signature request to reach the server (the signature itself takes seconds).
      await new Promise((r) => setTimeout(r, 300));
      const encrypting = kms.client.encrypt({ name: sym.name, plaintext: Buffer.from('fast') }).then(() => order.push('encrypt'));
      await Promise.all([signing, encrypting]);
      assert.deepEqual(order, ['encrypt', 'sign']);
    });

    for (const [algorithm, kem, format] of [
      ['ML_KEM_768', ml_kem768, 'NIST_PQC'], ['ML_KEM_1024', ml_kem1024, 'NIST_PQC'], ['KEM_XWING', ml_kem768_x25519, 'XWING_RAW_BYTES'],
    ] as const) {
      test(`${algorithm}: Decapsulate gives the secret the sender encapsulated`, async () => {
        const name = await version('KEY_ENCAPSULATION', algorithm);
        const pk = await publicKey(name, format);
        const { cipherText, sharedSecret } = kem.encapsulate(pk);
        const [answer] = await kms.client.decapsulate({ name, ciphertext: Buffer.from(cipherText) });
        assert.deepEqual(bytes(answer.sharedSecret), Buffer.from(sharedSecret));
        assert.equal(answer.name, name);
        assert.equal(answer.protectionLevel, 'SOFTWARE');
        await rejectsWithCode(kms.client.decapsulate({ name, ciphertext: Buffer.from(cipherText).subarray(1) }), Code.INVALID_ARGUMENT);
        await rejectsWithCode(kms.client.getPublicKey({ name }), Code.INVALID_ARGUMENT);
        if (algorithm === 'KEM_XWING') await rejectsWithCode(kms.client.getPublicKey({ name, publicKeyFormat: 'PEM' }), Code.INVALID_ARGUMENT);
      });
    }

    test('AES_256_KWP keys exist for AES_WRAPPING; purposes and algorithms must match', async () => {
      const name = await version('AES_WRAPPING', 'AES_256_KWP');
      const [v] = await kms.client.getCryptoKeyVersion({ name });
      assert.equal(v.algorithm, 'AES_256_KWP');
      await rejectsWithCode(version('KEY_ENCAPSULATION', 'PQ_SIGN_ML_DSA_44'), Code.INVALID_ARGUMENT);
      const signer = await version('ASYMMETRIC_SIGN', 'PQ_SIGN_ML_DSA_44');
      await rejectsWithCode(kms.client.decapsulate({ name: signer, ciphertext: Buffer.alloc(1088) }), Code.FAILED_PRECONDITION);
    });
  });
}
