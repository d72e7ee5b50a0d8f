// MacSign / MacVerify: HMAC (RFC 2104) with the hash of the HMAC_* algorithm.

import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AlgorithmInfo } from './algorithms';

function hashOf(alg: AlgorithmInfo): string {
  if (alg.kind !== 'hmac' || alg.hash === undefined) throw new Error(`algorithm ${alg.name} is not a MAC algorithm`);
  return alg.hash;
}

/** HMAC of data under key. */
export function macSign(alg: AlgorithmInfo, key: Buffer, data: Buffer): Buffer {
  return createHmac(hashOf(alg), key).update(data).digest();
}

/** Whether mac is the HMAC of data; compared in constant time (the length is not secret). */
export function macVerify(alg: AlgorithmInfo, key: Buffer, data: Buffer, mac: Buffer): boolean {
  const expected = macSign(alg, key, data);
  return mac.length === expected.length && timingSafeEqual(expected, mac);
}
