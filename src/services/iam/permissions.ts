// The permission each RPC checks, and on which resource, as Cloud KMS
// documents them ("Permissions and roles" and each method's REST reference,
// docs/iam.md): Encrypt is cloudkms.cryptoKeyVersions.useToEncrypt on the
// key (or version) it names, List is ...list on the parent, SetIamPolicy is
// the resource kind's setIamPolicy, and so on. TestIamPermissions needs none.
import type { Msg } from '../../proto/registry';
import { parseIamResource } from './resources';

/** What one call must hold: a permission on a resource (by name). */
export interface Requirement {
  permission: string;
  resource: string;
  /** A second permission the call needs as well. */
  and?: Requirement;
}

type Rule = (request: Msg) => Requirement | undefined;

const KMS = 'google.cloud.kms.v1.KeyManagementService';
const EKM = 'google.cloud.kms.v1.EkmService';
const LOCATIONS = 'google.cloud.location.Locations';
const IAM = 'google.iam.v1.IAMPolicy';
const OPERATIONS = 'google.longrunning.Operations';
const AUTOKEY = 'google.cloud.kms.v1.Autokey';
const AUTOKEY_ADMIN = 'google.cloud.kms.v1.AutokeyAdmin';

const str = (value: unknown): string => (typeof value === 'string' ? value : '');
const field = (name: string) => (request: Msg): string => str(request[name]);
const nested = (outer: string, inner: string) => (request: Msg): string => str((request[outer] as Msg | undefined)?.[inner]);

/** `permission` on the resource `at` reads from the request. */
const on = (permission: string, at: (request: Msg) => string): Rule => (request) => ({ permission: `cloudkms.${permission}`, resource: at(request) });

/** The IAM mixin's permission follows the resource kind: cloudkms.keyRings.getIamPolicy, cloudkms.ekmConfigs.setIamPolicy, ... */
const PLURAL = { KeyRing: 'keyRings', CryptoKey: 'cryptoKeys', ImportJob: 'importJobs', EkmConnection: 'ekmConnections', EkmConfig: 'ekmConfigs' } as const;
const iamRule = (verb: 'getIamPolicy' | 'setIamPolicy'): Rule => (request) => {
  const resource = parseIamResource(request.resource, 'resource');
  return { permission: `cloudkms.${PLURAL[resource.type]}.${verb}`, resource: resource.name };
};

