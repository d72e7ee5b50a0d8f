// Cloud KMS's predefined roles and the basic roles, as permission sets: the
// one table every IAM decision reads (docs/iam.md). Each role is built from
// the permission families below the way Cloud IAM's role definitions group
// them; test/iam/roles.test.ts holds the built sets to the lists Google
// publishes for each role (its "Cloud Key Management Service roles and
// permissions" page and the roles.get definitions it is generated from).
import { invalidArgument } from '../../errors';
import type { IamResourceType } from './resources';

const p = (family: string, ...verbs: string[]): string[] => verbs.map((v) => `cloudkms.${family}.${v}`);

/** Every permission of each family, as Cloud KMS defines them. */
const FAMILY = {
  autokeyConfigs: p('autokeyConfigs', 'get', 'update'),
  cryptoKeys: p('cryptoKeys', 'create', 'delete', 'get', 'getIamPolicy', 'list', 'setIamPolicy', 'update'),
  ekmConfigs: p('ekmConfigs', 'get', 'getIamPolicy', 'setIamPolicy', 'update'),
  ekmConnections: p('ekmConnections', 'create', 'get', 'getIamPolicy', 'list', 'setIamPolicy', 'update', 'use', 'verifyConnectivity'),
  importJobs: p('importJobs', 'create', 'delete', 'get', 'getIamPolicy', 'list', 'setIamPolicy', 'useToImport'),
  kajPolicyConfigs: p('kajPolicyConfigs', 'get', 'update'),
  keyHandles: p('keyHandles', 'create', 'get', 'list'),
  keyRings: p('keyRings', 'create', 'createTagBinding', 'delete', 'deleteTagBinding', 'get', 'getIamPolicy', 'list', 'listEffectiveTags', 'listTagBindings', 'setIamPolicy'),
  retiredResources: p('retiredResources', 'get', 'list'),
  singleTenantHsmInstanceProposals: p('singleTenantHsmInstanceProposals', 'delete', 'get', 'list'),
  singleTenantHsmInstances: p('singleTenantHsmInstances', 'create', 'get', 'list', 'use'),
} as const;

/** The cryptographic operations: no admin role holds them. */
const CRYPTO = p('cryptoKeyVersions', 'useToDecapsulate', 'useToDecrypt', 'useToEncrypt', 'useToSign', 'useToVerify', 'viewPublicKey');
const VERSION_ADMIN = p('cryptoKeyVersions', 'create', 'delete', 'destroy', 'get', 'list', 'restore', 'trustedImportExport', 'update', 'useToDecryptViaDelegation', 'useToEncryptViaDelegation');
const LOCATIONS = p('locations', 'get', 'list');
const PROJECT_GET = ['resourcemanager.projects.get'];
const ADMIN_EXTRAS = [
  'cloudkms.folders.showEffectiveAutokeyConfig', 'cloudkms.locations.optOutKeyDeletionMsa', 'cloudkms.operations.get',
  'cloudkms.projects.showEffectiveAutokeyConfig', 'cloudkms.projects.showEffectiveKajEnrollmentConfig', 'cloudkms.projects.showEffectiveKajPolicyConfig',
];
/** Raw and post-quantum key management: only the basic owner role holds these among the roles here. */
const MANAGE = p('cryptoKeyVersions', 'managePqcSign', 'manageRawAesCbcKeys', 'manageRawAesCtrKeys', 'manageRawPKCS1Keys');

const without = (all: readonly string[], remove: readonly string[]): string[] => all.filter((x) => !remove.includes(x));
const getters = (list: readonly string[]): string[] => list.filter((x) => /\.(get|list)$/.test(x));

const ADMIN = [
  ...FAMILY.autokeyConfigs, ...VERSION_ADMIN, ...FAMILY.cryptoKeys, ...FAMILY.ekmConfigs, ...FAMILY.ekmConnections, ...FAMILY.importJobs,
  ...FAMILY.kajPolicyConfigs, ...FAMILY.keyHandles, ...FAMILY.keyRings, ...LOCATIONS, ...ADMIN_EXTRAS, ...FAMILY.retiredResources,
  ...FAMILY.singleTenantHsmInstanceProposals,
  ...FAMILY.singleTenantHsmInstances, ...PROJECT_GET,
];

const KMS_VIEWER = [
  'cloudkms.autokeyConfigs.get', ...p('cryptoKeyVersions', 'get', 'list'), ...p('cryptoKeys', 'get', 'list'), 'cloudkms.ekmConfigs.get',
  ...p('ekmConnections', 'get', 'list'), 'cloudkms.folders.showEffectiveAutokeyConfig', ...p('importJobs', 'get', 'list'),
  'cloudkms.kajPolicyConfigs.get', ...p('keyHandles', 'get', 'list'), ...p('keyRings', 'get', 'list'), ...LOCATIONS, 'cloudkms.operations.get',
  'cloudkms.projects.showEffectiveAutokeyConfig', 'cloudkms.protectableResources.list', ...getters(FAMILY.retiredResources),
  ...getters(FAMILY.singleTenantHsmInstanceProposals), ...getters(FAMILY.singleTenantHsmInstances), ...PROJECT_GET,
];

