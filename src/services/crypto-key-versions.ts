// CryptoKeyVersions: Create, Get, List (with view), Update (state), Destroy
// (schedules destruction after the key's destroy_scheduled_duration), Restore.
// The scheduler (scheduler.ts) carries out due destructions.
import { failedPrecondition, invalidArgument, notFound } from '../errors';
import type {
  CreateCryptoKeyVersionRequest, CryptoKeyVersion, DestroyCryptoKeyVersionRequest, GetCryptoKeyVersionRequest, ListCryptoKeyVersionsRequest,
  ListCryptoKeyVersionsResponse, RestoreCryptoKeyVersionRequest, UpdateCryptoKeyVersionRequest,
} from '../proto/wire';
import type { CryptoKeyVersionRecord } from '../store/store';
import type { CallContext, ServiceContext } from './context';
import type { CryptoKeysService } from './crypto-keys';
import { CRYPTO_KEY_VERSION_FIELDS } from './list-fields';
import { listPage } from './list-page';
import { cryptoKeyName, parseCryptoKey, parseVersion, versionName } from './names';
import { versionResource } from './resources';
import { retryOnConflict } from './retry';
import { normaliseMask } from './update-mask';

const EXTERNAL = 'external_protection_level_options';
const MUTABLE = new Set([
  'state', EXTERNAL, `${EXTERNAL}.external_key_uri`, `${EXTERNAL}.ekm_connection_key_path`, `${EXTERNAL}.ekm_connection_backend_override`,
]);
const IMMUTABLE = new Set([
  'name', 'protection_level', 'algorithm', 'attestation', 'create_time', 'generate_time', 'destroy_time',
  'destroy_event_time', 'import_job', 'import_time', 'import_failure_reason', 'generation_failure_reason',
  'external_destruction_failure_reason', 'reimport_eligible',
]);
const SETTABLE_STATES = new Set(['ENABLED', 'DISABLED']);

const sameVersion = (a: CryptoKeyVersionRecord, b: CryptoKeyVersionRecord): boolean =>
  a.state === b.state && a.externalKeyUri === b.externalKeyUri && a.ekmConnectionKeyPath === b.ekmConnectionKeyPath;

