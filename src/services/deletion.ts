// DeleteCryptoKeyVersion, DeleteCryptoKey and the RetiredResources they leave,
// as Cloud KMS rules them (service.proto; "Delete Cloud KMS resources",
// https://cloud.google.com/kms/docs/delete-kms-resources):
// - a version can be deleted only when DESTROYED, IMPORT_FAILED or
//   GENERATION_FAILED, and not when its material was imported successfully;
// - a key can be deleted only when it has no versions left;
// - a deleted key leaves a RetiredResource in its location, and its name can
//   never be used again.
// Both return a long-running operation, done when returned (operations.ts).
import { randomBytes } from 'node:crypto';
import { failedPrecondition, notFound } from '../errors';
import type {
  DeleteCryptoKeyRequest, DeleteCryptoKeyVersionRequest, GetRetiredResourceRequest, ListRetiredResourcesRequest,
  ListRetiredResourcesResponse, Operation, RetiredResource,
} from '../proto/wire';
import type { RetiredResourceRecord } from '../store/lifecycle';
import type { ServiceContext } from './context';
import type { CryptoKeysService } from './crypto-keys';
import type { CryptoKeyVersionsService } from './crypto-key-versions';
import { listPage } from './list-page';
import { cryptoKeyName, locationName, parseCryptoKey, parseLocated, parseLocation, parseVersion, versionName } from './names';
import { anyOf, EMPTY, type OperationsService } from './operations';
import { timestamp } from './resources';
import { retryOnConflict } from './retry';

const DELETABLE = new Set(['DESTROYED', 'IMPORT_FAILED', 'GENERATION_FAILED']);
const KMS = 'google.cloud.kms.v1';

export const retiredResource = (r: RetiredResourceRecord): RetiredResource => ({
  name: r.name,
  originalResource: r.originalResource,
  resourceType: r.resourceType,
  deleteTime: timestamp(r.deleteTime),
});

export class DeletionService {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly keys: CryptoKeysService,
    private readonly versions: CryptoKeyVersionsService,
    private readonly operations: OperationsService,
  ) {}

  async deleteCryptoKeyVersion(req: DeleteCryptoKeyVersionRequest): Promise<Operation> {
    const parsed = parseVersion(req.name, 'name');
    const name = versionName(parsed);
    await retryOnConflict(async () => {
      const current = await this.versions.mustGet(name);
      if (!DELETABLE.has(current.state)) {
        throw failedPrecondition(`CryptoKeyVersion ${name} is ${current.state}; only DESTROYED, IMPORT_FAILED and GENERATION_FAILED versions can be deleted.`);
      }
      // Once it held imported material, never: not even after a later failed re-import.
      if (current.importFingerprint || (current.importJob && current.state !== 'IMPORT_FAILED')) {
        throw failedPrecondition(`CryptoKeyVersion ${name} was imported successfully; an imported version cannot be deleted.`);
      }
      await this.ctx.store.deleteCryptoKeyVersion(current);
    });
    return this.operations.finished(parsed, anyOf(`${KMS}.DeleteCryptoKeyVersionMetadata`), EMPTY());
  }

  async deleteCryptoKey(req: DeleteCryptoKeyRequest): Promise<Operation> {
    const parsed = parseCryptoKey(req.name, 'name');
    const name = cryptoKeyName(parsed);
    const retired = `${locationName(parsed)}/retiredResources/${randomBytes(16).toString('hex')}`;
    await retryOnConflict(async () => {
      const key = await this.keys.mustGet(name);
      const left = await this.ctx.store.listCryptoKeyVersions({ parent: name, order: [], pageSize: 1 });
      if (left.totalSize > 0) {
        throw failedPrecondition(`CryptoKey ${name} still has ${left.totalSize} CryptoKeyVersion(s); delete them first.`);
      }
      await this.ctx.store.deleteCryptoKey(key, {
        name: retired, originalResource: name, resourceType: 'cloudkms.googleapis.com/CryptoKey', deleteTime: this.ctx.clock.now(),
      });
    });
    return this.operations.finished(parsed, anyOf(`${KMS}.DeleteCryptoKeyMetadata`, { retiredResource: retired }), EMPTY());
  }

  async getRetiredResource(req: GetRetiredResourceRequest): Promise<RetiredResource> {
    const parsed = parseLocated(req.name, 'name', 'retiredResources');
    const name = `${locationName(parsed)}/retiredResources/${parsed.id}`;
    const record = await this.ctx.store.lifecycle.getRetiredResource(name);
    if (!record) throw notFound(`RetiredResource ${name} not found.`);
    return retiredResource(record);
  }

  async listRetiredResources(req: ListRetiredResourcesRequest): Promise<ListRetiredResourcesResponse> {
    const parent = locationName(parseLocation(req.parent, 'parent'));
    const page = await listPage(this.ctx, 'ListRetiredResources', parent, req, RETIRED_FIELDS, (q) => this.ctx.store.lifecycle.listRetiredResources(q));
    return { retiredResources: page.items.map(retiredResource), nextPageToken: page.nextPageToken, totalSize: page.totalSize };
  }
}

/** ListRetiredResources takes no filter or order_by: name order only. */
const RETIRED_FIELDS = { fields: { name: { type: 'string' as const } }, defaultOrder: [{ field: 'name' }] };
