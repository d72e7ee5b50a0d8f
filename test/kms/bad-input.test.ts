// Malformed requests through the official client, one test per row of a table:
// each names the RPC, the request, the gRPC status code Cloud KMS answers with
// and, for INVALID_ARGUMENT, the request field the message must name. Then a
// request body that is not protobuf at all, sent with a raw grpc-js client.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, createHash, publicEncrypt, randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { KeyManagementServiceClient } from '@google-cloud/kms';
import { Code } from '../../src/errors';
import { crc, wrongCrc } from '../helpers/crc32c';
import { type Harness, LOCATION, rejectsWithCode, startKms, uniqueId } from '../helpers/kms';
import { bytes, type CreatedKey, createKey, createKeyRing, createKeys } from '../helpers/kms-keys';

type Rpc =
  | 'createKeyRing' | 'getKeyRing' | 'listKeyRings'
  | 'createCryptoKey' | 'getCryptoKey' | 'listCryptoKeys' | 'updateCryptoKey' | 'updateCryptoKeyPrimaryVersion'
  | 'deleteCryptoKey'
  | 'createCryptoKeyVersion' | 'getCryptoKeyVersion' | 'listCryptoKeyVersions' | 'updateCryptoKeyVersion'
  | 'encrypt' | 'decrypt' | 'asymmetricSign' | 'asymmetricDecrypt' | 'getPublicKey' | 'macSign' | 'macVerify'
  | 'rawEncrypt' | 'rawDecrypt' | 'generateRandomBytes' | 'decapsulate'
  | 'createImportJob' | 'importCryptoKeyVersion' | 'getImportJob' | 'deleteCryptoKeyVersion' | 'getRetiredResource'
  | 'listRetiredResourcesAsync' | 'importTrustedKeyWrappedCryptoKeyVersion' | 'exportTrustedKeyWrappedCryptoKeyVersion'
  | 'getLocation' | 'listLocationsAsync';

interface Fixture {
  ring: string;
  otherRing: string;
  sym: CreatedKey;
  symCiphertext: Buffer;
  /** Version 2 of `sym`, created DISABLED. */
  symDisabledVersion: string;
  ec: CreatedKey;
  /** An EC_SIGN_P256_SHA256 key whose version 1 is DISABLED. */
  ecDisabled: CreatedKey;
  ed25519: CreatedKey;
  rawPkcs1: CreatedKey;
  oaep: CreatedKey;
  oaepCiphertext: Buffer;
  hmac: CreatedKey;
  hmacTag: Buffer;
  gcm: CreatedKey;
  gcmCiphertext: Buffer;
  gcmIv: Buffer;
  cbc: CreatedKey;
  /** next_page_token of ListCryptoKeys(ring, page_size 1), no filter. */
  pageToken: string;
}

type Request = Record<string, unknown>;

type Row = {
  what: string;
  rpc: Rpc;
  request: Request | ((f: Fixture) => Request);
} & (
  | { code: Code.INVALID_ARGUMENT; field: string }
  | { code: Exclude<Code, Code.INVALID_ARGUMENT>; field?: undefined }
);

const KiB = 1024;
const OVERSIZE = Buffer.alloc(64 * KiB + 1, 0x61);
const DATA = Buffer.from('some data');
const AAD = Buffer.from('aad');
const SHA256 = createHash('sha256').update(DATA).digest();
const DAY_S = 24 * 3600;
const seconds = (s: number) => ({ seconds: s, nanos: 0 });
const LATER = { seconds: Date.UTC(2030, 1, 1) / 1000, nanos: 0 };
const flipped = (b: Buffer, at: number): Buffer => {
  const c = Buffer.from(b);
  c[at] ^= 0x01;
  return c;
};
const invalid = (what: string, rpc: Rpc, field: string, request: Row['request']): Row =>
  ({ what, rpc, request, code: Code.INVALID_ARGUMENT, field });
const key = (cryptoKey: Request) => (f: Fixture): Request =>
  ({ parent: f.ring, cryptoKeyId: uniqueId('bad'), cryptoKey });

