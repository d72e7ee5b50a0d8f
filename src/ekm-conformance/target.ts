// What the conformance suite needs to know about the EKM under test, and how
// it is read from a JSON file (`openekm ekm conformance --config FILE`) and
// completed with defaults. File paths in the JSON (*File fields) are relative
// to the JSON file. docs/ekm-server.md, "Conformance suite", describes each
// field and the flag that sets it.
import { createPrivateKey, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { TlsTrust } from './client';
import type { SignerSpec, SigningAlg } from './tokens';

export type ReasonOperation = 'wrap' | 'unwrap' | 'asymmetricSign' | 'getPublicKey' | 'createKey' | 'destroyKey';
export const REASON_OPERATIONS: readonly ReasonOperation[] = ['wrap', 'unwrap', 'asymmetricSign', 'getPublicKey', 'createKey', 'destroyKey'];

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
  /** A crypto space the caller may createKey/destroyKey in; enables the control-plane cases. */
  cryptoSpace?: string;
  /** Default EXTERNAL_SYMMETRIC_ENCRYPTION. */
  createKeyAlgorithm?: string;
  /** The EKM's audit log in the reference EKM's format (JSON lines with requestId); enables the audit cases. */
  auditLogFile?: string;
}

/** A target being put together from a file and flags; completeTarget fills it in. */
export interface PartialTarget extends Partial<Omit<ConformanceTarget, 'tls' | 'signer' | 'keys'>> {
  tls?: TlsTrust;
  signer?: Partial<SignerSpec>;
  keys?: Partial<ConformanceTarget['keys']>;
}

interface FileTarget extends Omit<PartialTarget, 'tls' | 'signer'> {
  tls?: TlsTrust & { caFile?: string; clientCertFile?: string; clientKeyFile?: string };
  signer?: Partial<SignerSpec> & { privateKeyFile?: string };
}

/** Reads a target file; *File fields are read relative to it. Nothing is checked yet. */
export function readTargetFile(file: string): PartialTarget {
  const dir = path.dirname(path.resolve(file));
  const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('it must hold a JSON object');
  const raw = parsed as FileTarget;
  const read = (p: string | undefined) => (p === undefined ? undefined : readFileSync(path.resolve(dir, p), 'utf8'));
  const { caFile, clientCertFile, clientKeyFile, ...tls } = raw.tls ?? {};
  const { privateKeyFile, ...signer } = raw.signer ?? {};
  return {
    ...raw,
    tls: { ...tls, ca: tls.ca ?? read(caFile), clientCert: tls.clientCert ?? read(clientCertFile), clientKey: tls.clientKey ?? read(clientKeyFile) },
    signer: { ...signer, privateKeyPem: signer.privateKeyPem ?? read(privateKeyFile) },
    auditLogFile: raw.auditLogFile === undefined ? undefined : path.resolve(dir, raw.auditLogFile),
  };
}

/** The facts without a default; completeTarget names a missing one through `missing`. */
export type RequiredField = 'url' | 'signer.issuer' | 'signer.privateKeyPem' | 'callerEmail' | 'keys.wrapA' | 'keys.wrapB' | 'keys.disabled' | 'keys.destroyed';

function need<T>(value: T | undefined, field: RequiredField, missing: (field: RequiredField) => Error): T {
  if (value === undefined || value === null || value === '') throw missing(field);
  return value;
}

/** ES256 for an EC key, RS256 for an RSA key. */
function algFor(privateKeyPem: string, alg: string | undefined): SigningAlg {
  let type: string | undefined;
  try {
    type = createPrivateKey(privateKeyPem).asymmetricKeyType;
  } catch {
    throw new Error('the signing key is not a PEM private key (EC P-256 or RSA)');
  }
  if (type !== 'rsa' && type !== 'ec') throw new Error(`the signing key is ${type ?? 'of no known type'}; it must be EC P-256 or RSA`);
  if (alg === undefined) return type === 'rsa' ? 'RS256' : 'ES256';
  if (alg !== 'ES256' && alg !== 'RS256') throw new Error(`the token algorithm must be ES256 or RS256, not ${alg}`);
  if ((alg === 'RS256') !== (type === 'rsa')) throw new Error(`the token algorithm ${alg} does not match the signing key, an ${type.toUpperCase()} key`);
  return alg;
}

/** The EKM's base URL: https with a host, nothing after the path. */
function checkUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`the EKM URL ${JSON.stringify(url.slice(0, 200))} is not a URL; give https://HOST[:PORT][/PREFIX]`);
  }
  if (parsed.protocol !== 'https:' || !parsed.hostname || parsed.search || parsed.hash || parsed.username || parsed.password) {
    throw new Error(`the EKM URL ${JSON.stringify(url.slice(0, 200))} must be https://HOST[:PORT][/PREFIX], without query, fragment or credentials`);
  }
  return parsed;
}

/** wrapA's path with its last segment replaced: a well-formed path no key has. */
const unknownKeyNear = (keyPath: string): string =>
  `${keyPath.slice(0, keyPath.lastIndexOf('/') + 1)}conformance-no-such-key-${randomBytes(6).toString('hex')}`;

function checkDeniedReasons(denied: PartialTarget['deniedReasons'] = {}): ConformanceTarget['deniedReasons'] {
  for (const [op, reasons] of Object.entries(denied)) {
    if (!REASON_OPERATIONS.includes(op as ReasonOperation)) throw new Error(`deniedReasons: ${op} is not one of ${REASON_OPERATIONS.join(', ')}`);
    if (!Array.isArray(reasons) || reasons.some((r) => typeof r !== 'string')) throw new Error(`deniedReasons.${op} must be a list of reason names`);
  }
  return denied;
}

/** A whole target, with the defaults docs/ekm-server.md lists; a missing required fact throws missing(field). */
export function completeTarget(p: PartialTarget, missing: (field: RequiredField) => Error): ConformanceTarget {
  const url = need(p.url, 'url', missing);
  const parsedUrl = checkUrl(url);
  const issuer = need(p.signer?.issuer, 'signer.issuer', missing);
  const privateKeyPem = need(p.signer?.privateKeyPem, 'signer.privateKeyPem', missing);
  const callerEmail = need(p.callerEmail, 'callerEmail', missing);
  const keys = p.keys ?? {};
  const wrapA = need(keys.wrapA, 'keys.wrapA', missing);
  return {
    ...p,
    url,
    tls: p.tls ?? {},
    audience: p.audience ?? `https://${parsedUrl.hostname}`,
    signer: { issuer, alg: algFor(privateKeyPem, p.signer?.alg), kid: p.signer?.kid, privateKeyPem },
    callerEmail,
    deniedCallerEmail: p.deniedCallerEmail ?? `conformance-denied-${randomBytes(4).toString('hex')}@example.invalid`,
    allowedReason: p.allowedReason ?? 'CUSTOMER_INITIATED_ACCESS',
    deniedReasons: checkDeniedReasons(p.deniedReasons),
    keys: {
      ...keys,
      wrapA,
      wrapB: need(keys.wrapB, 'keys.wrapB', missing),
      disabled: need(keys.disabled, 'keys.disabled', missing),
      destroyed: need(keys.destroyed, 'keys.destroyed', missing),
      unknown: keys.unknown ?? unknownKeyNear(wrapA),
    },
  };
}

/** Reads and completes a target from a JSON file. */
export function loadTarget(file: string): ConformanceTarget {
  return completeTarget(readTargetFile(file), (field) => new Error(`conformance config: ${field} is required`));
}
