// CryptoKeys: Create (with skip_initial_version_creation), Get, List, Update
// (update_mask), UpdateCryptoKeyPrimaryVersion.
import { algorithmInfo } from '../crypto/algorithms';
import { Code, KmsError, failedPrecondition, invalidArgument, notFound } from '../errors';
import type {
  CreateCryptoKeyRequest, CryptoKey, ExternalProtectionLevelOptions, GetCryptoKeyRequest, ListCryptoKeysRequest, ListCryptoKeysResponse,
  UpdateCryptoKeyPrimaryVersionRequest, UpdateCryptoKeyRequest,
} from '../proto/wire';
import type { CryptoKeyRecord, CryptoKeyVersionRecord, NewVersion } from '../store/store';
import type { CallContext, ServiceContext } from './context';
import { checkExternalAlgorithm, ExternalKeys, isExternal } from './external-keys';
import {
  checkAccessReasons,
  checkAlgorithm,
  checkDestroyDuration,
  checkLabels,
  checkProtectionLevel,
  checkPurpose,
  checkRotation,
} from './key-rules';
import { CRYPTO_KEY_FIELDS } from './list-fields';
import { listPage } from './list-page';
import { checkId, cryptoKeyName, keyRingName, parseCryptoKey, parseKeyRing } from './names';
import { cryptoKeyResource, durationMs, timestampMs } from './resources';
import { retryOnConflict } from './retry';
import { normaliseMask } from './update-mask';

// UpdateCryptoKey: what a mask may name, and what it may not (with why).
const MUTABLE = new Set([
  'labels', 'rotation_period', 'next_rotation_time', 'version_template.algorithm', 'key_access_justifications_policy',
]);
const IMMUTABLE = new Set([
  'name', 'primary', 'purpose', 'create_time', 'version_template', 'version_template.protection_level',
  'import_only', 'destroy_scheduled_duration', 'crypto_key_backend',
]);

export class CryptoKeysService {
  readonly external: ExternalKeys;

  constructor(private readonly ctx: ServiceContext) {
    this.external = new ExternalKeys(ctx);
  }

  async createCryptoKey(req: CreateCryptoKeyRequest, call?: CallContext): Promise<CryptoKey> {
    const parentName = parseKeyRing(req.parent, 'parent');
    const parent = keyRingName(parentName);
    const id = checkId(req.cryptoKeyId, 'crypto_key_id');
    const ck = req.cryptoKey ?? {};
    const record = this.newKeyRecord(`${parent}/cryptoKeys/${id}`, parent, ck);
    if (!(await this.ctx.store.getKeyRing(parent))) throw notFound(`KeyRing ${parent} not found.`);
    if (record.importOnly && !req.skipInitialVersionCreation) {
      throw invalidArgument('skip_initial_version_creation: must be true for import_only keys.');
    }
    if (record.protectionLevel === 'EXTERNAL_VPC') {
      record.cryptoKeyBackend = await this.external.backendFor(parentName, ck.cryptoKeyBackend, 'crypto_key.crypto_key_backend');
    }
    await this.checkExternalKey(record, req.skipInitialVersionCreation === true);
    const first = req.skipInitialVersionCreation ? undefined : await this.firstVersion(record, call);
    // A new key's first version is number 1; for ENCRYPT_DECRYPT keys it is the primary.
    if (first && record.purpose === 'ENCRYPT_DECRYPT') record.primaryVersion = 1;
    const { key } = await this.ctx.store.createCryptoKey(record, first);
    return cryptoKeyResource(key, await this.primaryOf(key));
  }

  async getCryptoKey(req: GetCryptoKeyRequest): Promise<CryptoKey> {
    const key = await this.mustGet(cryptoKeyName(parseCryptoKey(req.name, 'name')));
    return cryptoKeyResource(key, await this.primaryOf(key));
  }

  async listCryptoKeys(req: ListCryptoKeysRequest): Promise<ListCryptoKeysResponse> {
    const parent = keyRingName(parseKeyRing(req.parent, 'parent'));
    if (!(await this.ctx.store.getKeyRing(parent))) throw notFound(`KeyRing ${parent} not found.`);
    const page = await listPage(this.ctx, 'ListCryptoKeys', parent, req, CRYPTO_KEY_FIELDS, (q) => this.ctx.store.listCryptoKeys(q));
    const keys = await Promise.all(page.items.map(async (k) => cryptoKeyResource(k, await this.primaryOf(k))));
    return { cryptoKeys: keys, nextPageToken: page.nextPageToken, totalSize: page.totalSize };
  }

