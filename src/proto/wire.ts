// The wire types services take and return: the TypeScript interfaces
// generated from the official protos, shipped in @google-cloud/kms and
// @google-cloud/service-directory (type-only: nothing of either package is
// loaded by these imports). The
// interfaces accept the internal message shape (proto/registry.ts: enums by
// name, int64 as decimal strings, bytes as Buffers), and a misspelled field
// in an object literal of one of them is a compile error.
//
// Every service is on these; the Locations mixin's types ship in google-gax
// (the official clients' runtime, a dependency for them). The method table
// (api/methods.ts) is the only place a Msg becomes a typed request, or a
// typed response a Msg.
import type { protos } from '@google-cloud/kms';
import type { protos as directoryProtos } from '@google-cloud/service-directory';
import type { IamProtos, LocationProtos } from 'google-gax';
import { enumNames, protoRoot } from './registry';

/** The fields every List request has (AIP-132, AIP-158, AIP-160). */
export interface ListRequest {
  pageSize?: number | null;
  pageToken?: string | null;
  filter?: string | null;
  orderBy?: string | null;
}

/** google.protobuf.Timestamp and Duration as the internal shape holds them. */
export type Timestamp = protos.google.protobuf.ITimestamp;
export type Duration = protos.google.protobuf.IDuration;

/** Enums by name, as the internal shape holds them. */
export type ProtectionLevel = keyof typeof protos.google.cloud.kms.v1.ProtectionLevel;
export type CryptoKeyVersionAlgorithm = keyof typeof protos.google.cloud.kms.v1.CryptoKeyVersion.CryptoKeyVersionAlgorithm;

/**
 * The narrowing of a stored enum name (a string in the store) to its wire
 * type, checked against the proto: a name it does not have is a bug of ours,
 * answered INTERNAL.
 */
function narrowing<T extends string>(enumName: string): (name: string) => T {
  const names: ReadonlySet<string> = new Set(enumNames(enumName));
  const isName = (name: string): name is T => names.has(name);
  return (name) => {
    if (isName(name)) return name;
    throw new Error(`'${name}' is not a value of ${enumName}`);
  };
}

export type CryptoKeyPurpose = keyof typeof protos.google.cloud.kms.v1.CryptoKey.CryptoKeyPurpose;
export type CryptoKeyVersionState = keyof typeof protos.google.cloud.kms.v1.CryptoKeyVersion.CryptoKeyVersionState;
export type AccessReason = keyof typeof protos.google.cloud.kms.v1.AccessReason;

export const cryptoKeyPurpose = narrowing<CryptoKeyPurpose>('google.cloud.kms.v1.CryptoKey.CryptoKeyPurpose');
export const versionState = narrowing<CryptoKeyVersionState>('google.cloud.kms.v1.CryptoKeyVersion.CryptoKeyVersionState');
export const accessReasonName = narrowing<AccessReason>('google.cloud.kms.v1.AccessReason');
/**
 * The number of a name of a repeated enum field: the generated interfaces
 * type those by number only (single ones take names too).
 */
function numbering(enumName: string): (name: string) => number {
  const values = protoRoot().lookupEnum(enumName).values;
  return (name) => {
    const number = Object.hasOwn(values, name) ? values[name] : undefined;
    if (number === undefined) throw new Error(`'${name}' is not a value of ${enumName}`);
    return number;
  };
}

export const accessReasonNumber = numbering('google.cloud.kms.v1.AccessReason');
export type KeyManagementMode = keyof typeof protos.google.cloud.kms.v1.EkmConnection.KeyManagementMode;
export const keyManagementMode = narrowing<KeyManagementMode>('google.cloud.kms.v1.EkmConnection.KeyManagementMode');
export const protectionLevel = narrowing<ProtectionLevel>('google.cloud.kms.v1.ProtectionLevel');
export const versionAlgorithm = narrowing<CryptoKeyVersionAlgorithm>('google.cloud.kms.v1.CryptoKeyVersion.CryptoKeyVersionAlgorithm');