const RULES: ReadonlyMap<string, Rule> = new Map<string, Rule>([
  [`${KMS}.CreateKeyRing`, on('keyRings.create', field('parent'))],
  [`${KMS}.GetKeyRing`, on('keyRings.get', field('name'))],
  [`${KMS}.ListKeyRings`, on('keyRings.list', field('parent'))],
  [`${KMS}.CreateCryptoKey`, on('cryptoKeys.create', field('parent'))],
  [`${KMS}.GetCryptoKey`, on('cryptoKeys.get', field('name'))],
  [`${KMS}.ListCryptoKeys`, on('cryptoKeys.list', field('parent'))],
  [`${KMS}.UpdateCryptoKey`, on('cryptoKeys.update', nested('cryptoKey', 'name'))],
  [`${KMS}.UpdateCryptoKeyPrimaryVersion`, on('cryptoKeys.update', field('name'))],
  [`${KMS}.CreateCryptoKeyVersion`, on('cryptoKeyVersions.create', field('parent'))],
  [`${KMS}.GetCryptoKeyVersion`, on('cryptoKeyVersions.get', field('name'))],
  [`${KMS}.ListCryptoKeyVersions`, on('cryptoKeyVersions.list', field('parent'))],
  [`${KMS}.UpdateCryptoKeyVersion`, on('cryptoKeyVersions.update', nested('cryptoKeyVersion', 'name'))],
  [`${KMS}.DestroyCryptoKeyVersion`, on('cryptoKeyVersions.destroy', field('name'))],
  [`${KMS}.RestoreCryptoKeyVersion`, on('cryptoKeyVersions.restore', field('name'))],
  [`${KMS}.DeleteCryptoKey`, on('cryptoKeys.delete', field('name'))],
  [`${KMS}.DeleteCryptoKeyVersion`, on('cryptoKeyVersions.delete', field('name'))],
  [`${KMS}.GetRetiredResource`, on('retiredResources.get', field('name'))],
  [`${KMS}.ListRetiredResources`, on('retiredResources.list', field('parent'))],
  [`${OPERATIONS}.GetOperation`, on('operations.get', field('name'))],
  [`${AUTOKEY_ADMIN}.GetAutokeyConfig`, on('autokeyConfigs.get', field('name'))],
  [`${AUTOKEY_ADMIN}.UpdateAutokeyConfig`, on('autokeyConfigs.update', nested('autokeyConfig', 'name'))],
  [`${AUTOKEY_ADMIN}.ShowEffectiveAutokeyConfig`, on('projects.showEffectiveAutokeyConfig', field('parent'))],
  [`${AUTOKEY}.CreateKeyHandle`, on('keyHandles.create', field('parent'))],
  [`${AUTOKEY}.GetKeyHandle`, on('keyHandles.get', field('name'))],
  [`${AUTOKEY}.ListKeyHandles`, on('keyHandles.list', field('parent'))],
  [`${KMS}.CreateImportJob`, on('importJobs.create', field('parent'))],
  [`${KMS}.GetImportJob`, on('importJobs.get', field('name'))],
  [`${KMS}.ListImportJobs`, on('importJobs.list', field('parent'))],
  // Importing needs the job's useToImport, and cryptoKeyVersions.create on the key when it makes a new version (service.proto).
  [`${KMS}.ImportCryptoKeyVersion`, (request) => ({
    permission: 'cloudkms.importJobs.useToImport',
    resource: str(request.importJob),
    and: str(request.cryptoKeyVersion) ? undefined : { permission: 'cloudkms.cryptoKeyVersions.create', resource: str(request.parent) },
  })],
  [`${KMS}.ImportTrustedKeyWrappedCryptoKeyVersion`, on('cryptoKeyVersions.trustedImportExport', field('parent'))],
  [`${KMS}.ExportTrustedKeyWrappedCryptoKeyVersion`, on('cryptoKeyVersions.trustedImportExport', field('name'))],
  [`${KMS}.Encrypt`, on('cryptoKeyVersions.useToEncrypt', field('name'))],
  [`${KMS}.Decrypt`, on('cryptoKeyVersions.useToDecrypt', field('name'))],
  [`${KMS}.AsymmetricSign`, on('cryptoKeyVersions.useToSign', field('name'))],
  [`${KMS}.AsymmetricDecrypt`, on('cryptoKeyVersions.useToDecrypt', field('name'))],
  [`${KMS}.GetPublicKey`, on('cryptoKeyVersions.viewPublicKey', field('name'))],
  [`${KMS}.Decapsulate`, on('cryptoKeyVersions.useToDecapsulate', field('name'))],
  [`${KMS}.MacSign`, on('cryptoKeyVersions.useToSign', field('name'))],
  [`${KMS}.MacVerify`, on('cryptoKeyVersions.useToVerify', field('name'))],
  [`${KMS}.RawEncrypt`, on('cryptoKeyVersions.useToEncrypt', field('name'))],
  [`${KMS}.RawDecrypt`, on('cryptoKeyVersions.useToDecrypt', field('name'))],
  [`${KMS}.GenerateRandomBytes`, on('locations.generateRandomBytes', field('location'))],
  [`${LOCATIONS}.ListLocations`, on('locations.list', field('name'))],
  [`${LOCATIONS}.GetLocation`, on('locations.get', field('name'))],
  [`${EKM}.ListEkmConnections`, on('ekmConnections.list', field('parent'))],
  [`${EKM}.GetEkmConnection`, on('ekmConnections.get', field('name'))],
  [`${EKM}.CreateEkmConnection`, on('ekmConnections.create', field('parent'))],
  [`${EKM}.UpdateEkmConnection`, on('ekmConnections.update', nested('ekmConnection', 'name'))],
  [`${EKM}.VerifyConnectivity`, on('ekmConnections.verifyConnectivity', field('name'))],
  [`${EKM}.GetEkmConfig`, on('ekmConfigs.get', field('name'))],
  [`${EKM}.UpdateEkmConfig`, on('ekmConfigs.update', nested('ekmConfig', 'name'))],
  [`${IAM}.GetIamPolicy`, iamRule('getIamPolicy')],
  [`${IAM}.SetIamPolicy`, iamRule('setIamPolicy')],
  // TestIamPermissions needs no permission: it answers what the caller holds.
  [`${IAM}.TestIamPermissions`, () => undefined],
]);

/**
 * What a call must hold; undefined when it needs nothing (TestIamPermissions)
 * or is not a Cloud KMS call (Service Directory: docs/iam.md says who may).
 */
export function requirementOf(fullMethod: string, request: Msg): Requirement | undefined {
  return RULES.get(fullMethod)?.(request);
}

export const isKmsMethod = (fullMethod: string): boolean => RULES.has(fullMethod);
