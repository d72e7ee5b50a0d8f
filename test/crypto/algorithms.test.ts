import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_ALGORITHM, SUPPORTED_ALGORITHMS, algorithmInfo } from '../../src/crypto/algorithms';
import { enumNames } from '../../src/proto/registry';

void test('catalogue names are unique and all resolve', () => {
  const names = SUPPORTED_ALGORITHMS.map((a) => a.name);
  assert.equal(new Set(names).size, names.length);
  assert.equal(names.length, 47);
  for (const a of SUPPORTED_ALGORITHMS) assert.equal(algorithmInfo(a.name), a);
});

void test('every algorithm of the protos is in the catalogue; nothing else is', () => {
  const proto = enumNames('google.cloud.kms.v1.CryptoKeyVersion.CryptoKeyVersionAlgorithm').filter((n) => n !== 'CRYPTO_KEY_VERSION_ALGORITHM_UNSPECIFIED');
  assert.deepEqual(SUPPORTED_ALGORITHMS.map((a) => a.name).sort(), [...proto].sort());
  assert.equal(algorithmInfo('NOPE'), undefined);
});

void test('entries carry the parameters their kind needs', () => {
  for (const a of SUPPORTED_ALGORITHMS) {
    switch (a.kind) {
      case 'google-symmetric':
      case 'external-symmetric':
        assert.equal(a.keyBytes, 32);
        break;
      case 'raw-aes-gcm':
      case 'raw-aes-cbc':
      case 'raw-aes-ctr':
        assert.equal(a.purpose, 'RAW_ENCRYPT_DECRYPT');
        assert.equal(a.keyBytes, a.name.startsWith('AES_128') ? 16 : 32);
        break;
      case 'rsa-sign-pss':
      case 'rsa-sign-pkcs1':
      case 'rsa-decrypt-oaep':
        assert.ok(a.hash && a.modulusBits && a.name.includes(String(a.modulusBits)));
        assert.ok(a.name.endsWith(a.hash.toUpperCase()));
        break;
      case 'rsa-sign-raw-pkcs1':
        assert.ok(a.modulusBits && a.hash === undefined);
        break;
      case 'ec-sign':
        assert.ok(a.curve && a.hash);
        break;
      case 'ed25519':
        assert.equal(a.purpose, 'ASYMMETRIC_SIGN');
        break;
      case 'hmac':
        assert.equal(a.purpose, 'MAC');
        assert.ok(a.hash && a.keyBytes);
        break;
    }
  }
  assert.deepEqual(
    ['HMAC_SHA1', 'HMAC_SHA224', 'HMAC_SHA256', 'HMAC_SHA384', 'HMAC_SHA512'].map((n) => algorithmInfo(n)?.keyBytes),
    [20, 28, 32, 48, 64],
  );
});

void test('only ENCRYPT_DECRYPT has a default algorithm', () => {
  assert.deepEqual(DEFAULT_ALGORITHM, {
    ENCRYPT_DECRYPT: 'GOOGLE_SYMMETRIC_ENCRYPTION',
    RAW_ENCRYPT_DECRYPT: undefined,
    ASYMMETRIC_SIGN: undefined,
    ASYMMETRIC_DECRYPT: undefined,
    MAC: undefined,
    KEY_ENCAPSULATION: undefined,
    AES_WRAPPING: undefined,
  });
});