const use = (...verbs: string[]): string[] => [...p('cryptoKeyVersions', ...verbs), ...LOCATIONS, ...PROJECT_GET];

const OWNER = [
  ...ADMIN, ...CRYPTO, 'cloudkms.locations.generateRandomBytes', ...MANAGE, 'cloudkms.protectableResources.list', 'cloudkms.protectedResources.search',
];
const SET_POLICY = OWNER.filter((x) => x.endsWith('.setIamPolicy'));
const EDITOR = without(OWNER, [
  ...SET_POLICY, ...p('keyRings', 'createTagBinding', 'deleteTagBinding'), ...p('cryptoKeyVersions', 'destroy', 'restore'),
  ...CRYPTO, ...MANAGE, 'cloudkms.locations.optOutKeyDeletionMsa',
]);
const BASIC_VIEWER = [
  ...KMS_VIEWER, ...OWNER.filter((x) => x.endsWith('.getIamPolicy')), ...p('keyRings', 'listEffectiveTags', 'listTagBindings'),
  'cloudkms.ekmConnections.verifyConnectivity', 'cloudkms.locations.generateRandomBytes', 'cloudkms.projects.showEffectiveKajEnrollmentConfig',
  'cloudkms.projects.showEffectiveKajPolicyConfig', 'cloudkms.protectedResources.search',
];

/** Predefined role -> its permissions. */
export const ROLES: ReadonlyMap<string, ReadonlySet<string>> = new Map(
  Object.entries({
    'roles/cloudkms.admin': ADMIN,
    'roles/cloudkms.cryptoKeyEncrypterDecrypter': use('useToDecrypt', 'useToEncrypt'),
    'roles/cloudkms.cryptoKeyEncrypter': use('useToEncrypt'),
    'roles/cloudkms.cryptoKeyDecrypter': use('useToDecrypt'),
    'roles/cloudkms.signerVerifier': use('useToSign', 'useToVerify', 'viewPublicKey'),
    'roles/cloudkms.signer': use('useToSign'),
    'roles/cloudkms.verifier': use('useToVerify', 'viewPublicKey'),
    'roles/cloudkms.publicKeyViewer': use('viewPublicKey'),
    'roles/cloudkms.viewer': KMS_VIEWER,
    'roles/cloudkms.cryptoOperator': [...CRYPTO, 'cloudkms.locations.generateRandomBytes', ...LOCATIONS, ...PROJECT_GET],
    'roles/cloudkms.importer': ['cloudkms.cryptoKeyVersions.trustedImportExport', ...without(FAMILY.importJobs, p('importJobs', 'delete', 'getIamPolicy', 'setIamPolicy')), ...LOCATIONS, ...PROJECT_GET],
    'roles/cloudkms.ekmConnectionsAdmin': [
      ...p('ekmConfigs', 'get', 'update'), ...p('ekmConnections', 'create', 'get', 'list', 'update', 'verifyConnectivity'), ...PROJECT_GET, 'resourcemanager.projects.list',
    ],
    'roles/owner': OWNER,
    'roles/editor': EDITOR,
    'roles/viewer': BASIC_VIEWER,
  }).map(([role, list]) => [role, new Set(list)]),
);

/** The basic roles: IAM Conditions can't be used with them. */
export const BASIC_ROLES: ReadonlySet<string> = new Set(['roles/owner', 'roles/editor', 'roles/viewer']);

export const isPredefinedRole = (role: string): boolean => ROLES.has(role);

/** The permission families a policy on each resource type governs (the resource and what it holds). */
const GOVERNED: Readonly<Record<IamResourceType, readonly string[]>> = {
  KeyRing: ['cloudkms.keyRings.', 'cloudkms.cryptoKeys.', 'cloudkms.cryptoKeyVersions.', 'cloudkms.importJobs.'],
  CryptoKey: ['cloudkms.cryptoKeys.', 'cloudkms.cryptoKeyVersions.'],
  ImportJob: ['cloudkms.importJobs.'],
  EkmConnection: ['cloudkms.ekmConnections.'],
  EkmConfig: ['cloudkms.ekmConfigs.'],
};

const ALL_PERMISSIONS: ReadonlySet<string> = new Set([...ROLES.values()].flatMap((s) => [...s]));

/** TestIamPermissions' check: each permission is one Cloud KMS defines and one a policy on this resource governs. */
export function checkPermissionsFor(permissions: readonly string[], type: IamResourceType, field: string): void {
  permissions.forEach((permission, i) => {
    const f = `${field}[${i}]`;
    if (permission.includes('*')) throw invalidArgument(`${f}: permissions with wildcards ('${permission.slice(0, 100)}') are not allowed.`);
    if (!ALL_PERMISSIONS.has(permission)) throw invalidArgument(`${f}: '${permission.slice(0, 100)}' is not a Cloud KMS permission.`);
    if (!GOVERNED[type].some((prefix) => permission.startsWith(prefix))) {
      throw invalidArgument(`${f}: permission '${permission}' is not valid for a ${type}.`);
    }
  });
}
