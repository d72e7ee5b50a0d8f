// The contract between the KMS services and the EKM client (the
// "external-key client" layer): how a key version names its external key,
// and the calls the KMS makes. Every failure reaching a caller is a KmsError
// FAILED_PRECONDITION carrying a google.rpc.PreconditionFailure whose
// violation type is an EXTERNAL_* error domain (src/protocol/ekm.ts), subject
// the key version (or connection), description a sentence a person can act on.
import type { AccessReason } from '../../protocol/ekm';

/** An EkmConnection as the client needs it: its own value type, not a store record. */
export interface EkmConnectionSpec {
  /** The resource name: the subject of errors and the audit. */
  name: string;
  serviceResolvers: ReadonlyArray<{
    serviceDirectoryService: string;
    endpointFilter: string;
    hostname: string;
    /** The pinned server certificates, DER. */
    serverCertificates: readonly Buffer[];
  }>;
  keyManagementMode: string;
  cryptoSpacePath: string;
}

/** Where an external key lives. */
export type ExternalKeyTarget =
  /** EXTERNAL: the whole key URI (https://host[:port]/path), TLS checked against system CAs + the extra bundle. */
  | { kind: 'uri'; keyUri: string }
  /** EXTERNAL_VPC: a key path on an EkmConnection (resolved through Service Directory, pinned certificates). */
  | { kind: 'vpc'; connection: EkmConnectionSpec; keyPath: string };

/** Per-call facts: who is calling for what, and why. */
export interface CallInfo {
  /** The project whose KMS service identity signs the token. */
  project: string;
  /** The key version (or connection) the call is for: the subject of errors and the resource in additionalContext. */
  resourceName: string;
  reason: AccessReason;
  /** A VerifyConnectivity or other health probe. */
  isKeyHealthCheck?: boolean;
}

export interface EkmClient {
  wrap(target: ExternalKeyTarget, plaintext: Buffer, aad: Buffer, call: CallInfo): Promise<Buffer>;
  unwrap(target: ExternalKeyTarget, wrappedBlob: Buffer, aad: Buffer, call: CallInfo): Promise<Buffer>;
  asymmetricSign(
    target: ExternalKeyTarget,
    input: { digest?: { sha256?: Buffer; sha384?: Buffer; sha512?: Buffer }; data?: Buffer },
    call: CallInfo,
  ): Promise<Buffer>;
  getPublicKey(target: ExternalKeyTarget, call: CallInfo): Promise<{ pem: string; algorithm: string }>;
  /** CLOUD_KMS mode: asks the EKM for new key material in the connection's crypto space; returns its key path. */
  createKey(connection: EkmConnectionSpec, algorithm: string, requestId: string, call: CallInfo): Promise<string>;
  destroyKey(target: ExternalKeyTarget, call: CallInfo): Promise<void>;
  /**
   * Resolves, connects with pinning, authenticates and asks /info (and, for
   * CLOUD_KMS mode, checkCryptoSpacePermissions). Resolves when all succeed;
   * otherwise FAILED_PRECONDITION naming the stage that failed.
   */
  verifyConnectivity(connection: EkmConnectionSpec, call: CallInfo): Promise<void>;
}

/** The domain of an EkmError when the EKM itself denied access to a key: the KMS disables that version. */
export const EKM_PERMISSION_DENIED = 'EXTERNAL_PERMISSION_DENIED';
