import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as fs from 'node:fs';
import { messageType, oneByteSource, protoRoot } from '../../src/proto/registry';

describe('proto registry', () => {
  it('reads .proto text beyond ASCII as one byte per character, leaving ASCII files untouched', () => {
    const ascii = Buffer.from('message A { // a comment\n  int32 b_c = 1;\n}\n');
    assert.equal(oneByteSource(ascii), ascii);
    const wide = Buffer.from('// the receiver\u2019s key, external-\u03bc only\nmessage A { int32 b = 1; }\n', 'utf8');
    const out = oneByteSource(wide).toString('utf8');
    assert.equal(out, '// the receiver?s key, external-? only\nmessage A { int32 b = 1; }\n');
    assert.ok(/^[\x00-\x7f]*$/.test(out));
  });

  it('still loads every field of the KMS protos whose files hold such characters', () => {
    // resources.proto and service.proto carry U+2019 and U+03BC in comments.
    const response = messageType('google.cloud.kms.v1.EncryptResponse');
    assert.deepEqual(Object.keys(response.fields).sort(), [
      'ciphertext', 'ciphertextCrc32c', 'name', 'protectionLevel', 'verifiedAdditionalAuthenticatedDataCrc32c', 'verifiedPlaintextCrc32c',
    ]);
    const version = messageType('google.cloud.kms.v1.CryptoKeyVersion');
    assert.ok(version.fields.algorithm.resolvedType, 'enum types resolve');
    assert.ok(version.fields.externalProtectionLevelOptions, 'fields after the comments load');
  });

  it('meets characters beyond ASCII only in comments of the files it loads, so replacing them changes no definition', () => {
    // Well-known types (google/protobuf/*) come from protobufjs' own definitions, not files.
    const files = protoRoot().files.filter((file) => fs.existsSync(file));
    assert.ok(files.length > 10, 'the loaded .proto files are listed');
    for (const file of files) {
      fs.readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
        if (/[^\x00-\x7f]/.test(line)) assert.match(line, /^\s*\/\//, `${file}:${i + 1} has such a character outside a comment`);
      });
    }
  });
});
