// The roles table (src/services/iam/roles.ts) against the permission lists
// Google publishes for each Cloud KMS role ("Cloud Key Management Service
// roles and permissions", cloud.google.com/iam/docs/roles-permissions/cloudkms,
// and the roles.get definitions it is generated from), transcribed here flat,
// wildcards expanded. The table builds the roles from permission families;
// this holds every built set to its published list, exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASIC_ROLES, ROLES } from '../../src/services/iam/roles';

const kms = (...names: string[]): string[] => names.map((n) => `cloudkms.${n}`);
const USE = ['cloudkms.locations.get', 'cloudkms.locations.list', 'resourcemanager.projects.get'];

const PUBLISHED: Readonly<Record<string, readonly string[]>> = {
  'roles/cloudkms.admin': [
    ...kms('autokeyConfigs.get', 'autokeyConfigs.update'),
    ...kms('cryptoKeyVersions.create', 'cryptoKeyVersions.delete', 'cryptoKeyVersions.destroy', 'cryptoKeyVersions.get', 'cryptoKeyVersions.list',
      'cryptoKeyVersions.restore', 'cryptoKeyVersions.trustedImportExport', 'cryptoKeyVersions.update',
      'cryptoKeyVersions.useToDecryptViaDelegation', 'cryptoKeyVersions.useToEncryptViaDelegation'),
    ...kms('cryptoKeys.create', 'cryptoKeys.delete', 'cryptoKeys.get', 'cryptoKeys.getIamPolicy', 'cryptoKeys.list', 'cryptoKeys.setIamPolicy', 'cryptoKeys.update'),
    ...kms('ekmConfigs.get', 'ekmConfigs.getIamPolicy', 'ekmConfigs.setIamPolicy', 'ekmConfigs.update'),
    ...kms('ekmConnections.create', 'ekmConnections.get', 'ekmConnections.getIamPolicy', 'ekmConnections.list', 'ekmConnections.setIamPolicy',
      'ekmConnections.update', 'ekmConnections.use', 'ekmConnections.verifyConnectivity'),
    ...kms('importJobs.create', 'importJobs.delete', 'importJobs.get', 'importJobs.getIamPolicy', 'importJobs.list', 'importJobs.setIamPolicy', 'importJobs.useToImport'),
    ...kms('kajPolicyConfigs.get', 'kajPolicyConfigs.update'),
    ...kms('keyHandles.create', 'keyHandles.get', 'keyHandles.list'),
    ...kms('keyRings.create', 'keyRings.createTagBinding', 'keyRings.delete', 'keyRings.deleteTagBinding', 'keyRings.get', 'keyRings.getIamPolicy',
      'keyRings.list', 'keyRings.listEffectiveTags', 'keyRings.listTagBindings', 'keyRings.setIamPolicy'),
    ...kms('folders.showEffectiveAutokeyConfig', 'locations.get', 'locations.list', 'locations.optOutKeyDeletionMsa', 'operations.get',
      'projects.showEffectiveAutokeyConfig', 'projects.showEffectiveKajEnrollmentConfig', 'projects.showEffectiveKajPolicyConfig',
      'retiredResources.get', 'retiredResources.list', 'singleTenantHsmInstanceProposals.delete', 'singleTenantHsmInstanceProposals.get',
      'singleTenantHsmInstanceProposals.list', 'singleTenantHsmInstances.create', 'singleTenantHsmInstances.get', 'singleTenantHsmInstances.list',
      'singleTenantHsmInstances.use'),
    'resourcemanager.projects.get',
  ],
  'roles/cloudkms.cryptoKeyEncrypterDecrypter': [...kms('cryptoKeyVersions.useToDecrypt', 'cryptoKeyVersions.useToEncrypt'), ...USE],
  'roles/cloudkms.cryptoKeyEncrypter': [...kms('cryptoKeyVersions.useToEncrypt'), ...USE],
  'roles/cloudkms.cryptoKeyDecrypter': [...kms('cryptoKeyVersions.useToDecrypt'), ...USE],
  'roles/cloudkms.signerVerifier': [...kms('cryptoKeyVersions.useToSign', 'cryptoKeyVersions.useToVerify', 'cryptoKeyVersions.viewPublicKey'), ...USE],
  'roles/cloudkms.signer': [...kms('cryptoKeyVersions.useToSign'), ...USE],
  'roles/cloudkms.verifier': [...kms('cryptoKeyVersions.useToVerify', 'cryptoKeyVersions.viewPublicKey'), ...USE],
  'roles/cloudkms.publicKeyViewer': [...kms('cryptoKeyVersions.viewPublicKey'), ...USE],
  'roles/cloudkms.viewer': [
    ...kms('autokeyConfigs.get', 'cryptoKeyVersions.get', 'cryptoKeyVersions.list', 'cryptoKeys.get', 'cryptoKeys.list', 'ekmConfigs.get',
      'ekmConnections.get', 'ekmConnections.list', 'folders.showEffectiveAutokeyConfig', 'importJobs.get', 'importJobs.list', 'kajPolicyConfigs.get',
      'keyHandles.get', 'keyHandles.list', 'keyRings.get', 'keyRings.list', 'locations.get', 'locations.list', 'operations.get',
      'projects.showEffectiveAutokeyConfig', 'protectableResources.list', 'retiredResources.get', 'retiredResources.list',
      'singleTenantHsmInstanceProposals.get', 'singleTenantHsmInstanceProposals.list', 'singleTenantHsmInstances.get', 'singleTenantHsmInstances.list'),
    'resourcemanager.projects.get',
  ],
  'roles/cloudkms.cryptoOperator': [
    ...kms('cryptoKeyVersions.useToDecapsulate', 'cryptoKeyVersions.useToDecrypt', 'cryptoKeyVersions.useToEncrypt', 'cryptoKeyVersions.useToSign',
      'cryptoKeyVersions.useToVerify', 'cryptoKeyVersions.viewPublicKey', 'locations.generateRandomBytes'),
    ...USE,
  ],
  'roles/cloudkms.importer': [
    ...kms('cryptoKeyVersions.trustedImportExport', 'importJobs.create', 'importJobs.get', 'importJobs.list', 'importJobs.useToImport'), ...USE,
  ],
  'roles/cloudkms.ekmConnectionsAdmin': [
    ...kms('ekmConfigs.get', 'ekmConfigs.update', 'ekmConnections.create', 'ekmConnections.get', 'ekmConnections.list', 'ekmConnections.update',
      'ekmConnections.verifyConnectivity'),
    'resourcemanager.projects.get', 'resourcemanager.projects.list',
  ],
};

