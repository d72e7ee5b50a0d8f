// The symmetric crypto RPCs through the official client over gRPC and REST: Encrypt /
// Decrypt, MacSign / MacVerify, RawEncrypt / RawDecrypt, GenerateRandomBytes,
// and HSM keys. Checksums are recomputed with the tests' own CRC32C.
// (AsymmetricSign, AsymmetricDecrypt and GetPublicKey: asymmetric-*.test.ts.)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Code } from '../../src/errors';
import { crc, crc32c, crcValue } from '../helpers/crc32c';
import { type Harness, LOCATION, rejectsWithCode, startKms, TRANSPORTS } from '../helpers/kms';
import { bytes, type CreatedKey, createKey, createKeyRing, createKeys } from '../helpers/kms-keys';

const KiB = 1024;

void test("the tests' own CRC32C gives the RFC 3720 check value", () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32c(Buffer.alloc(0)), 0);
});

for (const transport of TRANSPORTS) {
  void describe(`crypto operations over ${transport}`, () => {
    let kms: Harness;
    let ring: string;
    before(async () => {
      kms = await startKms({ transport });
      ring = await createKeyRing(kms.client);
    });
    after(() => kms.close());

    void describe('Encrypt and Decrypt', () => {
      let keyA: CreatedKey;
      let keyB: CreatedKey;
      before(async () => {
        keyA = await createKey(kms.client, ring, { purpose: 'ENCRYPT_DECRYPT' });
        keyB = await createKey(kms.client, ring, { purpose: 'ENCRYPT_DECRYPT' });
      });

      void test('round trip with checksums: response checksums right, verified flags true', async () => {
        const plaintext = Buffer.from('attack at dawn');
        const aad = Buffer.from('context');
        const [enc] = await kms.client.encrypt({
          name: keyA.key,
          plaintext,
          additionalAuthenticatedData: aad,
          plaintextCrc32c: crc(plaintext),
          additionalAuthenticatedDataCrc32c: crc(aad),
        });
        const ciphertext = bytes(enc.ciphertext);
        assert.equal(enc.name, keyA.version);
        assert.equal(crcValue(enc.ciphertextCrc32c), crc32c(ciphertext));
        assert.equal(enc.verifiedPlaintextCrc32c, true);
        assert.equal(enc.verifiedAdditionalAuthenticatedDataCrc32c, true);
        assert.equal(enc.protectionLevel, 'SOFTWARE');
        assert.ok(!ciphertext.includes(plaintext), 'the ciphertext does not hold the plaintext');

        const [dec] = await kms.client.decrypt({
          name: keyA.key,
          ciphertext,
          additionalAuthenticatedData: aad,
          ciphertextCrc32c: crc(ciphertext),
          additionalAuthenticatedDataCrc32c: crc(aad),
        });
        assert.deepEqual(bytes(dec.plaintext), plaintext);
        assert.equal(crcValue(dec.plaintextCrc32c), crc32c(plaintext));
        assert.equal(dec.usedPrimary, true);
        assert.equal(dec.protectionLevel, 'SOFTWARE');
      });

      void test('verified flags are false when no checksum was sent', async () => {
        const plaintext = Buffer.from('no checksums');
        const [enc] = await kms.client.encrypt({ name: keyA.key, plaintext, additionalAuthenticatedData: Buffer.from('a') });
        assert.equal(enc.verifiedPlaintextCrc32c, false);
        assert.equal(enc.verifiedAdditionalAuthenticatedDataCrc32c, false);
        assert.equal(crcValue(enc.ciphertextCrc32c), crc32c(bytes(enc.ciphertext)));
        const [only] = await kms.client.encrypt({ name: keyA.key, plaintext, plaintextCrc32c: crc(plaintext) });
        assert.equal(only.verifiedPlaintextCrc32c, true);
        assert.equal(only.verifiedAdditionalAuthenticatedDataCrc32c, false);
      });

      void test('two encryptions of the same plaintext differ', async () => {
        const plaintext = Buffer.from('same');
        const [a] = await kms.client.encrypt({ name: keyA.key, plaintext });
        const [b] = await kms.client.encrypt({ name: keyA.key, plaintext });
        assert.notDeepEqual(bytes(a.ciphertext), bytes(b.ciphertext));
      });

      void test('64 KiB plaintext with 64 KiB AAD is accepted', async () => {
        const plaintext = randomBytes(64 * KiB);
        const aad = randomBytes(64 * KiB);
        const [enc] = await kms.client.encrypt({ name: keyA.key, plaintext, additionalAuthenticatedData: aad });
        const [dec] = await kms.client.decrypt({ name: keyA.key, ciphertext: enc.ciphertext, additionalAuthenticatedData: aad });
        assert.deepEqual(bytes(dec.plaintext), plaintext);
        assert.equal(crcValue(dec.plaintextCrc32c), crc32c(plaintext));
      });

      void test('64 KiB + 1 of plaintext is refused, naming plaintext', async () => {
        const err = await rejectsWithCode(
          kms.client.encrypt({ name: keyA.key, plaintext: Buffer.alloc(64 * KiB + 1) }),
          Code.INVALID_ARGUMENT,
        );
        assert.match(err.message, /plaintext/);
      });

      void test('64 KiB + 1 of AAD is refused, naming additional_authenticated_data', async () => {
        const err = await rejectsWithCode(
          kms.client.encrypt({ name: keyA.key, plaintext: Buffer.from('x'), additionalAuthenticatedData: Buffer.alloc(64 * KiB + 1) }),
          Code.INVALID_ARGUMENT,
        );
        assert.match(err.message, /additional_authenticated_data/);
      });

      void test('Decrypt with different AAD is INVALID_ARGUMENT', async () => {
        const [enc] = await kms.client.encrypt({
          name: keyA.key, plaintext: Buffer.from('bound'), additionalAuthenticatedData: Buffer.from('right'),
        });
        await rejectsWithCode(
          kms.client.decrypt({ name: keyA.key, ciphertext: enc.ciphertext, additionalAuthenticatedData: Buffer.from('wrong') }),
          Code.INVALID_ARGUMENT,
        );
        await rejectsWithCode(kms.client.decrypt({ name: keyA.key, ciphertext: enc.ciphertext }), Code.INVALID_ARGUMENT);
      });

      void test("key A's ciphertext sent to key B is INVALID_ARGUMENT", async () => {
        const [enc] = await kms.client.encrypt({ name: keyA.key, plaintext: Buffer.from('for A only') });
        const err = await rejectsWithCode(kms.client.decrypt({ name: keyB.key, ciphertext: enc.ciphertext }), Code.INVALID_ARGUMENT);
        assert.match(err.message, /ciphertext/);
      });

      void test('Encrypt on a CryptoKeyVersion name uses that version', async () => {
        const key = await createKey(kms.client, ring, { purpose: 'ENCRYPT_DECRYPT' });
        const [v2] = await kms.client.createCryptoKeyVersion({ parent: key.key, cryptoKeyVersion: {} });
        const plaintext = Buffer.from('by version');
        const [enc] = await kms.client.encrypt({ name: v2.name, plaintext });
        assert.equal(enc.name, v2.name);
        const [dec] = await kms.client.decrypt({ name: key.key, ciphertext: enc.ciphertext });
        assert.deepEqual(bytes(dec.plaintext), plaintext);
        assert.equal(dec.usedPrimary, false, 'version 2 was not made primary');
        // Disabling version 2 makes the ciphertext unusable: it really was made by version 2.
        await kms.client.updateCryptoKeyVersion({ cryptoKeyVersion: { name: v2.name, state: 'DISABLED' }, updateMask: { paths: ['state'] } });
        await rejectsWithCode(kms.client.decrypt({ name: key.key, ciphertext: enc.ciphertext }), Code.FAILED_PRECONDITION);
        const [primary] = await kms.client.encrypt({ name: key.key, plaintext });
        assert.equal(primary.name, key.version);
      });
    });

    void describe('MacSign and MacVerify', () => {
      const MACS = [
        { algorithm: 'HMAC_SHA1', length: 20 },
        { algorithm: 'HMAC_SHA224', length: 28 },
        { algorithm: 'HMAC_SHA256', length: 32 },
        { algorithm: 'HMAC_SHA384', length: 48 },
        { algorithm: 'HMAC_SHA512', length: 64 },
      ];
      let keys: Map<string, CreatedKey>;
      before(async () => {
        keys = await createKeys(kms.client, ring, MACS.map((m) => ({ purpose: 'MAC', algorithm: m.algorithm })));
      });

      for (const { algorithm, length } of MACS) {
        void test(`${algorithm}: sign, verify, reject a flipped byte`, async () => {
          const name = keys.get(algorithm)!.version;
          const data = Buffer.from(`message for ${algorithm}`);
          const [signed] = await kms.client.macSign({ name, data, dataCrc32c: crc(data) });
          const mac = bytes(signed.mac);
          assert.equal(mac.length, length);
          assert.equal(signed.name, name);
          assert.equal(crcValue(signed.macCrc32c), crc32c(mac));
          assert.equal(signed.verifiedDataCrc32c, true);
          assert.equal(signed.protectionLevel, 'SOFTWARE');

          const [again] = await kms.client.macSign({ name, data });
          assert.deepEqual(bytes(again.mac), mac, 'HMAC is deterministic');
          assert.equal(again.verifiedDataCrc32c, false);

          const [ok] = await kms.client.macVerify({ name, data, mac, dataCrc32c: crc(data), macCrc32c: crc(mac) });
          assert.equal(ok.success, true);
          assert.equal(ok.name, name);
          assert.equal(ok.verifiedDataCrc32c, true);
          assert.equal(ok.verifiedMacCrc32c, true);
          assert.equal(ok.verifiedSuccessIntegrity, true);

          const flipped = Buffer.from(mac);
          flipped[length - 1] ^= 0x01;
          const [bad] = await kms.client.macVerify({ name, data, mac: flipped });
          assert.equal(bad.success, false);
          assert.equal(bad.verifiedSuccessIntegrity, false, 'the integrity copy of success agrees with it');
          assert.equal(bad.verifiedDataCrc32c, false);
          assert.equal(bad.verifiedMacCrc32c, false);

          const [otherData] = await kms.client.macVerify({ name, data: Buffer.from('other'), mac });
          assert.equal(otherData.success, false);
        });
      }

      void test('MACs of different keys differ', async () => {
        const data = Buffer.from('same data');
        const other = await createKey(kms.client, ring, { purpose: 'MAC', algorithm: 'HMAC_SHA256' });
        const [a] = await kms.client.macSign({ name: keys.get('HMAC_SHA256')!.version, data });
        const [b] = await kms.client.macSign({ name: other.version, data });
        assert.notDeepEqual(bytes(a.mac), bytes(b.mac));
      });
    });

    void describe('RawEncrypt and RawDecrypt', () => {
      const GCM = ['AES_128_GCM', 'AES_256_GCM'];
      const CBC = ['AES_128_CBC', 'AES_256_CBC'];
      const CTR = ['AES_128_CTR', 'AES_256_CTR'];
      let keys: Map<string, CreatedKey>;
      before(async () => {
        keys = await createKeys(kms.client, ring, [...GCM, ...CBC, ...CTR].map((algorithm) => ({ purpose: 'RAW_ENCRYPT_DECRYPT', algorithm })));
      });

      for (const algorithm of GCM) {
        void test(`${algorithm}: round trip with AAD, generated 12-byte IV, tag_length 16, checksums`, async () => {
          const name = keys.get(algorithm)!.version;
          const plaintext = Buffer.from('raw gcm plaintext of 37 bytes......!');
          const aad = Buffer.from('raw aad');
          const [enc] = await kms.client.rawEncrypt({
            name, plaintext, additionalAuthenticatedData: aad, plaintextCrc32c: crc(plaintext), additionalAuthenticatedDataCrc32c: crc(aad),
          });
          const ciphertext = bytes(enc.ciphertext);
          const iv = bytes(enc.initializationVector);
          assert.equal(enc.name, name);
          assert.equal(enc.tagLength, 16);
          assert.equal(iv.length, 12);
          assert.equal(ciphertext.length, plaintext.length + 16, 'the tag is appended');
          assert.equal(crcValue(enc.ciphertextCrc32c), crc32c(ciphertext));
          assert.equal(crcValue(enc.initializationVectorCrc32c), crc32c(iv));
          assert.equal(enc.verifiedPlaintextCrc32c, true);
          assert.equal(enc.verifiedAdditionalAuthenticatedDataCrc32c, true);
          assert.equal(enc.verifiedInitializationVectorCrc32c, false);
          assert.equal(enc.protectionLevel, 'SOFTWARE');

          const [dec] = await kms.client.rawDecrypt({
            name, ciphertext, initializationVector: iv, additionalAuthenticatedData: aad, tagLength: 16,
            ciphertextCrc32c: crc(ciphertext), initializationVectorCrc32c: crc(iv), additionalAuthenticatedDataCrc32c: crc(aad),
          });
          assert.deepEqual(bytes(dec.plaintext), plaintext);
          assert.equal(crcValue(dec.plaintextCrc32c), crc32c(plaintext));
          assert.equal(dec.verifiedCiphertextCrc32c, true);
          assert.equal(dec.verifiedInitializationVectorCrc32c, true);
          assert.equal(dec.verifiedAdditionalAuthenticatedDataCrc32c, true);

          const [noChecksums] = await kms.client.rawDecrypt({ name, ciphertext, initializationVector: iv, additionalAuthenticatedData: aad });
          assert.deepEqual(bytes(noChecksums.plaintext), plaintext);
          assert.equal(noChecksums.verifiedCiphertextCrc32c, false);
          assert.equal(noChecksums.verifiedInitializationVectorCrc32c, false);
          assert.equal(noChecksums.verifiedAdditionalAuthenticatedDataCrc32c, false);

          await rejectsWithCode(
            kms.client.rawDecrypt({ name, ciphertext, initializationVector: iv, additionalAuthenticatedData: Buffer.from('other') }),
            Code.INVALID_ARGUMENT,
          );
          const [other] = await kms.client.rawEncrypt({ name, plaintext, additionalAuthenticatedData: aad });
          assert.notDeepEqual(bytes(other.initializationVector), iv, 'a fresh IV every time');
        });

        void test(`${algorithm}: a caller-supplied IV is refused, naming initialization_vector`, async () => {
          const err = await rejectsWithCode(
            kms.client.rawEncrypt({ name: keys.get(algorithm)!.version, plaintext: Buffer.from('x'), initializationVector: Buffer.alloc(12, 1) }),
            Code.INVALID_ARGUMENT,
          );
          assert.match(err.message, /initialization_vector/);
        });
      }

      for (const algorithm of CBC) {
        void test(`${algorithm}: round trip, caller IV used, block-aligned plaintext required`, async () => {
          const name = keys.get(algorithm)!.version;
          const plaintext = Buffer.from('0123456789abcdef0123456789ABCDEF');
          const [generated] = await kms.client.rawEncrypt({ name, plaintext });
          const iv = bytes(generated.initializationVector);
          assert.equal(iv.length, 16);
          assert.equal(crcValue(generated.initializationVectorCrc32c), crc32c(iv));
          assert.equal(bytes(generated.ciphertext).length, 32, 'no padding');
          assert.equal(generated.tagLength ?? 0, 0);
          const [dec] = await kms.client.rawDecrypt({ name, ciphertext: generated.ciphertext, initializationVector: iv });
          assert.deepEqual(bytes(dec.plaintext), plaintext);

          const callerIv = Buffer.alloc(16, 0x42);
          const [a] = await kms.client.rawEncrypt({ name, plaintext, initializationVector: callerIv, initializationVectorCrc32c: crc(callerIv) });
          const [b] = await kms.client.rawEncrypt({ name, plaintext, initializationVector: callerIv });
          assert.deepEqual(bytes(a.initializationVector), callerIv);
          assert.equal(a.verifiedInitializationVectorCrc32c, true);
          assert.equal(b.verifiedInitializationVectorCrc32c, false);
          assert.deepEqual(bytes(a.ciphertext), bytes(b.ciphertext), 'same key, IV and plaintext: same ciphertext');
          // CBC chains: the first block depends only on the IV and the first plaintext block.
          const [changedTail] = await kms.client.rawEncrypt({
            name, plaintext: Buffer.concat([plaintext.subarray(0, 16), Buffer.alloc(16)]), initializationVector: callerIv,
          });
          assert.deepEqual(bytes(changedTail.ciphertext).subarray(0, 16), bytes(a.ciphertext).subarray(0, 16));
          assert.notDeepEqual(bytes(changedTail.ciphertext).subarray(16), bytes(a.ciphertext).subarray(16));

          const err = await rejectsWithCode(kms.client.rawEncrypt({ name, plaintext: Buffer.alloc(33) }), Code.INVALID_ARGUMENT);
          assert.match(err.message, /plaintext/);
        });
      }

      for (const algorithm of CTR) {
        void test(`${algorithm}: round trip of any length, caller IV used as the counter`, async () => {
          const name = keys.get(algorithm)!.version;
          const p1 = Buffer.from('CTR needs no padding: 37 bytes long!!');
          const p2 = Buffer.from('a different plaintext, also 37 bytes.');
          const callerIv = Buffer.alloc(16, 0x07);
          const [a] = await kms.client.rawEncrypt({ name, plaintext: p1, initializationVector: callerIv });
          const [again] = await kms.client.rawEncrypt({ name, plaintext: p1, initializationVector: callerIv });
          const [b] = await kms.client.rawEncrypt({ name, plaintext: p2, initializationVector: callerIv });
          const c1 = bytes(a.ciphertext);
          const c2 = bytes(b.ciphertext);
          assert.deepEqual(bytes(a.initializationVector), callerIv);
          assert.equal(c1.length, p1.length);
          assert.deepEqual(bytes(again.ciphertext), c1);
          // One keystream for one IV: c1 xor c2 = p1 xor p2.
          const xor = (x: Buffer, y: Buffer) => Buffer.from(x.map((v, i) => v ^ y[i]));
          assert.deepEqual(xor(c1, c2), xor(p1, p2));
          const [dec] = await kms.client.rawDecrypt({ name, ciphertext: c1, initializationVector: callerIv });
          assert.deepEqual(bytes(dec.plaintext), p1);

          const [generated] = await kms.client.rawEncrypt({ name, plaintext: p1 });
          assert.equal(bytes(generated.initializationVector).length, 16);
          assert.notDeepEqual(bytes(generated.initializationVector), callerIv);
          assert.equal(crcValue(generated.initializationVectorCrc32c), crc32c(bytes(generated.initializationVector)));
          const [dec2] = await kms.client.rawDecrypt({
            name, ciphertext: generated.ciphertext, initializationVector: generated.initializationVector,
          });
          assert.deepEqual(bytes(dec2.plaintext), p1);
        });
      }
    });

    void describe('GenerateRandomBytes', () => {
      for (const length of [8, 32, 1024]) {
        void test(`${length} bytes at HSM`, async () => {
          const [a] = await kms.client.generateRandomBytes({ location: LOCATION, lengthBytes: length, protectionLevel: 'HSM' });
          const [b] = await kms.client.generateRandomBytes({ location: LOCATION, lengthBytes: length, protectionLevel: 'HSM' });
          assert.equal(bytes(a.data).length, length);
          assert.equal(crcValue(a.dataCrc32c), crc32c(bytes(a.data)));
          assert.notDeepEqual(bytes(a.data), bytes(b.data));
        });
      }

      const refused = [
        { what: 'length 7', lengthBytes: 7, protectionLevel: 'HSM', field: /length_bytes/ },
        { what: 'length 1025', lengthBytes: 1025, protectionLevel: 'HSM', field: /length_bytes/ },
        { what: 'protection level SOFTWARE', lengthBytes: 32, protectionLevel: 'SOFTWARE', field: /protection_level/ },
        { what: 'protection level unspecified', lengthBytes: 32, protectionLevel: undefined, field: /protection_level/ },
      ] as const;
      for (const r of refused) {
        void test(`${r.what} is INVALID_ARGUMENT`, async () => {
          const err = await rejectsWithCode(
            kms.client.generateRandomBytes({ location: LOCATION, lengthBytes: r.lengthBytes, protectionLevel: r.protectionLevel }),
            Code.INVALID_ARGUMENT,
          );
          assert.match(err.message, r.field);
        });
      }
    });

    void describe('HSM protection level', () => {
      void test('HSM keys of every kind work and report HSM', async () => {
        const { client } = kms;
        const sym = await createKey(client, ring, { purpose: 'ENCRYPT_DECRYPT', protectionLevel: 'HSM' });
        const [key] = await client.getCryptoKey({ name: sym.key });
        assert.equal(key.versionTemplate?.protectionLevel, 'HSM');
        assert.equal(key.primary?.protectionLevel, 'HSM');
        const [enc] = await client.encrypt({ name: sym.key, plaintext: Buffer.from('in the hsm') });
        assert.equal(enc.protectionLevel, 'HSM');
        const [dec] = await client.decrypt({ name: sym.key, ciphertext: enc.ciphertext });
        assert.equal(dec.protectionLevel, 'HSM');
        assert.equal(bytes(dec.plaintext).toString(), 'in the hsm');

        const sign = await createKey(client, ring, { purpose: 'ASYMMETRIC_SIGN', algorithm: 'EC_SIGN_P256_SHA256', protectionLevel: 'HSM' });
        const [sig] = await client.asymmetricSign({ name: sign.version, data: Buffer.from('hsm signed') });
        assert.equal(sig.protectionLevel, 'HSM');
        const [pub] = await client.getPublicKey({ name: sign.version });
        assert.equal(pub.protectionLevel, 'HSM');

        const mac = await createKey(client, ring, { purpose: 'MAC', algorithm: 'HMAC_SHA256', protectionLevel: 'HSM' });
        const [tag] = await client.macSign({ name: mac.version, data: Buffer.from('m') });
        assert.equal(tag.protectionLevel, 'HSM');

        const raw = await createKey(client, ring, { purpose: 'RAW_ENCRYPT_DECRYPT', algorithm: 'AES_256_GCM', protectionLevel: 'HSM' });
        const [rawEnc] = await client.rawEncrypt({ name: raw.version, plaintext: Buffer.from('r') });
        assert.equal(rawEnc.protectionLevel, 'HSM');
        const [version] = await client.getCryptoKeyVersion({ name: raw.version });
        assert.equal(version.protectionLevel, 'HSM');
      });

      void test('HSM Encrypt takes plaintext + AAD up to 8 KiB and refuses more', async () => {
        const sym = await createKey(kms.client, ring, { purpose: 'ENCRYPT_DECRYPT', protectionLevel: 'HSM' });
        const [ok] = await kms.client.encrypt({
          name: sym.key, plaintext: Buffer.alloc(4 * KiB, 1), additionalAuthenticatedData: Buffer.alloc(4 * KiB, 2),
        });
        assert.equal(ok.protectionLevel, 'HSM');
        const err = await rejectsWithCode(
          kms.client.encrypt({ name: sym.key, plaintext: Buffer.alloc(4 * KiB + 1, 1), additionalAuthenticatedData: Buffer.alloc(4 * KiB, 2) }),
          Code.INVALID_ARGUMENT,
        );
        assert.match(err.message, /plaintext/);
        await rejectsWithCode(kms.client.encrypt({ name: sym.key, plaintext: Buffer.alloc(8 * KiB + 1) }), Code.INVALID_ARGUMENT);
      });

      void test('HSM RawEncrypt / RawDecrypt take 8 KiB of plaintext and refuse more with AAD', async () => {
        const raw = await createKey(kms.client, ring, { purpose: 'RAW_ENCRYPT_DECRYPT', algorithm: 'AES_128_GCM', protectionLevel: 'HSM' });
        const plaintext = randomBytes(8 * KiB);
        const [enc] = await kms.client.rawEncrypt({ name: raw.version, plaintext });
        // The ciphertext is 16 bytes longer (the tag): the limit is on the plaintext it holds.
        const [dec] = await kms.client.rawDecrypt({ name: raw.version, ciphertext: enc.ciphertext, initializationVector: enc.initializationVector });
        assert.deepEqual(bytes(dec.plaintext), plaintext);
        const err = await rejectsWithCode(
          kms.client.rawEncrypt({ name: raw.version, plaintext: Buffer.alloc(8 * KiB, 1), additionalAuthenticatedData: Buffer.alloc(1) }),
          Code.INVALID_ARGUMENT,
        );
        assert.match(err.message, /plaintext/);
      });
    });
  });
}
