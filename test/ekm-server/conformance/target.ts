// What the conformance suite needs to know about the EKM under test, and how
// it is read from a JSON file (EKM_CONFORMANCE_CONFIG). File paths in the
// JSON (*File fields) are relative to the JSON file. docs/ekm-server.md,
// "Conformance suite", describes each field.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { TlsTrust } from './client';
import type { SignerSpec, SigningAlg } from './tokens';

export type ReasonOperation = 'wrap' | 'unwrap' | 'asymmetricSign' | 'getPublicKey' | 'createKey' | 'destroyKey';

export interface SigningKey {
  path: string;
  /** Its CryptoKeyVersionAlgorithm name, e.g. EC_SIGN_P256_SHA256. */
  algorithm: string;
}

export interface ConformanceTarget {
  url: string;
  tls: TlsTrust;
  /** The `aud` the EKM accepts, e.g. https://ekm.example.com */
  audience: string;
  /** A signer the EKM trusts (its issuer and public key configured there). */
  signer: SignerSpec;
  /** Allowed on every key and the crypto space below. */
  callerEmail: string;
  /** Not allowed anywhere. */
  deniedCallerEmail: string;
  /** A reason allowed for every operation the suite performs. */
  allowedReason: string;
  /** Reasons the policy refuses, per operation; each is tried and must be 403. */
  deniedReasons: Partial<Record<ReasonOperation, string[]>>;
  /** Whether a request with no reason must be refused; default true. */
  missingReasonDenied?: boolean;
  keys: {
    /** Two enabled AES-256 wrapping keys. */
    wrapA: string;
    wrapB: string;
    /** A disabled and a destroyed wrapping key. */
    disabled: string;
    destroyed: string;
    /** A well-formed key path that does not exist. */
    unknown: string;
    signing?: SigningKey[];
  };
  /** A crypto space the caller may createKey/destroyKey in; enables the control-plane tests. */
  cryptoSpace?: string;
  /** Default EXTERNAL_SYMMETRIC_ENCRYPTION. */
  createKeyAlgorithm?: string;
  /** The EKM's audit log in the reference EKM's format (JSON lines with requestId); enables the audit tests. */
  auditLogFile?: string;
}

interface FileTarget extends Omit<ConformanceTarget, 'tls' | 'signer'> {
  tls?: TlsTrust & { caFile?: string; clientCertFile?: string; clientKeyFile?: string };
  signer: Omit<SignerSpec, 'privateKeyPem'> & { privateKeyPem?: string; privateKeyFile?: string };
}

function required<T>(value: T | undefined, field: string): T {
  if (value === undefined || value === null || value === '') throw new Error(`conformance config: ${field} is required`);
  return value;
}

/** Reads a target from a JSON file; *File fields are read relative to it. */
export function loadTarget(file: string): ConformanceTarget {
  const dir = path.dirname(path.resolve(file));
  const raw = JSON.parse(readFileSync(file, 'utf8')) as FileTarget;
  const read = (p: string | undefined) => (p === undefined ? undefined : readFileSync(path.resolve(dir, p), 'utf8'));
  const tls = raw.tls ?? {};
  const signer = required(raw.signer, 'signer');
  return {
    ...raw,
    url: required(raw.url, 'url'),
    audience: required(raw.audience, 'audience'),
    tls: {
      ca: tls.ca ?? read(tls.caFile),
      servername: tls.servername,
      pinnedSha256: tls.pinnedSha256,
      clientCert: tls.clientCert ?? read(tls.clientCertFile),
      clientKey: tls.clientKey ?? read(tls.clientKeyFile),
    },
    signer: {
      issuer: required(signer.issuer, 'signer.issuer'),
      alg: (signer.alg ?? 'ES256') as SigningAlg,
      kid: signer.kid,
      privateKeyPem: required(signer.privateKeyPem ?? read(signer.privateKeyFile), 'signer.privateKeyPem or signer.privateKeyFile'),
    },
    auditLogFile: raw.auditLogFile === undefined ? undefined : path.resolve(dir, raw.auditLogFile),
  };
}
