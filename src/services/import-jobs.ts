// ImportJobs and ImportCryptoKeyVersion (BYOK), as Cloud KMS rules them
// (resources.proto ImportJob, service.proto; https://cloud.google.com/kms/docs/importing-a-key):
// - A job is made PENDING_GENERATION; its wrapping key is generated in the
//   background (RSA 3072/4096 takes seconds) and the job turns ACTIVE; it
//   expires 3 days after creation (EXPIRED), after which nothing is imported
//   with it. A job whose key was never made (a restart mid-generation) is
//   generated again the next time anyone reads it.
// - ImportCryptoKeyVersion unwraps the key with the job's private key
//   (crypto/import-wrap.ts), checks it fits the algorithm
//   (crypto/import-material.ts) and stores it as a new version, or back into
//   a version that was imported before and is DESTROYED or IMPORT_FAILED, if
//   the material is the same. A key that can't be unwrapped or doesn't fit
//   makes the version IMPORT_FAILED with import_failure_reason saying why.
import { failedPrecondition, invalidArgument, KmsError, notFound } from '../errors';
import { algorithmInfo } from '../crypto/algorithms';
import { importedMaterial } from '../crypto/import-material';
import type { PqSignAlgorithm } from '../crypto/pq-algorithms';
import { isImportMethod, type ImportMethod } from '../crypto/import-methods';
import { unwrapImportedKey } from '../crypto/import-wrap';
import { generateWrappingKey, type PublicKeyFormat, wrappingPublicKey } from '../crypto/wrapping-key';
import type {
  CreateImportJobRequest, CryptoKeyVersion, GetImportJobRequest, ImportCryptoKeyVersionRequest, ImportJob, ListImportJobsRequest,
  ListImportJobsResponse,
} from '../proto/wire';
import type { ImportJobRecord } from '../store/lifecycle';
import type { CryptoKeyRecord, CryptoKeyVersionRecord, NewVersion } from '../store/store';
import type { ServiceContext } from './context';
import type { CryptoKeysService } from './crypto-keys';
import { isExternal } from './external-keys';
import { checkAlgorithm } from './key-rules';
import { listPage } from './list-page';
import { checkId, cryptoKeyName, importJobName, keyRingName, parseCryptoKey, parseImportJob, parseKeyRing, parseVersion, versionName } from './names';
import { timestamp, versionResource } from './resources';
import { bytesField, checkSize } from './integrity';
import { retryOnConflict } from './retry';
import { IMPORT_JOB_FIELDS } from './import-job-fields';
import { enumNames } from '../proto/registry';

const JOB_LIFETIME_MS = 3 * 24 * 3600 * 1000;
/** Far above any wrapped key (an RSA-4096 PKCS#8 wrapped with RSA-AES is under 3 KiB). */
const MAX_WRAPPED = 64 * 1024;
const JOB_LEVELS = new Set(['SOFTWARE', 'HSM']);
const REIMPORTABLE = new Set(['DESTROYED', 'IMPORT_FAILED']);

/** The wrapping key as sealed: its private material and public key, length-prefixed. */
const packKey = (material: Buffer, publicKey: Buffer, pem: string): Buffer => {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(material.length, 0);
  head.writeUInt32BE(publicKey.length, 4);
  return Buffer.concat([head, material, publicKey, Buffer.from(pem, 'utf8')]);
};
const unpackKey = (packed: Buffer): { material: Buffer; publicKey: Buffer; publicKeyPem: string } => {
  const m = packed.readUInt32BE(0);
  const p = packed.readUInt32BE(4);
  return { material: packed.subarray(8, 8 + m), publicKey: packed.subarray(8 + m, 8 + m + p), publicKeyPem: packed.subarray(8 + m + p).toString('utf8') };
};

export class ImportJobsService {
  /** Wrapping keys being generated in this process, by job name. */
  private readonly generating = new Map<string, Promise<void>>();

  constructor(
    private readonly ctx: ServiceContext,
    private readonly keys: CryptoKeysService,
  ) {}

