// The services (KMS, EKM control plane, Service Directory), built once per
// server over one ServiceContext.
import type { ServiceContext } from './context';
import { AsymmetricOps } from './asymmetric-ops';
import { CryptoKeyVersionsService } from './crypto-key-versions';
import { AutokeyAdminService } from './autokey/admin';
import { EMPTY_HIERARCHY } from './autokey/hierarchy';
import { KeyHandlesService } from './autokey/key-handles';
import { CryptoKeysService } from './crypto-keys';
import { DeletionService } from './deletion';
import { ImportJobsService } from './import-jobs';
import { TrustedWrapService } from './trusted-wrap';
import { OperationsService } from './operations';
import { createDirectoryServices, type DirectoryServices } from './service-directory';
import { EkmConfigService } from './ekm-service/config';
import { EkmConnectionsService } from './ekm-service/connections';
import { IamPolicyService } from './iam/policies';
import { KeyRingsService } from './key-rings';
import { LocationsService } from './locations';
import { MacOps } from './mac-ops';
import { Projects } from './projects';
import { RawOps } from './raw-ops';
import { Scheduler } from './scheduler';
import { SymmetricOps } from './symmetric-ops';

export interface Services {
  keyRings: KeyRingsService;
  cryptoKeys: CryptoKeysService;
  versions: CryptoKeyVersionsService;
  symmetric: SymmetricOps;
  asymmetric: AsymmetricOps;
  mac: MacOps;
  raw: RawOps;
  locations: LocationsService;
  scheduler: Scheduler;
  ekmConnections: EkmConnectionsService;
  ekmConfig: EkmConfigService;
  /** Service Directory: where EKM replicas are found. */
  directory: DirectoryServices;
  /** Project ids and numbers. */
  projects: Projects;
  /** IAM policies of KMS resources (the IAMPolicy mixin). */
  iamPolicies: IamPolicyService;
  /** google.longrunning.Operations: the record of every finished long-running call. */
  operations: OperationsService;
  /** DeleteCryptoKey(Version) and RetiredResources. */
  deletion: DeletionService;
  /** AutokeyAdmin: AutokeyConfigs of folders and projects. */
  autokeyAdmin: AutokeyAdminService;
  /** Autokey: key handles, each with the key Autokey made for it. */
  keyHandles: KeyHandlesService;
  /** ImportJobs and ImportCryptoKeyVersion. */
  importJobs: ImportJobsService;
  /** The trusted-key wrapped import and export (single-tenant HSM only). */
  trustedWrap: TrustedWrapService;
}

export function createServices(ctx: ServiceContext): Services {
  const cryptoKeys = new CryptoKeysService(ctx);
  const versions = new CryptoKeyVersionsService(ctx, cryptoKeys);
  const operations = new OperationsService(ctx);
  const keyRings = new KeyRingsService(ctx);
  const projects = new Projects(ctx.store);
  const autokeyAdmin = new AutokeyAdminService(ctx, ctx.resourceHierarchy ?? EMPTY_HIERARCHY);
  return {
    keyRings,
    autokeyAdmin,
    importJobs: new ImportJobsService(ctx, cryptoKeys),
    trustedWrap: new TrustedWrapService(ctx, cryptoKeys),
    keyHandles: new KeyHandlesService(ctx, autokeyAdmin, keyRings, cryptoKeys, projects, operations),
    cryptoKeys,
    versions,
    operations,
    deletion: new DeletionService(ctx, cryptoKeys, versions, operations),
    symmetric: new SymmetricOps(ctx),
    asymmetric: new AsymmetricOps(ctx),
    mac: new MacOps(ctx),
    raw: new RawOps(ctx),
    locations: new LocationsService(ctx),
    scheduler: new Scheduler(ctx, cryptoKeys),
    ekmConnections: new EkmConnectionsService(ctx),
    ekmConfig: new EkmConfigService(ctx),
    directory: createDirectoryServices(ctx),
    projects,
    iamPolicies: new IamPolicyService(ctx),
  };
}
