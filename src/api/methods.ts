// The one table of RPCs: fully-qualified method name → service call. Every
// transport (gRPC and REST) serves exactly this table over the methods
// the protos declare; a declared method missing here answers UNIMPLEMENTED.
import { unimplemented } from '../errors';
import type { Msg } from '../proto/registry';
import type { CallContext } from '../services/context';
import type { Services } from '../services';
import { generateRandomBytes } from '../services/random';

export type Handler = (request: Msg, call: CallContext) => Promise<Msg>;

const KMS = 'google.cloud.kms.v1.KeyManagementService';
const EKM = 'google.cloud.kms.v1.EkmService';
const LOCATIONS = 'google.cloud.location.Locations';
const REGISTRATION = 'google.cloud.servicedirectory.v1.RegistrationService';
const LOOKUP = 'google.cloud.servicedirectory.v1.LookupService';
const IAM = 'google.iam.v1.IAMPolicy';
const OPERATIONS = 'google.longrunning.Operations';
const AUTOKEY = 'google.cloud.kms.v1.Autokey';
const AUTOKEY_ADMIN = 'google.cloud.kms.v1.AutokeyAdmin';
/** Single-tenant HSM instances: declared so every transport answers UNIMPLEMENTED, not "no such path". */
const HSM_MANAGEMENT = 'google.cloud.kms.v1.HsmManagement';

/** The services every transport serves (all their declared methods, served or UNIMPLEMENTED). */
export const SERVICES: readonly string[] = [
  KMS, EKM, LOCATIONS, IAM, OPERATIONS, AUTOKEY, AUTOKEY_ADMIN, HSM_MANAGEMENT, REGISTRATION, LOOKUP,
];

/**
 * A service method typed with the proto's interfaces (proto/wire.ts) as a
 * table entry: the one place a request bag becomes a typed request and a
 * typed response a bag again. The transports decoded the request against
 * this method's request type, so its fields are the interface's.
 */
function typed<Req, Res extends object>(method: (request: Req, call: CallContext) => Promise<Res>): Handler {
  return (request, call) => method(request as Req, call) as Promise<object> as Promise<Msg>;
}

