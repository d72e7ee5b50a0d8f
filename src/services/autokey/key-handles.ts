// Autokey: a KeyHandle asks for a CMEK for one resource type in a project and
// location; Cloud KMS makes it in the key project the effective AutokeyConfig
// names (admin.ts), in that location, and the handle points at it. What the
// key looks like follows the Autokey overview
// (https://cloud.google.com/kms/docs/autokey-overview): an HSM,
// ENCRYPT_DECRYPT key (GOOGLE_SYMMETRIC_ENCRYPTION) rotated every 365 days,
// on a key ring named `autokey` that Autokey makes when it is missing. Its
// name is OpenEKM's choice (docs/autokey.md): the resource project, the
// resource type's service and kind, and a random suffix. CreateKeyHandle
// is a long-running operation, finished when returned.
import { randomBytes } from 'node:crypto';
import { alreadyExists, Code, failedPrecondition, invalidArgument, KmsError, notFound } from '../../errors';
import type {
  CreateKeyHandleRequest, GetKeyHandleRequest, KeyHandle, ListKeyHandlesRequest, ListKeyHandlesResponse, Operation,
} from '../../proto/wire';
import type { KeyHandleRecord } from '../../store/lifecycle';
import type { CallContext, ServiceContext } from '../context';
import type { CryptoKeysService } from '../crypto-keys';
import type { KeyRingsService } from '../key-rings';
import { listPage } from '../list-page';
import { checkId, locationName, type LocationName, parseLocated, parseLocation } from '../names';
import { anyOf, type OperationsService } from '../operations';
import type { Projects } from '../projects';
import { isProjectNumber } from '../projects';
import type { AutokeyAdminService } from './admin';

const KEY_RING = 'autokey';
const YEAR_MS = 365 * 24 * 3600 * 1000;
/** A resource type as Cloud KMS Autokey takes it: {service}.googleapis.com/{Type}. */
const SELECTOR = /^([a-z][a-z0-9-]{0,62})\.googleapis\.com\/([A-Za-z][A-Za-z0-9]{0,62})$/;

const FIELDS = {
  fields: { resource_type_selector: { type: 'string' as const }, name: { type: 'string' as const }, kms_key: { type: 'string' as const } },
  defaultOrder: [{ field: 'name' }],
};

const keyHandle = (r: KeyHandleRecord): KeyHandle => ({ name: r.name, kmsKey: r.kmsKey, resourceTypeSelector: r.resourceTypeSelector });

