// The one AEAD envelope (src/crypto/aead.ts) behind Encrypt ciphertexts, key
// material at rest and the reference EKM's blobs: checked against node:crypto
// used directly, and against what the three separate envelopes of the
// previous release made (so no stored key, ciphertext or blob stops opening).
import '../helpers/env';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDecipheriv } from 'node:crypto';
import { aeadOpen, aeadSeal } from '../../src/crypto/aead';
import { RootKey } from '../../src/crypto/root-key';
import { symmetricDecrypt } from '../../src/crypto/symmetric';
import { unwrap } from '../../src/ekm-server/wrap';

const KEY = Buffer.alloc(32, 7);
const NAME = 'projects/p/locations/l/keyRings/r/cryptoKeys/k';

test('a sealed message opens with node:crypto given the header, IV, tag and the context concatenated', () => {
  const context = [Buffer.from('first part'), Buffer.alloc(0), Buffer.from('second')];
  const sealed = aeadSeal(KEY, Buffer.from([0xaa, 0xbb]), context, Buffer.from('plaintext'));
  assert.deepEqual(sealed.subarray(0, 2), Buffer.from([0xaa, 0xbb]));
  const decipher = createDecipheriv('aes-256-gcm', KEY, sealed.subarray(2, 14));
  decipher.setAAD(Buffer.concat(context));
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  const plaintext = Buffer.concat([decipher.update(sealed.subarray(14, sealed.length - 16)), decipher.final()]);
  assert.equal(plaintext.toString(), 'plaintext');
  assert.equal(aeadOpen(KEY, sealed, 2, [Buffer.concat(context)])?.toString(), 'plaintext', 'context parts are their concatenation');
});

test('any change, another key, another context or a short input does not open', () => {
  const sealed = aeadSeal(KEY, Buffer.from([1]), [Buffer.from('ctx')], Buffer.from('secret'));
  assert.equal(aeadOpen(KEY, sealed, 1, [Buffer.from('ctx')])?.toString(), 'secret');
  assert.equal(aeadOpen(Buffer.alloc(32, 8), sealed, 1, [Buffer.from('ctx')]), undefined);
  assert.equal(aeadOpen(KEY, sealed, 1, [Buffer.from('ctX')]), undefined);
  for (let i = 1; i < sealed.length; i++) {
    const flipped = Buffer.from(sealed);
    flipped[i] ^= 1;
    assert.equal(aeadOpen(KEY, flipped, 1, [Buffer.from('ctx')]), undefined, `byte ${i}`);
  }
  assert.equal(aeadOpen(KEY, sealed.subarray(0, 28), 1, [Buffer.from('ctx')]), undefined);
  assert.throws(() => aeadSeal(Buffer.alloc(16), Buffer.alloc(0), [], Buffer.alloc(1)), /must be 32 bytes/);
});

test('what the previous release sealed still opens: ciphertexts, key material, wrapped blobs', () => {
  // Made by the three separate envelopes of commit 47e2fc6 with these keys and inputs.
  const old = {
    symmetric: '0100000003d21468f7e794420d84c08bfe1bff06120609080c80a1a13df680a97f200e6b42916cedfa4e536d8deb',
    symmetricNoAad: '0100000001602a30fd1899eb3b3f4acfe040827e0ba2f66ed916ef27ac57d6405671f33fa32c62',
    sealed: '0160fcecd7365ec8c2e8399317d4bab7ee53cb8adbc38c86f31220d44f5be327d8d35d1be026fbba1c',
    wrapped: '01fa7eb6e639d4e501065c1ec05ab671c5843188e0b0b30b98952f28b77783ea73ab3c05d0a0',
    wrappedNoAad: '010342095122195315d6fb19f7518d758660064add77e270283934b0d617398188eb1f61eaee',
  };
  const hex = (s: string) => Buffer.from(s, 'hex');
  assert.equal(symmetricDecrypt(KEY, NAME, hex(old.symmetric), Buffer.from('aad')).toString(), 'old plaintext');
  assert.equal(symmetricDecrypt(KEY, NAME, hex(old.symmetricNoAad), Buffer.alloc(0)).toString(), 'no aad');
  const root = RootKey.fromBase64(Buffer.alloc(32, 9).toString('base64'));
  assert.equal(root.open(hex(old.sealed), `${NAME}/cryptoKeyVersions/1`).toString(), 'old material');
  assert.equal(unwrap(KEY, 'v0/spaces/s/keys/k', hex(old.wrapped), Buffer.from('the aad')).toString(), 'old inner');
  assert.equal(unwrap(KEY, 'v0/spaces/s/keys/k', hex(old.wrappedNoAad)).toString(), 'old inner');
});