export class CryptoKeyVersionsService {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly keys: CryptoKeysService,
  ) {}

  async createCryptoKeyVersion(req: CreateCryptoKeyVersionRequest, call?: CallContext): Promise<CryptoKeyVersion> {
    const parent = cryptoKeyName(parseCryptoKey(req.parent, 'parent'));
    const requested = req.cryptoKeyVersion ?? {};
    const state = requested.state == null || requested.state === 'CRYPTO_KEY_VERSION_STATE_UNSPECIFIED'
      ? 'ENABLED'
      : String(requested.state);
    if (!SETTABLE_STATES.has(state)) {
      throw invalidArgument(`crypto_key_version.state: a new version may only be ENABLED or DISABLED, not ${state}.`);
    }
    const key = await this.keys.mustGet(parent);
    if (key.importOnly) throw failedPrecondition(`CryptoKey ${parent} is import_only; versions can only be imported.`);
    const { version, raw } = await this.keys.newVersion(key, state, {
      options: requested.externalProtectionLevelOptions ?? undefined,
      field: 'crypto_key_version.external_protection_level_options',
      call,
    });
    const created = await this.ctx.store.createCryptoKeyVersion(parent, version, this.ctx.material.sealer(raw));
    return versionResource(created.version);
  }

  async getCryptoKeyVersion(req: GetCryptoKeyVersionRequest): Promise<CryptoKeyVersion> {
    return versionResource(await this.mustGet(versionName(parseVersion(req.name, 'name'))));
  }

  async listCryptoKeyVersions(req: ListCryptoKeyVersionsRequest): Promise<ListCryptoKeyVersionsResponse> {
    const parent = cryptoKeyName(parseCryptoKey(req.parent, 'parent'));
    await this.keys.mustGet(parent);
    const page = await listPage(this.ctx, 'ListCryptoKeyVersions', parent, req, CRYPTO_KEY_VERSION_FIELDS, (q) =>
      this.ctx.store.listCryptoKeyVersions(q),
    );
    return {
      cryptoKeyVersions: page.items.map(versionResource),
      nextPageToken: page.nextPageToken,
      totalSize: page.totalSize,
    };
  }

  async updateCryptoKeyVersion(req: UpdateCryptoKeyVersionRequest): Promise<CryptoKeyVersion> {
    const patch = req.cryptoKeyVersion ?? {};
    const name = versionName(parseVersion(patch.name, 'crypto_key_version.name'));
    const paths = normaliseMask(req.updateMask, MUTABLE, IMMUTABLE);
    const setsState = paths.includes('state');
    const externalPaths = new Set(paths.filter((p) => p.startsWith(EXTERNAL)).map((p) => p.slice(EXTERNAL.length + 1)));
    const state = String(patch.state ?? 'CRYPTO_KEY_VERSION_STATE_UNSPECIFIED');
    if (setsState && !SETTABLE_STATES.has(state)) {
      throw invalidArgument(`crypto_key_version.state: may only be set to ENABLED or DISABLED, not ${state}.`);
    }
    return retryOnConflict(async () => {
      const current = await this.mustGet(name);
      if (!SETTABLE_STATES.has(current.state)) {
        throw failedPrecondition(`CryptoKeyVersion ${name} is ${current.state}; only ENABLED and DISABLED versions can be updated.`);
      }
      let next = setsState ? { ...current, state } : current;
      if (externalPaths.size > 0) {
        const key = await this.keys.mustGet(current.cryptoKey);
        const options = patch.externalProtectionLevelOptions ?? undefined;
        const location = await this.keys.external.repointedLocation(key, current, options, externalPaths, `crypto_key_version.${EXTERNAL}`);
        next = { ...next, ...location };
      }
      if (next === current || sameVersion(next, current)) return versionResource(current);
      return versionResource(await this.ctx.store.updateCryptoKeyVersion(next));
    });
  }

  async destroyCryptoKeyVersion(req: DestroyCryptoKeyVersionRequest): Promise<CryptoKeyVersion> {
    const name = versionName(parseVersion(req.name, 'name'));
    return retryOnConflict(async () => {
      const current = await this.mustGet(name);
      if (!SETTABLE_STATES.has(current.state)) {
        throw failedPrecondition(`CryptoKeyVersion ${name} is ${current.state}; only ENABLED and DISABLED versions can be destroyed.`);
      }
      const key = await this.keys.mustGet(current.cryptoKey);
      const destroyTime = this.ctx.clock.now() + key.destroyScheduledDurationMs;
      const updated = await this.ctx.store.updateCryptoKeyVersion({ ...current, state: 'DESTROY_SCHEDULED', destroyTime });
      return versionResource(updated);
    });
  }

  async restoreCryptoKeyVersion(req: RestoreCryptoKeyVersionRequest): Promise<CryptoKeyVersion> {
    const name = versionName(parseVersion(req.name, 'name'));
    return retryOnConflict(async () => {
      const current = await this.mustGet(name);
      if (current.state !== 'DESTROY_SCHEDULED') {
        throw failedPrecondition(`CryptoKeyVersion ${name} is ${current.state}; only DESTROY_SCHEDULED versions can be restored.`);
      }
      const updated = await this.ctx.store.updateCryptoKeyVersion({ ...current, state: 'DISABLED', destroyTime: null });
      return versionResource(updated);
    });
  }

  async mustGet(name: string): Promise<CryptoKeyVersionRecord> {
    const version = await this.ctx.store.getCryptoKeyVersion(name);
    if (!version) throw notFound(`CryptoKeyVersion ${name} not found.`);
    return version;
  }
}
