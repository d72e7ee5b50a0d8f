// Post-quantum signing, decapsulation and keys, checked against published
// known answers (fixtures/pq-vectors.json names each source: NIST ACVP, the
// X-Wing draft, C2SP Wycheproof and the IETF LAMPS example keys) and against the
// library's own verify/encapsulate. OpenSSL 3.0 and node:crypto on Node 20
// know none of these algorithms, so DER is walked by hand here.
//
// SLH-DSA-SHA2-128s is slow in JavaScript (about 1.7 s per signature and
// 0.35 s per key derivation), so this file signs with it only twice.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js';
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
import { ml_kem1024, ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { slh_dsa_sha2_128s } from '@noble/post-quantum/slh-dsa.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { KmsError } from '../../src/errors';
import { oid as derOid, sequence, tlv } from '../../src/crypto/der';
import {
  checkPublicKeyFormat, encodePqPublicKey, generatePqMaterial, kemDecapsulate, kemDecapsulator, PQ_ALGORITHMS, pqAlgorithm,
  pqMaterialFromImport, pqPublicKey, pqSign, pqSigner, pqVerify,
  type PqAlgorithmName, type PqKemAlgorithm, type PqSignAlgorithm, type PqSignInput,
} from '../../src/crypto/pq';
import { assertKmsError } from './helpers';
import vectors from './fixtures/pq-vectors.json';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();
const shake256 = (b: Uint8Array, bytes: number): Buffer => createHash('shake256', { outputLength: bytes }).update(b).digest();
const data = (bytes: Buffer): PqSignInput => ({ kind: 'data', bytes });
const flipped = (b: Buffer, at = b.length - 1): Buffer => { const c = Buffer.from(b); c[at] ^= 1; return c; };
const ietf = vectors.ietfKeys as Record<string, string>;

/** The DER inside a PEM text (RFC 7468), checking its frame and line length. */
function pemBody(pem: string, label: string): Buffer {
  const lines = pem.trimEnd().split('\n');
  assert.equal(lines[0], `-----BEGIN ${label}-----`);
  assert.equal(lines[lines.length - 1], `-----END ${label}-----`);
  for (const line of lines.slice(1, -1)) assert.ok(line.length > 0 && line.length <= 64, 'base64 lines of at most 64');
  return Buffer.from(lines.slice(1, -1).join(''), 'base64');
}

/** A DER walk of our own for the tests: [tag, contents, rest]. */
function walk(der: Buffer): [number, Buffer, Buffer] {
  let len = der[1];
  let off = 2;
  if (len > 0x80) {
    const n = len - 0x80;
    len = [...der.subarray(2, 2 + n)].reduce((v, b) => v * 256 + b, 0);
    off += n;
  }
  assert.ok(off + len <= der.length, 'value fits');
  return [der[0], der.subarray(off, off + len), der.subarray(off + len)];
}

function dottedOid(body: Buffer): string {
  const arcs = [Math.floor(body[0] / 40), body[0] % 40];
  let v = 0;
  for (const b of body.subarray(1)) {
    v = v * 128 + (b & 0x7f);
    if (!(b & 0x80)) { arcs.push(v); v = 0; }
  }
  return arcs.join('.');
}

/** SubjectPublicKeyInfo → [algorithm OID, raw key], asserting absent parameters and no unused bits. */
function parseSpki(der: Buffer): [string, Buffer] {
  const [tag, spki, after] = walk(der);
  assert.equal(tag, 0x30);
  assert.equal(after.length, 0);
  const [algTag, alg, rest] = walk(spki);
  assert.equal(algTag, 0x30);
  const [oidTag, oidBody, params] = walk(alg);
  assert.equal(oidTag, 0x06);
  assert.equal(params.length, 0, 'parameters absent');
  const [bitsTag, bits, end] = walk(rest);
  assert.equal(bitsTag, 0x03);
  assert.equal(end.length, 0);
  assert.equal(bits[0], 0, 'no unused bits');
  return [dottedOid(oidBody), bits.subarray(1)];
}

const SIGN = Object.values(PQ_ALGORITHMS).filter((a) => a.purpose === 'ASYMMETRIC_SIGN').map((a) => a.name as PqSignAlgorithm);
const KEMS: readonly PqKemAlgorithm[] = ['ML_KEM_768', 'ML_KEM_1024', 'KEM_XWING'];
const ML_DSA_NAMES = SIGN.filter((n) => n.startsWith('PQ_SIGN_ML_DSA'));
const NOBLE_DSA = { 44: ml_dsa44, 65: ml_dsa65, 87: ml_dsa87 } as const;
const nobleDsa = (name: string) => NOBLE_DSA[Number(/ML_DSA_(\d+)/.exec(name)![1]) as 44 | 65 | 87];
const NOBLE_KEM = { ML_KEM_768: ml_kem768, ML_KEM_1024: ml_kem1024, KEM_XWING: ml_kem768_x25519 } as const;
const rawFormat = (name: PqAlgorithmName) => (name === 'KEM_XWING' ? 'XWING_RAW_BYTES' : 'NIST_PQC');

function signatureBytes(name: PqSignAlgorithm): number {
  const info = PQ_ALGORITHMS[name];
  assert.equal(info.purpose, 'ASYMMETRIC_SIGN');
  return info.purpose === 'ASYMMETRIC_SIGN' ? info.signatureBytes : 0;
}

function ciphertextBytes(name: PqKemAlgorithm): number {
  const info = PQ_ALGORITHMS[name];
  assert.equal(info.purpose, 'KEY_ENCAPSULATION');
  return info.purpose === 'KEY_ENCAPSULATION' ? info.ciphertextBytes : 0;
}

// ---- Catalogue and formats -----------------------------------------------

void test('the catalogue names each algorithm as the proto does, with the sizes of FIPS 203/204/205 and the X-Wing draft', () => {
  assert.equal(Object.keys(PQ_ALGORITHMS).length, 11);
  for (const [name, info] of Object.entries(PQ_ALGORITHMS)) assert.equal(info.name, name);
  assert.equal(pqAlgorithm('EC_SIGN_P256_SHA256'), undefined);
  assert.equal(pqAlgorithm('toString'), undefined);
  const sizes = Object.values(PQ_ALGORITHMS).map((a) => [a.name, a.publicKeyBytes, a.purpose === 'ASYMMETRIC_SIGN' ? a.signatureBytes : a.ciphertextBytes]);
  assert.deepEqual(sizes, [
    ['PQ_SIGN_ML_DSA_44', 1312, 2420], ['PQ_SIGN_ML_DSA_65', 1952, 3309], ['PQ_SIGN_ML_DSA_87', 2592, 4627],
    ['PQ_SIGN_ML_DSA_44_EXTERNAL_MU', 1312, 2420], ['PQ_SIGN_ML_DSA_65_EXTERNAL_MU', 1952, 3309], ['PQ_SIGN_ML_DSA_87_EXTERNAL_MU', 2592, 4627],
    ['PQ_SIGN_SLH_DSA_SHA2_128S', 32, 7856], ['PQ_SIGN_HASH_SLH_DSA_SHA2_128S_SHA256', 32, 7856],
    ['ML_KEM_768', 1184, 1088], ['ML_KEM_1024', 1568, 1568], ['KEM_XWING', 1216, 1120],
  ]);
});

void test('public_key_format: required, and only the formats Cloud KMS serves for the algorithm', () => {
  const served: Record<PqAlgorithmName, string[]> = {
    PQ_SIGN_ML_DSA_44: ['PEM', 'DER', 'NIST_PQC'], PQ_SIGN_ML_DSA_65: ['PEM', 'DER', 'NIST_PQC'], PQ_SIGN_ML_DSA_87: ['PEM', 'DER', 'NIST_PQC'],
    PQ_SIGN_ML_DSA_44_EXTERNAL_MU: ['PEM', 'DER', 'NIST_PQC'], PQ_SIGN_ML_DSA_65_EXTERNAL_MU: ['PEM', 'DER', 'NIST_PQC'],
    PQ_SIGN_ML_DSA_87_EXTERNAL_MU: ['PEM', 'DER', 'NIST_PQC'],
    PQ_SIGN_SLH_DSA_SHA2_128S: ['NIST_PQC'], PQ_SIGN_HASH_SLH_DSA_SHA2_128S_SHA256: ['NIST_PQC'],
    ML_KEM_768: ['PEM', 'DER', 'NIST_PQC'], ML_KEM_1024: ['PEM', 'DER', 'NIST_PQC'], KEM_XWING: ['XWING_RAW_BYTES'],
  };
  const all = ['PUBLIC_KEY_FORMAT_UNSPECIFIED', '', 'PEM', 'DER', 'NIST_PQC', 'XWING_RAW_BYTES', 'JWK'];
  for (const [name, formats] of Object.entries(served) as [PqAlgorithmName, string[]][]) {
    for (const format of all) {
      if (formats.includes(format)) assert.equal(checkPublicKeyFormat(name, format), format);
      else assertKmsError(() => checkPublicKeyFormat(name, format));
    }
  }
});

// ---- Known answers: keys ---------------------------------------------------

void test('ML-DSA key generation from the seed matches NIST ACVP keyGen (FIPS 204 Algorithm 6)', () => {
  for (const v of vectors.mlDsaKeyGen.vectors) {
    const level = v.parameterSet.slice('ML-DSA-'.length);
    for (const name of [`PQ_SIGN_ML_DSA_${level}`, `PQ_SIGN_ML_DSA_${level}_EXTERNAL_MU`] as PqSignAlgorithm[]) {
      assert.equal(sha256(pqPublicKey(name, hex(v.seed), 'NIST_PQC')).toString('hex'), v.pkSha256, `${name} tcId ${v.tcId}`);
    }
  }
});

void test('ML-KEM key generation from d ‖ z matches NIST ACVP keyGen (FIPS 203 Algorithm 16)', () => {
  for (const v of vectors.mlKemKeyGen.vectors) {
    const name = v.parameterSet.replace('-', '_').replace('-', '_') as PqKemAlgorithm;
    const ek = pqPublicKey(name, Buffer.concat([hex(v.d), hex(v.z)]), 'NIST_PQC');
    assert.equal(sha256(ek).toString('hex'), v.ekSha256, `${name} tcId ${v.tcId}`);
  }
});

void test('SLH-DSA: the NIST ACVP keyGen private key imports as is, and a wrong PK.root is refused', () => {
  const v = vectors.slhDsaKeyGen;
  assert.equal(v.sk, v.skSeed + v.skPrf + v.pkSeed + v.pk.slice(32));
  const material = pqMaterialFromImport('PQ_SIGN_SLH_DSA_SHA2_128S', hex(v.sk));
  assert.equal(material.toString('hex'), v.sk);
  assert.equal(pqPublicKey('PQ_SIGN_HASH_SLH_DSA_SHA2_128S_SHA256', material, 'NIST_PQC').toString('hex'), v.pk);
  assertKmsError(() => pqMaterialFromImport('PQ_SIGN_SLH_DSA_SHA2_128S', flipped(hex(v.sk))));
});

void test('X-Wing: ml_kem768_x25519 is X-Wing, and we reproduce every draft test vector', () => {
  for (const v of vectors.xWing.vectors) {
    const pk = pqPublicKey('KEM_XWING', hex(v.seed), 'XWING_RAW_BYTES');
    assert.equal(sha256(pk).toString('hex'), v.pkSha256);
    const { cipherText, sharedSecret } = ml_kem768_x25519.encapsulate(pk, hex(v.eseed));
    assert.equal(Buffer.from(cipherText).toString('hex'), v.ct, 'the library encapsulates as the draft does');
    assert.equal(Buffer.from(sharedSecret).toString('hex'), v.ss);
    assert.equal(kemDecapsulate('KEM_XWING', hex(v.seed), hex(v.ct)).toString('hex'), v.ss);
  }
});

// ---- Known answers: signatures and decapsulation ------------------------------

void test('ML-DSA external mu: a NIST ACVP signature verifies over mu = H(tr ‖ M′) sent as digest.external_mu', () => {
  const v = vectors.mlDsaSigVerInternal;
  assert.equal(v.testPassed, true);
  const pk = hex(v.pk);
  const mu = shake256(Buffer.concat([shake256(pk, 64), hex(v.message)]), 64);
  const input: PqSignInput = { kind: 'digest', field: 'externalMu', bytes: mu };
  assert.equal(pqVerify('PQ_SIGN_ML_DSA_44_EXTERNAL_MU', pk, input, hex(v.signature)), true);
  assert.equal(pqVerify('PQ_SIGN_ML_DSA_44_EXTERNAL_MU', pk, input, flipped(hex(v.signature), 100)), false);
  assert.equal(pqVerify('PQ_SIGN_ML_DSA_44_EXTERNAL_MU', pk, { ...input, bytes: flipped(mu) }, hex(v.signature)), false);
});

void test('ML-KEM: keys from the seed decapsulate Wycheproof ciphertexts to their shared secrets', () => {
  for (const v of vectors.mlKemDecaps.vectors) {
    const name = v.parameterSet.replace('-', '_').replace('-', '_') as PqKemAlgorithm;
    assert.equal(sha256(pqPublicKey(name, hex(v.seed), 'NIST_PQC')).toString('hex'), v.ekSha256, `${name} tcId ${v.tcId}`);
    assert.equal(kemDecapsulate(name, hex(v.seed), hex(v.c)).toString('hex'), v.K, `${name} tcId ${v.tcId}`);
  }
});

void test('ML-DSA: Wycheproof signatures verify with the empty context only', () => {
  const pk = hex(vectors.mlDsaVerify.publicKey);
  for (const t of vectors.mlDsaVerify.tests) {
    const expected = t.result === 'valid' && t.ctx === undefined;
    assert.equal(pqVerify('PQ_SIGN_ML_DSA_44', pk, data(hex(t.msg)), hex(t.sig)), expected, `tcId ${t.tcId}: ${t.comment}`);
  }
});

void test('ML-KEM: a forged ciphertext gets the implicit rejection key J(z ‖ c) (FIPS 203 Algorithm 18)', () => {
  for (const v of vectors.mlKemDecaps.vectors) {
    const name = v.parameterSet.replace('-', '_').replace('-', '_') as PqKemAlgorithm;
    const forged = flipped(hex(v.c), 7);
    const z = hex(v.seed).subarray(32);
    assert.deepEqual(kemDecapsulate(name, hex(v.seed), forged), shake256(Buffer.concat([z, forged]), 32));
  }
});

// ---- Known answers: IETF example keys (import, PEM, DER) -----------------------

void test('ML-DSA and ML-KEM: IETF example keys import from PKCS#8 and give back the example public keys byte for byte', () => {
  const cases: [PqAlgorithmName, string, string, number][] = [
    ['PQ_SIGN_ML_DSA_44', 'ML-DSA-44-seed.priv', 'ML-DSA-44.pub', 32],
    ['PQ_SIGN_ML_DSA_65_EXTERNAL_MU', 'ML-DSA-65-seed.priv', 'ML-DSA-65.pub', 32],
    ['PQ_SIGN_ML_DSA_87', 'ML-DSA-87-seed.priv', 'ML-DSA-87.pub', 32],
    ['ML_KEM_768', 'ML-KEM-768-seed.priv', 'ML-KEM-768.pub', 64],
    ['ML_KEM_1024', 'ML-KEM-1024-seed.priv', 'ML-KEM-1024.pub', 64],
  ];
  for (const [name, priv, pub, seedBytes] of cases) {
    const material = pqMaterialFromImport(name, pemBody(ietf[priv], 'PRIVATE KEY'));
    assert.deepEqual(material, Buffer.from([...Array(seedBytes).keys()]), `${name}: the seed 00 01 02 ...`);
    assert.equal(pqPublicKey(name, material, 'PEM').toString('ascii'), ietf[pub], `${name} PEM`);
    assert.deepEqual(pqPublicKey(name, material, 'DER'), pemBody(ietf[pub], 'PUBLIC KEY'), `${name} DER`);
  }
});

void test('SubjectPublicKeyInfo: the algorithm OID with absent parameters around the NIST_PQC key, for every served format', () => {
  const oids: Partial<Record<PqAlgorithmName, string>> = {
    PQ_SIGN_ML_DSA_44: '2.16.840.1.101.3.4.3.17', PQ_SIGN_ML_DSA_65: '2.16.840.1.101.3.4.3.18', PQ_SIGN_ML_DSA_87: '2.16.840.1.101.3.4.3.19',
    PQ_SIGN_ML_DSA_44_EXTERNAL_MU: '2.16.840.1.101.3.4.3.17', PQ_SIGN_ML_DSA_65_EXTERNAL_MU: '2.16.840.1.101.3.4.3.18',
    PQ_SIGN_ML_DSA_87_EXTERNAL_MU: '2.16.840.1.101.3.4.3.19', ML_KEM_768: '2.16.840.1.101.3.4.4.2', ML_KEM_1024: '2.16.840.1.101.3.4.4.3',
  };
  for (const [name, oid] of Object.entries(oids) as [PqAlgorithmName, string][]) {
    const material = generatePqMaterial(name);
    const raw = pqPublicKey(name, material, 'NIST_PQC');
    assert.equal(raw.length, PQ_ALGORITHMS[name].publicKeyBytes);
    assert.deepEqual(parseSpki(pqPublicKey(name, material, 'DER')), [oid, raw], name);
    assert.deepEqual(parseSpki(pemBody(pqPublicKey(name, material, 'PEM').toString('ascii'), 'PUBLIC KEY')), [oid, raw], name);
  }
});

void test('PKCS#8 import: the IETF "both" key is accepted, its inconsistent twin and an expanded-only key are refused', () => {
  const both = pemBody(ietf['ML-DSA-44-both.priv'], 'PRIVATE KEY');
  assert.deepEqual(pqMaterialFromImport('PQ_SIGN_ML_DSA_44', both), Buffer.from([...Array(32).keys()]));
  assertKmsError(() => pqMaterialFromImport('PQ_SIGN_ML_DSA_44', pemBody(ietf['bad-ML-DSA-44-1.priv'], 'PRIVATE KEY')));
  const expanded = ml_dsa44.keygen(Buffer.alloc(32, 9)).secretKey;
  const expandedOnly = sequence(tlv(0x02, Buffer.of(0)), sequence(derOid('2.16.840.1.101.3.4.3.17')), tlv(0x04, tlv(0x04, Buffer.from(expanded))));
  assertKmsError(() => pqMaterialFromImport('PQ_SIGN_ML_DSA_44', expandedOnly));
});

void test('PKCS#8 import: SLH-DSA and X-Wing IETF example keys', () => {
  const slh = pqMaterialFromImport('PQ_SIGN_SLH_DSA_SHA2_128S', pemBody(ietf['id-slh-dsa-sha2-128s.priv'], 'PRIVATE KEY'));
  const [oid, pk] = parseSpki(pemBody(ietf['id-slh-dsa-sha2-128s.pub'], 'PUBLIC KEY'));
  assert.equal(oid, '2.16.840.1.101.3.4.3.20');
  assert.deepEqual(pqPublicKey('PQ_SIGN_SLH_DSA_SHA2_128S', slh, 'NIST_PQC'), pk);
  // The pure-SLH-DSA OID is not the HashSLH-DSA one.
  assertKmsError(() => pqMaterialFromImport('PQ_SIGN_HASH_SLH_DSA_SHA2_128S_SHA256', pemBody(ietf['id-slh-dsa-sha2-128s.priv'], 'PRIVATE KEY')));
  const xwing = pqMaterialFromImport('KEM_XWING', pemBody(ietf['xwing.priv'], 'PRIVATE KEY'));
  assert.deepEqual(xwing, Buffer.from([...Array(32).keys()]));
});

void test('PKCS#8 import: a publicKey field must be the key of the private key', () => {
  const seed = randomBytes(32);
  const pk = pqPublicKey('PQ_SIGN_ML_DSA_44', seed, 'NIST_PQC');
  const pkcs8 = (publicKey: Buffer) => sequence(
    tlv(0x02, Buffer.of(1)), sequence(derOid('2.16.840.1.101.3.4.3.17')), tlv(0x04, tlv(0x80, seed)), tlv(0x81, Buffer.concat([Buffer.of(0), publicKey])),
  );
  assert.deepEqual(pqMaterialFromImport('PQ_SIGN_ML_DSA_44', pkcs8(pk)), seed);
  assertKmsError(() => pqMaterialFromImport('PQ_SIGN_ML_DSA_44', pkcs8(flipped(pk))));
});

void test('import: malformed key material is INVALID_ARGUMENT', () => {
  const seedPriv = pemBody(ietf['ML-DSA-44-seed.priv'], 'PRIVATE KEY');
  const bad: [PqAlgorithmName, Buffer][] = [
    ['PQ_SIGN_ML_DSA_44', Buffer.alloc(0)],
    ['PQ_SIGN_ML_DSA_44', randomBytes(31)],
    ['PQ_SIGN_ML_DSA_44', randomBytes(33)],
    ['ML_KEM_768', randomBytes(32)],
    ['KEM_XWING', randomBytes(64)],
    ['PQ_SIGN_SLH_DSA_SHA2_128S', randomBytes(48)],
    ['PQ_SIGN_ML_DSA_44', seedPriv.subarray(0, seedPriv.length - 1)],
    ['PQ_SIGN_ML_DSA_44', Buffer.concat([seedPriv, Buffer.of(0)])],
    ['PQ_SIGN_ML_DSA_65', seedPriv],
    ['ML_KEM_768', pemBody(ietf['ML-KEM-1024-seed.priv'], 'PRIVATE KEY')],
    ['PQ_SIGN_ML_DSA_44', Buffer.from('30820000', 'hex')],
    ['PQ_SIGN_ML_DSA_44', Buffer.concat([Buffer.of(0x30, 0x80), seedPriv.subarray(2), Buffer.of(0, 0)])],
  ];
  for (const [name, bytes] of bad) assertKmsError(() => pqMaterialFromImport(name, bytes));
});

// ---- Round trips ----------------------------------------------------------------

void test('ML-DSA: signatures over data verify, with the library too, are hedged, and are bound to the data', () => {
  for (const name of ML_DSA_NAMES) {
    const signer = pqSigner(name, generatePqMaterial(name));
    const message = randomBytes(100);
    const a = signer.sign(data(message));
    assert.equal(a.length, signatureBytes(name));
    assert.equal(nobleDsa(name).verify(a, message, signer.publicKey), true, name);
    assert.equal(pqVerify(name, signer.publicKey, data(message), a), true);
    assert.notDeepEqual(signer.sign(data(message)), a, 'fresh randomness per signature');
    assert.equal(pqVerify(name, signer.publicKey, data(flipped(message)), a), false);
  }
});

void test('ML-DSA external mu: a signature over the caller\'s mu is a plain ML-DSA signature over the data', () => {
  for (const name of ML_DSA_NAMES.filter((n) => n.endsWith('_EXTERNAL_MU'))) {
    const material = generatePqMaterial(name);
    const pk = pqPublicKey(name, material, 'NIST_PQC');
    const message = randomBytes(77);
    // FIPS 204 Algorithms 2 and 7 with an empty context: M′ = 0 ‖ 0 ‖ M, mu = H(H(pk, 64) ‖ M′, 64).
    const mu = shake256(Buffer.concat([shake256(pk, 64), Buffer.of(0, 0), message]), 64);
    const sig = pqSign(name, material, { kind: 'digest', field: 'externalMu', bytes: mu });
    assert.equal(nobleDsa(name).verify(sig, message, pk), true, name);
    assert.equal(pqVerify(name, pk, data(message), sig), true);
  }
});

void test('SLH-DSA-SHA2-128s: a signature over data verifies with the library', () => {
  const name = 'PQ_SIGN_SLH_DSA_SHA2_128S';
  const material = generatePqMaterial(name);
  assert.equal(material.length, 64);
  const signer = pqSigner(name, material);
  const message = randomBytes(50);
  const sig = signer.sign(data(message));
  assert.equal(sig.length, 7856);
  assert.equal(slh_dsa_sha2_128s.verify(sig, message, signer.publicKey), true);
  assert.equal(pqVerify(name, signer.publicKey, data(message), sig), true);
  assert.equal(pqVerify(name, signer.publicKey, data(flipped(message)), sig), false);
});

void test('HashSLH-DSA with SHA-256: a signature over digest.sha256 is the library\'s HashSLH-DSA signature over the data', () => {
  const name = 'PQ_SIGN_HASH_SLH_DSA_SHA2_128S_SHA256';
  const material = hex(vectors.slhDsaKeyGen.sk); // the stored form is the FIPS 205 private key
  const pk = pqPublicKey(name, material, 'NIST_PQC');
  const message = randomBytes(300);
  const sig = pqSign(name, material, { kind: 'digest', field: 'sha256', bytes: sha256(message) });
  assert.equal(slh_dsa_sha2_128s.prehash(nobleSha256).verify(sig, message, pk), true);
  assert.equal(slh_dsa_sha2_128s.verify(sig, message, pk), false, 'not a pure SLH-DSA signature');
  assert.equal(pqVerify(name, pk, data(message), sig), true, 'data is pre-hashed the same way');
});

void test('KEMs: the public key we give out encapsulates to a secret we decapsulate', () => {
  for (const name of KEMS) {
    const material = generatePqMaterial(name);
    assert.equal(material.length, name === 'ML_KEM_768' || name === 'ML_KEM_1024' ? 64 : 32);
    const pk = pqPublicKey(name, material, rawFormat(name));
    const { cipherText, sharedSecret } = NOBLE_KEM[name].encapsulate(pk);
    assert.deepEqual(kemDecapsulate(name, material, Buffer.from(cipherText)), Buffer.from(sharedSecret), name);
    const decapsulator = kemDecapsulator(name, material);
    assert.deepEqual(decapsulator.publicKey, pk);
    assert.deepEqual(decapsulator.decapsulate(Buffer.from(cipherText)), Buffer.from(sharedSecret));
  }
});

void test('pqSigner and kemDecapsulator expose the raw public key, which encodes to the served formats', () => {
  const material = generatePqMaterial('PQ_SIGN_ML_DSA_65');
  const signer = pqSigner('PQ_SIGN_ML_DSA_65', material);
  for (const format of ['PEM', 'DER', 'NIST_PQC']) {
    assert.deepEqual(encodePqPublicKey('PQ_SIGN_ML_DSA_65', signer.publicKey, format), pqPublicKey('PQ_SIGN_ML_DSA_65', material, format));
  }
  assertKmsError(() => encodePqPublicKey('PQ_SIGN_ML_DSA_65', signer.publicKey, 'XWING_RAW_BYTES'));
});

// ---- Bad requests ---------------------------------------------------------------

void test('AsymmetricSign: a wrong input kind or size is INVALID_ARGUMENT, before any signing', () => {
  const materials = new Map(SIGN.filter((n) => !n.includes('SLH')).map((n) => [n, generatePqMaterial(n)]));
  const slh = hex(vectors.slhDsaKeyGen.sk);
  const material = (name: PqSignAlgorithm) => materials.get(name) ?? slh;
  const digest = (field: 'sha256' | 'sha384' | 'sha512' | 'externalMu', bytes: number): PqSignInput => ({ kind: 'digest', field, bytes: randomBytes(bytes) });
  const bad: [PqSignAlgorithm, PqSignInput][] = [
    ['PQ_SIGN_ML_DSA_65', digest('sha256', 32)],
    ['PQ_SIGN_ML_DSA_65', digest('externalMu', 64)],
    ['PQ_SIGN_ML_DSA_44_EXTERNAL_MU', digest('externalMu', 63)],
    ['PQ_SIGN_ML_DSA_44_EXTERNAL_MU', digest('externalMu', 65)],
    ['PQ_SIGN_ML_DSA_87_EXTERNAL_MU', digest('externalMu', 0)],
    ['PQ_SIGN_ML_DSA_65_EXTERNAL_MU', digest('sha512', 64)],
    ['PQ_SIGN_SLH_DSA_SHA2_128S', digest('sha256', 32)],
    ['PQ_SIGN_HASH_SLH_DSA_SHA2_128S_SHA256', digest('sha256', 31)],
    ['PQ_SIGN_HASH_SLH_DSA_SHA2_128S_SHA256', digest('sha256', 33)],
    ['PQ_SIGN_HASH_SLH_DSA_SHA2_128S_SHA256', digest('sha384', 48)],
    ['PQ_SIGN_HASH_SLH_DSA_SHA2_128S_SHA256', digest('externalMu', 64)],
  ];
  for (const [name, input] of bad) assertKmsError(() => pqSign(name, material(name), input));
});

void test('Decapsulate: a ciphertext of the wrong length, or with a low-order X25519 part, is INVALID_ARGUMENT', () => {
  for (const name of KEMS) {
    const material = generatePqMaterial(name);
    const n = ciphertextBytes(name);
    for (const length of [0, 1, n - 1, n + 1, 2 * n]) assertKmsError(() => kemDecapsulate(name, material, randomBytes(length)));
  }
  const v = vectors.xWing.vectors[0];
  const lowOrder = hex(v.ct);
  lowOrder.fill(0, 1088); // ct_X = the X25519 point 0
  assertKmsError(() => kemDecapsulate('KEM_XWING', hex(v.seed), lowOrder));
});

void test('GetPublicKey: an unserved or missing format is INVALID_ARGUMENT', () => {
  assertKmsError(() => pqPublicKey('ML_KEM_768', generatePqMaterial('ML_KEM_768'), 'PUBLIC_KEY_FORMAT_UNSPECIFIED'));
  assertKmsError(() => pqPublicKey('KEM_XWING', generatePqMaterial('KEM_XWING'), 'NIST_PQC'));
  assertKmsError(() => pqPublicKey('PQ_SIGN_SLH_DSA_SHA2_128S', hex(vectors.slhDsaKeyGen.sk), 'PEM'));
});

void test('stored material of the wrong size is our bug (INTERNAL), not the caller\'s', () => {
  const internal = (fn: () => unknown) => assert.throws(fn, (err: unknown) => err instanceof Error && !(err instanceof KmsError));
  internal(() => pqSign('PQ_SIGN_ML_DSA_44', randomBytes(31), data(Buffer.of(1))));
  internal(() => kemDecapsulate('ML_KEM_768', randomBytes(32), randomBytes(1088)));
  internal(() => pqPublicKey('PQ_SIGN_SLH_DSA_SHA2_128S', randomBytes(48), 'NIST_PQC'));
  internal(() => pqSign('ML_KEM_768' as PqSignAlgorithm, randomBytes(64), data(Buffer.of(1))));
});
