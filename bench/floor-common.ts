// What the work floors share: keys made on first use and kept in memory,
// IVs from a pooled CSPRNG block, and AES-256-GCM sealing and opening. Each
// floor lays its ciphertext out as the server it stands beside does.
import * as crypto from 'node:crypto';
import type * as http from 'node:http';

export const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A key per name, made on first use (the floors' stand-in for a key store). */
export function keyring(): (name: string) => Buffer {
  const keys = new Map<string, Buffer>();
  return (name) => {
    let key = keys.get(name);
    if (!key) keys.set(name, (key = crypto.randomBytes(32)));
    return key;
  };
}

/** Fresh random IVs, 256 drawn from the CSPRNG at a time. */
export function ivSource(): () => Buffer {
  const pool = Buffer.alloc(IV_BYTES * 256);
  let at = pool.length;
  return () => {
    if (at === pool.length) {
      crypto.randomFillSync(pool);
      at = 0;
    }
    at += IV_BYTES;
    return pool.subarray(at - IV_BYTES, at);
  };
}

/** AES-256-GCM: ciphertext || tag. */
export function gcmSeal(key: Buffer, iv: Buffer, aad: Buffer, plaintext: Buffer): Buffer {
  const cipher = crypto.createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

/** Opens what gcmSeal made; throws if anything was changed. */
export function gcmOpen(key: Buffer, iv: Buffer, aad: Buffer, sealed: Buffer): Buffer {
  const decipher = crypto.createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()]);
}

/**
 * Reads a whole request, then calls back with its body and its path split at
 * the last ':' into the resource (after `prefix` characters) and the
 * operation: `/v1/{name}:encrypt`, `/{keyPath}:wrap`.
 */
export function onRequestBody(
  req: http.IncomingMessage,
  prefix: number,
  then: (body: Buffer, resource: string, operation: string) => void,
): void {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const url = req.url ?? '';
    const colon = url.lastIndexOf(':');
    then(Buffer.concat(chunks), url.slice(prefix, colon), url.slice(colon + 1));
  });
}
