// Key Access Justifications on keys the KMS holds itself (SOFTWARE and HSM),
// as Cloud KMS enforces them on every protection level: a key's
// key_access_justifications_policy governs its encrypt, decrypt and sign
// calls, by the reason the caller gives (x-openekm-access-reason; none is
// CUSTOMER_INITIATED_ACCESS). A denied call is FAILED_PRECONDITION with a
// PreconditionFailure; GetPublicKey and MacVerify are not governed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Code } from '../../src/errors';
import { type Harness, LOCATION, rejectsWithCode, startKms, TRANSPORTS, uniqueId } from '../helpers/kms';

/** A key_access_justifications_policy (the client's types take the enum's numbers; its encoders take names too). */
const allowing = (...reasons: string[]) => ({ allowedAccessReasons: reasons }) as never;

const reason = (r: string) => ({ otherArgs: { headers: { 'x-openekm-access-reason': r } } });

for (const transport of TRANSPORTS) {
  describe(`Key Access Justifications on SOFTWARE and HSM keys over ${transport}`, () => {
    let kms: Harness;
    let ring: string;
    before(async () => {
      kms = await startKms({ transport });
      const [r] = await kms.client.createKeyRing({ parent: LOCATION, keyRingId: uniqueId('kaj'), keyRing: {} });
      ring = r.name!;
    });
    after(() => kms.close());

    for (const protectionLevel of ['SOFTWARE', 'HSM'] as const) {
      test(`${protectionLevel}: the policy decides by reason; an empty policy allows nothing`, async () => {
        const { client } = kms;
        const [key] = await client.createCryptoKey({
          parent: ring, cryptoKeyId: uniqueId('sym'),
          cryptoKey: {
            purpose: 'ENCRYPT_DECRYPT', versionTemplate: { protectionLevel },
            keyAccessJustificationsPolicy: allowing('CUSTOMER_INITIATED_ACCESS', 'GOOGLE_INITIATED_SYSTEM_OPERATION'),
          },
        });
        const [enc] = await client.encrypt({ name: key.name, plaintext: Buffer.from('allowed') });
        await client.decrypt({ name: key.name, ciphertext: enc.ciphertext }, reason('GOOGLE_INITIATED_SYSTEM_OPERATION'));
        const err = await rejectsWithCode(client.encrypt({ name: key.name, plaintext: Buffer.from('x') }, reason('GOOGLE_INITIATED_REVIEW')), Code.FAILED_PRECONDITION);
        assert.match(err.message, /denied by the key's Key Access Justifications policy/);
        await rejectsWithCode(client.decrypt({ name: key.name, ciphertext: enc.ciphertext }, reason('THIRD_PARTY_DATA_REQUEST')), Code.FAILED_PRECONDITION);

        // An empty list allows nothing; removing the policy allows everything again.
        await client.updateCryptoKey({ cryptoKey: { name: key.name, keyAccessJustificationsPolicy: allowing() }, updateMask: { paths: ['key_access_justifications_policy'] } });
        await rejectsWithCode(client.encrypt({ name: key.name, plaintext: Buffer.from('x') }), Code.FAILED_PRECONDITION);
        await client.updateCryptoKey({ cryptoKey: { name: key.name }, updateMask: { paths: ['key_access_justifications_policy'] } });
        await client.encrypt({ name: key.name, plaintext: Buffer.from('x') }, reason('GOOGLE_INITIATED_REVIEW'));
      });
    }

    test('sign, raw and MAC calls are governed; GetPublicKey and MacVerify are not', async () => {
      const { client } = kms;
      const policy = allowing('CUSTOMER_INITIATED_ACCESS');
      const [signer] = await client.createCryptoKey({
        parent: ring, cryptoKeyId: uniqueId('sign'),
        cryptoKey: { purpose: 'ASYMMETRIC_SIGN', versionTemplate: { algorithm: 'EC_SIGN_P256_SHA256' }, keyAccessJustificationsPolicy: policy },
      });
      const version = `${signer.name}/cryptoKeyVersions/1`;
      const digest = { sha256: createHash('sha256').update('doc').digest() };
      await client.asymmetricSign({ name: version, digest });
      await rejectsWithCode(client.asymmetricSign({ name: version, digest }, reason('CUSTOMER_INITIATED_SUPPORT')), Code.FAILED_PRECONDITION);
      await client.getPublicKey({ name: version }, reason('CUSTOMER_INITIATED_SUPPORT'));

      const [mac] = await client.createCryptoKey({
        parent: ring, cryptoKeyId: uniqueId('mac'),
        cryptoKey: { purpose: 'MAC', versionTemplate: { algorithm: 'HMAC_SHA256' }, keyAccessJustificationsPolicy: policy },
      });
      const macVersion = `${mac.name}/cryptoKeyVersions/1`;
      const [signed] = await client.macSign({ name: macVersion, data: Buffer.from('m') });
      await rejectsWithCode(client.macSign({ name: macVersion, data: Buffer.from('m') }, reason('GOOGLE_INITIATED_REVIEW')), Code.FAILED_PRECONDITION);
      const [verified] = await client.macVerify({ name: macVersion, data: Buffer.from('m'), mac: signed.mac }, reason('GOOGLE_INITIATED_REVIEW'));
      assert.equal(verified.success, true);

      const [raw] = await client.createCryptoKey({
        parent: ring, cryptoKeyId: uniqueId('raw'),
        cryptoKey: { purpose: 'RAW_ENCRYPT_DECRYPT', versionTemplate: { algorithm: 'AES_256_GCM' }, keyAccessJustificationsPolicy: policy },
      });
      await rejectsWithCode(client.rawEncrypt({ name: `${raw.name}/cryptoKeyVersions/1`, plaintext: Buffer.from('r') }, reason('GOOGLE_INITIATED_REVIEW')), Code.FAILED_PRECONDITION);
      const [sealed] = await client.rawEncrypt({ name: `${raw.name}/cryptoKeyVersions/1`, plaintext: Buffer.from('r') });
      await rejectsWithCode(client.rawDecrypt({
        name: `${raw.name}/cryptoKeyVersions/1`, ciphertext: sealed.ciphertext, initializationVector: sealed.initializationVector, tagLength: sealed.tagLength,
      }, reason('GOOGLE_INITIATED_REVIEW')), Code.FAILED_PRECONDITION);

      const [oaep] = await client.createCryptoKey({
        parent: ring, cryptoKeyId: uniqueId('oaep'),
        cryptoKey: { purpose: 'ASYMMETRIC_DECRYPT', versionTemplate: { algorithm: 'RSA_DECRYPT_OAEP_2048_SHA256' }, keyAccessJustificationsPolicy: policy },
      });
      await rejectsWithCode(client.asymmetricDecrypt({ name: `${oaep.name}/cryptoKeyVersions/1`, ciphertext: Buffer.alloc(256, 1) }, reason('GOOGLE_INITIATED_REVIEW')), Code.FAILED_PRECONDITION);

      const [kem] = await client.createCryptoKey({
        parent: ring, cryptoKeyId: uniqueId('kem'),
        cryptoKey: { purpose: 'KEY_ENCAPSULATION', versionTemplate: { algorithm: 'ML_KEM_768' }, keyAccessJustificationsPolicy: policy },
      });
      await rejectsWithCode(client.decapsulate({ name: `${kem.name}/cryptoKeyVersions/1`, ciphertext: Buffer.alloc(1088, 1) }, reason('GOOGLE_INITIATED_REVIEW')), Code.FAILED_PRECONDITION);
      const [secret] = await client.decapsulate({ name: `${kem.name}/cryptoKeyVersions/1`, ciphertext: Buffer.alloc(1088, 1) });
      assert.equal(Buffer.from(secret.sharedSecret as Uint8Array).length, 32);
    });
  });
}
