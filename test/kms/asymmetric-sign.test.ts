// AsymmetricSign and GetPublicKey through the official client for every
// ASYMMETRIC_SIGN algorithm OpenEKM supports; each signature is verified with
// node:crypto against the PEM from GetPublicKey, independently of the server.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, createHash, publicDecrypt, verify } from 'node:crypto';
import { crc, crc32c, crcValue } from '../helpers/crc32c';
import type { Harness } from '../helpers/kms';
import { asymmetricFixture, bytes, type CreatedKey } from '../helpers/kms-keys';
import { checkedPublicKey } from '../helpers/public-key';

type Hash = 'sha256' | 'sha384' | 'sha512';
type Scheme = 'pss' | 'pkcs1' | 'raw-pkcs1' | 'ecdsa' | 'ed25519';

interface SignAlgorithm {
  algorithm: string;
  scheme: Scheme;
  /** The digest the algorithm signs; absent for raw PKCS#1 and Ed25519 (data only). */
  hash?: Hash;
  bits?: number;
  curve?: string;
}

const HASH_BYTES: Record<Hash, number> = { sha256: 32, sha384: 48, sha512: 64 };

const rsa = (scheme: 'pss' | 'pkcs1', bits: number, hash: Hash): SignAlgorithm => ({
  algorithm: `RSA_SIGN_${scheme.toUpperCase()}_${bits}_${hash.toUpperCase()}`, scheme, hash, bits,
});

const ALGORITHMS: SignAlgorithm[] = [
  rsa('pss', 2048, 'sha256'),
  rsa('pss', 3072, 'sha256'),
  rsa('pss', 4096, 'sha256'),
  rsa('pss', 4096, 'sha512'),
  rsa('pkcs1', 2048, 'sha256'),
  rsa('pkcs1', 3072, 'sha256'),
  rsa('pkcs1', 4096, 'sha256'),
  rsa('pkcs1', 4096, 'sha512'),
  { algorithm: 'RSA_SIGN_RAW_PKCS1_2048', scheme: 'raw-pkcs1', bits: 2048 },
  { algorithm: 'RSA_SIGN_RAW_PKCS1_3072', scheme: 'raw-pkcs1', bits: 3072 },
  { algorithm: 'RSA_SIGN_RAW_PKCS1_4096', scheme: 'raw-pkcs1', bits: 4096 },
  { algorithm: 'EC_SIGN_P256_SHA256', scheme: 'ecdsa', hash: 'sha256', curve: 'prime256v1' },
  { algorithm: 'EC_SIGN_P384_SHA384', scheme: 'ecdsa', hash: 'sha384', curve: 'secp384r1' },
  { algorithm: 'EC_SIGN_SECP256K1_SHA256', scheme: 'ecdsa', hash: 'sha256', curve: 'secp256k1' },
  { algorithm: 'EC_SIGN_ED25519', scheme: 'ed25519' },
];

/** Verifies signature over data with node:crypto, as a Cloud KMS user would. */
function verifies(a: SignAlgorithm, pem: string, data: Buffer, signature: Buffer): boolean {
  switch (a.scheme) {
    case 'pss':
      return verify(a.hash!, data, { key: pem, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: HASH_BYTES[a.hash!] }, signature);
    case 'pkcs1':
      return verify(a.hash!, data, { key: pem, padding: constants.RSA_PKCS1_PADDING }, signature);
    case 'ecdsa':
      return verify(a.hash!, data, { key: pem, dsaEncoding: 'der' }, signature);
    case 'ed25519':
      return verify(null, data, pem, signature);
    case 'raw-pkcs1':
      return publicDecrypt({ key: pem, padding: constants.RSA_PKCS1_PADDING }, signature).equals(data);
  }
}

void describe('AsymmetricSign and GetPublicKey', () => {
  let kms: Harness;
  let keys: Map<string, CreatedKey>;
  let pems: Map<string, string>;
  before(async () => {
    ({ kms, keys, pems } = await asymmetricFixture('ASYMMETRIC_SIGN', ALGORITHMS.map((a) => a.algorithm)));
  });
  after(() => kms.close());

  for (const a of ALGORITHMS) {
    void describe(a.algorithm, () => {
      const version = () => keys.get(a.algorithm)!.version;
      const pem = () => pems.get(a.algorithm)!;

      void test('GetPublicKey: PEM, DER, checksums, the right key type', async () => {
        const { pem: checked, key } = await checkedPublicKey(kms.client, version(), a.algorithm);
        assert.equal(checked, pem());
        const details = key.asymmetricKeyDetails!;
        if (a.bits !== undefined) {
          assert.equal(key.asymmetricKeyType, 'rsa');
          assert.equal(details.modulusLength, a.bits);
          assert.equal(details.publicExponent, 65537n);
        } else if (a.curve !== undefined) {
          assert.equal(key.asymmetricKeyType, 'ec');
          assert.equal(details.namedCurve, a.curve);
        } else {
          assert.equal(key.asymmetricKeyType, 'ed25519');
        }
      });

      void test('signs data', async () => {
        // Raw PKCS#1 signs the bytes as given (at most k - 11): here something the size of a DigestInfo.
        const data = Buffer.from(`data signed by ${a.algorithm}`.padEnd(51, '.'));
        const [res] = await kms.client.asymmetricSign({ name: version(), data, dataCrc32c: crc(data) });
        const signature = bytes(res.signature);
        assert.ok(verifies(a, pem(), data, signature), 'node:crypto verifies the signature');
        assert.ok(!verifies(a, pem(), Buffer.from(data).fill(0x2e, 0, 1), signature), 'and not for other data');
        if (a.bits !== undefined) assert.equal(signature.length, a.bits / 8);
        assert.equal(crcValue(res.signatureCrc32c), crc32c(signature));
        assert.equal(res.verifiedDataCrc32c, true);
        assert.equal(res.verifiedDigestCrc32c, false);
        assert.equal(res.name, version());
        assert.equal(res.protectionLevel, 'SOFTWARE');
      });

      if (a.hash !== undefined) {
        const hash = a.hash;
        void test(`signs a ${hash} digest`, async () => {
          const data = Buffer.from(`digest signed by ${a.algorithm}`);
          const digest = createHash(hash).update(data).digest();
          const [res] = await kms.client.asymmetricSign({ name: version(), digest: { [hash]: digest }, digestCrc32c: crc(digest) });
          const signature = bytes(res.signature);
          assert.ok(verifies(a, pem(), data, signature), 'node:crypto verifies the signature over the data digested');
          assert.equal(crcValue(res.signatureCrc32c), crc32c(signature));
          assert.equal(res.verifiedDigestCrc32c, true);
          assert.equal(res.verifiedDataCrc32c, false);
          assert.equal(res.name, version());

          const [unchecked] = await kms.client.asymmetricSign({ name: version(), digest: { [hash]: digest } });
          assert.ok(verifies(a, pem(), data, bytes(unchecked.signature)));
          assert.equal(unchecked.verifiedDigestCrc32c, false);
          assert.equal(unchecked.verifiedDataCrc32c, false);
        });
      }
    });
  }
});
