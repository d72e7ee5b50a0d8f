// External keys (protection levels EXTERNAL and EXTERNAL_VPC): the rules
// Cloud KMS applies to them, where their material is (a key URI, or a key
// path on an EkmConnection), the access reason of each call, and the Key
// Access Justifications policy checked before the EKM is called. A version
// the EKM refuses with PERMISSION_DENIED is disabled, as Cloud KMS does.
import { randomUUID } from 'node:crypto';
import { Code, KmsError, failedPrecondition, invalidArgument } from '../errors';
import { ACCESS_REASONS, type AccessReason } from '../protocol/ekm';
import type { ExternalProtectionLevelOptions } from '../proto/wire';
import type { EkmConnectionRecord } from '../store/ekm';
import type { CryptoKeyRecord, CryptoKeyVersionRecord } from '../store/store';
import type { CallContext, ServiceContext } from './context';
import { EkmError, isEkmPermissionDenied } from './ekm-client/errors';
import type { CallInfo, ExternalKeyTarget } from './ekm-client/types';
import { ekmConnectionName, type LocationName, locationName, parseCryptoKey, parseEkmConnection } from './names';

export const EXTERNAL_LEVELS: ReadonlySet<string> = new Set(['EXTERNAL', 'EXTERNAL_VPC']);
export const isExternal = (protectionLevel: string): boolean => EXTERNAL_LEVELS.has(protectionLevel);

/** The request header that picks the access reason an EKM call carries (default CUSTOMER_INITIATED_ACCESS). */
export const ACCESS_REASON_HEADER = 'x-openekm-access-reason';

const EXTERNAL_SIGNING = new Set([
  'EC_SIGN_P256_SHA256', 'EC_SIGN_P384_SHA384',
  'RSA_SIGN_PSS_2048_SHA256', 'RSA_SIGN_PSS_3072_SHA256', 'RSA_SIGN_PSS_4096_SHA256', 'RSA_SIGN_PSS_4096_SHA512',
  'RSA_SIGN_PKCS1_2048_SHA256', 'RSA_SIGN_PKCS1_3072_SHA256', 'RSA_SIGN_PKCS1_4096_SHA256', 'RSA_SIGN_PKCS1_4096_SHA512',
]);

/** The algorithm rules of external keys: EXTERNAL_SYMMETRIC_ENCRYPTION for ENCRYPT_DECRYPT, EC/RSA signing. */
export function checkExternalAlgorithm(protectionLevel: string, purpose: string, algorithm: string, field: string): void {
  const external = isExternal(protectionLevel);
  if (!external) {
    if (algorithm === 'EXTERNAL_SYMMETRIC_ENCRYPTION') {
      throw invalidArgument(`${field}: EXTERNAL_SYMMETRIC_ENCRYPTION needs protection level EXTERNAL or EXTERNAL_VPC.`);
    }
    return;
  }
  if (purpose === 'ENCRYPT_DECRYPT' && algorithm === 'EXTERNAL_SYMMETRIC_ENCRYPTION') return;
  if (purpose === 'ASYMMETRIC_SIGN' && EXTERNAL_SIGNING.has(algorithm)) return;
  throw invalidArgument(`${field}: algorithm ${algorithm} (purpose ${purpose}) is not available with protection level ${protectionLevel}.`);
}

/**
 * The reason of the KMS's own EKM calls: those no caller's request asks for
 * (scheduled rotation, scheduled destruction) and health checks
 * (VerifyConnectivity, sent with isKeyHealthCheck).
 */
export const SYSTEM_REASON: AccessReason = 'GOOGLE_INITIATED_SYSTEM_OPERATION';

/**
 * The access reason of an EKM call (docs/ekm-protocol.md, "Access reasons the
 * KMS sends"): for a caller's request, its documented header, else
 * CUSTOMER_INITIATED_ACCESS; with no caller (the scheduler), SYSTEM_REASON.
 */
export function accessReason(call: CallContext | undefined): AccessReason {
  if (call === undefined) return SYSTEM_REASON;
  const raw = call.headers[ACCESS_REASON_HEADER];
  if (raw === undefined || raw === '') return 'CUSTOMER_INITIATED_ACCESS';
  const byNumber = /^\d+$/.test(raw) ? ACCESS_REASONS[Number(raw)] : undefined;
  const reason = byNumber ?? (ACCESS_REASONS as readonly string[]).find((r) => r === raw);
  if (!reason) throw invalidArgument(`${ACCESS_REASON_HEADER}: '${raw.slice(0, 60)}' is not an AccessReason.`);
  return reason as AccessReason;
}