const ROWS: Row[] = [
  // Resource names and ids.
  invalid('empty name', 'getKeyRing', 'name', { name: '' }),
  invalid('wrong collection (keyrings)', 'getKeyRing', 'name', { name: `${LOCATION}/keyrings/r` }),
  invalid('extra segments', 'getKeyRing', 'name', { name: `${LOCATION}/keyRings/r/extra` }),
  invalid('too few segments', 'getKeyRing', 'name', { name: LOCATION }),
  invalid('bad id character', 'getKeyRing', 'name', { name: `${LOCATION}/keyRings/a.b` }),
  invalid('empty project', 'getKeyRing', 'name', { name: 'projects//locations/x/keyRings/r' }),
  invalid('empty project in parent', 'listKeyRings', 'parent', { parent: 'projects//locations/x' }),
  invalid('CryptoKey name with a space', 'getCryptoKey', 'name', (f) => ({ name: `${f.ring}/cryptoKeys/has space` })),
  invalid('CryptoKey name with a version', 'getCryptoKey', 'name', (f) => ({ name: f.sym.version })),
  invalid('version id 0', 'getCryptoKeyVersion', 'name', (f) => ({ name: `${f.sym.key}/cryptoKeyVersions/0` })),
  invalid('version id abc', 'getCryptoKeyVersion', 'name', (f) => ({ name: `${f.sym.key}/cryptoKeyVersions/abc` })),
  invalid('version id -1', 'getCryptoKeyVersion', 'name', (f) => ({ name: `${f.sym.key}/cryptoKeyVersions/-1` })),
  invalid('empty version id', 'getCryptoKeyVersion', 'name', (f) => ({ name: `${f.sym.key}/cryptoKeyVersions/` })),
  invalid('64-character key ring id', 'createKeyRing', 'key_ring_id', { parent: LOCATION, keyRingId: 'r'.repeat(64), keyRing: {} }),
  invalid('empty key ring id', 'createKeyRing', 'key_ring_id', { parent: LOCATION, keyRingId: '', keyRing: {} }),
  invalid('key ring id with a slash', 'createKeyRing', 'key_ring_id', { parent: LOCATION, keyRingId: 'a/b', keyRing: {} }),
  invalid('64-character crypto key id', 'createCryptoKey', 'crypto_key_id', (f) => ({
    parent: f.ring, cryptoKeyId: 'k'.repeat(64), cryptoKey: { purpose: 'ENCRYPT_DECRYPT' },
  })),
  invalid('crypto key id with a dot', 'createCryptoKey', 'crypto_key_id', (f) => ({
    parent: f.ring, cryptoKeyId: 'a.b', cryptoKey: { purpose: 'ENCRYPT_DECRYPT' },
  })),
  invalid('primary version id abc', 'updateCryptoKeyPrimaryVersion', 'crypto_key_version_id', (f) => ({
    name: f.sym.key, cryptoKeyVersionId: 'abc',
  })),
  invalid('parent is a CryptoKey', 'listCryptoKeys', 'parent', (f) => ({ parent: f.sym.key })),
  invalid('Encrypt with an empty name', 'encrypt', 'name', { name: '', plaintext: DATA }),
  invalid('AsymmetricSign on a CryptoKey name', 'asymmetricSign', 'name', (f) => ({ name: f.ec.key, data: DATA })),
  invalid('unknown location', 'createKeyRing', 'parent', {
    parent: 'projects/test-project/locations/mars-north1', keyRingId: uniqueId('ring'), keyRing: {},
  }),
  invalid('unknown location', 'generateRandomBytes', 'location', {
    location: 'projects/test-project/locations/mars-north1', lengthBytes: 16, protectionLevel: 'HSM',
  }),

  // Duplicates and missing resources.
  { what: 'duplicate key ring id', rpc: 'createKeyRing', code: Code.ALREADY_EXISTS, request: (f) => ({
    parent: LOCATION, keyRingId: f.ring.split('/').pop(), keyRing: {},
  }) },
  { what: 'duplicate crypto key id', rpc: 'createCryptoKey', code: Code.ALREADY_EXISTS, request: (f) => ({
    parent: f.ring, cryptoKeyId: f.sym.key.split('/').pop(), cryptoKey: { purpose: 'ENCRYPT_DECRYPT' },
  }) },
  { what: 'missing key ring', rpc: 'getKeyRing', code: Code.NOT_FOUND, request: { name: `${LOCATION}/keyRings/nope` } },
  { what: 'key ring missing', rpc: 'createCryptoKey', code: Code.NOT_FOUND, request: {
    parent: `${LOCATION}/keyRings/nope`, cryptoKeyId: 'k', cryptoKey: { purpose: 'ENCRYPT_DECRYPT' },
  } },
  { what: 'key ring missing', rpc: 'listCryptoKeys', code: Code.NOT_FOUND, request: { parent: `${LOCATION}/keyRings/nope` } },
  { what: 'missing CryptoKey', rpc: 'getCryptoKey', code: Code.NOT_FOUND, request: (f) => ({ name: `${f.ring}/cryptoKeys/nope` }) },
  { what: 'CryptoKey missing', rpc: 'listCryptoKeyVersions', code: Code.NOT_FOUND, request: (f) => ({ parent: `${f.ring}/cryptoKeys/nope` }) },
  { what: 'CryptoKey missing', rpc: 'createCryptoKeyVersion', code: Code.NOT_FOUND, request: (f) => ({
    parent: `${f.ring}/cryptoKeys/nope`, cryptoKeyVersion: {},
  }) },
  { what: 'missing version', rpc: 'getCryptoKeyVersion', code: Code.NOT_FOUND, request: (f) => ({ name: `${f.sym.key}/cryptoKeyVersions/99` }) },
  { what: 'missing version', rpc: 'updateCryptoKeyPrimaryVersion', code: Code.NOT_FOUND, request: (f) => ({
    name: f.sym.key, cryptoKeyVersionId: '99',
  }) },
  { what: 'missing CryptoKey', rpc: 'encrypt', code: Code.NOT_FOUND, request: (f) => ({ name: `${f.ring}/cryptoKeys/nope`, plaintext: DATA }) },
  { what: 'missing version', rpc: 'encrypt', code: Code.NOT_FOUND, request: (f) => ({ name: `${f.sym.key}/cryptoKeyVersions/99`, plaintext: DATA }) },
  { what: 'missing version', rpc: 'asymmetricSign', code: Code.NOT_FOUND, request: (f) => ({ name: `${f.ec.key}/cryptoKeyVersions/99`, data: DATA }) },
  { what: 'missing location', rpc: 'getLocation', code: Code.NOT_FOUND, request: { name: 'projects/test-project/locations/mars-north1' } },

  // Sizes.
  invalid('plaintext of 64 KiB + 1', 'encrypt', 'plaintext', (f) => ({ name: f.sym.key, plaintext: OVERSIZE })),
  invalid('AAD of 64 KiB + 1', 'encrypt', 'additional_authenticated_data', (f) => ({
    name: f.sym.key, plaintext: DATA, additionalAuthenticatedData: OVERSIZE,
  })),
  invalid('empty plaintext', 'encrypt', 'plaintext', (f) => ({ name: f.sym.key })),
  invalid('ciphertext of 65 KiB', 'decrypt', 'ciphertext', (f) => ({ name: f.sym.key, ciphertext: Buffer.alloc(65 * KiB, 1) })),
  invalid('AAD of 64 KiB + 1', 'decrypt', 'additional_authenticated_data', (f) => ({
    name: f.sym.key, ciphertext: f.symCiphertext, additionalAuthenticatedData: OVERSIZE,
  })),
  invalid('data of 64 KiB + 1', 'asymmetricSign', 'data', (f) => ({ name: f.ec.version, data: OVERSIZE })),
  invalid('data of 64 KiB + 1', 'macSign', 'data', (f) => ({ name: f.hmac.version, data: OVERSIZE })),
  invalid('data of 64 KiB + 1', 'macVerify', 'data', (f) => ({ name: f.hmac.version, data: OVERSIZE, mac: f.hmacTag })),
  invalid('empty mac', 'macVerify', 'mac', (f) => ({ name: f.hmac.version, data: DATA })),
  invalid('plaintext of 64 KiB + 1', 'rawEncrypt', 'plaintext', (f) => ({ name: f.gcm.version, plaintext: OVERSIZE })),
  invalid('AAD of 64 KiB + 1', 'rawEncrypt', 'additional_authenticated_data', (f) => ({
    name: f.gcm.version, plaintext: DATA, additionalAuthenticatedData: OVERSIZE,
  })),
  invalid('raw PKCS#1 data longer than k - 11', 'asymmetricSign', 'data', (f) => ({ name: f.rawPkcs1.version, data: Buffer.alloc(246, 1) })),

  // Checksums: every *_crc32c request field.
  invalid('wrong plaintext_crc32c', 'encrypt', 'plaintext_crc32c', (f) => ({
    name: f.sym.key, plaintext: DATA, plaintextCrc32c: wrongCrc(DATA),
  })),
  invalid('wrong additional_authenticated_data_crc32c', 'encrypt', 'additional_authenticated_data_crc32c', (f) => ({
    name: f.sym.key, plaintext: DATA, additionalAuthenticatedData: AAD, additionalAuthenticatedDataCrc32c: wrongCrc(AAD),
  })),
  invalid('plaintext_crc32c out of range (2^32)', 'encrypt', 'plaintext_crc32c', (f) => ({
    name: f.sym.key, plaintext: DATA, plaintextCrc32c: { value: 2 ** 32 },
  })),
  invalid('negative plaintext_crc32c', 'encrypt', 'plaintext_crc32c', (f) => ({
    name: f.sym.key, plaintext: DATA, plaintextCrc32c: { value: -1 },
  })),
  invalid('digest_crc32c without a digest', 'asymmetricSign', 'digest_crc32c', (f) => ({
    name: f.ec.version, data: DATA, digestCrc32c: crc(SHA256),
  })),
  invalid('wrong ciphertext_crc32c', 'decrypt', 'ciphertext_crc32c', (f) => ({
    name: f.sym.key, ciphertext: f.symCiphertext, additionalAuthenticatedData: AAD, ciphertextCrc32c: wrongCrc(f.symCiphertext),
  })),
  invalid('wrong additional_authenticated_data_crc32c', 'decrypt', 'additional_authenticated_data_crc32c', (f) => ({
    name: f.sym.key, ciphertext: f.symCiphertext, additionalAuthenticatedData: AAD, additionalAuthenticatedDataCrc32c: wrongCrc(AAD),
  })),
  invalid('wrong digest_crc32c', 'asymmetricSign', 'digest_crc32c', (f) => ({
    name: f.ec.version, digest: { sha256: SHA256 }, digestCrc32c: wrongCrc(SHA256),
  })),
  invalid('wrong data_crc32c', 'asymmetricSign', 'data_crc32c', (f) => ({ name: f.ec.version, data: DATA, dataCrc32c: wrongCrc(DATA) })),
  invalid('wrong ciphertext_crc32c', 'asymmetricDecrypt', 'ciphertext_crc32c', (f) => ({
    name: f.oaep.version, ciphertext: f.oaepCiphertext, ciphertextCrc32c: wrongCrc(f.oaepCiphertext),
  })),
  invalid('wrong data_crc32c', 'macSign', 'data_crc32c', (f) => ({ name: f.hmac.version, data: DATA, dataCrc32c: wrongCrc(DATA) })),
  invalid('wrong data_crc32c', 'macVerify', 'data_crc32c', (f) => ({
    name: f.hmac.version, data: DATA, mac: f.hmacTag, dataCrc32c: wrongCrc(DATA), macCrc32c: crc(f.hmacTag),
  })),
  invalid('wrong mac_crc32c', 'macVerify', 'mac_crc32c', (f) => ({
    name: f.hmac.version, data: DATA, mac: f.hmacTag, dataCrc32c: crc(DATA), macCrc32c: wrongCrc(f.hmacTag),
  })),
  invalid('wrong plaintext_crc32c', 'rawEncrypt', 'plaintext_crc32c', (f) => ({
    name: f.gcm.version, plaintext: DATA, plaintextCrc32c: wrongCrc(DATA),
  })),
  invalid('wrong additional_authenticated_data_crc32c', 'rawEncrypt', 'additional_authenticated_data_crc32c', (f) => ({
    name: f.gcm.version, plaintext: DATA, additionalAuthenticatedData: AAD, additionalAuthenticatedDataCrc32c: wrongCrc(AAD),
  })),
  invalid('wrong initialization_vector_crc32c', 'rawEncrypt', 'initialization_vector_crc32c', (f) => ({
    name: f.cbc.version, plaintext: Buffer.alloc(16), initializationVector: Buffer.alloc(16, 3),
    initializationVectorCrc32c: wrongCrc(Buffer.alloc(16, 3)),
  })),
  invalid('wrong ciphertext_crc32c', 'rawDecrypt', 'ciphertext_crc32c', (f) => ({
    name: f.gcm.version, ciphertext: f.gcmCiphertext, initializationVector: f.gcmIv, additionalAuthenticatedData: AAD,
    ciphertextCrc32c: wrongCrc(f.gcmCiphertext),
  })),
  invalid('wrong additional_authenticated_data_crc32c', 'rawDecrypt', 'additional_authenticated_data_crc32c', (f) => ({
    name: f.gcm.version, ciphertext: f.gcmCiphertext, initializationVector: f.gcmIv, additionalAuthenticatedData: AAD,
    additionalAuthenticatedDataCrc32c: wrongCrc(AAD),
  })),
  invalid('wrong initialization_vector_crc32c', 'rawDecrypt', 'initialization_vector_crc32c', (f) => ({
    name: f.gcm.version, ciphertext: f.gcmCiphertext, initializationVector: f.gcmIv, additionalAuthenticatedData: AAD,
    initializationVectorCrc32c: wrongCrc(f.gcmIv),
  })),

  // Ciphertexts that are not.
  invalid('empty ciphertext', 'decrypt', 'ciphertext', (f) => ({ name: f.sym.key })),
  invalid('1-byte ciphertext', 'decrypt', 'ciphertext', (f) => ({ name: f.sym.key, ciphertext: Buffer.of(1) })),
  invalid('100 random bytes', 'decrypt', 'ciphertext', (f) => ({ name: f.sym.key, ciphertext: randomBytes(100) })),
  invalid('truncated ciphertext', 'decrypt', 'ciphertext', (f) => ({
    name: f.sym.key, ciphertext: f.symCiphertext.subarray(0, f.symCiphertext.length - 1), additionalAuthenticatedData: AAD,
  })),
  invalid('ciphertext with a flipped byte', 'decrypt', 'ciphertext', (f) => ({
    name: f.sym.key, ciphertext: flipped(f.symCiphertext, 20), additionalAuthenticatedData: AAD,
  })),
  invalid('ciphertext naming a version the key never had', 'decrypt', 'ciphertext', (f) => ({
    name: f.sym.key, ciphertext: flipped(f.symCiphertext, 3), additionalAuthenticatedData: AAD,
  })),
  invalid('empty ciphertext', 'asymmetricDecrypt', 'ciphertext', (f) => ({ name: f.oaep.version })),
  invalid('100 random bytes (wrong length)', 'asymmetricDecrypt', 'ciphertext', (f) => ({ name: f.oaep.version, ciphertext: randomBytes(100) })),
  invalid('256 random bytes', 'asymmetricDecrypt', 'ciphertext', (f) => ({ name: f.oaep.version, ciphertext: randomBytes(256) })),
  invalid('ciphertext with a flipped byte', 'asymmetricDecrypt', 'ciphertext', (f) => ({
    name: f.oaep.version, ciphertext: flipped(f.oaepCiphertext, 100),
  })),
  invalid('ciphertext with a flipped byte', 'rawDecrypt', 'ciphertext', (f) => ({
    name: f.gcm.version, ciphertext: flipped(f.gcmCiphertext, 0), initializationVector: f.gcmIv, additionalAuthenticatedData: AAD,
  })),
  invalid('ciphertext shorter than the tag', 'rawDecrypt', 'ciphertext', (f) => ({
    name: f.gcm.version, ciphertext: f.gcmCiphertext.subarray(0, 15), initializationVector: f.gcmIv, additionalAuthenticatedData: AAD,
  })),

  // Raw encryption parameters.
  invalid('missing IV', 'rawDecrypt', 'initialization_vector', (f) => ({ name: f.gcm.version, ciphertext: f.gcmCiphertext })),
  invalid('8-byte IV for CBC', 'rawEncrypt', 'initialization_vector', (f) => ({
    name: f.cbc.version, plaintext: Buffer.alloc(16), initializationVector: Buffer.alloc(8),
  })),
  invalid('AAD for CBC', 'rawEncrypt', 'additional_authenticated_data', (f) => ({
    name: f.cbc.version, plaintext: Buffer.alloc(16), additionalAuthenticatedData: AAD,
  })),
  invalid('CBC plaintext not block-aligned', 'rawEncrypt', 'plaintext', (f) => ({ name: f.cbc.version, plaintext: Buffer.alloc(17) })),
  invalid('IV for GCM', 'rawEncrypt', 'initialization_vector', (f) => ({
    name: f.gcm.version, plaintext: DATA, initializationVector: Buffer.alloc(12),
  })),
  invalid('tag_length 12 for GCM', 'rawDecrypt', 'tag_length', (f) => ({
    name: f.gcm.version, ciphertext: f.gcmCiphertext, initializationVector: f.gcmIv, additionalAuthenticatedData: AAD, tagLength: 12,
  })),

  // Digests.
  invalid('31-byte sha256 digest', 'asymmetricSign', 'digest', (f) => ({ name: f.ec.version, digest: { sha256: SHA256.subarray(1) } })),
  invalid('sha384 digest for a SHA256 algorithm', 'asymmetricSign', 'digest', (f) => ({
    name: f.ec.version, digest: { sha384: createHash('sha384').update(DATA).digest() },
  })),
  invalid('sha512 digest for a SHA256 algorithm', 'asymmetricSign', 'digest', (f) => ({
    name: f.ec.version, digest: { sha512: createHash('sha512').update(DATA).digest() },
  })),
  invalid('digest and data both set', 'asymmetricSign', 'data', (f) => ({ name: f.ec.version, digest: { sha256: SHA256 }, data: DATA })),
  invalid('neither digest nor data', 'asymmetricSign', 'digest', (f) => ({ name: f.ec.version })),
  invalid('digest for Ed25519 (data only)', 'asymmetricSign', 'digest', (f) => ({ name: f.ed25519.version, digest: { sha256: SHA256 } })),
  invalid('digest for raw PKCS#1 (data only)', 'asymmetricSign', 'digest', (f) => ({ name: f.rawPkcs1.version, digest: { sha256: SHA256 } })),

  // Purpose and state.
  { what: 'signing key', rpc: 'encrypt', code: Code.FAILED_PRECONDITION, request: (f) => ({ name: f.ec.key, plaintext: DATA }) },
  { what: 'MAC key', rpc: 'decrypt', code: Code.FAILED_PRECONDITION, request: (f) => ({ name: f.hmac.key, ciphertext: f.symCiphertext }) },
  { what: 'symmetric key', rpc: 'asymmetricSign', code: Code.FAILED_PRECONDITION, request: (f) => ({ name: f.sym.version, data: DATA }) },
  { what: 'signing key', rpc: 'asymmetricDecrypt', code: Code.FAILED_PRECONDITION, request: (f) => ({
    name: f.ec.version, ciphertext: f.oaepCiphertext,
  }) },
  { what: 'decrypt key', rpc: 'macSign', code: Code.FAILED_PRECONDITION, request: (f) => ({ name: f.oaep.version, data: DATA }) },
  { what: 'symmetric key', rpc: 'rawEncrypt', code: Code.FAILED_PRECONDITION, request: (f) => ({ name: f.sym.version, plaintext: DATA }) },
  { what: 'symmetric key', rpc: 'getPublicKey', code: Code.FAILED_PRECONDITION, request: (f) => ({ name: f.sym.version }) },
  { what: 'primary version of a signing key', rpc: 'updateCryptoKeyPrimaryVersion', code: Code.FAILED_PRECONDITION, request: (f) => ({
    name: f.ec.key, cryptoKeyVersionId: '1',
  }) },
  { what: 'disabled version', rpc: 'asymmetricSign', code: Code.FAILED_PRECONDITION, request: (f) => ({ name: f.ecDisabled.version, data: DATA }) },
  { what: 'disabled version', rpc: 'getPublicKey', code: Code.FAILED_PRECONDITION, request: (f) => ({ name: f.ecDisabled.version }) },
  { what: 'disabled version', rpc: 'encrypt', code: Code.FAILED_PRECONDITION, request: (f) => ({ name: f.symDisabledVersion, plaintext: DATA }) },
  { what: 'disabled version made primary', rpc: 'updateCryptoKeyPrimaryVersion', code: Code.FAILED_PRECONDITION, request: (f) => ({
    name: f.sym.key, cryptoKeyVersionId: f.symDisabledVersion.split('/').pop(),
  }) },

  // Paging.
  invalid('garbage page_token', 'listCryptoKeys', 'page_token', (f) => ({ parent: f.ring, pageToken: 'not-a-token!' })),
  invalid('base64 page_token not issued by the server', 'listCryptoKeys', 'page_token', (f) => ({
    parent: f.ring, pageToken: randomBytes(40).toString('base64url'),
  })),
  invalid('page_token from another parent', 'listCryptoKeys', 'page_token', (f) => ({ parent: f.otherRing, pageToken: f.pageToken })),
  invalid('page_token from another filter', 'listCryptoKeys', 'page_token', (f) => ({
    parent: f.ring, pageToken: f.pageToken, filter: 'purpose = ENCRYPT_DECRYPT',
  })),
  invalid('page_token from another order_by', 'listCryptoKeys', 'page_token', (f) => ({
    parent: f.ring, pageToken: f.pageToken, orderBy: 'name desc',
  })),
  invalid('page_token from another RPC', 'listCryptoKeyVersions', 'page_token', (f) => ({ parent: f.sym.key, pageToken: f.pageToken })),
  invalid('garbage page_token', 'listKeyRings', 'page_token', { parent: LOCATION, pageToken: 'garbage' }),
  invalid('negative page_size', 'listCryptoKeys', 'page_size', (f) => ({ parent: f.ring, pageSize: -1 })),
  invalid('negative page_size', 'listKeyRings', 'page_size', { parent: LOCATION, pageSize: -5 }),
  invalid('negative page_size', 'listCryptoKeyVersions', 'page_size', (f) => ({ parent: f.sym.key, pageSize: -1 })),

  // Filters and ordering.
  invalid('filter syntax error (unclosed parenthesis)', 'listCryptoKeys', 'filter', (f) => ({ parent: f.ring, filter: '(purpose = MAC' })),
  invalid('filter syntax error (no value)', 'listCryptoKeys', 'filter', (f) => ({ parent: f.ring, filter: 'purpose =' })),
  invalid('filter syntax error (unterminated string)', 'listCryptoKeys', 'filter', (f) => ({ parent: f.ring, filter: 'name = "abc' })),
  invalid('unknown filter field', 'listCryptoKeys', 'filter', (f) => ({ parent: f.ring, filter: 'colour = blue' })),
  invalid('unknown filter field', 'listKeyRings', 'filter', { parent: LOCATION, filter: 'purpose = MAC' }),
  invalid('unknown filter field', 'listCryptoKeyVersions', 'filter', (f) => ({ parent: f.sym.key, filter: 'labels.env = x' })),
  invalid('invalid enum value in filter', 'listCryptoKeys', 'filter', (f) => ({ parent: f.ring, filter: 'purpose = SHOUTING' })),
  invalid('unknown order_by field', 'listCryptoKeys', 'order_by', (f) => ({ parent: f.ring, orderBy: 'colour' })),
  invalid('order_by with a bad direction', 'listCryptoKeys', 'order_by', (f) => ({ parent: f.ring, orderBy: 'name sideways' })),
  invalid('unknown order_by field', 'listKeyRings', 'order_by', { parent: LOCATION, orderBy: 'purpose' }),
  invalid('filter syntax error', 'listLocationsAsync', 'filter', { name: 'projects/test-project', filter: '(((' }),

  // Update masks.
  invalid('empty update_mask', 'updateCryptoKey', 'update_mask', (f) => ({
    cryptoKey: { name: f.sym.key, labels: { a: 'b' } }, updateMask: { paths: [] },
  })),
  invalid('unknown update_mask path', 'updateCryptoKey', 'update_mask', (f) => ({
    cryptoKey: { name: f.sym.key }, updateMask: { paths: ['colour'] },
  })),
  invalid('immutable purpose in update_mask', 'updateCryptoKey', 'update_mask', (f) => ({
    cryptoKey: { name: f.sym.key, purpose: 'MAC' }, updateMask: { paths: ['purpose'] },
  })),
  invalid('empty update_mask', 'updateCryptoKeyVersion', 'update_mask', (f) => ({
    cryptoKeyVersion: { name: f.sym.version, state: 'DISABLED' }, updateMask: { paths: [] },
  })),
  invalid('immutable algorithm in update_mask', 'updateCryptoKeyVersion', 'update_mask', (f) => ({
    cryptoKeyVersion: { name: f.sym.version, algorithm: 'HMAC_SHA256' }, updateMask: { paths: ['algorithm'] },
  })),
  invalid('state DESTROYED', 'updateCryptoKeyVersion', 'state', (f) => ({
    cryptoKeyVersion: { name: f.sym.version, state: 'DESTROYED' }, updateMask: { paths: ['state'] },
  })),
  invalid('rotation_period on an ASYMMETRIC_SIGN key', 'updateCryptoKey', 'rotation_period', (f) => ({
    cryptoKey: { name: f.ec.key, rotationPeriod: seconds(30 * DAY_S), nextRotationTime: LATER },
    updateMask: { paths: ['rotation_period', 'next_rotation_time'] },
  })),
  invalid('labels with an uppercase key', 'updateCryptoKey', 'labels', (f) => ({
    cryptoKey: { name: f.sym.key, labels: { Env: 'prod' } }, updateMask: { paths: ['labels'] },
  })),

  // CryptoKey fields on create.
  invalid('rotation_period on an ASYMMETRIC_SIGN key', 'createCryptoKey', 'rotation_period', key({
    purpose: 'ASYMMETRIC_SIGN', versionTemplate: { algorithm: 'EC_SIGN_P256_SHA256' },
    rotationPeriod: seconds(30 * DAY_S), nextRotationTime: LATER,
  })),
  invalid('rotation_period under 24 h', 'createCryptoKey', 'rotation_period', key({
    purpose: 'ENCRYPT_DECRYPT', rotationPeriod: seconds(DAY_S - 1), nextRotationTime: LATER,
  })),
  invalid('rotation_period without next_rotation_time', 'createCryptoKey', 'next_rotation_time', key({
    purpose: 'ENCRYPT_DECRYPT', rotationPeriod: seconds(30 * DAY_S),
  })),
  invalid('destroy_scheduled_duration under 24 h', 'createCryptoKey', 'destroy_scheduled_duration', key({
    purpose: 'ENCRYPT_DECRYPT', destroyScheduledDuration: seconds(DAY_S - 1),
  })),
  invalid('destroy_scheduled_duration over 120 days', 'createCryptoKey', 'destroy_scheduled_duration', key({
    purpose: 'ENCRYPT_DECRYPT', destroyScheduledDuration: seconds(120 * DAY_S + 1),
  })),
  invalid('purpose unspecified', 'createCryptoKey', 'purpose', key({ purpose: 'CRYPTO_KEY_PURPOSE_UNSPECIFIED' })),
  invalid('no crypto_key at all', 'createCryptoKey', 'purpose', (f) => ({ parent: f.ring, cryptoKeyId: uniqueId('bad') })),
  invalid('signing algorithm for ENCRYPT_DECRYPT', 'createCryptoKey', 'algorithm', key({
    purpose: 'ENCRYPT_DECRYPT', versionTemplate: { algorithm: 'EC_SIGN_P256_SHA256' },
  })),
  invalid('symmetric algorithm for ASYMMETRIC_DECRYPT', 'createCryptoKey', 'algorithm', key({
    purpose: 'ASYMMETRIC_DECRYPT', versionTemplate: { algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION' },
  })),
  invalid('ASYMMETRIC_SIGN without an algorithm', 'createCryptoKey', 'algorithm', key({ purpose: 'ASYMMETRIC_SIGN' })),
  invalid('label key with an uppercase letter', 'createCryptoKey', 'labels', key({ purpose: 'ENCRYPT_DECRYPT', labels: { Team: 'x' } })),
  invalid('label value with an uppercase letter', 'createCryptoKey', 'labels', key({ purpose: 'ENCRYPT_DECRYPT', labels: { team: 'X' } })),
  invalid('label key starting with a digit', 'createCryptoKey', 'labels', key({ purpose: 'ENCRYPT_DECRYPT', labels: { '1team': 'x' } })),
  invalid('65 labels', 'createCryptoKey', 'labels', key({
    purpose: 'ENCRYPT_DECRYPT', labels: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`l${i}`, 'v'])),
  })),
  invalid('new version in state DESTROYED', 'createCryptoKeyVersion', 'state', (f) => ({
    parent: f.sym.key, cryptoKeyVersion: { state: 'DESTROYED' },
  })),
  invalid('public_key_format NIST_PQC for an EC key', 'getPublicKey', 'public_key_format', (f) => ({
    name: f.ec.version, publicKeyFormat: 'NIST_PQC',
  })),

  // External keys only where Cloud EKM is: EXTERNAL_VPC in regions, EXTERNAL where ekm_available.
  invalid('EXTERNAL_VPC in global', 'createCryptoKey', 'crypto_key.version_template.protection_level', {
    parent: 'projects/test-project/locations/global/keyRings/r', cryptoKeyId: 'k',
    cryptoKey: { purpose: 'ENCRYPT_DECRYPT', versionTemplate: { protectionLevel: 'EXTERNAL_VPC', algorithm: 'EXTERNAL_SYMMETRIC_ENCRYPTION' } },
  }),
  invalid('EXTERNAL_VPC in a multi-region', 'createCryptoKey', 'crypto_key.version_template.protection_level', {
    parent: 'projects/test-project/locations/us/keyRings/r', cryptoKeyId: 'k',
    cryptoKey: { purpose: 'ENCRYPT_DECRYPT', versionTemplate: { protectionLevel: 'EXTERNAL_VPC', algorithm: 'EXTERNAL_SYMMETRIC_ENCRYPTION' } },
  }),
  invalid('EXTERNAL in global', 'createCryptoKey', 'crypto_key.version_template.protection_level', {
    parent: 'projects/test-project/locations/global/keyRings/r', cryptoKeyId: 'k',
    cryptoKey: { purpose: 'ENCRYPT_DECRYPT', versionTemplate: { protectionLevel: 'EXTERNAL', algorithm: 'EXTERNAL_SYMMETRIC_ENCRYPTION' } },
  }),

  invalid('EXTERNAL key with an initial version', 'createCryptoKey', 'skip_initial_version_creation', key({
    purpose: 'ENCRYPT_DECRYPT', versionTemplate: { protectionLevel: 'EXTERNAL', algorithm: 'EXTERNAL_SYMMETRIC_ENCRYPTION' },
  })),
  invalid('EXTERNAL_SYMMETRIC_ENCRYPTION on a SOFTWARE key', 'createCryptoKey', 'crypto_key.version_template.algorithm', key({
    purpose: 'ENCRYPT_DECRYPT', versionTemplate: { algorithm: 'EXTERNAL_SYMMETRIC_ENCRYPTION' },
  })),

  invalid('KEY_ENCAPSULATION with a signing algorithm', 'createCryptoKey', 'crypto_key.version_template.algorithm', key({
    purpose: 'KEY_ENCAPSULATION', versionTemplate: { algorithm: 'PQ_SIGN_ML_DSA_65' },
  })),
  invalid('an import job without a method', 'createImportJob', 'import_job.import_method', (f) => ({
    parent: f.ring, importJobId: 'job', importJob: { protectionLevel: 'SOFTWARE' },
  })),
  invalid('an import job of an external protection level', 'createImportJob', 'import_job.protection_level', (f) => ({
    parent: f.ring, importJobId: 'job', importJob: { importMethod: 'RSA_OAEP_3072_SHA256', protectionLevel: 'EXTERNAL' },
  })),
  invalid('an import without a wrapped key', 'importCryptoKeyVersion', 'wrapped_key', (f) => ({
    parent: f.sym.key, algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION', importJob: `${f.ring}/importJobs/job`,
  })),
  invalid('an import job id with a slash', 'createImportJob', 'import_job_id', (f) => ({
    parent: f.ring, importJobId: 'a/b', importJob: { importMethod: 'RSA_OAEP_3072_SHA256', protectionLevel: 'SOFTWARE' },
  })),
  invalid('an import job name that is a key', 'getImportJob', 'name', (f) => ({ name: f.sym.key })),
  invalid('an import with both wrapped_key and rsa_aes_wrapped_key', 'importCryptoKeyVersion', 'wrapped_key', (f) => ({
    parent: f.sym.key, algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION', importJob: `${f.ring}/importJobs/job`, wrappedKey: DATA, rsaAesWrappedKey: DATA,
  })),
  invalid('an import into a version of another key', 'importCryptoKeyVersion', 'crypto_key_version', (f) => ({
    parent: f.sym.key, algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION', importJob: `${f.ring}/importJobs/job`, wrappedKey: DATA, cryptoKeyVersion: f.ec.version,
  })),
  invalid('an import naming a key as its job', 'importCryptoKeyVersion', 'import_job', (f) => ({
    parent: f.sym.key, algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION', importJob: f.sym.key, wrappedKey: DATA,
  })),
  invalid('an import with trusted_wrapping_enabled', 'importCryptoKeyVersion', 'trusted_wrapping_enabled', (f) => ({
    parent: f.sym.key, algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION', importJob: `${f.ring}/importJobs/job`, wrappedKey: DATA, trustedWrappingEnabled: true,
  })),
  invalid('Decapsulate with no ciphertext', 'decapsulate', 'ciphertext', (f) => ({ name: f.sym.version })),
  invalid('an external mu for an EC key', 'asymmetricSign', 'digest.external_mu', (f) => ({ name: f.ec.version, digest: { externalMu: Buffer.alloc(64) } })),
  invalid('NIST_PQC for an RSA key', 'getPublicKey', 'public_key_format', (f) => ({ name: f.oaep.version, publicKeyFormat: 'NIST_PQC' })),
  invalid('a retired resource name under a key ring', 'getRetiredResource', 'name', (f) => ({ name: `${f.ring}/retiredResources/x` })),
  invalid('retired resources listed under a key ring', 'listRetiredResourcesAsync', 'parent', (f) => ({ parent: f.ring })),
  invalid('a trusted import without a wrapped key', 'importTrustedKeyWrappedCryptoKeyVersion', 'wrapped_key', (f) => ({
    parent: f.sym.key, importingKey: f.sym.key, algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION',
  })),
  invalid('a trusted export whose wrapping key is a key ring', 'exportTrustedKeyWrappedCryptoKeyVersion', 'wrapping_key', (f) => ({ name: f.ec.version, wrappingKey: f.ring })),
  { what: 'deleting an ENABLED version', rpc: 'deleteCryptoKeyVersion', code: Code.FAILED_PRECONDITION, request: (f) => ({ name: f.sym.version }) },
  { what: 'a trusted export of a version without trusted wrapping', rpc: 'exportTrustedKeyWrappedCryptoKeyVersion', code: Code.FAILED_PRECONDITION,
    request: (f) => ({ name: f.ec.version, wrappingKey: f.ec.version }) },
  { what: 'deleting a key that still has versions', rpc: 'deleteCryptoKey', code: Code.FAILED_PRECONDITION, request: (f) => ({ name: f.sym.key }) },
  { what: 'Decapsulate with a symmetric key', rpc: 'decapsulate', code: Code.FAILED_PRECONDITION, request: (f) => ({ name: f.sym.version, ciphertext: DATA }) },

  // Not implemented by OpenEKM.
  { what: 'HSM_SINGLE_TENANT protection level', rpc: 'createCryptoKey', code: Code.UNIMPLEMENTED, request: key({
    purpose: 'ENCRYPT_DECRYPT', versionTemplate: { protectionLevel: 'HSM_SINGLE_TENANT' },
  }) },
];

