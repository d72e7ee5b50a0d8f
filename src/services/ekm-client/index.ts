// The KMS's EKM client: what the rest of the KMS imports.
export { createEkmClient, DEFAULT_CRYPTO_SPACE_PERMISSIONS, type EkmClientHandle, type EkmClientOptions, type EndpointResolver } from './client';
export {
  EKM_CLIENT_ERROR_DOMAINS, EkmError, ekmErrorDomain, isEkmPermissionDenied, type EkmClientErrorDomain,
} from './errors';
export {
  DEFAULT_ISSUER, ServiceIdentity, identityKeyStore, projectNumber, serviceIdentityEmail, type IdentityKeyStore, type Jwks,
} from './identity';
export { EkmMetrics } from './metrics';
export type { CallInfo, EkmClient, ExternalKeyTarget } from './types';