  async updateCryptoKey(req: UpdateCryptoKeyRequest): Promise<CryptoKey> {
    const patch = req.cryptoKey ?? {};
    const name = cryptoKeyName(parseCryptoKey(patch.name, 'crypto_key.name'));
    const paths = normaliseMask(req.updateMask, MUTABLE, IMMUTABLE);
    return retryOnConflict(async () => {
      const current = await this.mustGet(name);
      const updated = this.applyPatch(current, patch, paths);
      const scheduled = updated.rotationPeriodMs != null || updated.nextRotationTime != null;
      if (scheduled && isExternal(updated.protectionLevel) && !(await this.external.coordinated(updated))) {
        throw invalidArgument('crypto_key.rotation_period: keys whose external material is managed by hand have no automatic rotation.');
      }
      const key = await this.ctx.store.updateCryptoKey(updated);
      return cryptoKeyResource(key, await this.primaryOf(key));
    });
  }

  async updateCryptoKeyPrimaryVersion(req: UpdateCryptoKeyPrimaryVersionRequest): Promise<CryptoKey> {
    const name = cryptoKeyName(parseCryptoKey(req.name, 'name'));
    const id = req.cryptoKeyVersionId as string | undefined;
    if (!id) throw invalidArgument('crypto_key_version_id: required field is empty.');
    if (!/^[1-9][0-9]{0,9}$/.test(id)) throw invalidArgument(`crypto_key_version_id: invalid id '${id.slice(0, 80)}'.`);
    return retryOnConflict(async () => {
      const key = await this.mustGet(name);
      if (key.purpose !== 'ENCRYPT_DECRYPT') {
        throw failedPrecondition(`CryptoKey ${name} has purpose ${key.purpose}; only ENCRYPT_DECRYPT keys have a primary version.`);
      }
      const version = await this.ctx.store.getCryptoKeyVersion(`${name}/cryptoKeyVersions/${id}`);
      if (!version) throw notFound(`CryptoKeyVersion ${name}/cryptoKeyVersions/${id} not found.`);
      if (version.state !== 'ENABLED') {
        throw failedPrecondition(`CryptoKeyVersion ${version.name} is not enabled (state ${version.state}).`);
      }
      const updated = await this.ctx.store.updateCryptoKey({ ...key, primaryVersion: version.version });
      return cryptoKeyResource(updated, version);
    });
  }

  async mustGet(name: string): Promise<CryptoKeyRecord> {
    const key = await this.ctx.store.getCryptoKey(name);
    if (!key) throw notFound(`CryptoKey ${name} not found.`);
    return key;
  }

  async primaryOf(key: CryptoKeyRecord): Promise<CryptoKeyVersionRecord | undefined> {
    if (key.primaryVersion == null) return undefined;
    return this.ctx.store.getCryptoKeyVersion(`${key.name}/cryptoKeyVersions/${key.primaryVersion}`);
  }

  /**
   * A new version of `key`, with freshly generated material: all of it for
   * software keys; for external keys the KMS's internal half (symmetric keys
   * only) and where the external half is (`options`, or a key the EKM creates
   * for CLOUD_KMS connections).
   */
  async newVersion(
    key: CryptoKeyRecord,
    state = 'ENABLED',
    external?: { options: ExternalProtectionLevelOptions | undefined; field: string; call?: CallContext },
  ): Promise<{ version: NewVersion; raw: Buffer | null }> {
    const alg = algorithmInfo(key.algorithm);
    if (!alg) throw new KmsError(Code.INTERNAL, 'Internal error encountered.');
    const location = isExternal(key.protectionLevel)
      ? await this.external.newVersionLocation(key, external?.options, external?.field ?? 'crypto_key_version.external_protection_level_options', external?.call)
      : { externalKeyUri: '', ekmConnectionKeyPath: '', ekmConnectionBackendOverride: '' };
    // External signing keys have no KMS half: their material never leaves the EKM.
    const raw = isExternal(key.protectionLevel) && alg.kind !== 'external-symmetric' ? null : await this.ctx.material.generate(alg);
    const now = this.ctx.clock.now();
    const version: NewVersion = {
      state, protectionLevel: key.protectionLevel, algorithm: key.algorithm, createTime: now, generateTime: now,
      destroyTime: null, destroyEventTime: null, ...location,
    };
    return { version, raw };
  }

  private async firstVersion(record: Omit<CryptoKeyRecord, 'revision'>, call?: CallContext) {
    const { version, raw } = await this.newVersion({ ...record, revision: 0 }, 'ENABLED', {
      options: undefined, field: 'crypto_key.version_template', call,
    });
    return { version, seal: this.ctx.material.sealer(raw) };
  }