export function methodTable(s: Services): ReadonlyMap<string, Handler> {
  const entries: [string, Handler][] = [
    [`${KMS}.CreateKeyRing`, typed(s.keyRings.createKeyRing.bind(s.keyRings))],
    [`${KMS}.GetKeyRing`, typed(s.keyRings.getKeyRing.bind(s.keyRings))],
    [`${KMS}.ListKeyRings`, typed(s.keyRings.listKeyRings.bind(s.keyRings))],
    [`${KMS}.CreateCryptoKey`, typed(s.cryptoKeys.createCryptoKey.bind(s.cryptoKeys))],
    [`${KMS}.GetCryptoKey`, typed(s.cryptoKeys.getCryptoKey.bind(s.cryptoKeys))],
    [`${KMS}.ListCryptoKeys`, typed(s.cryptoKeys.listCryptoKeys.bind(s.cryptoKeys))],
    [`${KMS}.UpdateCryptoKey`, typed(s.cryptoKeys.updateCryptoKey.bind(s.cryptoKeys))],
    [`${KMS}.UpdateCryptoKeyPrimaryVersion`, typed(s.cryptoKeys.updateCryptoKeyPrimaryVersion.bind(s.cryptoKeys))],
    [`${KMS}.CreateCryptoKeyVersion`, typed(s.versions.createCryptoKeyVersion.bind(s.versions))],
    [`${KMS}.GetCryptoKeyVersion`, typed(s.versions.getCryptoKeyVersion.bind(s.versions))],
    [`${KMS}.ListCryptoKeyVersions`, typed(s.versions.listCryptoKeyVersions.bind(s.versions))],
    [`${KMS}.UpdateCryptoKeyVersion`, typed(s.versions.updateCryptoKeyVersion.bind(s.versions))],
    [`${KMS}.DestroyCryptoKeyVersion`, typed(s.versions.destroyCryptoKeyVersion.bind(s.versions))],
    [`${KMS}.RestoreCryptoKeyVersion`, typed(s.versions.restoreCryptoKeyVersion.bind(s.versions))],
    [`${KMS}.DeleteCryptoKey`, typed(s.deletion.deleteCryptoKey.bind(s.deletion))],
    [`${KMS}.DeleteCryptoKeyVersion`, typed(s.deletion.deleteCryptoKeyVersion.bind(s.deletion))],
    [`${KMS}.GetRetiredResource`, typed(s.deletion.getRetiredResource.bind(s.deletion))],
    [`${KMS}.ListRetiredResources`, typed(s.deletion.listRetiredResources.bind(s.deletion))],
    [`${OPERATIONS}.GetOperation`, typed(s.operations.getOperation.bind(s.operations))],
    [`${AUTOKEY_ADMIN}.GetAutokeyConfig`, typed(s.autokeyAdmin.getAutokeyConfig.bind(s.autokeyAdmin))],
    [`${AUTOKEY_ADMIN}.UpdateAutokeyConfig`, typed(s.autokeyAdmin.updateAutokeyConfig.bind(s.autokeyAdmin))],
    [`${AUTOKEY_ADMIN}.ShowEffectiveAutokeyConfig`, typed(s.autokeyAdmin.showEffectiveAutokeyConfig.bind(s.autokeyAdmin))],
    [`${AUTOKEY}.CreateKeyHandle`, typed(s.keyHandles.createKeyHandle.bind(s.keyHandles))],
    [`${AUTOKEY}.GetKeyHandle`, typed(s.keyHandles.getKeyHandle.bind(s.keyHandles))],
    [`${AUTOKEY}.ListKeyHandles`, typed(s.keyHandles.listKeyHandles.bind(s.keyHandles))],
    [`${KMS}.CreateImportJob`, typed(s.importJobs.createImportJob.bind(s.importJobs))],
    [`${KMS}.GetImportJob`, typed(s.importJobs.getImportJob.bind(s.importJobs))],
    [`${KMS}.ListImportJobs`, typed(s.importJobs.listImportJobs.bind(s.importJobs))],
    [`${KMS}.ImportCryptoKeyVersion`, typed(s.importJobs.importCryptoKeyVersion.bind(s.importJobs))],
    [`${KMS}.ImportTrustedKeyWrappedCryptoKeyVersion`, typed(s.trustedWrap.importTrustedKeyWrappedCryptoKeyVersion.bind(s.trustedWrap))],
    [`${KMS}.ExportTrustedKeyWrappedCryptoKeyVersion`, typed(s.trustedWrap.exportTrustedKeyWrappedCryptoKeyVersion.bind(s.trustedWrap))],
    [`${KMS}.Encrypt`, typed(s.symmetric.encrypt.bind(s.symmetric))],
    [`${KMS}.Decrypt`, typed(s.symmetric.decrypt.bind(s.symmetric))],
    [`${KMS}.AsymmetricSign`, typed(s.asymmetric.asymmetricSign.bind(s.asymmetric))],
    [`${KMS}.AsymmetricDecrypt`, typed(s.asymmetric.asymmetricDecrypt.bind(s.asymmetric))],
    [`${KMS}.GetPublicKey`, typed(s.asymmetric.getPublicKey.bind(s.asymmetric))],
    [`${KMS}.Decapsulate`, typed(s.asymmetric.decapsulate.bind(s.asymmetric))],
    [`${KMS}.MacSign`, typed(s.mac.macSign.bind(s.mac))],
    [`${KMS}.MacVerify`, typed(s.mac.macVerify.bind(s.mac))],
    [`${KMS}.RawEncrypt`, typed(s.raw.rawEncrypt.bind(s.raw))],
    [`${KMS}.RawDecrypt`, typed(s.raw.rawDecrypt.bind(s.raw))],
    [`${KMS}.GenerateRandomBytes`, typed(generateRandomBytes)],
    [`${LOCATIONS}.ListLocations`, typed(s.locations.listLocations.bind(s.locations))],
    [`${LOCATIONS}.GetLocation`, typed(s.locations.getLocation.bind(s.locations))],
    [`${IAM}.GetIamPolicy`, typed(s.iamPolicies.getIamPolicy.bind(s.iamPolicies))],
    [`${IAM}.SetIamPolicy`, typed(s.iamPolicies.setIamPolicy.bind(s.iamPolicies))],
    [`${IAM}.TestIamPermissions`, typed(s.iamPolicies.testIamPermissions.bind(s.iamPolicies))],
    [`${EKM}.ListEkmConnections`, typed(s.ekmConnections.listEkmConnections.bind(s.ekmConnections))],
    [`${EKM}.GetEkmConnection`, typed(s.ekmConnections.getEkmConnection.bind(s.ekmConnections))],
    [`${EKM}.CreateEkmConnection`, typed(s.ekmConnections.createEkmConnection.bind(s.ekmConnections))],
    [`${EKM}.UpdateEkmConnection`, typed(s.ekmConnections.updateEkmConnection.bind(s.ekmConnections))],
    [`${EKM}.VerifyConnectivity`, typed(s.ekmConnections.verifyConnectivity.bind(s.ekmConnections))],
    [`${EKM}.GetEkmConfig`, typed(s.ekmConfig.getEkmConfig.bind(s.ekmConfig))],
    [`${EKM}.UpdateEkmConfig`, typed(s.ekmConfig.updateEkmConfig.bind(s.ekmConfig))],
    [`${REGISTRATION}.CreateNamespace`, typed(s.directory.createNamespace)],
    [`${REGISTRATION}.ListNamespaces`, typed(s.directory.listNamespaces)],
    [`${REGISTRATION}.GetNamespace`, typed(s.directory.getNamespace)],
    [`${REGISTRATION}.UpdateNamespace`, typed(s.directory.updateNamespace)],
    [`${REGISTRATION}.DeleteNamespace`, typed(s.directory.deleteNamespace)],
    [`${REGISTRATION}.CreateService`, typed(s.directory.createService)],
    [`${REGISTRATION}.ListServices`, typed(s.directory.listServices)],
    [`${REGISTRATION}.GetService`, typed(s.directory.getService)],
    [`${REGISTRATION}.UpdateService`, typed(s.directory.updateService)],
    [`${REGISTRATION}.DeleteService`, typed(s.directory.deleteService)],
    [`${REGISTRATION}.CreateEndpoint`, typed(s.directory.createEndpoint)],
    [`${REGISTRATION}.ListEndpoints`, typed(s.directory.listEndpoints)],
    [`${REGISTRATION}.GetEndpoint`, typed(s.directory.getEndpoint)],
    [`${REGISTRATION}.UpdateEndpoint`, typed(s.directory.updateEndpoint)],
    [`${REGISTRATION}.DeleteEndpoint`, typed(s.directory.deleteEndpoint)],
    [`${LOOKUP}.ResolveService`, typed(s.directory.resolveService)],
  ];
  return new Map(entries);
}

/** The handler for a declared method: the table's, or one answering UNIMPLEMENTED. */
export function handlerFor(table: ReadonlyMap<string, Handler>, fullMethod: string): Handler {
  return table.get(fullMethod) ?? (() => Promise.reject(unimplemented(unimplementedReason(fullMethod))));
}

/** Why a declared method is not served, for its UNIMPLEMENTED message. */
export function unimplementedReason(fullMethod: string): string {
  const service = fullMethod.slice(0, fullMethod.lastIndexOf('.'));
  const method = fullMethod.slice(fullMethod.lastIndexOf('.') + 1);
  if (service === HSM_MANAGEMENT) return `${method} is not implemented by OpenEKM: it has no single-tenant HSM instances.`;
  if (service === OPERATIONS) return `${method} is not implemented by OpenEKM (Cloud KMS serves only GetOperation).`;
  return `${method} is not implemented by OpenEKM.`;
}
