// Wire types of the EKM protocol (v0), shared by the reference EKM (src/ekm-server)
// and the KMS's EKM client. The normative text is docs/ekm-protocol.md; keep
// the two in step (test/ekm-server/docs.test.ts checks the names listed here appear
// there).
//
// Bodies are proto3 JSON: lowerCamelCase names, bytes as standard base64
// strings, enums by name (a server also accepts their numbers).

/**
 * google.cloud.kms.v1.AccessReason, indexed by enum number (0 to 11). The two
 * MODIFIED_* values are deprecated in the proto but still valid on the wire.
 */
export const ACCESS_REASONS = [
  'REASON_UNSPECIFIED',
  'CUSTOMER_INITIATED_SUPPORT',
  'GOOGLE_INITIATED_SERVICE',
  'THIRD_PARTY_DATA_REQUEST',
  'GOOGLE_INITIATED_REVIEW',
  'CUSTOMER_INITIATED_ACCESS',
  'GOOGLE_INITIATED_SYSTEM_OPERATION',
  'REASON_NOT_EXPECTED',
  'MODIFIED_CUSTOMER_INITIATED_ACCESS',
  'MODIFIED_GOOGLE_INITIATED_SYSTEM_OPERATION',
  'GOOGLE_RESPONSE_TO_PRODUCTION_ALERT',
  'CUSTOMER_AUTHORIZED_WORKFLOW_SERVICING',
] as const;

export type AccessReason = (typeof ACCESS_REASONS)[number];

/** Operations on a key path: `POST /{keyPath}:{operation}`. */
export const KEY_OPERATIONS = ['wrap', 'unwrap', 'asymmetricSign', 'getPublicKey', 'destroyKey'] as const;
/** Operations on a crypto space path: `POST /{cryptoSpacePath}:{operation}`. */
export const CRYPTO_SPACE_OPERATIONS = ['createKey', 'checkCryptoSpacePermissions'] as const;

export type KeyOperation = (typeof KEY_OPERATIONS)[number];
export type CryptoSpaceOperation = (typeof CRYPTO_SPACE_OPERATIONS)[number];
export type EkmOperation = KeyOperation | CryptoSpaceOperation;

/** GET paths. /healthz is the only path served without a token. */
export const INFO_PATH = '/info';
export const WELL_KNOWN_PATH = '/.well-known/external-key-manager/';
export const HEALTH_PATH = '/healthz';

/** Plaintext and AAD of at least this many bytes must be accepted. */
export const SIZE_FLOOR_BYTES = 64 * 1024;

/** The path (with leading slash) of an operation on a key or crypto space path. */
export function operationPath(resourcePath: string, operation: EkmOperation): string {
  return `/${resourcePath}:${operation}`;
}

export interface AdditionalContext {
  fullResourceName?: string;
  relativeResourceName?: string;
  accessReasonContext?: { reason?: AccessReason | number };
  isKeyHealthCheck?: boolean;
}

interface WithContext {
  additionalContext?: AdditionalContext;
}

export interface WrapRequest extends WithContext {
  /** base64 */
  plaintext: string;
  /** base64 */
  additionalAuthenticatedData?: string;
  keyUriPrefix?: string;
}

export interface WrapResponse {
  wrappedBlob: string;
}

export interface UnwrapRequest extends WithContext {
  wrappedBlob: string;
  additionalAuthenticatedData?: string;
  keyUriPrefix?: string;
}

export interface UnwrapResponse {
  plaintext: string;
  /** A google.protobuf.Duration ("300s"); the KMS never caches, whatever it says. */
  allowedCacheDuration?: string;
}

/** Exactly one of the digest fields, base64. */
export interface Digest {
  sha256?: string;
  sha384?: string;
  sha512?: string;
}

export interface AsymmetricSignRequest extends WithContext {
  digest?: Digest;
  data?: string;
}

export interface AsymmetricSignResponse {
  signature: string;
}

export type GetPublicKeyRequest = WithContext;

export interface GetPublicKeyResponse {
  pem: string;
  /** A google.cloud.kms.v1.CryptoKeyVersion.CryptoKeyVersionAlgorithm name. */
  algorithm: string;
}

export interface CreateKeyRequest extends WithContext {
  /** A CryptoKeyVersionAlgorithm name (or number). */
  algorithm: string | number;
  /** Idempotency: the same requestId in the same crypto space returns the same key. */
  requestId?: string;
}

export interface CreateKeyResponse {
  keyPath: string;
}

export type DestroyKeyRequest = WithContext;
export type DestroyKeyResponse = Record<string, never>;

export interface CheckCryptoSpacePermissionsRequest extends WithContext {
  permissions: string[];
}

export interface CheckCryptoSpacePermissionsResponse {
  permissions: string[];
}

export interface InfoResponse {
  vendor: string;
  version: string;
  operations: string[];
  algorithms: string[];
}

/**
 * The error body: a bare google.rpc.Status in proto3 JSON, as partner EKMs
 * answer (`code` the canonical code's number), under the canonical HTTP
 * status. A detail names its type with `@type`; a malformed request carries a
 * google.rpc.BadRequest whose field violations name the request field.
 */
export interface EkmErrorBody {
  code: number;
  message: string;
  details?: Array<{ '@type': string } & Record<string, unknown>>;
}

/** The `@type` of a google.rpc.BadRequest detail. */
export const BAD_REQUEST_TYPE = 'type.googleapis.com/google.rpc.BadRequest';

/**
 * The error domains the KMS names in the second PreconditionFailure violation
 * `type` when an external key fails: Cloud KMS's documented names (its
 * "Cloud EKM error reference"); docs/ekm-protocol.md, "What the KMS does
 * with EKM failures", says which failure gets which.
 */
export const EKM_ERROR_DOMAINS = [
  'EXTERNAL_PERMISSION_DENIED',
  'EXTERNAL_NOT_FOUND',
  'EXTERNAL_KEY_URI_INVALID',
  // An EKM host the organisation does not allow; here: outside --ekm-allowed-network.
  'EXTERNAL_KEY_HOST_NOT_WHITELISTED',
  'DNS',
  'EXTERNAL_RESOURCE_EXHAUSTED',
  'UNREACHABLE_NETWORK',
  'OVERLOADED_EKM',
  'TIMEOUT',
  'REQUEST_CANCELLED',
  'TLS_CERT',
  'UNEXPECTED_RESPONSE',
  'EXTERNAL_SERVER_ERROR',
  'EXTERNAL_NOT_IMPLEMENTED',
  'UNEXPECTED_ERROR',
  // The one returned as INVALID_ARGUMENT: an unwrap whose blob or AAD is wrong.
  'DECRYPTION_FAILED',
] as const;

export type EkmErrorDomain = (typeof EKM_ERROR_DOMAINS)[number];
