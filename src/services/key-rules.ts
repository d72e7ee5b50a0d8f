// The field rules of CryptoKey that Cloud KMS enforces on create and update:
// purpose and algorithm, protection level, rotation schedule, labels, the
// destroy-scheduled duration, Key Access Justifications.
import { type AlgorithmInfo, algorithmInfo, DEFAULT_ALGORITHM, type Purpose } from '../crypto/algorithms';
import { invalidArgument, unimplemented } from '../errors';
import { enumNames } from '../proto/registry';
import { ekmAvailable, locationKind } from './locations';

const DAY = 24 * 3600 * 1000;
export const ROTATION_MIN_MS = DAY;
export const ROTATION_MAX_MS = 876_000 * 3600 * 1000;
export const DESTROY_DEFAULT_MS = 30 * DAY;
export const DESTROY_MIN_MS = DAY;
export const DESTROY_MAX_MS = 120 * DAY;

const SUPPORTED_PURPOSES: readonly string[] = [
  'ENCRYPT_DECRYPT', 'ASYMMETRIC_SIGN', 'ASYMMETRIC_DECRYPT', 'RAW_ENCRYPT_DECRYPT', 'MAC', 'KEY_ENCAPSULATION', 'AES_WRAPPING',
];
const SUPPORTED_LEVELS: readonly string[] = ['SOFTWARE', 'HSM', 'EXTERNAL', 'EXTERNAL_VPC'];

export function checkPurpose(purpose: unknown, field: string): Purpose {
  if (purpose == null || purpose === 'CRYPTO_KEY_PURPOSE_UNSPECIFIED') {
    throw invalidArgument(`${field}: required field is not set.`);
  }
  if (typeof purpose !== 'string' || !enumNames('google.cloud.kms.v1.CryptoKey.CryptoKeyPurpose').includes(purpose)) {
    throw invalidArgument(`${field}: unknown purpose ${String(purpose)}.`);
  }
  if (!SUPPORTED_PURPOSES.includes(purpose)) {
    throw unimplemented(`${field}: purpose ${purpose} is not implemented by OpenEKM yet.`);
  }
  return purpose as Purpose;
}

/**
 * The protection level of a new key in `location`. External keys exist only
 * where Cloud EKM does: EXTERNAL wherever the location says ekm_available,
 * EXTERNAL_VPC (through a regional EkmConnection) in regions only.
 */
export function checkProtectionLevel(level: unknown, field: string, location: string): string {
  if (level == null || level === 'PROTECTION_LEVEL_UNSPECIFIED') return 'SOFTWARE';
  if (typeof level !== 'string' || !enumNames('google.cloud.kms.v1.ProtectionLevel').includes(level)) {
    throw invalidArgument(`${field}: unknown protection level ${String(level)}.`);
  }
  if (level === 'EXTERNAL_VPC' && locationKind(location) !== 'region') {
    throw invalidArgument(`${field}: EXTERNAL_VPC keys exist in regional locations only, not in '${location}'.`);
  }
  if (level === 'EXTERNAL' && !ekmAvailable(location)) {
    throw invalidArgument(`${field}: EXTERNAL keys are not available in '${location}'.`);
  }
  if (!SUPPORTED_LEVELS.includes(level)) {
    throw unimplemented(`${field}: protection level ${level} is not implemented by OpenEKM yet.`);
  }
  return level;
}

/**
 * Resolves the template's algorithm for a purpose (default for ENCRYPT_DECRYPT
 * only: GOOGLE_SYMMETRIC_ENCRYPTION, or EXTERNAL_SYMMETRIC_ENCRYPTION for external keys).
 */
export function checkAlgorithm(algorithm: unknown, purpose: Purpose, field: string, external = false): AlgorithmInfo {
  const unset = algorithm == null || algorithm === 'CRYPTO_KEY_VERSION_ALGORITHM_UNSPECIFIED';
  const name = unset && external && purpose === 'ENCRYPT_DECRYPT' ? 'EXTERNAL_SYMMETRIC_ENCRYPTION' : unset ? DEFAULT_ALGORITHM[purpose] : algorithm;
  if (name == null) throw invalidArgument(`${field}: required for purpose ${purpose}.`);
  const known = enumNames('google.cloud.kms.v1.CryptoKeyVersion.CryptoKeyVersionAlgorithm');
  if (typeof name !== 'string' || !known.includes(name)) {
    throw invalidArgument(`${field}: unknown algorithm ${String(name)}.`);
  }
  const info = algorithmInfo(name);
  if (!info) throw unimplemented(`${field}: algorithm ${name} is not implemented by OpenEKM yet.`);
  if (info.purpose !== purpose) {
    throw invalidArgument(`${field}: algorithm ${name} is not compatible with purpose ${purpose}.`);
  }
  return info;
}

/** Rotation schedule rules: ENCRYPT_DECRYPT only; a period needs a next time; period bounds. */
export function checkRotation(
  purpose: string,
  periodMs: number | null,
  nextMs: number | null,
  fieldPrefix: string,
): void {
  if (periodMs == null && nextMs == null) return;
  if (purpose !== 'ENCRYPT_DECRYPT') {
    throw invalidArgument(
      `${fieldPrefix}rotation_period: automatic rotation is only supported for keys with purpose ENCRYPT_DECRYPT.`,
    );
  }
  if (periodMs != null) {
    if (periodMs < ROTATION_MIN_MS || periodMs > ROTATION_MAX_MS) {
      throw invalidArgument(`${fieldPrefix}rotation_period: must be at least 24 hours and at most 876,000 hours.`);
    }
    if (nextMs == null) {
      throw invalidArgument(`${fieldPrefix}next_rotation_time: must be set when rotation_period is set.`);
    }
  }
}

export function checkDestroyDuration(ms: number | null, field: string): number {
  if (ms == null) return DESTROY_DEFAULT_MS;
  if (ms < DESTROY_MIN_MS || ms > DESTROY_MAX_MS) {
    throw invalidArgument(`${field}: must be at least 24 hours and at most 120 days.`);
  }
  return ms;
}

// https://cloud.google.com/kms/docs/creating-managing-labels#requirements
const LABEL_KEY = /^[\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]{0,62}$/u;
const LABEL_VALUE = /^[\p{Ll}\p{Lo}\p{N}_-]{0,63}$/u;

export function checkLabels(labels: unknown, field: string): Record<string, string> {
  const entries = Object.entries((labels ?? {}) as Record<string, string>);
  if (entries.length > 64) throw invalidArgument(`${field}: at most 64 labels are allowed.`);
  for (const [key, value] of entries) {
    if (!LABEL_KEY.test(key)) {
      throw invalidArgument(`${field}: key '${key.slice(0, 80)}' must start with a lowercase letter and hold at most 63 lowercase letters, digits, '_' or '-'.`);
    }
    if (!LABEL_VALUE.test(value)) {
      throw invalidArgument(`${field}: value of '${key}' must hold at most 63 lowercase letters, digits, '_' or '-'.`);
    }
  }
  return Object.fromEntries(entries);
}

export function checkAccessReasons(policy: unknown, field: string): string[] | null {
  if (policy == null) return null;
  const reasons = ((policy as { allowedAccessReasons?: unknown[] }).allowedAccessReasons ?? []) as unknown[];
  const known = enumNames('google.cloud.kms.v1.AccessReason');
  for (const r of reasons) {
    if (typeof r !== 'string' || !known.includes(r)) {
      throw invalidArgument(`${field}.allowed_access_reasons: unknown reason ${String(r)}.`);
    }
  }
  return [...new Set(reasons as string[])];
}
