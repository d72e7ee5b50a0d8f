// The proto3 JSON mapping: names, scalars, well-known types, errors in
// Google's wording, round trips through the binary form, and query parameters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as protobuf from 'protobufjs';
import { Code, KmsError } from '../../src/errors';
import { messageType, Msg, OBJECT_OPTIONS } from '../../src/proto/registry';
import { fromJson, setQueryParameter, snakeCase, toJson } from '../../src/rest/json';

const CryptoKey = messageType('google.cloud.kms.v1.CryptoKey');
const CryptoKeyVersion = messageType('google.cloud.kms.v1.CryptoKeyVersion');
const EncryptRequest = messageType('google.cloud.kms.v1.EncryptRequest');
const CreateCryptoKeyRequest = messageType('google.cloud.kms.v1.CreateCryptoKeyRequest');
const UpdateCryptoKeyRequest = messageType('google.cloud.kms.v1.UpdateCryptoKeyRequest');
const ListCryptoKeysRequest = messageType('google.cloud.kms.v1.ListCryptoKeysRequest');
const GenerateRandomBytesRequest = messageType('google.cloud.kms.v1.GenerateRandomBytesRequest');
const Digest = messageType('google.cloud.kms.v1.Digest');
const DecapsulateResponse = messageType('google.cloud.kms.v1.DecapsulateResponse');
const ListRetiredResourcesResponse = messageType('google.cloud.kms.v1.ListRetiredResourcesResponse');
const Location = messageType('google.cloud.location.Location');
const Status = messageType('google.rpc.Status');

// Scalar types and shapes the KMS messages lack, in a root of their own.
const testRoot = new protobuf.Root();
testRoot.loadSync(['google/protobuf/struct.proto', 'google/protobuf/wrappers.proto', 'google/protobuf/any.proto'], { keepCase: false });
protobuf.parse(
  `syntax = "proto3";
  package t;
  import "google/protobuf/struct.proto";
  import "google/protobuf/wrappers.proto";
  import "google/protobuf/any.proto";
  message M {
    uint64 u64 = 1;
    float f = 2;
    double d = 3;
    map<int32, string> by_int = 4;
    map<bool, M> by_bool = 5;
    google.protobuf.Struct s = 6;
    google.protobuf.Value v = 7;
    optional int32 maybe = 8;
    oneof choice { string a_text = 9; int32 b_number = 10; }
    uint32 u32 = 11;
    sint64 s64 = 12;
    repeated int64 many = 13;
    google.protobuf.BoolValue flag = 14;
    google.protobuf.Any any = 15;
    repeated string names = 16;
  }`,
  testRoot,
  { keepCase: false },
);
testRoot.resolveAll();
const M = testRoot.lookupType('t.M');

function invalid(pattern?: RegExp | string): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof KmsError, `not a KmsError: ${String(err)}`);
    assert.equal(err.code, Code.INVALID_ARGUMENT);
    if (typeof pattern === 'string') assert.equal(err.message, pattern);
    else if (pattern !== undefined) assert.match(err.message, pattern);
    return true;
  };
}

/** x through the binary form, as the gRPC transport would see it. */
function viaBinary(type: protobuf.Type, x: Msg): Msg {
  return type.toObject(type.decode(type.encode(type.fromObject(x)).finish()), OBJECT_OPTIONS);
}

void test('snakeCase', () => {
  assert.equal(snakeCase('cryptoKeyVersion'), 'crypto_key_version');
  assert.equal(snakeCase('sha256Fingerprint'), 'sha256_fingerprint');
  assert.equal(snakeCase('plaintextCrc32c'), 'plaintext_crc32c');
  assert.equal(snakeCase('name'), 'name');
  assert.equal(snakeCase('a.bC'), 'a.b_c');
});