/** Calls rpc on the official client; paged Async methods are read up to their first item. */
async function invoke(client: KeyManagementServiceClient, rpc: Rpc, request: Request): Promise<void> {
  const method = (client as unknown as Record<Rpc, (req: Request, options: object) => unknown>)[rpc];
  const result = method.call(client, request, { autoPaginate: false });
  if (result != null && typeof result === 'object' && Symbol.asyncIterator in result) {
    await (result as AsyncIterable<unknown>)[Symbol.asyncIterator]().next();
    return;
  }
  await result;
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

void describe('bad input', () => {
  let kms: Harness;
  let fx: Fixture;

  before(async () => {
    kms = await startKms();
    const { client } = kms;
    const [ring, otherRing] = await Promise.all([createKeyRing(client), createKeyRing(client)]);
    const keys = await createKeys(client, ring, [
      { purpose: 'ENCRYPT_DECRYPT', algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION' },
      { purpose: 'ASYMMETRIC_SIGN', algorithm: 'EC_SIGN_P256_SHA256' },
      { purpose: 'ASYMMETRIC_SIGN', algorithm: 'EC_SIGN_ED25519' },
      { purpose: 'ASYMMETRIC_SIGN', algorithm: 'RSA_SIGN_RAW_PKCS1_2048' },
      { purpose: 'ASYMMETRIC_DECRYPT', algorithm: 'RSA_DECRYPT_OAEP_2048_SHA256' },
      { purpose: 'MAC', algorithm: 'HMAC_SHA256' },
      { purpose: 'RAW_ENCRYPT_DECRYPT', algorithm: 'AES_256_GCM' },
      { purpose: 'RAW_ENCRYPT_DECRYPT', algorithm: 'AES_128_CBC' },
    ]);
    const get = (algorithm: string) => keys.get(algorithm)!;
    const sym = get('GOOGLE_SYMMETRIC_ENCRYPTION');
    const oaep = get('RSA_DECRYPT_OAEP_2048_SHA256');
    const hmac = get('HMAC_SHA256');
    const gcm = get('AES_256_GCM');

    const ecDisabled = await createKey(client, ring, { purpose: 'ASYMMETRIC_SIGN', algorithm: 'EC_SIGN_P256_SHA256' });
    await client.updateCryptoKeyVersion({ cryptoKeyVersion: { name: ecDisabled.version, state: 'DISABLED' }, updateMask: { paths: ['state'] } });
    const [disabledVersion] = await client.createCryptoKeyVersion({ parent: sym.key, cryptoKeyVersion: { state: 'DISABLED' } });

    const [enc] = await client.encrypt({ name: sym.key, plaintext: DATA, additionalAuthenticatedData: AAD });
    const [pub] = await client.getPublicKey({ name: oaep.version });
    const oaepCiphertext = publicEncrypt({ key: pub.pem!, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, DATA);
    const [tag] = await client.macSign({ name: hmac.version, data: DATA });
    const [raw] = await client.rawEncrypt({ name: gcm.version, plaintext: DATA, additionalAuthenticatedData: AAD });
    const [, , page] = await client.listCryptoKeys({ parent: ring, pageSize: 1 }, { autoPaginate: false });
    assert.ok(page?.nextPageToken, 'the ring holds more than one key');

    fx = {
      ring, otherRing, sym, symCiphertext: bytes(enc.ciphertext), symDisabledVersion: disabledVersion.name!,
      ec: get('EC_SIGN_P256_SHA256'), ecDisabled, ed25519: get('EC_SIGN_ED25519'), rawPkcs1: get('RSA_SIGN_RAW_PKCS1_2048'),
      oaep, oaepCiphertext, hmac, hmacTag: bytes(tag.mac),
      gcm, gcmCiphertext: bytes(raw.ciphertext), gcmIv: bytes(raw.initializationVector),
      cbc: get('AES_128_CBC'), pageToken: page.nextPageToken,
    };
  });
  after(() => kms.close());

  for (const row of ROWS) {
    void test(`${row.rpc}: ${row.what} → ${Code[row.code]}`, async () => {
      const request = typeof row.request === 'function' ? row.request(fx) : row.request;
      const err = await rejectsWithCode(invoke(kms.client, row.rpc, request), row.code);
      if (row.field !== undefined) {
        assert.match(err.message, new RegExp(`(^|[^a-z_])${escape(row.field)}($|[^a-z_])`), `the message names ${row.field}`);
      }
    });
  }

  void test('ids at the limits are accepted: 63 characters, letters, digits, _ and -', async () => {
    const id = `Aa0_-${'x'.repeat(58)}`;
    assert.equal(id.length, 63);
    const [ring] = await kms.client.createKeyRing({ parent: LOCATION, keyRingId: id, keyRing: {} });
    const [key] = await kms.client.createCryptoKey({ parent: ring.name, cryptoKeyId: id, cryptoKey: { purpose: 'ENCRYPT_DECRYPT' } });
    assert.equal(key.name, `${LOCATION}/keyRings/${id}/cryptoKeys/${id}`);
  });

  void test('a request body that is not protobuf is INVALID_ARGUMENT, and the server serves the next call', async () => {
    const identity = (b: Buffer): Buffer => b;
    const methods: grpc.ServiceDefinition = {
      Encrypt: {
        path: '/google.cloud.kms.v1.KeyManagementService/Encrypt',
        requestStream: false,
        responseStream: false,
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
        originalName: 'Encrypt',
      },
    };
    const Raw = grpc.makeGenericClientConstructor(methods, 'KeyManagementService');
    const raw = new Raw(`127.0.0.1:${kms.server.grpcPort}`, grpc.credentials.createInsecure());
    const send = (body: Buffer) =>
      new Promise<{ err: grpc.ServiceError | null; res?: Buffer }>((resolve) => {
        (raw as unknown as Record<string, (b: Buffer, cb: grpc.requestCallback<Buffer>) => void>).Encrypt(body, (err, res) =>
          resolve({ err, res }),
        );
      });
    try {
      const garbage = [
        Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), // field 1, a length far past the end
        Buffer.from([0x0f, 0x01, 0x02]), // wire type 7 does not exist
        Buffer.from([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), // a varint over 10 bytes
      ];
      for (const body of garbage) {
        const { err } = await send(body);
        assert.ok(err, `the body ${body.toString('hex')} is refused`);
        assert.equal(err.code, Code.INVALID_ARGUMENT);
      }
      // A well-formed body on the same raw channel works: field 1 (name) and field 2 (plaintext).
      const name = Buffer.from(fx.sym.key);
      assert.ok(name.length < 128, 'its length fits one varint byte');
      const valid = Buffer.concat([Buffer.of(0x0a, name.length), name, Buffer.of(0x12, DATA.length), DATA]);
      const ok = await send(valid);
      assert.equal(ok.err, null);
      assert.ok(ok.res && ok.res.length > 0);
    } finally {
      raw.close();
    }
    const [enc] = await kms.client.encrypt({ name: fx.sym.key, plaintext: DATA });
    const [dec] = await kms.client.decrypt({ name: fx.sym.key, ciphertext: enc.ciphertext });
    assert.deepEqual(bytes(dec.plaintext), DATA);
  });
});