/**
 * A key's Key Access Justifications policy, enforced on a request's reason:
 * FAILED_PRECONDITION with a PreconditionFailure when the policy (present,
 * and an empty list allowing nothing) does not list it. Cloud KMS enforces it
 * on encrypt, decrypt and sign calls of every protection level, and on every
 * call to an EKM.
 */
export function checkJustification(key: Pick<CryptoKeyRecord, 'allowedAccessReasons'>, resourceName: string, reason: AccessReason): void {
  const allowed = key.allowedAccessReasons;
  if (allowed && !allowed.includes(reason)) {
    throw precondition(
      `Access to ${resourceName} with reason ${reason} is denied by the key's Key Access Justifications policy.`,
      'KEY_ACCESS_JUSTIFICATIONS_POLICY',
      resourceName,
      `The CryptoKey's key_access_justifications_policy allows ${allowed.join(', ') || 'no reason'}; this request's reason is ${reason}.`,
    );
  }
}

function precondition(message: string, type: string, subject: string, description: string): KmsError {
  return new KmsError(Code.FAILED_PRECONDITION, message, [{
    type: 'google.rpc.PreconditionFailure',
    value: { violations: [{ type, subject, description }] },
  }]);
}

/** Where a version's external material is. */
export interface ExternalLocation {
  externalKeyUri: string;
  ekmConnectionKeyPath: string;
  ekmConnectionBackendOverride: string;
}

export class ExternalKeys {
  constructor(private readonly ctx: ServiceContext) {}

  /** The EkmConnection a new EXTERNAL_VPC key uses: the one named, else the location's EkmConfig default. */
  async backendFor(at: LocationName, requested: unknown, field: string): Promise<string> {
    if (typeof requested === 'string' && requested !== '') return (await this.connectionIn(at, requested, field)).name;
    const config = await this.ctx.store.ekm.getEkmConfig(`${locationName(at)}/ekmConfig`);
    if (!config?.defaultEkmConnection) {
      throw invalidArgument(`${field}: required for EXTERNAL_VPC keys when ${locationName(at)}/ekmConfig has no default_ekm_connection.`);
    }
    await this.connection(config.defaultEkmConnection, field);
    return config.defaultEkmConnection;
  }

  /** An existing EkmConnection in `at`, named in `field`. */
  private async connectionIn(at: LocationName, requested: string, field: string): Promise<EkmConnectionRecord> {
    const name = parseEkmConnection(requested, field);
    if (name.project !== at.project || name.location !== at.location) {
      throw invalidArgument(`${field}: must be an EkmConnection in ${locationName(at)}.`);
    }
    return this.connection(ekmConnectionName(name), field);
  }

  /** Whether versions of this key are made by the EKM (CLOUD_KMS mode) rather than named by hand. */
  async coordinated(key: Pick<CryptoKeyRecord, 'protectionLevel' | 'cryptoKeyBackend'>): Promise<boolean> {
    if (key.protectionLevel !== 'EXTERNAL_VPC') return false;
    return (await this.connection(key.cryptoKeyBackend, 'crypto_key.crypto_key_backend')).keyManagementMode === 'CLOUD_KMS';
  }