export type EncryptRequest = protos.google.cloud.kms.v1.IEncryptRequest;
export type EncryptResponse = protos.google.cloud.kms.v1.IEncryptResponse;
export type DecryptRequest = protos.google.cloud.kms.v1.IDecryptRequest;
export type DecryptResponse = protos.google.cloud.kms.v1.IDecryptResponse;
export type AsymmetricSignRequest = protos.google.cloud.kms.v1.IAsymmetricSignRequest;
export type AsymmetricSignResponse = protos.google.cloud.kms.v1.IAsymmetricSignResponse;
export type AsymmetricDecryptRequest = protos.google.cloud.kms.v1.IAsymmetricDecryptRequest;
export type AsymmetricDecryptResponse = protos.google.cloud.kms.v1.IAsymmetricDecryptResponse;
export type Digest = protos.google.cloud.kms.v1.IDigest;
export type GetPublicKeyRequest = protos.google.cloud.kms.v1.IGetPublicKeyRequest;
export type PublicKey = protos.google.cloud.kms.v1.IPublicKey;
export type MacSignRequest = protos.google.cloud.kms.v1.IMacSignRequest;
export type MacSignResponse = protos.google.cloud.kms.v1.IMacSignResponse;
export type MacVerifyRequest = protos.google.cloud.kms.v1.IMacVerifyRequest;
export type MacVerifyResponse = protos.google.cloud.kms.v1.IMacVerifyResponse;
export type RawEncryptRequest = protos.google.cloud.kms.v1.IRawEncryptRequest;
export type RawEncryptResponse = protos.google.cloud.kms.v1.IRawEncryptResponse;
export type RawDecryptRequest = protos.google.cloud.kms.v1.IRawDecryptRequest;
export type RawDecryptResponse = protos.google.cloud.kms.v1.IRawDecryptResponse;
export type GenerateRandomBytesRequest = protos.google.cloud.kms.v1.IGenerateRandomBytesRequest;
export type GenerateRandomBytesResponse = protos.google.cloud.kms.v1.IGenerateRandomBytesResponse;
export type KeyRing = protos.google.cloud.kms.v1.IKeyRing;
export type CryptoKey = protos.google.cloud.kms.v1.ICryptoKey;
export type CryptoKeyVersion = protos.google.cloud.kms.v1.ICryptoKeyVersion;
export type CryptoKeyVersionTemplate = protos.google.cloud.kms.v1.ICryptoKeyVersionTemplate;
export type ExternalProtectionLevelOptions = protos.google.cloud.kms.v1.IExternalProtectionLevelOptions;
export type CreateKeyRingRequest = protos.google.cloud.kms.v1.ICreateKeyRingRequest;
export type GetKeyRingRequest = protos.google.cloud.kms.v1.IGetKeyRingRequest;
export type ListKeyRingsRequest = protos.google.cloud.kms.v1.IListKeyRingsRequest;
export type ListKeyRingsResponse = protos.google.cloud.kms.v1.IListKeyRingsResponse;
export type CreateCryptoKeyRequest = protos.google.cloud.kms.v1.ICreateCryptoKeyRequest;
export type GetCryptoKeyRequest = protos.google.cloud.kms.v1.IGetCryptoKeyRequest;
export type ListCryptoKeysRequest = protos.google.cloud.kms.v1.IListCryptoKeysRequest;
export type ListCryptoKeysResponse = protos.google.cloud.kms.v1.IListCryptoKeysResponse;
export type UpdateCryptoKeyRequest = protos.google.cloud.kms.v1.IUpdateCryptoKeyRequest;
export type UpdateCryptoKeyPrimaryVersionRequest = protos.google.cloud.kms.v1.IUpdateCryptoKeyPrimaryVersionRequest;
export type CreateCryptoKeyVersionRequest = protos.google.cloud.kms.v1.ICreateCryptoKeyVersionRequest;
export type GetCryptoKeyVersionRequest = protos.google.cloud.kms.v1.IGetCryptoKeyVersionRequest;
export type ListCryptoKeyVersionsRequest = protos.google.cloud.kms.v1.IListCryptoKeyVersionsRequest;
export type ListCryptoKeyVersionsResponse = protos.google.cloud.kms.v1.IListCryptoKeyVersionsResponse;
export type UpdateCryptoKeyVersionRequest = protos.google.cloud.kms.v1.IUpdateCryptoKeyVersionRequest;
export type DestroyCryptoKeyVersionRequest = protos.google.cloud.kms.v1.IDestroyCryptoKeyVersionRequest;
export type RestoreCryptoKeyVersionRequest = protos.google.cloud.kms.v1.IRestoreCryptoKeyVersionRequest;
export type EkmConnection = protos.google.cloud.kms.v1.IEkmConnection;
export type EkmConfig = protos.google.cloud.kms.v1.IEkmConfig;
export type Certificate = protos.google.cloud.kms.v1.ICertificate;
export type CreateEkmConnectionRequest = protos.google.cloud.kms.v1.ICreateEkmConnectionRequest;
export type GetEkmConnectionRequest = protos.google.cloud.kms.v1.IGetEkmConnectionRequest;
export type ListEkmConnectionsRequest = protos.google.cloud.kms.v1.IListEkmConnectionsRequest;
export type ListEkmConnectionsResponse = protos.google.cloud.kms.v1.IListEkmConnectionsResponse;
export type UpdateEkmConnectionRequest = protos.google.cloud.kms.v1.IUpdateEkmConnectionRequest;
export type VerifyConnectivityRequest = protos.google.cloud.kms.v1.IVerifyConnectivityRequest;
export type VerifyConnectivityResponse = protos.google.cloud.kms.v1.IVerifyConnectivityResponse;
export type GetEkmConfigRequest = protos.google.cloud.kms.v1.IGetEkmConfigRequest;
export type UpdateEkmConfigRequest = protos.google.cloud.kms.v1.IUpdateEkmConfigRequest;