  async createImportJob(req: CreateImportJobRequest): Promise<ImportJob> {
    const ring = keyRingName(parseKeyRing(req.parent, 'parent'));
    const id = checkId(req.importJobId, 'import_job_id');
    const job = req.importJob ?? {};
    const method = String(job.importMethod ?? 'IMPORT_METHOD_UNSPECIFIED');
    if (method === 'IMPORT_METHOD_UNSPECIFIED') throw invalidArgument('import_job.import_method: required field is not set.');
    if (!isImportMethod(method)) throw invalidArgument(`import_job.import_method: unknown import method ${method.slice(0, 60)}.`);
    const level = String(job.protectionLevel ?? 'PROTECTION_LEVEL_UNSPECIFIED');
    if (level === 'PROTECTION_LEVEL_UNSPECIFIED') throw invalidArgument('import_job.protection_level: required field is not set.');
    if (!JOB_LEVELS.has(level)) {
      throw invalidArgument(`import_job.protection_level: import jobs are SOFTWARE or HSM, not ${level.slice(0, 40)}.`);
    }
    if (!(await this.ctx.store.getKeyRing(ring))) throw notFound(`KeyRing ${ring} not found.`);
    const now = this.ctx.clock.now();
    const record = await this.ctx.store.lifecycle.createImportJob({
      name: `${ring}/importJobs/${id}`, keyRing: ring, importMethod: method, protectionLevel: level,
      createTime: now, generateTime: null, expireTime: now + JOB_LIFETIME_MS,
    });
    void this.ensureGenerated(record);
    return this.resource(record);
  }

  async getImportJob(req: GetImportJobRequest): Promise<ImportJob> {
    const name = importJobName(parseImportJob(req.name, 'name'));
    const record = await this.mustGetJob(name);
    void this.ensureGenerated(record);
    return this.resource(record, String(req.publicKeyFormat ?? 'PUBLIC_KEY_FORMAT_UNSPECIFIED'));
  }

  async listImportJobs(req: ListImportJobsRequest): Promise<ListImportJobsResponse> {
    const ring = keyRingName(parseKeyRing(req.parent, 'parent'));
    if (!(await this.ctx.store.getKeyRing(ring))) throw notFound(`KeyRing ${ring} not found.`);
    const page = await listPage(this.ctx, 'ListImportJobs', ring, req, IMPORT_JOB_FIELDS, (q) => this.ctx.store.lifecycle.listImportJobs(q));
    for (const job of page.items) void this.ensureGenerated(job);
    return { importJobs: await Promise.all(page.items.map((j) => this.resource(j))), nextPageToken: page.nextPageToken, totalSize: page.totalSize };
  }

  async importCryptoKeyVersion(req: ImportCryptoKeyVersionRequest): Promise<CryptoKeyVersion> {
    const parent = cryptoKeyName(parseCryptoKey(req.parent, 'parent'));
    const jobName = importJobName(parseImportJob(req.importJob, 'import_job'));
    const target = req.cryptoKeyVersion ? versionName(parseVersion(req.cryptoKeyVersion, 'crypto_key_version')) : undefined;
    if (target && !target.startsWith(`${parent}/cryptoKeyVersions/`)) throw invalidArgument(`crypto_key_version: ${target} is not a version of ${parent}.`);
    checkWrappedFields(req);
    if (req.trustedWrappingEnabled) {
      throw invalidArgument('trusted_wrapping_enabled: only HSM_SINGLE_TENANT keys may be wrapped by a trusted key; OpenEKM has no single-tenant HSM.');
    }
    const key = await this.keys.mustGet(parent);
    const algorithm = checkAlgorithm(req.algorithm, key.purpose as never, 'algorithm').name;
    if (algorithm === 'EXTERNAL_SYMMETRIC_ENCRYPTION') throw invalidArgument('algorithm: EXTERNAL_SYMMETRIC_ENCRYPTION keys live in an external key manager; there is no material to import.');
    const job = await this.mustGetJob(jobName);
    void this.ensureGenerated(job);
    this.checkJobFor(job, key);
    const existing = target ? await this.reimportTarget(target, algorithm) : undefined;
    const outcome = await this.unwrap(job, algorithm, req);
    const now = this.ctx.clock.now();
    const common = { importJob: jobName, importTime: now };
    if (existing) return this.reimport(existing, outcome, common, now);
    const version: NewVersion = {
      state: 'error' in outcome ? 'IMPORT_FAILED' : 'ENABLED', protectionLevel: key.protectionLevel, algorithm, createTime: now,
      generateTime: 'error' in outcome ? null : now, destroyTime: null, destroyEventTime: null, externalKeyUri: '', ekmConnectionKeyPath: '',
      ...common,
      importFailureReason: 'error' in outcome ? outcome.error : '',
      importFingerprint: 'raw' in outcome ? this.ctx.material.fingerprint(outcome.raw) : '',
    };
    const created = await this.ctx.store.createCryptoKeyVersion(parent, version, this.ctx.material.sealer('raw' in outcome ? outcome.raw : null));
    return versionResource(created.version);
  }

