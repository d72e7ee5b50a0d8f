// ECDSA signing of a caller-supplied digest (SEC 1 v2 §4.1.3). node's
// crypto.sign always hashes its input, so AsymmetricSign with a `digest`
// cannot use it for EC keys. The scalar multiplication R = k·G runs natively
// through ECDH (the "public key" of private key k is exactly k·G); only the
// arithmetic mod n is done here with BigInt.
//
// BigInt arithmetic is not constant-time. To limit what timing reveals about
// the nonce k, the inversion is blinded with a fresh random b:
//   s = (b·k)⁻¹ · (b·z + b·r·d) = k⁻¹ · (z + r·d)   (mod n).

import { createECDH, type ECDH, randomBytes, type KeyObject } from 'node:crypto';
import type { CurveName } from './algorithms';

interface CurveParams {
  /** Order n of the base point G (SEC 2 v2 §2.4.2, §2.5.1; FIPS 186-4 §D.1.2.3-4). */
  n: bigint;
  nBits: number;
  /** Field element / scalar size in bytes. */
  bytes: number;
}

const CURVES: Readonly<Record<CurveName, CurveParams>> = {
  prime256v1: {
    n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
    nBits: 256,
    bytes: 32,
  },
  secp384r1: {
    n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
    nBits: 384,
    bytes: 48,
  },
  secp256k1: {
    n: 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n,
    nBits: 256,
    bytes: 32,
  },
};

/** The curve order n (exported for tests). */
export function curveOrder(curve: CurveName): bigint {
  return CURVES[curve].n;
}

function toBigInt(bytes: Buffer): bigint {
  return bytes.length === 0 ? 0n : BigInt('0x' + bytes.toString('hex'));
}

function toBytes(x: bigint, length: number): Buffer {
  return Buffer.from(x.toString(16).padStart(length * 2, '0'), 'hex');
}

/** Uniform scalar in [1, n-1] by rejection sampling (FIPS 186-4 §B.5.2 style). */
function randomScalar(p: CurveParams): bigint {
  const excessBits = p.bytes * 8 - p.nBits;
  for (;;) {
    const buf = randomBytes(p.bytes);
    buf[0] &= 0xff >>> excessBits;
    const k = toBigInt(buf);
    if (k >= 1n && k < p.n) return k;
  }
}

/** a⁻¹ mod n by the extended Euclidean algorithm; n is prime and a ≠ 0. Plain
 * variables, not array destructuring: this runs for every signature and
 * the temporary arrays cost a third of its time. */
function modInverse(a: bigint, n: bigint): bigint {
  let r0 = n;
  let r1 = ((a % n) + n) % n;
  let t0 = 0n;
  let t1 = 1n;
  while (r1 !== 0n) {
    const q = r0 / r1;
    const r = r0 - q * r1;
    r0 = r1;
    r1 = r;
    const t = t0 - q * t1;
    t0 = t1;
    t1 = t;
  }
  if (r0 !== 1n) throw new Error('value not invertible');
  return t0 < 0n ? t0 + n : t0;
}

/** z: the leftmost min(8·len, nBits) bits of the digest as an integer (SEC 1 §4.1.3 step 5). */
function digestToZ(digest: Buffer, nBits: number): bigint {
  const z = toBigInt(digest);
  const excess = digest.length * 8 - nBits;
  return excess > 0 ? z >> BigInt(excess) : z;
}

const PRIVATE_SCALARS = new WeakMap<KeyObject, bigint>();

/** d of an EC private key, cached per KeyObject (JWK export is comparatively slow). */
function privateScalar(key: KeyObject): bigint {
  let d = PRIVATE_SCALARS.get(key);
  if (d === undefined) {
    if (key.type !== 'private' || key.asymmetricKeyType !== 'ec') throw new Error('not an EC private key');
    const jwk = key.export({ format: 'jwk' });
    if (typeof jwk.d !== 'string') throw new Error('EC private key has no d');
    d = toBigInt(Buffer.from(jwk.d, 'base64url'));
    PRIVATE_SCALARS.set(key, d);
  }
  return d;
}

function derLength(length: number): Buffer {
  // X.690 §8.1.3: short form below 128, else 0x80|count then big-endian bytes.
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let l = length; l > 0; l = Math.floor(l / 256)) bytes.unshift(l & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** DER INTEGER (X.690 §8.3) of a non-negative value: minimal, with a 0x00 pad if the top bit is set. */
function derInteger(x: bigint): Buffer {
  let hex = x.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  let body = Buffer.from(hex, 'hex');
  if (body[0] & 0x80) body = Buffer.concat([Buffer.from([0]), body]);
  return Buffer.concat([Buffer.from([0x02]), derLength(body.length), body]);
}

/** Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } (RFC 3279 §2.2.3), as Cloud KMS returns. */
function derSignature(r: bigint, s: bigint): Buffer {
  const content = Buffer.concat([derInteger(r), derInteger(s)]);
  return Buffer.concat([Buffer.from([0x30]), derLength(content.length), content]);
}

// One ECDH object per curve, reused as a scalar multiplier: creating one costs
// as much as the multiplication. Signing is synchronous, so no two signatures
// interleave on it; each call sets its own k before reading k·G.
const SCRATCH = new Map<CurveName, ECDH>();
function scratchEcdh(curve: CurveName): ECDH {
  let ecdh = SCRATCH.get(curve);
  if (!ecdh) {
    ecdh = createECDH(curve);
    SCRATCH.set(curve, ecdh);
  }
  return ecdh;
}

/** ECDSA signature (DER) of an already-computed digest with an EC private key on `curve`. */
export function ecdsaSignDigest(curve: CurveName, privateKey: KeyObject, digest: Buffer): Buffer {
  const p = CURVES[curve];
  if (p === undefined) throw new Error(`unsupported curve ${String(curve)}`);
  const d = privateScalar(privateKey);
  const z = digestToZ(digest, p.nBits);
  const ecdh = scratchEcdh(curve);
  for (;;) {
    // SEC 1 §4.1.3 steps 1-4: fresh k, R = k·G, r = x_R mod n; retry on r = 0.
    const k = randomScalar(p);
    ecdh.setPrivateKey(toBytes(k, p.bytes));
    const point = ecdh.getPublicKey(null, 'uncompressed'); // 0x04 || x || y
    const r = toBigInt(point.subarray(1, 1 + p.bytes)) % p.n;
    if (r === 0n) continue;
    // Step 6: s = k⁻¹(z + r·d) mod n, blinded by b; retry on s = 0.
    const b = randomScalar(p);
    const bkInv = modInverse((b * k) % p.n, p.n);
    const s = (bkInv * ((b * z + ((b * r) % p.n) * d) % p.n)) % p.n;
    if (s === 0n) continue;
    return derSignature(r, s);
  }
}
