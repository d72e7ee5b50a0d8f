// The data plane (docs/ekm-protocol.md, "Data plane"): wrap, unwrap,
// asymmetricSign and getPublicKey. Each handler authorizes, checks the key,
// parses its fields, and calls the crypto.
import { fieldError } from './errors';
import { signData, signDigest } from '../crypto/asymmetric';
import type {
  AsymmetricSignResponse, GetPublicKeyResponse, KeyOperation, UnwrapResponse, WrapResponse,
} from '../protocol/ekm';
import { authorize, usable, type OperationContext } from './access';
import type { FullPolicy } from './policy';
import { bytesField, isObject, requiredBytes } from './json';
import type { KeyKind } from './algorithms';
import type { LoadedKey } from './keys';
import { JsonText } from './http';
import { unwrap, wrap, WRAP_OVERHEAD } from './wrap';

/** Plaintext and AAD limit: four times the protocol's 64 KiB floor, so a KMS ciphertext of a 64 KiB plaintext fits. */
export const MAX_DATA_BYTES = 256 * 1024;
const DIGEST_FIELDS = ['sha256', 'sha384', 'sha512'] as const;

/**
 * A data-plane operation: the kind of key it needs and the work itself, run
 * synchronously once the key is found and its policy has allowed the caller.
 * Being synchronous lets the handler serve a request whose token, key and
 * policy are all cached without a single promise hop.
 */
export interface KeyOperationSpec {
  kind: KeyKind;
  run(ctx: OperationContext, key: LoadedKey): object;
}

export type DataOperation = Exclude<KeyOperation, 'destroyKey'>;

export type Handler = (ctx: OperationContext) => Promise<object>;

function signWith(key: LoadedKey, body: OperationContext['body']): Buffer {
  const info = key.algorithm.signing!;
  const data = bytesField(body, 'data', { maxBytes: MAX_DATA_BYTES });
  if (body.digest !== undefined && body.digest !== null) {
    if (data) throw fieldError('digest', 'Set digest or data, not both.');
    if (!isObject(body.digest)) throw fieldError('digest', 'digest must be an object with one of sha256, sha384, sha512.');
    const digest = body.digest;
    const present = DIGEST_FIELDS.filter((f) => digest[f] !== undefined);
    if (present.length !== 1 || present[0] !== info.hash) {
      throw fieldError('digest', `digest must carry exactly one field, ${info.hash}, for algorithm ${info.name}.`);
    }
    return signDigest(info, key.privateKey!, requiredBytes(digest, info.hash, 64, 'digest.'));
  }
  if (!data) throw fieldError('digest', 'digest or data is required.');
  return signData(info, key.privateKey!, data);
}

export const DATA_PLANE: Readonly<Record<DataOperation, KeyOperationSpec>> = {
  wrap: {
    kind: 'wrap',
    run(ctx, key): JsonText {
      const plaintext = requiredBytes(ctx.body, 'plaintext', MAX_DATA_BYTES);
      const aad = bytesField(ctx.body, 'additionalAuthenticatedData', { maxBytes: MAX_DATA_BYTES });
      return JsonText.bytesField<WrapResponse>('wrappedBlob', wrap(key.wrapKey!, key.record.path, plaintext, aad));
    },
  },
  unwrap: {
    kind: 'wrap',
    run(ctx, key): JsonText {
      const blob = requiredBytes(ctx.body, 'wrappedBlob', MAX_DATA_BYTES + WRAP_OVERHEAD);
      const aad = bytesField(ctx.body, 'additionalAuthenticatedData', { maxBytes: MAX_DATA_BYTES });
      return JsonText.bytesField<UnwrapResponse>('plaintext', unwrap(key.wrapKey!, key.record.path, blob, aad));
    },
  },
  asymmetricSign: {
    kind: 'sign',
    run(ctx, key): JsonText {
      return JsonText.bytesField<AsymmetricSignResponse>('signature', signWith(key, ctx.body));
    },
  },
  getPublicKey: {
    kind: 'sign',
    run(_ctx, key): GetPublicKeyResponse {
      return { pem: key.publicKeyPem!, algorithm: key.algorithm.name };
    },
  },
};

export function isDataOperation(op: string): op is DataOperation {
  return Object.prototype.hasOwnProperty.call(DATA_PLANE, op);
}

/** Authorizes, checks the key is of the right kind and ENABLED, then runs: in that order, so the audit shows the decision. */
export function runDataOperation(ctx: OperationContext, op: DataOperation, key: LoadedKey, policy: FullPolicy): object {
  const spec = DATA_PLANE[op];
  authorize(ctx, policy, op);
  usable(key, spec.kind, op);
  return spec.run(ctx, key);
}
