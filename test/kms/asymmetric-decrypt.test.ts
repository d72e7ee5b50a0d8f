// AsymmetricDecrypt through the official client for every RSA_DECRYPT_OAEP_*
// algorithm: the test encrypts with node:crypto under the PEM from
// GetPublicKey and the server must give the plaintext back.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, publicEncrypt, randomBytes } from 'node:crypto';
import { Code } from '../../src/errors';
import { crc, crc32c, crcValue } from '../helpers/crc32c';
import { type Harness, rejectsWithCode } from '../helpers/kms';
import { asymmetricFixture, bytes, type CreatedKey } from '../helpers/kms-keys';
import { checkedPublicKey } from '../helpers/public-key';

type Hash = 'sha1' | 'sha256' | 'sha512';
const HASH_BYTES: Record<Hash, number> = { sha1: 20, sha256: 32, sha512: 64 };

const oaep = (bits: number, hash: Hash) => ({ algorithm: `RSA_DECRYPT_OAEP_${bits}_${hash.toUpperCase()}`, bits, hash });

const ALGORITHMS = [
  oaep(2048, 'sha256'),
  oaep(3072, 'sha256'),
  oaep(4096, 'sha256'),
  oaep(4096, 'sha512'),
  oaep(2048, 'sha1'),
  oaep(3072, 'sha1'),
  oaep(4096, 'sha1'),
];

void describe('AsymmetricDecrypt', () => {
  let kms: Harness;
  let keys: Map<string, CreatedKey>;
  let pems: Map<string, string>;
  before(async () => {
    ({ kms, keys, pems } = await asymmetricFixture('ASYMMETRIC_DECRYPT', ALGORITHMS.map((a) => a.algorithm)));
  });
  after(() => kms.close());

  for (const { algorithm, bits, hash } of ALGORITHMS) {
    void describe(algorithm, () => {
      const version = () => keys.get(algorithm)!.version;
      const encrypt = (plaintext: Buffer, oaepHash: Hash = hash) =>
        publicEncrypt({ key: pems.get(algorithm)!, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash }, plaintext);

      void test('GetPublicKey: PEM, DER, checksums, an RSA key of the right size', async () => {
        const { pem, key } = await checkedPublicKey(kms.client, version(), algorithm);
        assert.equal(pem, pems.get(algorithm));
        assert.equal(key.asymmetricKeyType, 'rsa');
        assert.equal(key.asymmetricKeyDetails?.modulusLength, bits);
      });

      void test('decrypts what node:crypto encrypted, with checksums', async () => {
        const plaintext = Buffer.from(`secret for ${algorithm}`);
        const ciphertext = encrypt(plaintext);
        const [res] = await kms.client.asymmetricDecrypt({ name: version(), ciphertext, ciphertextCrc32c: crc(ciphertext) });
        assert.deepEqual(bytes(res.plaintext), plaintext);
        assert.equal(crcValue(res.plaintextCrc32c), crc32c(plaintext));
        assert.equal(res.verifiedCiphertextCrc32c, true);
        assert.equal(res.protectionLevel, 'SOFTWARE');

        const [unchecked] = await kms.client.asymmetricDecrypt({ name: version(), ciphertext });
        assert.deepEqual(bytes(unchecked.plaintext), plaintext);
        assert.equal(unchecked.verifiedCiphertextCrc32c, false);
      });

      void test('decrypts the longest plaintext OAEP allows (k - 2 hLen - 2)', async () => {
        const plaintext = randomBytes(bits / 8 - 2 * HASH_BYTES[hash] - 2);
        const [res] = await kms.client.asymmetricDecrypt({ name: version(), ciphertext: encrypt(plaintext) });
        assert.deepEqual(bytes(res.plaintext), plaintext);
      });

      void test('a ciphertext made with another OAEP hash is INVALID_ARGUMENT', async () => {
        const ciphertext = encrypt(Buffer.from('wrong hash'), hash === 'sha1' ? 'sha256' : 'sha1');
        const err = await rejectsWithCode(kms.client.asymmetricDecrypt({ name: version(), ciphertext }), Code.INVALID_ARGUMENT);
        assert.match(err.message, /ciphertext/);
      });
    });
  }
});
