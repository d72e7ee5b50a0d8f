// The data plane (docs/ekm-protocol.md, "Data plane"): wrap, unwrap,
// asymmetricSign and getPublicKey. Each handler authorizes, checks the key,
// parses its fields, and calls the crypto.
import { invalidArgument } from '../errors';
import { signData, signDigest } from '../crypto/asymmetric';
import type {
  AsymmetricSignResponse, GetPublicKeyResponse, KeyOperation, UnwrapResponse, WrapResponse,
} from '../protocol/ekm';
import { authorizedKey, usable, type OperationContext } from './access';
import { bytesField, isObject, requiredBytes } from './json';
import type { KeyManager, LoadedKey } from './keys';
import { unwrap, wrap, WRAP_OVERHEAD } from './wrap';

/** Plaintext and AAD limit: four times the protocol's 64 KiB floor, so a KMS ciphertext of a 64 KiB plaintext fits. */
export const MAX_DATA_BYTES = 256 * 1024;
const DIGEST_FIELDS = ['sha256', 'sha384', 'sha512'] as const;

export type Handler = (ctx: OperationContext) => Promise<object>;

function signWith(key: LoadedKey, body: OperationContext['body']): Buffer {
  const info = key.algorithm.signing!;
  const data = bytesField(body, 'data', { maxBytes: MAX_DATA_BYTES });
  if (body.digest !== undefined && body.digest !== null) {
    if (data) throw invalidArgument('Set digest or data, not both.');
    if (!isObject(body.digest)) throw invalidArgument('digest must be an object with one of sha256, sha384, sha512.');
    const digest = body.digest;
    const present = DIGEST_FIELDS.filter((f) => digest[f] !== undefined);
    if (present.length !== 1 || present[0] !== info.hash) {
      throw invalidArgument(`digest must carry exactly one field, ${info.hash}, for algorithm ${info.name}.`);
    }
    return signDigest(info, key.privateKey!, requiredBytes(digest, info.hash, 64, 'digest.'));
  }
  if (!data) throw invalidArgument('digest or data is required.');
  return signData(info, key.privateKey!, data);
}

export function dataPlane(keys: KeyManager): Record<Exclude<KeyOperation, 'destroyKey'>, Handler> {
  return {
    async wrap(ctx): Promise<WrapResponse> {
      const key = usable(await authorizedKey(keys, ctx, 'wrap'), 'wrap', 'wrap');
      const plaintext = requiredBytes(ctx.body, 'plaintext', MAX_DATA_BYTES);
      const aad = bytesField(ctx.body, 'additionalAuthenticatedData', { maxBytes: MAX_DATA_BYTES }) ?? Buffer.alloc(0);
      return { wrappedBlob: wrap(key.wrapKey!, key.record.path, plaintext, aad).toString('base64') };
    },

    async unwrap(ctx): Promise<UnwrapResponse> {
      const key = usable(await authorizedKey(keys, ctx, 'unwrap'), 'wrap', 'unwrap');
      const blob = requiredBytes(ctx.body, 'wrappedBlob', MAX_DATA_BYTES + WRAP_OVERHEAD);
      const aad = bytesField(ctx.body, 'additionalAuthenticatedData', { maxBytes: MAX_DATA_BYTES }) ?? Buffer.alloc(0);
      return { plaintext: unwrap(key.wrapKey!, key.record.path, blob, aad).toString('base64') };
    },

    async asymmetricSign(ctx): Promise<AsymmetricSignResponse> {
      const key = usable(await authorizedKey(keys, ctx, 'asymmetricSign'), 'sign', 'asymmetricSign');
      return { signature: signWith(key, ctx.body).toString('base64') };
    },

    async getPublicKey(ctx): Promise<GetPublicKeyResponse> {
      const key = usable(await authorizedKey(keys, ctx, 'getPublicKey'), 'sign', 'getPublicKey');
      return { pem: key.publicKeyPem!, algorithm: key.algorithm.name };
    },
  };
}
