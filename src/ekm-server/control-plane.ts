// The control plane (docs/ekm-protocol.md, "Control plane"): createKey
// (idempotent on requestId), destroyKey (idempotent), checkCryptoSpacePermissions,
// and the /info document.
import {
  CRYPTO_SPACE_OPERATIONS, KEY_OPERATIONS,
  type CheckCryptoSpacePermissionsResponse, type CreateKeyResponse, type DestroyKeyResponse, type InfoResponse,
} from '../protocol/ekm';
import { authorize, authorizedKey, reasonLabel, type OperationContext } from './access';
import { EKM_ALGORITHMS, requestedAlgorithm } from './algorithms';
import { readReason, stringField, stringListField } from './json';
import type { KeyManager } from './keys';
import { POLICY_OPERATIONS, callerAllowed, mayPerform, type PolicyOperation } from './policy';

export const VENDOR = 'OpenEKM';
export const EKM_VERSION = '0.1.0';
const MAX_REQUEST_ID = 128;
const MAX_PERMISSIONS = 64;

export function controlPlane(keys: KeyManager) {
  return {
    async createKey(ctx: OperationContext): Promise<CreateKeyResponse> {
      const space = await keys.cryptoSpace(ctx.target);
      authorize(ctx, space.policy, 'createKey');
      const algorithm = requestedAlgorithm(ctx.body.algorithm);
      const requestId = stringField(ctx.body, 'requestId', MAX_REQUEST_ID) || undefined;
      const { record } = await keys.createKey({ cryptoSpace: space.name, algorithm, requestId });
      ctx.audit.createdKeyPath = record.path;
      return { keyPath: record.path };
    },

    async destroyKey(ctx: OperationContext): Promise<DestroyKeyResponse> {
      await authorizedKey(keys, ctx, 'destroyKey');
      await keys.destroy(ctx.target);
      return {};
    },

    /** The subset of the named permissions (operation names) the caller holds on the space. */
    async checkCryptoSpacePermissions(ctx: OperationContext): Promise<CheckCryptoSpacePermissionsResponse> {
      const space = await keys.cryptoSpace(ctx.target);
      const asked = stringListField(ctx.body, 'permissions', MAX_PERMISSIONS);
      // No reason decides a permission check, but the one sent is audited, as the KMS logs it.
      ctx.audit.reason = reasonLabel(readReason(ctx.body));
      ctx.audit.decision = callerAllowed(space.policy, ctx.caller.email) ? 'ALLOWED' : 'DENIED';
      const known = (p: string): p is PolicyOperation => (POLICY_OPERATIONS as readonly string[]).includes(p);
      return { permissions: asked.filter((p) => known(p) && mayPerform(space.policy, ctx.caller.email, p)) };
    },

    async info(ctx: OperationContext): Promise<InfoResponse> {
      ctx.audit.decision = 'ALLOWED';
      return {
        vendor: VENDOR,
        version: EKM_VERSION,
        operations: [...KEY_OPERATIONS, ...CRYPTO_SPACE_OPERATIONS],
        algorithms: EKM_ALGORITHMS.map((a) => a.name),
      };
    },
  };
}
