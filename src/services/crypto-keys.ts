// CryptoKeys: Create (with skip_initial_version_creation), Get, List, Update
// (update_mask), UpdateCryptoKeyPrimaryVersion.
import { algorithmInfo } from '../crypto/algorithms';
import { Code, KmsError, failedPrecondition, invalidArgument, notFound } from '../errors';
import type { Msg } from '../proto/registry';
import type { CryptoKeyRecord, CryptoKeyVersionRecord, NewVersion } from '../store/store';
import type { ServiceContext } from './context';
import {
  checkAccessReasons,
  checkAlgorithm,
  checkDestroyDuration,
  checkLabels,
  checkProtectionLevel,
  checkPurpose,
  checkRotation,
} from './key-rules';
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
  constructor(private readonly ctx: ServiceContext) {}

  async createCryptoKey(req: Msg): Promise<Msg> {
    const parent = keyRingName(parseKeyRing(req.parent, 'parent'));
    const id = checkId(req.cryptoKeyId, 'crypto_key_id');
    const record = this.newKeyRecord(`${parent}/cryptoKeys/${id}`, parent, (req.cryptoKey ?? {}) as Msg);
    if (!(await this.ctx.store.getKeyRing(parent))) throw notFound(`KeyRing ${parent} not found.`);
    if (record.importOnly && !req.skipInitialVersionCreation) {
      throw invalidArgument('skip_initial_version_creation: must be true for import_only keys.');
    }
    const first = req.skipInitialVersionCreation ? undefined : await this.firstVersion(record);
    // A new key's first version is number 1; for ENCRYPT_DECRYPT keys it is the primary.
    if (first && record.purpose === 'ENCRYPT_DECRYPT') record.primaryVersion = 1;
    const { key } = await this.ctx.store.createCryptoKey(record, first);
    return cryptoKeyResource(key, await this.primaryOf(key));
  }

  async getCryptoKey(req: Msg): Promise<Msg> {
    const key = await this.mustGet(cryptoKeyName(parseCryptoKey(req.name, 'name')));
    return cryptoKeyResource(key, await this.primaryOf(key));
  }

  async listCryptoKeys(req: Msg): Promise<Msg> {
    const parent = keyRingName(parseKeyRing(req.parent, 'parent'));
    if (!(await this.ctx.store.getKeyRing(parent))) throw notFound(`KeyRing ${parent} not found.`);
    const page = await listPage(this.ctx, 'ListCryptoKeys', parent, req, (q) => this.ctx.store.listCryptoKeys(q));
    const keys = await Promise.all(page.items.map(async (k) => cryptoKeyResource(k, await this.primaryOf(k))));
    return { cryptoKeys: keys, nextPageToken: page.nextPageToken, totalSize: page.totalSize };
  }

  async updateCryptoKey(req: Msg): Promise<Msg> {
    const patch = (req.cryptoKey ?? {}) as Msg;
    const name = cryptoKeyName(parseCryptoKey(patch.name, 'crypto_key.name'));
    const paths = normaliseMask(req.updateMask, MUTABLE, IMMUTABLE);
    return retryOnConflict(async () => {
      const current = await this.mustGet(name);
      const updated = this.applyPatch(current, patch, paths);
      const key = await this.ctx.store.updateCryptoKey(updated);
      return cryptoKeyResource(key, await this.primaryOf(key));
    });
  }

  async updateCryptoKeyPrimaryVersion(req: Msg): Promise<Msg> {
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

  /** A new software version of `key`, with freshly generated material. */
  async newVersion(key: CryptoKeyRecord, state = 'ENABLED'): Promise<{ version: NewVersion; raw: Buffer }> {
    const alg = algorithmInfo(key.algorithm);
    if (!alg) throw new KmsError(Code.INTERNAL, 'Internal error encountered.');
    const raw = await this.ctx.material.generate(alg);
    const now = this.ctx.clock.now();
    const version: NewVersion = {
      state, protectionLevel: key.protectionLevel, algorithm: key.algorithm, createTime: now, generateTime: now,
      destroyTime: null, destroyEventTime: null, externalKeyUri: '', ekmConnectionKeyPath: '',
    };
    return { version, raw };
  }

  private async firstVersion(record: Omit<CryptoKeyRecord, 'revision'>) {
    const { version, raw } = await this.newVersion({ ...record, revision: 0 });
    return { version, seal: this.ctx.material.sealer(raw) };
  }

  private newKeyRecord(name: string, keyRing: string, ck: Msg): Omit<CryptoKeyRecord, 'revision'> {
    const purpose = checkPurpose(ck.purpose, 'crypto_key.purpose');
    const template = (ck.versionTemplate ?? {}) as Msg;
    const protectionLevel = checkProtectionLevel(
      template.protectionLevel,
      'crypto_key.version_template.protection_level',
      parseKeyRing(keyRing, 'parent').location,
    );
    const alg = checkAlgorithm(template.algorithm, purpose, 'crypto_key.version_template.algorithm');
    const rotationPeriodMs = ck.rotationPeriod == null ? null : durationMs(ck.rotationPeriod, 'crypto_key.rotation_period');
    const nextRotationTime = ck.nextRotationTime == null ? null : timestampMs(ck.nextRotationTime, 'crypto_key.next_rotation_time');
    checkRotation(purpose, rotationPeriodMs, nextRotationTime, 'crypto_key.');
    if (ck.cryptoKeyBackend) {
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

  private applyPatch(current: CryptoKeyRecord, patch: Msg, paths: string[]): CryptoKeyRecord {
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
        const template = (patch.versionTemplate ?? {}) as Msg;
        next.algorithm = checkAlgorithm(template.algorithm, current.purpose as never, 'crypto_key.version_template.algorithm').name;
      }
      if (path === 'key_access_justifications_policy') {
        next.allowedAccessReasons = checkAccessReasons(patch.keyAccessJustificationsPolicy, 'crypto_key.key_access_justifications_policy');
      }
    }
    checkRotation(next.purpose, next.rotationPeriodMs, next.nextRotationTime, 'crypto_key.');
    return next;
  }
}