// Service Directory (google.cloud.servicedirectory.v1), from @google-cloud/service-directory.
export type Empty = directoryProtos.google.protobuf.IEmpty;
export type SdNamespace = directoryProtos.google.cloud.servicedirectory.v1.INamespace;
export type SdService = directoryProtos.google.cloud.servicedirectory.v1.IService;
export type SdEndpoint = directoryProtos.google.cloud.servicedirectory.v1.IEndpoint;
export type SdCreateNamespaceRequest = directoryProtos.google.cloud.servicedirectory.v1.ICreateNamespaceRequest;
export type SdListNamespacesRequest = directoryProtos.google.cloud.servicedirectory.v1.IListNamespacesRequest;
export type SdListNamespacesResponse = directoryProtos.google.cloud.servicedirectory.v1.IListNamespacesResponse;
export type SdGetNamespaceRequest = directoryProtos.google.cloud.servicedirectory.v1.IGetNamespaceRequest;
export type SdUpdateNamespaceRequest = directoryProtos.google.cloud.servicedirectory.v1.IUpdateNamespaceRequest;
export type SdDeleteNamespaceRequest = directoryProtos.google.cloud.servicedirectory.v1.IDeleteNamespaceRequest;
export type SdCreateServiceRequest = directoryProtos.google.cloud.servicedirectory.v1.ICreateServiceRequest;
export type SdListServicesRequest = directoryProtos.google.cloud.servicedirectory.v1.IListServicesRequest;
export type SdListServicesResponse = directoryProtos.google.cloud.servicedirectory.v1.IListServicesResponse;
export type SdGetServiceRequest = directoryProtos.google.cloud.servicedirectory.v1.IGetServiceRequest;
export type SdUpdateServiceRequest = directoryProtos.google.cloud.servicedirectory.v1.IUpdateServiceRequest;
export type SdDeleteServiceRequest = directoryProtos.google.cloud.servicedirectory.v1.IDeleteServiceRequest;
export type SdCreateEndpointRequest = directoryProtos.google.cloud.servicedirectory.v1.ICreateEndpointRequest;
export type SdListEndpointsRequest = directoryProtos.google.cloud.servicedirectory.v1.IListEndpointsRequest;
export type SdListEndpointsResponse = directoryProtos.google.cloud.servicedirectory.v1.IListEndpointsResponse;
export type SdGetEndpointRequest = directoryProtos.google.cloud.servicedirectory.v1.IGetEndpointRequest;
export type SdUpdateEndpointRequest = directoryProtos.google.cloud.servicedirectory.v1.IUpdateEndpointRequest;
export type SdDeleteEndpointRequest = directoryProtos.google.cloud.servicedirectory.v1.IDeleteEndpointRequest;
export type SdResolveServiceRequest = directoryProtos.google.cloud.servicedirectory.v1.IResolveServiceRequest;
export type SdResolveServiceResponse = directoryProtos.google.cloud.servicedirectory.v1.IResolveServiceResponse;

// The Locations mixin (google.cloud.location), from google-gax.
export type ListLocationsRequest = LocationProtos.google.cloud.location.IListLocationsRequest;
export type GetLocationRequest = LocationProtos.google.cloud.location.IGetLocationRequest;
/**
 * An Any in the internal shape, as protobufjs' fromObject takes it and the
 * REST printer writes it: its `@type` URL beside the packed message's fields
 * (the generated IAny, type_url and value bytes, is the packed form).
 */
export type AnyOf<T> = { '@type': string } & T;
/** A Location whose metadata is Cloud KMS's LocationMetadata. */
export type Location = Omit<LocationProtos.google.cloud.location.ILocation, 'metadata'> & {
  metadata?: AnyOf<protos.google.cloud.kms.v1.ILocationMetadata>;
};
export interface ListLocationsResponse extends Omit<LocationProtos.google.cloud.location.IListLocationsResponse, 'locations'> {
  locations?: Location[];
}

