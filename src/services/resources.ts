// Store records to the wire resources of google.cloud.kms.v1 (plain objects
// in the shape of proto/registry.ts), and the time conversions both ways.
import { invalidArgument } from '../errors';
import {
  accessReasonNumber, type CryptoKey, cryptoKeyPurpose, type CryptoKeyVersion, type Duration, type KeyRing, protectionLevel,
  type Timestamp, versionAlgorithm, versionState,
} from '../proto/wire';
import type { CryptoKeyRecord, CryptoKeyVersionRecord, KeyRingRecord } from '../store/store';

export const timestamp = (ms: number): Timestamp => ({
  seconds: String(Math.floor(ms / 1000)),
  nanos: (((ms % 1000) + 1000) % 1000) * 1e6,
});

export const duration = (ms: number): Duration => ({ seconds: String(Math.trunc(ms / 1000)), nanos: (ms % 1000) * 1e6 });

function secondsAndNanos(value: unknown, field: string): { seconds: number; nanos: number } {
  const v = value as { seconds?: unknown; nanos?: unknown };
  const seconds = Number(v.seconds ?? 0);
  const nanos = Number(v.nanos ?? 0);
  if (!Number.isSafeInteger(seconds) || !Number.isInteger(nanos) || Math.abs(nanos) > 999_999_999) {
    throw invalidArgument(`${field}: not a valid value.`);
  }
  return { seconds, nanos };
}

/** google.protobuf.Timestamp → ms; bounds as the proto says (0001-01-01 to 9999-12-31). */
export function timestampMs(value: unknown, field: string): number {
  const { seconds, nanos } = secondsAndNanos(value, field);
  if (seconds < -62135596800 || seconds > 253402300799 || nanos < 0) {
    throw invalidArgument(`${field}: timestamp out of range.`);
  }
  return seconds * 1000 + Math.floor(nanos / 1e6);
}

/** google.protobuf.Duration → ms. */
export function durationMs(value: unknown, field: string): number {
  const { seconds, nanos } = secondsAndNanos(value, field);
  return seconds * 1000 + Math.trunc(nanos / 1e6);
}

const optionalTime = (ms: number | null): Timestamp | undefined => (ms == null ? undefined : timestamp(ms));

export function keyRingResource(r: KeyRingRecord): KeyRing {
  return { name: r.name, createTime: timestamp(r.createTime) };
}

export function versionResource(v: CryptoKeyVersionRecord): CryptoKeyVersion {
  const external =
    v.externalKeyUri || v.ekmConnectionKeyPath
      ? {
        externalKeyUri: v.externalKeyUri || undefined,
        ekmConnectionKeyPath: v.ekmConnectionKeyPath || undefined,
        ekmConnectionBackendOverride: v.ekmConnectionBackendOverride || undefined,
      }
      : undefined;
  return {
    name: v.name,
    state: versionState(v.state),
    protectionLevel: protectionLevel(v.protectionLevel),
    algorithm: versionAlgorithm(v.algorithm),
    createTime: timestamp(v.createTime),
    generateTime: optionalTime(v.generateTime),
    destroyTime: optionalTime(v.destroyTime),
    destroyEventTime: optionalTime(v.destroyEventTime),
    externalProtectionLevelOptions: external,
    externalDestructionFailureReason: v.state === 'EXTERNAL_DESTRUCTION_FAILED' ? v.externalDestructionFailureReason || undefined : undefined,
    importJob: v.importJob || undefined,
    importTime: optionalTime(v.importTime ?? null),
    importFailureReason: v.state === 'IMPORT_FAILED' ? v.importFailureReason || undefined : undefined,
    reimportEligible: v.importJob ? true : undefined,
  };
}

export function cryptoKeyResource(k: CryptoKeyRecord, primary: CryptoKeyVersionRecord | undefined): CryptoKey {
  return {
    name: k.name,
    primary: primary && versionResource(primary),
    purpose: cryptoKeyPurpose(k.purpose),
    createTime: timestamp(k.createTime),
    nextRotationTime: optionalTime(k.nextRotationTime),
    rotationPeriod: k.rotationPeriodMs == null ? undefined : duration(k.rotationPeriodMs),
    versionTemplate: { protectionLevel: protectionLevel(k.protectionLevel), algorithm: versionAlgorithm(k.algorithm) },
    labels: k.labels,
    importOnly: k.importOnly || undefined,
    destroyScheduledDuration: duration(k.destroyScheduledDurationMs),
    cryptoKeyBackend: k.cryptoKeyBackend || undefined,
    keyAccessJustificationsPolicy:
      k.allowedAccessReasons == null ? undefined : { allowedAccessReasons: k.allowedAccessReasons.map(accessReasonNumber) },
  };
}