void test('each predefined Cloud KMS role holds exactly its published permissions', () => {
  for (const [role, published] of Object.entries(PUBLISHED)) {
    const built = ROLES.get(role);
    assert.ok(built, `${role} is in the table`);
    assert.deepEqual([...built].sort(), [...new Set(published)].sort(), role);
  }
});

void test('the basic roles follow the published rules: owner holds every Cloud KMS permission here, editor no IAM writes or crypto, viewer reads', () => {
  const owner = ROLES.get('roles/owner')!;
  const editor = ROLES.get('roles/editor')!;
  const viewer = ROLES.get('roles/viewer')!;
  for (const [role, set] of ROLES) {
    if (BASIC_ROLES.has(role)) continue;
    for (const permission of set) if (permission.startsWith('cloudkms.')) assert.ok(owner.has(permission), `owner holds ${permission} (of ${role})`);
  }
  for (const permission of editor) {
    assert.doesNotMatch(permission, /\.(setIamPolicy|useTo(Encrypt|Decrypt|Sign|Verify|Decapsulate)|viewPublicKey|destroy|restore)$/, `editor: ${permission}`);
  }
  assert.ok(editor.has('cloudkms.cryptoKeys.getIamPolicy') && editor.has('cloudkms.cryptoKeyVersions.create') && editor.has('cloudkms.locations.generateRandomBytes'));
  for (const permission of ROLES.get('roles/cloudkms.viewer')!) assert.ok(viewer.has(permission), `viewer holds ${permission}`);
  for (const permission of viewer) assert.doesNotMatch(permission, /\.(create|update|delete|setIamPolicy|useTo\w+|viewPublicKey)$/, `viewer: ${permission}`);
  assert.equal([...viewer].filter((p) => p.startsWith('cloudkms.')).length, 39, 'roles/viewer: the 39 Cloud KMS permissions its definition lists');
});

void test('no role the table grants is one Cloud KMS does not define (macSigner and macVerifier are not roles)', () => {
  assert.equal(ROLES.has('roles/cloudkms.macSigner'), false);
  assert.equal(ROLES.has('roles/cloudkms.macVerifier'), false);
});