// The IAM policy mixin (google.iam.v1): the messages are google-gax's
// .proto files (proto/registry.ts), but its generated TypeScript predates
// Policy.audit_configs and SetIamPolicyRequest.update_mask; those two are
// added here as the .proto declares them.
type Iam = IamProtos.google.iam.v1.IPolicy;
export interface AuditLogConfig {
  logType?: 'LOG_TYPE_UNSPECIFIED' | 'ADMIN_READ' | 'DATA_WRITE' | 'DATA_READ' | null;
  exemptedMembers?: string[] | null;
}
export interface AuditConfig {
  service?: string | null;
  auditLogConfigs?: AuditLogConfig[] | null;
}
export type Binding = IamProtos.google.iam.v1.IBinding;
export type Policy = Iam & { auditConfigs?: AuditConfig[] | null };
export type GetIamPolicyRequest = IamProtos.google.iam.v1.IGetIamPolicyRequest;
export type SetIamPolicyRequest = Omit<IamProtos.google.iam.v1.ISetIamPolicyRequest, 'policy'> & {
  policy?: Policy | null;
  updateMask?: { paths?: string[] | null } | null;
};
export type TestIamPermissionsRequest = IamProtos.google.iam.v1.ITestIamPermissionsRequest;
export type TestIamPermissionsResponse = IamProtos.google.iam.v1.ITestIamPermissionsResponse;

// Lifecycle: deletion, retired resources, import jobs, KEM (google.cloud.kms.v1).


export type DeleteCryptoKeyRequest = protos.google.cloud.kms.v1.IDeleteCryptoKeyRequest;
export type DeleteCryptoKeyVersionRequest = protos.google.cloud.kms.v1.IDeleteCryptoKeyVersionRequest;
export type RetiredResource = protos.google.cloud.kms.v1.IRetiredResource;
export type GetRetiredResourceRequest = protos.google.cloud.kms.v1.IGetRetiredResourceRequest;
export type ListRetiredResourcesRequest = protos.google.cloud.kms.v1.IListRetiredResourcesRequest;
export type ListRetiredResourcesResponse = protos.google.cloud.kms.v1.IListRetiredResourcesResponse;
export type ImportJob = protos.google.cloud.kms.v1.IImportJob;
export type CreateImportJobRequest = protos.google.cloud.kms.v1.ICreateImportJobRequest;
export type GetImportJobRequest = protos.google.cloud.kms.v1.IGetImportJobRequest;
export type ListImportJobsRequest = protos.google.cloud.kms.v1.IListImportJobsRequest;
export type ListImportJobsResponse = protos.google.cloud.kms.v1.IListImportJobsResponse;
export type ImportCryptoKeyVersionRequest = protos.google.cloud.kms.v1.IImportCryptoKeyVersionRequest;
export type ImportTrustedKeyWrappedCryptoKeyVersionRequest = protos.google.cloud.kms.v1.IImportTrustedKeyWrappedCryptoKeyVersionRequest;
export type ExportTrustedKeyWrappedCryptoKeyVersionRequest = protos.google.cloud.kms.v1.IExportTrustedKeyWrappedCryptoKeyVersionRequest;
export type ExportTrustedKeyWrappedCryptoKeyVersionResponse = protos.google.cloud.kms.v1.IExportTrustedKeyWrappedCryptoKeyVersionResponse;
export type DecapsulateRequest = protos.google.cloud.kms.v1.IDecapsulateRequest;
export type DecapsulateResponse = protos.google.cloud.kms.v1.IDecapsulateResponse;

// Autokey (google.cloud.kms.v1 Autokey and AutokeyAdmin).
export type AutokeyConfig = protos.google.cloud.kms.v1.IAutokeyConfig;
export type GetAutokeyConfigRequest = protos.google.cloud.kms.v1.IGetAutokeyConfigRequest;
export type UpdateAutokeyConfigRequest = protos.google.cloud.kms.v1.IUpdateAutokeyConfigRequest;
export type ShowEffectiveAutokeyConfigRequest = protos.google.cloud.kms.v1.IShowEffectiveAutokeyConfigRequest;
export type ShowEffectiveAutokeyConfigResponse = protos.google.cloud.kms.v1.IShowEffectiveAutokeyConfigResponse;
export type KeyHandle = protos.google.cloud.kms.v1.IKeyHandle;
export type CreateKeyHandleRequest = protos.google.cloud.kms.v1.ICreateKeyHandleRequest;
export type GetKeyHandleRequest = protos.google.cloud.kms.v1.IGetKeyHandleRequest;
export type ListKeyHandlesRequest = protos.google.cloud.kms.v1.IListKeyHandlesRequest;
export type ListKeyHandlesResponse = protos.google.cloud.kms.v1.IListKeyHandlesResponse;

// Long-running operations (google.longrunning): the response and metadata are Anys in the internal shape.
export type Operation = Omit<protos.google.longrunning.IOperation, 'metadata' | 'response'> & {
  metadata?: AnyOf<Record<string, unknown>> | null;
  response?: AnyOf<Record<string, unknown>> | null;
};
export type GetOperationRequest = protos.google.longrunning.IGetOperationRequest;