void test('fromJson: camelCase and snake_case names, nested messages, maps', () => {
  const camel = fromJson(CreateCryptoKeyRequest, {
    parent: 'projects/p/locations/l/keyRings/r',
    cryptoKeyId: 'k',
    cryptoKey: { purpose: 'ENCRYPT_DECRYPT', versionTemplate: { algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION' }, labels: { a: 'b' } },
    skipInitialVersionCreation: true,
  });
  const snake = fromJson(CreateCryptoKeyRequest, {
    parent: 'projects/p/locations/l/keyRings/r',
    crypto_key_id: 'k',
    crypto_key: { purpose: 'ENCRYPT_DECRYPT', version_template: { algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION' }, labels: { a: 'b' } },
    skip_initial_version_creation: true,
  });
  const expected = {
    parent: 'projects/p/locations/l/keyRings/r',
    cryptoKeyId: 'k',
    cryptoKey: { purpose: 'ENCRYPT_DECRYPT', versionTemplate: { algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION' }, labels: { a: 'b' } },
    skipInitialVersionCreation: true,
  };
  assert.deepEqual(camel, expected);
  assert.deepEqual(snake, expected);
});

void test('fromJson: null is absent, proto3 defaults are absent like after a binary decode', () => {
  assert.deepEqual(fromJson(CryptoKey, { name: null, purpose: null, labels: null, rotationPeriod: null }), {});
  assert.deepEqual(fromJson(CryptoKey, { name: '', importOnly: false, purpose: 'CRYPTO_KEY_PURPOSE_UNSPECIFIED', labels: {} }), {});
  assert.deepEqual(fromJson(ListCryptoKeysRequest, { pageSize: 0 }), {});
  // Explicit presence keeps defaults: message fields, oneof members, proto3 optional.
  assert.deepEqual(fromJson(CryptoKey, { versionTemplate: {}, rotationPeriod: '0s' }), { versionTemplate: {}, rotationPeriod: {} });
  assert.deepEqual(fromJson(DecapsulateResponse, { sharedSecretCrc32c: '0' }), { sharedSecretCrc32c: '0' });
  assert.deepEqual(fromJson(M, { maybe: 0, aText: '' }), { maybe: 0, aText: '' });
});

void test('fromJson: the top value must be an object', () => {
  for (const bad of [null, 'x', 1, [], true]) assert.throws(() => fromJson(CryptoKey, bad), invalid());
  assert.throws(() => fromJson(CryptoKey, 'x', 'crypto_key'), invalid(`Invalid value at 'crypto_key' (type.googleapis.com/google.cloud.kms.v1.CryptoKey), "x"`));
});

void test('fromJson: unknown names in Google wording, with the snake_case path', () => {
  assert.throws(
    () => fromJson(CryptoKey, { fooBar: 1 }),
    invalid('Invalid JSON payload received. Unknown name "fooBar": Cannot find field.'),
  );
  assert.throws(
    () => fromJson(CryptoKey, { fooBar: 1 }, 'crypto_key'),
    invalid(`Invalid JSON payload received. Unknown name "fooBar" at 'crypto_key': Cannot find field.`),
  );
  assert.throws(
    () => fromJson(UpdateCryptoKeyRequest, { cryptoKey: { versionTemplate: { nope: 'x' } } }),
    invalid(`Invalid JSON payload received. Unknown name "nope" at 'crypto_key.version_template': Cannot find field.`),
  );
  assert.throws(
    () => fromJson(UpdateCryptoKeyRequest, { cryptoKey: { rotationPeriod: { seconds: 1 } } }),
    invalid(/^Invalid value at 'crypto_key.rotation_period' \(type.googleapis.com\/google.protobuf.Duration\), Starting an object/),
  );
  assert.throws(() => fromJson(Status, { details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', nope: 1 }] }), invalid(/Unknown name "nope" at 'details\[0\]'/));
});

void test('fromJson: wrong types name the field path and type', () => {
  assert.throws(
    () => fromJson(UpdateCryptoKeyRequest, { cryptoKey: { purpose: 'NOPE' } }),
    invalid(`Invalid value at 'crypto_key.purpose' (type.googleapis.com/google.cloud.kms.v1.CryptoKey.CryptoKeyPurpose), "NOPE"`),
  );
  assert.throws(
    () => fromJson(GenerateRandomBytesRequest, { lengthBytes: 'abc' }),
    invalid(`Invalid value at 'length_bytes' (TYPE_INT32), "abc"`),
  );
  assert.throws(() => fromJson(GenerateRandomBytesRequest, { lengthBytes: 1.5 }), invalid(`Invalid value at 'length_bytes' (TYPE_INT32), 1.5`));
  assert.throws(() => fromJson(GenerateRandomBytesRequest, { lengthBytes: 2 ** 31 }), invalid(/TYPE_INT32/));
  assert.throws(() => fromJson(CryptoKey, { name: 5 }), invalid(`Invalid value at 'name' (TYPE_STRING), 5`));
  assert.throws(() => fromJson(CryptoKey, { name: { a: 1 } }), invalid(`Invalid value at 'name' (TYPE_STRING), Starting an object on a scalar field`));
  assert.throws(() => fromJson(CryptoKey, { importOnly: 'true' }), invalid(`Invalid value at 'import_only' (TYPE_BOOL), "true"`));
  assert.throws(() => fromJson(CryptoKey, { importOnly: 1 }), invalid(/TYPE_BOOL/));
  assert.throws(() => fromJson(CryptoKey, { versionTemplate: 'x' }), invalid(/^Invalid value at 'version_template' \(type.googleapis.com\/google.cloud.kms.v1.CryptoKeyVersionTemplate\), "x"$/));
  assert.throws(() => fromJson(CryptoKey, { name: ['a'] }), invalid(/Unknown name "name": Proto field is not repeating, cannot start list/));
  assert.throws(() => fromJson(Status, { details: {} }), invalid(/repeated/));
  assert.throws(() => fromJson(M, { names: ['a', null] }), invalid(`Invalid value at 'names[1]' (TYPE_STRING), null`));
  assert.throws(() => fromJson(CryptoKey, { labels: [] }), invalid(/map/));
  assert.throws(() => fromJson(CryptoKey, { labels: { a: 1 } }), invalid(`Invalid value at 'labels[a]' (TYPE_STRING), 1`));
});

void test('fromJson: integers', () => {
  assert.deepEqual(fromJson(GenerateRandomBytesRequest, { lengthBytes: '32' }), { lengthBytes: 32 });
  assert.deepEqual(fromJson(GenerateRandomBytesRequest, { lengthBytes: -7 }), { lengthBytes: -7 });
  assert.deepEqual(fromJson(M, { u32: 4294967295 }), { u32: 4294967295 });
  assert.throws(() => fromJson(M, { u32: -1 }), invalid(/TYPE_UINT32/));
  assert.throws(() => fromJson(M, { u32: '-1' }), invalid(/TYPE_UINT32/));

  const big = '9223372036854775807';
  assert.deepEqual(fromJson(ListRetiredResourcesResponse, { totalSize: big }), { totalSize: big });
  assert.deepEqual(fromJson(ListRetiredResourcesResponse, { totalSize: '-9223372036854775808' }), { totalSize: '-9223372036854775808' });
  assert.deepEqual(fromJson(ListRetiredResourcesResponse, { totalSize: 12 }), { totalSize: '12' });
  assert.deepEqual(fromJson(ListRetiredResourcesResponse, { totalSize: '007' }), { totalSize: '7' });
  assert.deepEqual(fromJson(ListRetiredResourcesResponse, { totalSize: '-0' }), {});
  assert.deepEqual(fromJson(ListRetiredResourcesResponse, { total_size: '00000000000000000000042' }), { totalSize: '42' });
  assert.throws(() => fromJson(ListRetiredResourcesResponse, { totalSize: '9223372036854775808' }), invalid(`Invalid value at 'total_size' (TYPE_INT64), "9223372036854775808"`));
  assert.throws(() => fromJson(ListRetiredResourcesResponse, { totalSize: 2 ** 60 }), invalid(/TYPE_INT64/));
  assert.throws(() => fromJson(ListRetiredResourcesResponse, { totalSize: '+1' }), invalid(/TYPE_INT64/));
  assert.throws(() => fromJson(ListRetiredResourcesResponse, { totalSize: '1.0' }), invalid(/TYPE_INT64/));
  assert.deepEqual(fromJson(M, { u64: '18446744073709551615', s64: '-5', many: [1, '2', '-3'] }), {
    u64: '18446744073709551615',
    s64: '-5',
    many: ['1', '2', '-3'],
  });
  assert.throws(() => fromJson(M, { u64: '18446744073709551616' }), invalid(/TYPE_UINT64/));
  assert.throws(() => fromJson(M, { u64: '-1' }), invalid(/TYPE_UINT64/));
  assert.throws(() => fromJson(M, { u64: -1 }), invalid(/TYPE_UINT64/));
});

void test('fromJson: floating point', () => {
  assert.deepEqual(fromJson(M, { d: 1.5 }), { d: 1.5 });
  assert.deepEqual(fromJson(M, { d: '-2.5e3' }), { d: -2500 });
  assert.ok(Number.isNaN(fromJson(M, { d: 'NaN' }).d));
  assert.deepEqual(fromJson(M, { d: 'Infinity', f: '-Infinity' }), { d: Infinity, f: -Infinity });
  assert.deepEqual(fromJson(M, { f: 0.1 }), { f: Math.fround(0.1) });
  assert.throws(() => fromJson(M, { f: 1e39 }), invalid(/TYPE_FLOAT/));
  assert.throws(() => fromJson(M, { d: 'one' }), invalid(`Invalid value at 'd' (TYPE_DOUBLE), "one"`));
  assert.throws(() => fromJson(M, { d: '' }), invalid(/TYPE_DOUBLE/));
});

void test('fromJson: enums by name or number', () => {
  assert.deepEqual(fromJson(CryptoKey, { purpose: 'ASYMMETRIC_SIGN' }), { purpose: 'ASYMMETRIC_SIGN' });
  assert.deepEqual(fromJson(CryptoKey, { purpose: 1 }), { purpose: 'ENCRYPT_DECRYPT' });
  assert.deepEqual(fromJson(CryptoKey, { purpose: 0 }), {});
  assert.throws(() => fromJson(CryptoKey, { purpose: 999 }), invalid(/CryptoKeyPurpose\), 999$/));
  assert.throws(() => fromJson(CryptoKey, { purpose: 'encrypt_decrypt' }), invalid(/CryptoKeyPurpose\), "encrypt_decrypt"$/));
  assert.throws(() => fromJson(CryptoKey, { purpose: 'constructor' }), invalid(/CryptoKeyPurpose/));
  assert.throws(() => fromJson(CryptoKey, { purpose: '1' }), invalid(/CryptoKeyPurpose/));
});

void test('fromJson: bytes in either base64 alphabet, padded or not, strictly checked', () => {
  const bytes = Buffer.from([0xfb, 0xff, 0xfe, 0x01]);
  for (const s of ['+//+AQ==', '-__-AQ==', '+//+AQ', '-__-AQ']) {
    assert.deepEqual(fromJson(EncryptRequest, { plaintext: s }), { plaintext: bytes }, s);
  }
  assert.deepEqual(fromJson(EncryptRequest, { additional_authenticated_data: 'aGk=' }), { additionalAuthenticatedData: Buffer.from('hi') });
  assert.deepEqual(fromJson(EncryptRequest, { plaintext: '' }), {});
  assert.throws(() => fromJson(EncryptRequest, { plaintext: '!!' }), invalid(`Invalid value at 'plaintext' (TYPE_BYTES), Base64 decoding failed for "!!"`));
  assert.deepEqual(fromJson(EncryptRequest, { plaintext: 'aG==' }), { plaintext: Buffer.from('h') });
  assert.deepEqual(fromJson(EncryptRequest, { plaintext: 'aGk' }), { plaintext: Buffer.from('hi') });
  for (const s of ['aGk=x', 'a', 'aG=k', 'aGk===', 'aG=', 'aGk =', 'aGk\n', 'a===', '====']) {
    assert.throws(() => fromJson(EncryptRequest, { plaintext: s }), invalid(/Base64 decoding failed/), JSON.stringify(s));
  }
  assert.throws(() => fromJson(EncryptRequest, { plaintext: 12 }), invalid(`Invalid value at 'plaintext' (TYPE_BYTES), 12`));
});

void test('fromJson: Timestamp', () => {
  const t = (s: unknown): unknown => fromJson(CryptoKey, { nextRotationTime: s }).nextRotationTime;
  assert.deepEqual(t('2026-11-23T19:00:00Z'), { seconds: String(Date.UTC(2026, 10, 23, 19) / 1000) });
  assert.deepEqual(t('2026-11-23T19:00:00.5Z'), { seconds: String(Date.UTC(2026, 10, 23, 19) / 1000), nanos: 500000000 });
  assert.deepEqual(t('2026-11-23T19:00:00.000000001Z'), { seconds: String(Date.UTC(2026, 10, 23, 19) / 1000), nanos: 1 });
  assert.deepEqual(t('2026-11-23T21:30:00+02:30'), { seconds: String(Date.UTC(2026, 10, 23, 19) / 1000) });
  assert.deepEqual(t('2026-11-23T16:00:00.25-03:00'), { seconds: String(Date.UTC(2026, 10, 23, 19) / 1000), nanos: 250000000 });
  assert.deepEqual(t('1970-01-01T00:00:00Z'), {});
  assert.deepEqual(t('1969-12-31T23:59:59.5Z'), { seconds: '-1', nanos: 500000000 });
  assert.deepEqual(t('0001-01-01T00:00:00Z'), { seconds: '-62135596800' });
  assert.deepEqual(t('9999-12-31T23:59:59.999999999Z'), { seconds: '253402300799', nanos: 999999999 });
  assert.deepEqual(t('2024-02-29T00:00:00Z'), { seconds: String(Date.UTC(2024, 1, 29) / 1000) });
  for (const bad of ['2026-11-23', '2026-11-23T19:00:00', '2026-02-29T00:00:00Z', '2026-13-01T00:00:00Z', '0000-01-01T00:00:00Z',
    '2026-11-23T24:00:00Z', '2026-11-23T19:00:00.1234567890Z', '0001-01-01T00:00:00+01:00', ' 2026-11-23T19:00:00Z']) {
    assert.throws(
      () => t(bad),
      invalid(`Invalid value at 'next_rotation_time' (type.googleapis.com/google.protobuf.Timestamp), Field 'nextRotationTime', Invalid time format: Failed to parse input`),
      bad,
    );
  }
  assert.throws(() => t(1), invalid(`Invalid value at 'next_rotation_time' (type.googleapis.com/google.protobuf.Timestamp), 1`));
});

void test('fromJson: Duration', () => {
  const d = (s: unknown): unknown => fromJson(CryptoKey, { rotationPeriod: s }).rotationPeriod;
  assert.deepEqual(d('7776000s'), { seconds: '7776000' });
  assert.deepEqual(d('1.5s'), { seconds: '1', nanos: 500000000 });
  assert.deepEqual(d('-1.5s'), { seconds: '-1', nanos: -500000000 });
  assert.deepEqual(d('-0.000000001s'), { nanos: -1 });
  assert.deepEqual(d('0s'), {});
  assert.deepEqual(d('315576000000s'), { seconds: '315576000000' });
  assert.throws(() => d('315576000001s'), invalid(/Field 'rotationPeriod', Duration value exceeds limits$/));
  assert.throws(() => d('5'), invalid(`Invalid value at 'rotation_period' (type.googleapis.com/google.protobuf.Duration), Field 'rotationPeriod', Illegal duration format; duration must end with 's'`));
  for (const bad of ['1.s', 's', '1.0000000001s', '+1s', '1e3s', '1 s']) assert.throws(() => d(bad), invalid(/failed to parse seconds/), bad);
  assert.throws(() => d(5), invalid(/Duration\), 5$/));
});

void test('fromJson: FieldMask and wrappers', () => {
  assert.deepEqual(fromJson(UpdateCryptoKeyRequest, { updateMask: 'rotationPeriod,nextRotationTime,versionTemplate.algorithm' }), {
    updateMask: { paths: ['rotation_period', 'next_rotation_time', 'version_template.algorithm'] },
  });
  assert.deepEqual(fromJson(UpdateCryptoKeyRequest, { update_mask: 'rotation_period, labels' }), { updateMask: { paths: ['rotation_period', 'labels'] } });
  assert.deepEqual(fromJson(UpdateCryptoKeyRequest, { updateMask: '' }), { updateMask: {} });
  assert.throws(() => fromJson(UpdateCryptoKeyRequest, { updateMask: 'a,,b' }), invalid(/FieldMask/));
  assert.throws(() => fromJson(UpdateCryptoKeyRequest, { updateMask: ['a'] }), invalid(/not repeating/));

  assert.deepEqual(fromJson(EncryptRequest, { plaintextCrc32c: '1234' }), { plaintextCrc32c: { value: '1234' } });
  assert.deepEqual(fromJson(EncryptRequest, { plaintext_crc32c: 1234 }), { plaintextCrc32c: { value: '1234' } });
  assert.deepEqual(fromJson(EncryptRequest, { plaintextCrc32c: '0' }), { plaintextCrc32c: {} });
  assert.throws(() => fromJson(EncryptRequest, { plaintextCrc32c: { value: '1' } }), invalid(/^Invalid value at 'plaintext_crc32c' \(type.googleapis.com\/google.protobuf.Int64Value\)/));
  assert.throws(() => fromJson(EncryptRequest, { plaintextCrc32c: 'x' }), invalid(/^Invalid value at 'plaintext_crc32c' \(TYPE_INT64\), "x"$/));
  assert.deepEqual(fromJson(M, { flag: true }), { flag: { value: true } });
  assert.deepEqual(fromJson(M, { flag: false }), { flag: {} });
});

void test('fromJson: oneof conflicts and duplicate names', () => {
  assert.deepEqual(fromJson(Digest, { sha256: 'AAAA' }), { sha256: Buffer.alloc(3) });
  assert.throws(
    () => fromJson(Digest, { sha256: 'AAAA', sha384: 'AAAA' }),
    invalid(`Invalid JSON payload received. Unknown name "sha384": oneof field 'digest' is already set by 'sha256'. Cannot set 'sha384'.`),
  );
  assert.throws(() => fromJson(M, { aText: 'x', b_number: 1 }), invalid(/oneof field 'choice' is already set by 'aText'. Cannot set 'b_number'/));
  assert.deepEqual(fromJson(M, { aText: null, bNumber: 1 }), { bNumber: 1 });
  assert.throws(
    () => fromJson(CryptoKey, { importOnly: true, import_only: true }),
    invalid(`Invalid JSON payload received. Duplicate name "import_only": field 'importOnly' is already set.`),
  );
  assert.throws(() => fromJson(CreateCryptoKeyRequest, { crypto_key: {}, cryptoKey: {} }), invalid(/Duplicate name "crypto_key"/));
});

void test('fromJson: Any, maps with non-string keys, Struct and Value', () => {
  const url = 'type.googleapis.com/google.cloud.kms.v1.LocationMetadata';
  const loc = fromJson(Location, { name: 'n', metadata: { '@type': url, hsmAvailable: true, ekm_available: true } });
  assert.deepEqual(loc, { name: 'n', metadata: { '@type': url, hsmAvailable: true, ekmAvailable: true } });
  // protobufjs encodes the @type form.
  const decoded = viaBinary(Location, loc);
  assert.equal((decoded.metadata as Msg).type_url, url);

  assert.throws(() => fromJson(Location, { metadata: { '@type': 'type.googleapis.com/no.Such' } }), invalid(/^Invalid value at 'metadata' \(type.googleapis.com\/google.protobuf.Any\), Invalid type URL/));
  assert.throws(() => fromJson(Location, { metadata: { hsmAvailable: true } }), invalid(/Missing @type/));
  assert.throws(() => fromJson(Location, { metadata: { '@type': url, nope: 1 } }), invalid(`Invalid JSON payload received. Unknown name "nope" at 'metadata': Cannot find field.`));
  assert.deepEqual(fromJson(Location, { metadata: {} }), { metadata: {} });

  const durationUrl = 'type.googleapis.com/google.protobuf.Duration';
  const status = fromJson(Status, { code: 3, details: [{ '@type': durationUrl, value: '1.5s' }] });
  assert.deepEqual(status, { code: 3, details: [{ '@type': durationUrl, seconds: '1', nanos: 500000000 }] });
  assert.throws(() => fromJson(Status, { details: [{ '@type': durationUrl, seconds: 1 }] }), invalid(/Unknown name "seconds" at 'details\[0\]'/));

  assert.deepEqual(fromJson(M, { byInt: { '-1': 'a', '7': 'b' }, byBool: { true: {} } }), { byInt: { '-1': 'a', '7': 'b' }, byBool: { true: {} } });
  assert.throws(() => fromJson(M, { byInt: { x: 'a' } }), invalid(`Invalid value at 'by_int[x]' (TYPE_INT32), "x"`));
  assert.throws(() => fromJson(M, { byBool: { yes: {} } }), invalid(/TYPE_BOOL/));

  const s = fromJson(M, { s: { a: 1, b: [true, null, 'x'], c: { d: {} } }, v: 'str' });
  assert.deepEqual(s, {
    s: {
      fields: {
        a: { numberValue: 1 },
        b: { listValue: { values: [{ boolValue: true }, { nullValue: 'NULL_VALUE' }, { stringValue: 'x' }] } },
        c: { structValue: { fields: { d: { structValue: {} } } } },
      },
    },
    v: { stringValue: 'str' },
  });
  assert.deepEqual(viaBinary(M, s), s);
  assert.deepEqual(fromJson(M, { v: null, s: {} }), { s: {} });
  assert.deepEqual(fromJson(M, { v: [1, { a: null }] }), {
    v: { listValue: { values: [{ numberValue: 1 }, { structValue: { fields: { a: { nullValue: 'NULL_VALUE' } } } }] } },
  });
  assert.deepEqual(toJson(M, s), { s: { a: 1, b: [true, null, 'x'], c: { d: {} } }, v: 'str' });
});

void test('toJson: names, omitted defaults, scalar forms', () => {
  const key: Msg = {
    name: 'projects/p/locations/l/keyRings/r/cryptoKeys/k',
    purpose: 'ENCRYPT_DECRYPT',
    createTime: { seconds: '1795460400', nanos: 120000000 },
    rotationPeriod: { seconds: '7776000' },
    versionTemplate: { algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION', protectionLevel: 'SOFTWARE' },
    labels: { env: 'test' },
    importOnly: false,
    cryptoKeyBackend: '',
  };
  assert.deepEqual(toJson(CryptoKey, key), {
    name: 'projects/p/locations/l/keyRings/r/cryptoKeys/k',
    purpose: 'ENCRYPT_DECRYPT',
    createTime: '2026-11-23T19:00:00.120Z',
    rotationPeriod: '7776000s',
    versionTemplate: { algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION', protectionLevel: 'SOFTWARE' },
    labels: { env: 'test' },
  });
  assert.deepEqual(toJson(CryptoKey, key, { enumsAsInts: true }).purpose, 1);
  assert.deepEqual(toJson(CryptoKey, { purpose: 6 }), { purpose: 'ASYMMETRIC_DECRYPT' });
  assert.deepEqual(toJson(CryptoKey, { purpose: 5 }, { enumsAsInts: true }), { purpose: 5 });
  assert.deepEqual(toJson(CryptoKey, { purpose: 'CRYPTO_KEY_PURPOSE_UNSPECIFIED', labels: {}, primary: {} }), { primary: {} });
  assert.deepEqual(toJson(CryptoKey, { rotationPeriod: {} }), { rotationPeriod: '0s' });
  assert.deepEqual(toJson(DecapsulateResponse, { sharedSecretCrc32c: '0' }), { sharedSecretCrc32c: '0' });
  assert.deepEqual(toJson(M, { maybe: 0, aText: '', many: [], names: ['', 'x'] }), { maybe: 0, aText: '', names: ['', 'x'] });
  assert.deepEqual(toJson(CryptoKeyVersion, { state: 'ENABLED', generateTime: { seconds: '0' }, destroyTime: {} }), {
    state: 'ENABLED',
    generateTime: '1970-01-01T00:00:00Z',
    destroyTime: '1970-01-01T00:00:00Z',
  });

  assert.deepEqual(toJson(EncryptRequest, { plaintext: Buffer.from([0xfb, 0xff]), additionalAuthenticatedData: new Uint8Array(0), plaintextCrc32c: { value: '99' } }), {
    plaintext: '+/8=',
    plaintextCrc32c: '99',
  });
  assert.deepEqual(toJson(EncryptRequest, { plaintextCrc32c: {}, additionalAuthenticatedDataCrc32c: { value: 7 } }), {
    plaintextCrc32c: '0',
    additionalAuthenticatedDataCrc32c: '7',
  });
  assert.deepEqual(toJson(M, { flag: {} }), { flag: false });

  // int64 leniency: numbers, bigints and Long-like objects.
  assert.deepEqual(toJson(ListRetiredResourcesResponse, { totalSize: 5 }), { totalSize: '5' });
  assert.deepEqual(toJson(ListRetiredResourcesResponse, { totalSize: 5n }), { totalSize: '5' });
  assert.deepEqual(toJson(ListRetiredResourcesResponse, { totalSize: { low: -1, high: -1, unsigned: false } }), { totalSize: '-1' });
  assert.deepEqual(toJson(M, { u64: { low: -1, high: -1, unsigned: true } }), { u64: '18446744073709551615' });
  assert.deepEqual(toJson(ListRetiredResourcesResponse, { totalSize: { low: 0, high: 0 } }), {});

  assert.deepEqual(toJson(M, { d: NaN, f: -Infinity }), { d: 'NaN', f: '-Infinity' });
  assert.deepEqual(toJson(M, { d: Infinity, f: Math.fround(0.1) }), { d: 'Infinity', f: 0.1 });
  assert.deepEqual(toJson(M, { f: Math.fround(3.4028234663852886e38) }), { f: 3.4028235e38 });
});

void test('toJson: Timestamp and Duration fractions as Google writes them', () => {
  const ts = (seconds: string, nanos?: number): unknown => toJson(CryptoKey, { createTime: { seconds, nanos } }).createTime;
  assert.equal(ts('1795460400'), '2026-11-23T19:00:00Z');
  assert.equal(ts('1795460400', 500000000), '2026-11-23T19:00:00.500Z');
  assert.equal(ts('1795460400', 500000), '2026-11-23T19:00:00.000500Z');
  assert.equal(ts('1795460400', 1), '2026-11-23T19:00:00.000000001Z');
  assert.equal(ts('-62135596800'), '0001-01-01T00:00:00Z');
  assert.equal(ts('253402300799', 999999999), '9999-12-31T23:59:59.999999999Z');
  assert.equal(ts('-1', 500000000), '1969-12-31T23:59:59.500Z');

  const du = (seconds: string | undefined, nanos?: number): unknown => toJson(CryptoKey, { rotationPeriod: { seconds, nanos } }).rotationPeriod;
  assert.equal(du('7776000'), '7776000s');
  assert.equal(du('1', 500000000), '1.500s');
  assert.equal(du('-1', -500000000), '-1.500s');
  assert.equal(du(undefined, -1), '-0.000000001s');
  assert.equal(du('0', 1000), '0.000001s');
  assert.equal(du(undefined), '0s');

  assert.deepEqual(toJson(UpdateCryptoKeyRequest, { updateMask: { paths: ['rotation_period', 'version_template.algorithm', 'plaintext_crc32c'] } }), {
    updateMask: 'rotationPeriod,versionTemplate.algorithm,plaintextCrc32c',
  });
  assert.deepEqual(toJson(UpdateCryptoKeyRequest, { updateMask: {} }), { updateMask: '' });
});

void test('toJson: Any in both internal forms', () => {
  const url = 'type.googleapis.com/google.cloud.kms.v1.LocationMetadata';
  const LocationMetadata = messageType('google.cloud.kms.v1.LocationMetadata');
  const binary = { type_url: url, value: Buffer.from(LocationMetadata.encode({ hsmAvailable: true }).finish()) };
  const expected = { name: 'n', metadata: { '@type': url, hsmAvailable: true } };
  assert.deepEqual(toJson(Location, { name: 'n', metadata: binary }), expected);
  assert.deepEqual(toJson(Location, { name: 'n', metadata: { '@type': url, hsmAvailable: true, ekmAvailable: false } }), expected);
  assert.deepEqual(toJson(Location, { metadata: { type_url: 'type.googleapis.com/no.Such', value: Buffer.from([1, 2]) } }), {
    metadata: { '@type': 'type.googleapis.com/no.Such', value: 'AQI=' },
  });
  assert.deepEqual(toJson(Location, { metadata: {} }), { metadata: {} });

  const durationUrl = 'type.googleapis.com/google.protobuf.Duration';
  assert.deepEqual(toJson(Status, { code: 3, details: [{ '@type': durationUrl, seconds: '2' }] }), {
    code: 3,
    details: [{ '@type': durationUrl, value: '2s' }],
  });
  const status = viaBinary(Status, { details: [{ '@type': durationUrl, seconds: '2', nanos: 1000000 }] });
  assert.deepEqual(toJson(Status, status), { details: [{ '@type': durationUrl, value: '2.001s' }] });

  // An Any holding an Any.
  const anyUrl = 'type.googleapis.com/google.protobuf.Any';
  const nestedJson = { '@type': anyUrl, value: { '@type': url, hsmAvailable: true } };
  const nested = fromJson(M, { any: nestedJson });
  assert.deepEqual(toJson(M, nested), { any: nestedJson });
  assert.deepEqual(toJson(M, viaBinary(M, nested)), { any: nestedJson });
});

void test('round trip: binary-decoded message → toJson → JSON text → fromJson', () => {
  const cases: [protobuf.Type, Msg][] = [
    [CryptoKey, {
      name: 'projects/p/locations/l/keyRings/r/cryptoKeys/k',
      primary: { name: 'v/1', state: 'ENABLED', createTime: { seconds: '1795460400', nanos: 123456789 }, generateTime: { seconds: '1' } },
      purpose: 'ASYMMETRIC_SIGN',
      nextRotationTime: { seconds: '1795460400', nanos: 1000 },
      rotationPeriod: { seconds: '-5', nanos: -5 },
      versionTemplate: { algorithm: 'EC_SIGN_P256_SHA256', protectionLevel: 'HSM' },
      labels: { a: 'b', c: '' },
      importOnly: true,
      destroyScheduledDuration: { seconds: '86400' },
    }],
    [EncryptRequest, { name: 'k', plaintext: Buffer.from('hello'), additionalAuthenticatedData: Buffer.from([0, 255]), plaintextCrc32c: { value: '4294967295' }, additionalAuthenticatedDataCrc32c: {} }],
    [UpdateCryptoKeyRequest, { cryptoKey: { rotationPeriod: {} }, updateMask: { paths: ['rotation_period', 'next_rotation_time'] } }],
    [ListRetiredResourcesResponse, { totalSize: '-9223372036854775808', nextPageToken: 't' }],
    [DecapsulateResponse, { sharedSecretCrc32c: '0' }],
    [Digest, { sha512: Buffer.alloc(64, 7) }],
    [M, { u64: '18446744073709551615', f: Math.fround(1.1), d: -0.5, byInt: { '-3': 'x' }, byBool: { false: { maybe: 0 } }, bNumber: 0, many: ['0', '1'], flag: { value: true }, names: [''] }],
    [Status, { code: 5, message: 'm', details: [{ type_url: 'type.googleapis.com/google.rpc.RetryInfo', value: Buffer.from([10, 2, 8, 3]) }] }],
  ];
  for (const [type, object] of cases) {
    const decoded = viaBinary(type, object);
    const json: unknown = JSON.parse(JSON.stringify(toJson(type, decoded)));
    const back = fromJson(type, json);
    // Any comes back in its @type form: compare through the binary form.
    assert.deepEqual(viaBinary(type, back), decoded, type.fullName);
    if (type !== Status) assert.deepEqual(back, decoded, type.fullName);
    const ints: unknown = JSON.parse(JSON.stringify(toJson(type, decoded, { enumsAsInts: true })));
    assert.deepEqual(viaBinary(type, fromJson(type, ints)), decoded, `${type.fullName} (enums as ints)`);
  }
});

void test('setQueryParameter: scalars, names in either case, conversions', () => {
  const msg: Msg = {};
  setQueryParameter(ListCryptoKeysRequest, msg, 'pageSize', ['10']);
  setQueryParameter(ListCryptoKeysRequest, msg, 'page_token', ['abc']);
  setQueryParameter(ListCryptoKeysRequest, msg, 'filter', ['labels.a=b']);
  setQueryParameter(ListCryptoKeysRequest, msg, 'versionView', ['FULL']);
  assert.deepEqual(msg, { pageSize: 10, pageToken: 'abc', filter: 'labels.a=b', versionView: 'FULL' });

  const byNumber: Msg = {};
  setQueryParameter(ListCryptoKeysRequest, byNumber, 'version_view', ['1']);
  assert.deepEqual(byNumber, { versionView: 'FULL' });

  for (const [s, b] of [['true', true], ['True', true], ['1', true], ['false', false], ['False', false], ['0', false]] as const) {
    const create: Msg = {};
    setQueryParameter(CreateCryptoKeyRequest, create, 'skipInitialVersionCreation', [s]);
    assert.deepEqual(create, b ? { skipInitialVersionCreation: true } : {}, s);
  }
  assert.throws(() => setQueryParameter(CreateCryptoKeyRequest, {}, 'skipInitialVersionCreation', ['yes']), invalid(`Invalid value at 'skip_initial_version_creation' (TYPE_BOOL), "yes"`));
  assert.throws(() => setQueryParameter(ListCryptoKeysRequest, {}, 'pageSize', ['ten']), invalid(`Invalid value at 'page_size' (TYPE_INT32), "ten"`));
  assert.throws(() => setQueryParameter(ListCryptoKeysRequest, {}, 'versionView', ['NOPE']), invalid(/CryptoKeyVersionView\), "NOPE"$/));

  const update: Msg = {};
  setQueryParameter(UpdateCryptoKeyRequest, update, 'updateMask', ['rotationPeriod,nextRotationTime']);
  assert.deepEqual(update, { updateMask: { paths: ['rotation_period', 'next_rotation_time'] } });

  const nested: Msg = {};
  setQueryParameter(UpdateCryptoKeyRequest, nested, 'cryptoKey.rotationPeriod', ['60s']);
  setQueryParameter(UpdateCryptoKeyRequest, nested, 'crypto_key.version_template.algorithm', ['GOOGLE_SYMMETRIC_ENCRYPTION']);
  setQueryParameter(UpdateCryptoKeyRequest, nested, 'cryptoKey.nextRotationTime', ['2026-11-23T19:00:00Z']);
  assert.deepEqual(nested, {
    cryptoKey: {
      rotationPeriod: { seconds: '60' },
      versionTemplate: { algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION' },
      nextRotationTime: { seconds: '1795460400' },
    },
  });

  const encrypt: Msg = {};
  setQueryParameter(EncryptRequest, encrypt, 'plaintext', ['aGk']);
  setQueryParameter(EncryptRequest, encrypt, 'plaintextCrc32c', ['42']);
  assert.deepEqual(encrypt, { plaintext: Buffer.from('hi'), plaintextCrc32c: { value: '42' } });
  const flag: Msg = {};
  setQueryParameter(M, flag, 'flag', ['True']);
  assert.deepEqual(flag, { flag: { value: true } });
});

void test('setQueryParameter: repeated, duplicates, unknown names, unbindable fields', () => {
  const msg: Msg = {};
  setQueryParameter(M, msg, 'names', ['a,b', 'c']);
  setQueryParameter(M, msg, 'many', ['1', '-2']);
  setQueryParameter(M, msg, 'names', ['d']);
  assert.deepEqual(msg, { names: ['a,b', 'c', 'd'], many: ['1', '-2'] });

  assert.throws(() => setQueryParameter(ListCryptoKeysRequest, {}, 'pageSize', ['1', '2']), invalid(/page_size.*not repeated/));
  const once: Msg = {};
  setQueryParameter(ListCryptoKeysRequest, once, 'pageSize', ['1']);
  assert.throws(() => setQueryParameter(ListCryptoKeysRequest, once, 'page_size', ['2']), invalid(/not repeated/));

  assert.throws(
    () => setQueryParameter(ListCryptoKeysRequest, {}, 'foo', ['1']),
    invalid(`Invalid JSON payload received. Unknown name "foo": Cannot bind query parameter. Field 'foo' could not be found in request message.`),
  );
  assert.throws(
    () => setQueryParameter(UpdateCryptoKeyRequest, {}, 'cryptoKey.fooBar', ['1']),
    invalid(`Invalid JSON payload received. Unknown name "cryptoKey.fooBar": Cannot bind query parameter. Field 'fooBar' could not be found in request message.`),
  );
  assert.throws(() => setQueryParameter(ListCryptoKeysRequest, {}, 'pageSize.x', ['1']), invalid(/Unknown name "pageSize.x"/));
  assert.throws(() => setQueryParameter(UpdateCryptoKeyRequest, {}, 'cryptoKey', ['x']), invalid(/'crypto_key' is a message type/));
  assert.throws(() => setQueryParameter(UpdateCryptoKeyRequest, {}, 'cryptoKey.labels', ['x']), invalid(/'crypto_key.labels' is a map field/));
  assert.throws(() => setQueryParameter(Location, {}, 'metadata', ['x']), invalid(/message type/));

  const oneof: Msg = {};
  setQueryParameter(M, oneof, 'aText', ['x']);
  assert.throws(() => setQueryParameter(M, oneof, 'bNumber', ['1']), invalid(/oneof field 'choice' is already set by 'aText'/));
});