  /**
   * Where a new version's external material is: the key URI or key path the
   * request names (manual keys), or a key the EKM creates now (CLOUD_KMS mode).
   */
  async newVersionLocation(
    key: CryptoKeyRecord,
    options: ExternalProtectionLevelOptions | undefined,
    field: string,
    call: CallContext | undefined,
  ): Promise<ExternalLocation> {
    const uri = typeof options?.externalKeyUri === 'string' ? options.externalKeyUri : '';
    const path = typeof options?.ekmConnectionKeyPath === 'string' ? options.ekmConnectionKeyPath : '';
    const override = typeof options?.ekmConnectionBackendOverride === 'string' ? options.ekmConnectionBackendOverride : '';
    if (key.protectionLevel === 'EXTERNAL') {
      if (path) throw invalidArgument(`${field}.ekm_connection_key_path: not used by EXTERNAL keys; set external_key_uri.`);
      if (override) throw invalidArgument(`${field}.ekm_connection_backend_override: only EXTERNAL_VPC versions have an EkmConnection.`);
      return { externalKeyUri: checkKeyUri(uri, `${field}.external_key_uri`), ekmConnectionKeyPath: '', ekmConnectionBackendOverride: '' };
    }
    if (uri) throw invalidArgument(`${field}.external_key_uri: not used by EXTERNAL_VPC keys; set ekm_connection_key_path.`);
    // The version's own connection, when the request names one, governs it in place of the key's backend.
    const connection = override
      ? await this.connectionIn(parseCryptoKey(key.name, 'name'), override, `${field}.ekm_connection_backend_override`)
      : await this.connection(key.cryptoKeyBackend, 'crypto_key.crypto_key_backend');
    const ekmConnectionBackendOverride = override ? connection.name : '';
    if (connection.keyManagementMode === 'CLOUD_KMS') {
      if (path) throw invalidArgument(`${field}.ekm_connection_key_path: the EKM makes the key of a CLOUD_KMS connection; leave it empty.`);
      const info = this.callInfo(key, `${key.name}/cryptoKeyVersions/*`, accessReason(call));
      const keyPath = await this.ctx.ekm.createKey(connection, key.algorithm, randomUUID(), info);
      return { externalKeyUri: '', ekmConnectionKeyPath: keyPath, ekmConnectionBackendOverride };
    }
    return { externalKeyUri: '', ekmConnectionKeyPath: checkKeyPath(path, `${field}.ekm_connection_key_path`), ekmConnectionBackendOverride };
  }

  /**
   * Where an existing version's external material is after UpdateCryptoKeyVersion
   * re-points it (`gcloud kms keys versions update --external-key-uri /
   * --ekm-connection-key-path`): a new key URI for an EXTERNAL version, a new
   * key path for an EXTERNAL_VPC version on a MANUAL connection. `paths` are
   * the mask's paths under external_protection_level_options.
   */
  async repointedLocation(
    key: CryptoKeyRecord,
    version: CryptoKeyVersionRecord,
    options: ExternalProtectionLevelOptions | undefined,
    paths: ReadonlySet<string>,
    field: string,
  ): Promise<ExternalLocation> {
    const whole = paths.has('');
    const wants = (name: string) => whole || paths.has(name);
    const current: ExternalLocation = {
      externalKeyUri: version.externalKeyUri,
      ekmConnectionKeyPath: version.ekmConnectionKeyPath,
      ekmConnectionBackendOverride: version.ekmConnectionBackendOverride ?? '',
    };
    if (paths.has('ekm_connection_backend_override')) {
      throw invalidArgument(`update_mask: field '${field}.ekm_connection_backend_override' cannot be updated.`);
    }
    if (!isExternal(version.protectionLevel)) {
      throw invalidArgument(`${field}: ${version.name} is a ${version.protectionLevel} version; only EXTERNAL and EXTERNAL_VPC versions have external options.`);
    }
    const uri = typeof options?.externalKeyUri === 'string' ? options.externalKeyUri : '';
    const path = typeof options?.ekmConnectionKeyPath === 'string' ? options.ekmConnectionKeyPath : '';
    if (version.protectionLevel === 'EXTERNAL') {
      if (paths.has('ekm_connection_key_path') || (whole && path)) {
        throw invalidArgument(`${field}.ekm_connection_key_path: only EXTERNAL_VPC versions have a key path; ${version.name} is EXTERNAL.`);
      }
      return { ...current, externalKeyUri: checkKeyUri(uri, `${field}.external_key_uri`) };
    }
    if (paths.has('external_key_uri') || (whole && uri)) {
      throw invalidArgument(`${field}.external_key_uri: only EXTERNAL versions have a key URI; ${version.name} is EXTERNAL_VPC.`);
    }
    if (!wants('ekm_connection_key_path')) return current;
    if (await this.versionCoordinated(key, version)) {
      throw failedPrecondition(`${version.name} was made by the EKM of a CLOUD_KMS EkmConnection; its key path cannot be changed.`);
    }
    return { ...current, ekmConnectionKeyPath: checkKeyPath(path, `${field}.ekm_connection_key_path`) };
  }

  /** The EkmConnection of an EXTERNAL_VPC version: its override, else its key's backend. */
  private versionConnection(key: CryptoKeyRecord, version: CryptoKeyVersionRecord): Promise<EkmConnectionRecord> {
    return version.ekmConnectionBackendOverride
      ? this.connection(version.ekmConnectionBackendOverride, 'ekm_connection_backend_override', version.name)
      : this.connection(key.cryptoKeyBackend, 'crypto_key.crypto_key_backend', version.name);
  }