  /** A job the key can import with: ACTIVE, in the key's location, at the key's protection level. */
  private checkJobFor(job: ImportJobRecord, key: CryptoKeyRecord): void {
    const state = this.stateOf(job);
    if (state !== 'ACTIVE') throw failedPrecondition(`ImportJob ${job.name} is ${state}; only an ACTIVE import job can import.`);
    const at = (name: string) => name.split('/').slice(0, 4).join('/');
    if (at(job.name) !== at(key.name)) throw invalidArgument(`import_job: ${job.name} is not in the location of ${key.name}.`);
    if (isExternal(key.protectionLevel)) throw failedPrecondition(`CryptoKey ${key.name} is ${key.protectionLevel}; external keys hold no imported material.`);
    if (job.protectionLevel !== key.protectionLevel) {
      throw failedPrecondition(`ImportJob ${job.name} is ${job.protectionLevel}, but CryptoKey ${key.name} makes ${key.protectionLevel} versions; they must match.`);
    }
  }

  /** The version a re-import goes back into: imported before, now DESTROYED or IMPORT_FAILED, with the same algorithm. */
  private async reimportTarget(name: string, algorithm: string): Promise<CryptoKeyVersionRecord> {
    const version = await this.ctx.store.getCryptoKeyVersion(name);
    if (!version) throw notFound(`CryptoKeyVersion ${name} not found.`);
    if (!version.importJob) throw failedPrecondition(`CryptoKeyVersion ${name} was not imported; only imported versions can be imported again (reimport_eligible).`);
    if (!REIMPORTABLE.has(version.state)) {
      throw failedPrecondition(`CryptoKeyVersion ${name} is ${version.state}; key material can be imported again only into DESTROYED or IMPORT_FAILED versions.`);
    }
    if (version.algorithm !== algorithm) throw invalidArgument(`algorithm: ${name} is ${version.algorithm}, not ${algorithm}.`);
    return version;
  }

  private async reimport(
    existing: CryptoKeyVersionRecord, outcome: { raw: Buffer } | { error: string }, common: { importJob: string; importTime: number }, now: number,
  ): Promise<CryptoKeyVersion> {
    const print = 'raw' in outcome ? this.ctx.material.fingerprint(outcome.raw) : '';
    // Each attempt decides on the version as it is now: a concurrent re-import may have filled it meanwhile.
    return retryOnConflict(async () => {
      const current = await this.ctx.store.getCryptoKeyVersion(existing.name);
      if (!current) throw notFound(`CryptoKeyVersion ${existing.name} not found.`);
      if (!REIMPORTABLE.has(current.state)) {
        throw failedPrecondition(`CryptoKeyVersion ${current.name} is ${current.state}; key material can be imported again only into DESTROYED or IMPORT_FAILED versions.`);
      }
      const result = 'raw' in outcome && current.importFingerprint && current.importFingerprint !== print
        ? { error: 'The key material differs from the material first imported into this version; a version can only get its own key back.' }
        : outcome;
      const next: CryptoKeyVersionRecord = 'raw' in result
        ? { ...current, ...common, state: 'ENABLED', generateTime: now, destroyTime: null, destroyEventTime: null, importFailureReason: '', importFingerprint: current.importFingerprint || print }
        : { ...current, ...common, state: 'IMPORT_FAILED', importFailureReason: result.error };
      const written = 'raw' in result
        ? await this.ctx.store.reimportCryptoKeyVersion(next, this.ctx.material.sealer(result.raw))
        : await this.ctx.store.updateCryptoKeyVersion(next);
      this.ctx.material.forget(existing.name);
      return versionResource(written);
    });
  }

  /** The target key's material, or why it can't be had (the version's import_failure_reason). */
  private async unwrap(job: ImportJobRecord, algorithm: string, req: ImportCryptoKeyVersionRequest): Promise<{ raw: Buffer } | { error: string }> {
    const packed = await this.ctx.material.open(job.name);
    if (!packed) throw failedPrecondition(`ImportJob ${job.name} has no wrapping key.`);
    try {
      const keyBytes = await unwrapImportedKey(job.importMethod as ImportMethod, unpackKey(packed).material, {
        wrappedKey: bytesField(req.wrappedKey), rsaAesWrappedKey: bytesField(req.rsaAesWrappedKey),
      });
      // An SLH-DSA key's check rebuilds its public root (~0.3 s): off the event loop, as its signatures are.
      const raw = algorithmInfo(algorithm)?.kind === 'slh-dsa'
        ? await this.ctx.material.slow.importKey(algorithm as PqSignAlgorithm, keyBytes)
        : importedMaterial(algorithm, keyBytes);
      if (!raw) throw invalidArgument(`algorithm: ${algorithm} key material cannot be imported.`);
      return { raw };
    } catch (err) {
      if (err instanceof KmsError) return { error: err.message };
      throw err;
    }
  }