export class KeyHandlesService {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly admin: AutokeyAdminService,
    private readonly keyRings: KeyRingsService,
    private readonly keys: CryptoKeysService,
    private readonly projects: Projects,
    private readonly operations: OperationsService,
  ) {}

  async createKeyHandle(req: CreateKeyHandleRequest, call?: CallContext): Promise<Operation> {
    const at = parseLocation(req.parent, 'parent');
    const id = req.keyHandleId ? checkId(req.keyHandleId, 'key_handle_id') : randomBytes(16).toString('hex');
    const selector = String(req.keyHandle?.resourceTypeSelector ?? '');
    const m = SELECTOR.exec(selector);
    if (!m) throw invalidArgument(`key_handle.resource_type_selector: '${selector.slice(0, 100)}' is not a resource type such as compute.googleapis.com/Disk.`);
    const name = `${locationName(at)}/keyHandles/${id}`;
    if (await this.ctx.store.lifecycle.getKeyHandle(name)) throw alreadyExists(`KeyHandle ${name} already exists.`);
    const effective = await this.admin.effective(at.project);
    if (!effective) {
      throw failedPrecondition(`No AutokeyConfig with a key project applies to projects/${at.project}; set one on the project or a folder above it (UpdateAutokeyConfig).`);
    }
    const keyProject = await this.keyProjectId(effective.keyProject);
    const kmsKey = await this.makeKey({ project: keyProject, location: at.location }, `${at.project}-${m[1]}-${m[2].toLowerCase()}`, call);
    const record: KeyHandleRecord = { name, parent: locationName(at), kmsKey, resourceTypeSelector: selector, createTime: this.ctx.clock.now() };
    try {
      await this.ctx.store.lifecycle.createKeyHandle(record);
    } catch (err) {
      // A concurrent call took the name first (or the store failed): the key made for this one must not live on unclaimed.
      await this.retire(kmsKey).catch(() => undefined);
      throw err;
    }
    const response = anyOf('google.cloud.kms.v1.KeyHandle', { ...keyHandle(record) });
    return this.operations.finished(at, anyOf('google.cloud.kms.v1.CreateKeyHandleMetadata'), response);
  }

  async getKeyHandle(req: GetKeyHandleRequest): Promise<KeyHandle> {
    const parsed = parseLocated(req.name, 'name', 'keyHandles');
    const name = `${locationName(parsed)}/keyHandles/${parsed.id}`;
    const record = await this.ctx.store.lifecycle.getKeyHandle(name);
    if (!record) throw notFound(`KeyHandle ${name} not found.`);
    return keyHandle(record);
  }

  async listKeyHandles(req: ListKeyHandlesRequest): Promise<ListKeyHandlesResponse> {
    const parent = locationName(parseLocation(req.parent, 'parent'));
    const page = await listPage(this.ctx, 'ListKeyHandles', parent, req, FIELDS, (q) => this.ctx.store.lifecycle.listKeyHandles(q));
    return { keyHandles: page.items.map(keyHandle), nextPageToken: page.nextPageToken };
  }

  /** The key project's id: resources are kept under ids, and a number this KMS has never seen by id can't be placed. */
  private async keyProjectId(keyProject: string): Promise<string> {
    const project = keyProject.slice('projects/'.length);
    if (!isProjectNumber(project)) return project;
    const id = await this.projects.idOf(project);
    if (!id) throw failedPrecondition(`The Autokey key project ${keyProject} is a project number this KMS has never seen by its id; configure the key project by id.`);
    return id;
  }

  /** A key nobody's handle points at: no more rotation, and its version scheduled for destruction. */
  private async retire(kmsKey: string): Promise<void> {
    const key = await this.keys.mustGet(kmsKey);
    await this.ctx.store.updateCryptoKey({ ...key, rotationPeriodMs: null, nextRotationTime: null });
    for (const version of (await this.ctx.store.listCryptoKeyVersions({ parent: kmsKey, order: [], pageSize: 10 })).items) {
      if (version.state !== 'ENABLED' && version.state !== 'DISABLED') continue;
      await this.ctx.store.updateCryptoKeyVersion({ ...version, state: 'DESTROY_SCHEDULED', destroyTime: this.ctx.clock.now() + key.destroyScheduledDurationMs });
    }
  }

  /** Makes the `autokey` key ring (when missing) and a fresh key on it; returns the key's name. */
  private async makeKey(at: LocationName, stem: string, call?: CallContext): Promise<string> {
    const parent = locationName(at);
    try {
      await this.keyRings.createKeyRing({ parent, keyRingId: KEY_RING, keyRing: {} });
    } catch (err) {
      if (!(err instanceof KmsError && err.code === Code.ALREADY_EXISTS)) throw err;
    }
    const keyId = `${stem.slice(0, 54)}-${randomBytes(4).toString('hex')}`.replace(/[^a-zA-Z0-9_-]/g, '-');
    const now = this.ctx.clock.now();
    const key = await this.keys.createCryptoKey({
      parent: `${parent}/keyRings/${KEY_RING}`,
      cryptoKeyId: keyId,
      cryptoKey: {
        purpose: 'ENCRYPT_DECRYPT',
        versionTemplate: { protectionLevel: 'HSM', algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION' },
        rotationPeriod: { seconds: String(YEAR_MS / 1000) },
        nextRotationTime: { seconds: String(Math.floor((now + YEAR_MS) / 1000)) },
      },
    }, call);
    return key.name ?? '';
  }
}
