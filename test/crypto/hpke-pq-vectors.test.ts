// The KEMs the HPKE import methods build on (src/crypto/import-methods.ts),
// against the published draft-ietf-hpke-pq vectors (hpke-pq-vectors.ts): the
// KEM ids, the recipient's private key as the seed we store, decapsulation,
// and @hpke/core's key schedule and AEAD around them. No published vector
// has exactly an import method's suite; between them the three cover each
// part: ML-KEM-768 with HKDF-SHA256, ML-KEM-1024 with AES-256-GCM, X-Wing
// with HKDF-SHA256 (its vector's ChaCha20-Poly1305 AEAD is node's here,
// behind @hpke's AEAD interface, since @hpke/core ships only AES-GCM).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { AeadId, Aes128Gcm, Aes256Gcm, CipherSuite, HkdfSha256, HkdfSha384, type AeadInterface, type KdfInterface } from '@hpke/core';
import { hpkeKem, hpkeSuite, type HpkeKem } from '../../src/crypto/import-methods';
import { HPKE_PQ_VECTORS, type HpkePqVector } from './hpke-pq-vectors';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

const KEMS: Readonly<Record<number, HpkeKem>> = { 0x0041: 'ML-KEM-768', 0x0042: 'ML-KEM-1024', 0x647a: 'X-Wing' };

/** ChaCha20-Poly1305 (RFC 8439) from node, as an HPKE AEAD (RFC 9180 §7.3, id 0x0003). */
const chacha20Poly1305: AeadInterface = {
  id: AeadId.Chacha20Poly1305,
  keySize: 32,
  nonceSize: 12,
  tagSize: 16,
  createEncryptionContext: (key) => {
    const k = Buffer.from(key as Uint8Array);
    const bytes = (b: ArrayBufferLike | ArrayBufferView): Buffer => (ArrayBuffer.isView(b) ? Buffer.from(b.buffer, b.byteOffset, b.byteLength) : Buffer.from(b));
    return {
      seal: (iv, data, aad) => {
        const pt = bytes(data);
        const c = createCipheriv('chacha20-poly1305', k, bytes(iv), { authTagLength: 16 }).setAAD(bytes(aad), { plaintextLength: pt.length });
        const out = Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]);
        return Promise.resolve(out.buffer.slice(out.byteOffset, out.byteOffset + out.length));
      },
      open: (iv, data, aad) => {
        const d = bytes(data);
        const c = createDecipheriv('chacha20-poly1305', k, bytes(iv), { authTagLength: 16 }).setAAD(bytes(aad), { plaintextLength: d.length - 16 });
        c.setAuthTag(d.subarray(d.length - 16));
        const out = Buffer.concat([c.update(d.subarray(0, d.length - 16)), c.final()]);
        return Promise.resolve(out.buffer.slice(out.byteOffset, out.byteOffset + out.length));
      },
    };
  },
};

const KDFS: Readonly<Record<number, () => KdfInterface>> = { 1: () => new HkdfSha256(), 2: () => new HkdfSha384() };
const AEADS: Readonly<Record<number, () => AeadInterface>> = { 1: () => new Aes128Gcm(), 2: () => new Aes256Gcm(), 3: () => chacha20Poly1305 };

function vectorName(v: HpkePqVector): string {
  return `${KEMS[v.kemId]} (0x${v.kemId.toString(16).padStart(4, '0')}), KDF ${v.kdfId}, AEAD ${v.aeadId}`;
}

for (const v of HPKE_PQ_VECTORS) {
  void test(`draft-ietf-hpke-pq vector ${vectorName(v)}: decapsulation, opening and exports from the stored seed`, async () => {
    const kem = hpkeKem(KEMS[v.kemId]);
    assert.equal(kem.id, v.kemId, 'the @hpke KEM has the draft-ietf-hpke-pq id');
    const recipientKey = await kem.deserializePrivateKey(hex(v.skRm));
    assert.deepEqual(Buffer.from(await kem.decap({ enc: hex(v.enc), recipientKey })), hex(v.sharedSecret));

    const suite = new CipherSuite({ kem, kdf: KDFS[v.kdfId](), aead: AEADS[v.aeadId]() });
    const recipient = await suite.createRecipientContext({ recipientKey, enc: hex(v.enc), info: hex(v.info) });
    for (const e of v.encryptions) {
      assert.deepEqual(Buffer.from(await recipient.open(hex(e.ct), hex(e.aad))), hex(e.pt));
    }
    for (const x of v.exports) {
      assert.deepEqual(Buffer.from(await recipient.export(hex(x.context), x.length)), hex(x.value));
    }
  });
}

void test('the import suite is (KEM, HKDF-SHA256 0x0001, AES-256-GCM 0x0002) for each KEM', () => {
  for (const name of Object.values(KEMS)) {
    const suite = hpkeSuite(hpkeKem(name));
    assert.equal(suite.kdf.id, 0x0001);
    assert.equal(suite.aead.id, 0x0002);
  }
});