  private async mustGetJob(name: string): Promise<ImportJobRecord> {
    const record = await this.ctx.store.lifecycle.getImportJob(name);
    if (!record) throw notFound(`ImportJob ${name} not found.`);
    return record;
  }

  private stateOf(job: ImportJobRecord): 'PENDING_GENERATION' | 'ACTIVE' | 'EXPIRED' {
    if (this.ctx.clock.now() >= job.expireTime) return 'EXPIRED';
    return job.generateTime === null ? 'PENDING_GENERATION' : 'ACTIVE';
  }

  /** Makes the job's wrapping key if it has none and nobody here is making it; failures are logged and retried on the next read. */
  private ensureGenerated(job: ImportJobRecord): Promise<void> {
    if (job.generateTime !== null || this.generating.has(job.name) || this.stateOf(job) === 'EXPIRED') return Promise.resolve();
    const work = (async () => {
      const key = await generateWrappingKey(job.importMethod as ImportMethod);
      const sealed = this.ctx.material.sealer(packKey(key.material, key.publicKey, key.publicKeyPem))(job.name)!;
      await this.ctx.store.lifecycle.completeImportJob(job.name, this.ctx.clock.now(), sealed);
    })().catch((err: unknown) => {
      // Another replica finished it first (ABORTED), or the store failed: the next read tries again.
      this.ctx.log.error('import job wrapping key not stored; the next read of the job tries again', {
        importJob: job.name, reason: err instanceof KmsError ? err.message : 'internal error',
      });
    }).finally(() => this.generating.delete(job.name));
    this.generating.set(job.name, work);
    return work;
  }

  /** Waits for wrapping keys being made (tests and shutdown). */
  async settle(): Promise<void> {
    await Promise.all([...this.generating.values()]);
  }

  private async resource(job: ImportJobRecord, requested = 'PUBLIC_KEY_FORMAT_UNSPECIFIED'): Promise<ImportJob> {
    if (!enumNames('google.cloud.kms.v1.PublicKey.PublicKeyFormat').includes(requested)) {
      throw invalidArgument(`public_key_format: unknown format ${requested.slice(0, 40)}.`);
    }
    const state = this.stateOf(job);
    const out: ImportJob = {
      name: job.name,
      importMethod: job.importMethod as ImportJob['importMethod'],
      protectionLevel: job.protectionLevel as ImportJob['protectionLevel'],
      createTime: timestamp(job.createTime),
      generateTime: job.generateTime === null ? undefined : timestamp(job.generateTime),
      expireTime: timestamp(job.expireTime),
      expireEventTime: state === 'EXPIRED' ? timestamp(job.expireTime) : undefined,
      state,
    };
    if (state !== 'ACTIVE') return out;
    const packed = await this.ctx.material.open(job.name);
    if (!packed) return out;
    const key = unpackKey(packed);
    const pub = wrappingPublicKey(job.importMethod as ImportMethod, key, requested as PublicKeyFormat);
    return { ...out, publicKey: { pem: pub.pem, data: pub.data }, publicKeyFormat: requested === 'PUBLIC_KEY_FORMAT_UNSPECIFIED' ? undefined : pub.format };
  }
}

/** wrapped_key or the older rsa_aes_wrapped_key: exactly one (service.proto). */
function checkWrappedFields(req: ImportCryptoKeyVersionRequest): void {
  const has = (v: unknown) => v instanceof Uint8Array && v.length > 0;
  const a = has(req.wrappedKey);
  const b = has(req.rsaAesWrappedKey);
  if (a && b) throw invalidArgument('wrapped_key: set either wrapped_key or rsa_aes_wrapped_key, not both.');
  if (!a && !b) throw invalidArgument('wrapped_key: required field is empty.');
  checkSize(bytesField(a ? req.wrappedKey : req.rsaAesWrappedKey), MAX_WRAPPED, a ? 'wrapped_key' : 'rsa_aes_wrapped_key');
}