  /**
   * Cloud KMS's rules for external keys: manual ones (every EXTERNAL key, and
   * EXTERNAL_VPC keys on a MANUAL connection) start without versions and have
   * no automatic rotation, since only the operator can make their material.
   */
  private async checkExternalKey(record: Omit<CryptoKeyRecord, 'revision'>, skipInitialVersion: boolean): Promise<void> {
    if (!isExternal(record.protectionLevel)) return;
    if (await this.external.coordinated(record)) return;
    if (!skipInitialVersion) {
      throw invalidArgument(`skip_initial_version_creation: must be true for ${record.protectionLevel} keys whose material is managed by hand; add versions with their key ${record.protectionLevel === 'EXTERNAL' ? 'URI' : 'path'}.`);
    }
    if (record.rotationPeriodMs != null || record.nextRotationTime != null) {
      throw invalidArgument('crypto_key.rotation_period: keys whose external material is managed by hand have no automatic rotation.');
    }
  }

  private newKeyRecord(name: string, keyRing: string, ck: CryptoKey): Omit<CryptoKeyRecord, 'revision'> {
    const purpose = checkPurpose(ck.purpose, 'crypto_key.purpose');
    const template = ck.versionTemplate ?? {};
    const protectionLevel = checkProtectionLevel(
      template.protectionLevel,
      'crypto_key.version_template.protection_level',
      parseKeyRing(keyRing, 'parent').location,
    );
    const alg = checkAlgorithm(template.algorithm, purpose, 'crypto_key.version_template.algorithm', isExternal(protectionLevel));
    checkExternalAlgorithm(protectionLevel, purpose, alg.name, 'crypto_key.version_template.algorithm');
    const rotationPeriodMs = ck.rotationPeriod == null ? null : durationMs(ck.rotationPeriod, 'crypto_key.rotation_period');
    const nextRotationTime = ck.nextRotationTime == null ? null : timestampMs(ck.nextRotationTime, 'crypto_key.next_rotation_time');
    checkRotation(purpose, rotationPeriodMs, nextRotationTime, 'crypto_key.');
    if (ck.cryptoKeyBackend && protectionLevel !== 'EXTERNAL_VPC') {
      throw invalidArgument('crypto_key.crypto_key_backend: only keys with protection level EXTERNAL_VPC have a backend.');
    }
    return {
      name, keyRing, createTime: this.ctx.clock.now(), purpose, protectionLevel, algorithm: alg.name,
      labels: checkLabels(ck.labels, 'crypto_key.labels'),
      rotationPeriodMs, nextRotationTime,
      destroyScheduledDurationMs: checkDestroyDuration(
        ck.destroyScheduledDuration == null ? null : durationMs(ck.destroyScheduledDuration, 'crypto_key.destroy_scheduled_duration'),
        'crypto_key.destroy_scheduled_duration',
      ),
      importOnly: ck.importOnly === true,
      cryptoKeyBackend: '',
      allowedAccessReasons: checkAccessReasons(ck.keyAccessJustificationsPolicy, 'crypto_key.key_access_justifications_policy'),
      primaryVersion: null,
    };
  }

  private applyPatch(current: CryptoKeyRecord, patch: CryptoKey, paths: string[]): CryptoKeyRecord {
    const next = { ...current };
    for (const path of paths) {
      if (path === 'labels') next.labels = checkLabels(patch.labels, 'crypto_key.labels');
      if (path === 'rotation_period') {
        next.rotationPeriodMs = patch.rotationPeriod == null ? null : durationMs(patch.rotationPeriod, 'crypto_key.rotation_period');
      }
      if (path === 'next_rotation_time') {
        next.nextRotationTime = patch.nextRotationTime == null ? null : timestampMs(patch.nextRotationTime, 'crypto_key.next_rotation_time');
      }
      if (path === 'version_template.algorithm') {
        const template = patch.versionTemplate ?? {};
        const field = 'crypto_key.version_template.algorithm';
        next.algorithm = checkAlgorithm(template.algorithm, current.purpose as never, field, isExternal(current.protectionLevel)).name;
        checkExternalAlgorithm(current.protectionLevel, current.purpose, next.algorithm, field);
      }
      if (path === 'key_access_justifications_policy') {
        next.allowedAccessReasons = checkAccessReasons(patch.keyAccessJustificationsPolicy, 'crypto_key.key_access_justifications_policy');
      }
    }
    checkRotation(next.purpose, next.rotationPeriodMs, next.nextRotationTime, 'crypto_key.');
    return next;
  }
}