  /** Whether the EKM made this version's key (an EXTERNAL_VPC version on a CLOUD_KMS connection), so the KMS destroys it there. */
  async versionCoordinated(key: CryptoKeyRecord, version: CryptoKeyVersionRecord): Promise<boolean> {
    if (version.protectionLevel !== 'EXTERNAL_VPC') return false;
    return (await this.versionConnection(key, version)).keyManagementMode === 'CLOUD_KMS';
  }

  /** The EKM target of a version. */
  private async target(key: CryptoKeyRecord, version: CryptoKeyVersionRecord): Promise<ExternalKeyTarget> {
    if (version.protectionLevel === 'EXTERNAL') return { kind: 'uri', keyUri: version.externalKeyUri };
    return { kind: 'vpc', connection: await this.versionConnection(key, version), keyPath: version.ekmConnectionKeyPath };
  }

  /**
   * One EKM operation on a version, the one way services reach an EKM for a
   * key: the key's justification policy checked for `reason`, the version's
   * target resolved, and a PERMISSION_DENIED from the EKM disabling the
   * version.
   */
  async call<T>(
    key: CryptoKeyRecord,
    version: CryptoKeyVersionRecord,
    reason: AccessReason,
    op: (target: ExternalKeyTarget, info: CallInfo) => Promise<T>,
  ): Promise<T> {
    const info = this.callInfo(key, version.name, reason);
    const target = await this.target(key, version);
    return this.guard(version, () => op(target, info));
  }

  /** The facts every EKM call carries; the key's justification policy is checked first. */
  private callInfo(key: CryptoKeyRecord, resourceName: string, reason: AccessReason): CallInfo {
    checkJustification(key, resourceName, reason);
    return { project: parseCryptoKey(key.name, 'name').project, resourceName, reason };
  }

  /** Runs an EKM call for a version; if the EKM denies access to the key, the version is disabled. */
  private async guard<T>(version: CryptoKeyVersionRecord, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (!isEkmPermissionDenied(err)) throw err;
      // The first violation says what the denial did to the version.
      const state = await this.disable(version.name);
      throw err instanceof EkmError && state ? err.withState(state) : err;
    }
  }

  /** Disables the version (if still ENABLED); its state afterwards, or undefined when it is gone. */
  private async disable(name: string): Promise<string | undefined> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const current = await this.ctx.store.getCryptoKeyVersion(name);
      if (!current || current.state !== 'ENABLED') return current?.state;
      try {
        await this.ctx.store.updateCryptoKeyVersion({ ...current, state: 'DISABLED' });
        this.ctx.log.info('external key version disabled: the EKM denied access', { version: name });
        return 'DISABLED';
      } catch (err) {
        if (!(err instanceof KmsError) || err.code !== Code.ABORTED) throw err;
      }
    }
  }

  private async connection(name: string, field: string, subject = name): Promise<EkmConnectionRecord> {
    const record = name ? await this.ctx.store.ekm.getEkmConnection(name) : undefined;
    if (record) return record;
    if (subject !== name) {
      throw precondition(`The EkmConnection of ${subject} no longer exists.`, 'EKM_CONNECTION_NOT_FOUND', subject,
        `EkmConnection '${name}' named by ${field.replace(/^crypto_key\./, '')} was not found.`);
    }
    throw failedPrecondition(`${field}: EkmConnection ${name || '(none)'} not found.`);
  }
}

/** An EXTERNAL key's URI: https, a host, a path. */
function checkKeyPath(path: string, field: string): string {
  if (!path) throw invalidArgument(`${field}: required for EXTERNAL_VPC keys on a MANUAL EkmConnection.`);
  if (path.length > 1024 || /[\s?#]/.test(path) || path.startsWith('/')) {
    throw invalidArgument(`${field}: '${path.slice(0, 100)}' is not a key path (no leading '/', spaces, '?' or '#').`);
  }
  return path;
}

function checkKeyUri(uri: string, field: string): string {
  if (!uri) throw invalidArgument(`${field}: required for EXTERNAL keys.`);
  let parsed: URL;
  try {
    parsed = new URL(uri);
  } catch {
    throw invalidArgument(`${field}: '${uri.slice(0, 100)}' is not a URI.`);
  }
  if (parsed.protocol !== 'https:' || !parsed.hostname || parsed.pathname.length <= 1 || parsed.search || parsed.hash || parsed.username) {
    throw invalidArgument(`${field}: '${uri.slice(0, 100)}' must be https://host[:port]/path with no query, fragment or user.`);
  }
  return uri;
}
