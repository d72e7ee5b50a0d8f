// EkmConnections (google.cloud.kms.v1.EkmService): where an EXTERNAL_VPC key's
// EKM is reached. Create, Get, List, Update (update_mask, etag) and
// VerifyConnectivity. Field rules follow Cloud KMS: one ServiceResolver,
// 1 to 10 pinned certificates, CLOUD_KMS mode needs a crypto space path,
// regional locations only.
import { createHash } from 'node:crypto';
import { aborted, invalidArgument, notFound } from '../../errors';
import {
  type CreateEkmConnectionRequest, type EkmConnection, type GetEkmConnectionRequest, keyManagementMode as modeName, type ListEkmConnectionsRequest,
  type ListEkmConnectionsResponse, type UpdateEkmConnectionRequest, type VerifyConnectivityRequest, type VerifyConnectivityResponse,
} from '../../proto/wire';

type ServiceResolver = NonNullable<EkmConnection['serviceResolvers']>[number];
import type { EkmConnectionRecord, ServiceResolverRecord } from '../../store/ekm';
import { certificateResource, MAX_CERTIFICATES } from './certificates';
import { checkEndpointFilter } from '../service-directory/filter';
import type { ServiceContext } from '../context';
import { SYSTEM_REASON } from '../external-keys';
import { EKM_CONNECTION_FIELDS } from '../list-fields';
import { listPage } from '../list-page';
import { locationKind } from '../locations';
import {
  checkId,
  ekmConnectionName,
  type LocationName,
  locationName,
  parseDirectoryService,
  parseEkmConnection,
  parseLocation,
} from '../names';
import { timestamp } from '../resources';
import { retryOnConflict } from '../retry';
import { normaliseMask } from '../update-mask';

const MODES = new Set(['MANUAL', 'CLOUD_KMS']);
const MAX_RESOLVERS = 1;
const MAX_CRYPTO_SPACE_PATH = 1024;
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const MUTABLE = new Set(['service_resolvers', 'key_management_mode', 'crypto_space_path']);
const IMMUTABLE = new Set(['name', 'create_time', 'etag']);

type ConnectionFields = Pick<EkmConnectionRecord, 'serviceResolvers' | 'keyManagementMode' | 'cryptoSpacePath'>;

/** EkmConnections live in regions only (not global, not multi-regions). */
export function checkRegional(location: string, field: string): void {
  const kind = locationKind(location);
  if (kind === 'region') return;
  if (!kind) throw invalidArgument(`${field}: '${location}' is not a Cloud KMS location.`);
  throw invalidArgument(`${field}: EkmConnections are regional; '${location}' is a ${kind} location.`);
}

function resolverFrom(value: ServiceResolver | null | undefined, at: LocationName, field: string): ServiceResolverRecord {
  const r = value ?? {};
  const service = parseDirectoryService(r.serviceDirectoryService, `${field}.service_directory_service`);
  if (service.location !== at.location) {
    throw invalidArgument(`${field}.service_directory_service: must be in the EkmConnection's location '${at.location}', not '${service.location}'.`);
  }
  const endpointFilter = typeof r.endpointFilter === 'string' ? r.endpointFilter : '';
  // The filter Service Directory will run when the EKM is resolved: refused now if it can't.
  checkEndpointFilter(endpointFilter, `${field}.endpoint_filter`);
  const hostname = typeof r.hostname === 'string' ? r.hostname : '';
  if (!hostname) throw invalidArgument(`${field}.hostname: required field is empty.`);
  if (!HOSTNAME.test(hostname)) throw invalidArgument(`${field}.hostname: '${hostname.slice(0, 100)}' is not a valid hostname.`);
  const certificates = r.serverCertificates ?? [];
  if (certificates.length === 0) throw invalidArgument(`${field}.server_certificates: at least one certificate is required.`);
  if (certificates.length > MAX_CERTIFICATES) {
    throw invalidArgument(`${field}.server_certificates: at most ${MAX_CERTIFICATES} certificates, not ${certificates.length}.`);
  }
  const serverCertificates = certificates.map((c, i) => {
    const der = c.rawDer;
    if (!Buffer.isBuffer(der) || der.length === 0) throw invalidArgument(`${field}.server_certificates[${i}].raw_der: required field is empty.`);
    return der;
  });
  const name = `projects/${service.project}/locations/${service.location}/namespaces/${service.namespace}/services/${service.service}`;
  return { serviceDirectoryService: name, endpointFilter, hostname, serverCertificates };
}

function connectionFields(msg: EkmConnection, at: LocationName, field: string): ConnectionFields {
  const resolvers = msg.serviceResolvers ?? [];
  if (resolvers.length > MAX_RESOLVERS) {
    throw invalidArgument(`${field}.service_resolvers: at most ${MAX_RESOLVERS} ServiceResolver is supported, not ${resolvers.length}.`);
  }
  const mode = String(msg.keyManagementMode ?? 'KEY_MANAGEMENT_MODE_UNSPECIFIED');
  const keyManagementMode = mode === 'KEY_MANAGEMENT_MODE_UNSPECIFIED' ? 'MANUAL' : mode;
  if (!MODES.has(keyManagementMode)) throw invalidArgument(`${field}.key_management_mode: unknown mode '${String(mode).slice(0, 50)}'.`);
  const cryptoSpacePath = typeof msg.cryptoSpacePath === 'string' ? msg.cryptoSpacePath : '';
  if (cryptoSpacePath.length > MAX_CRYPTO_SPACE_PATH) {
    throw invalidArgument(`${field}.crypto_space_path: longer than ${MAX_CRYPTO_SPACE_PATH} characters.`);
  }
  return {
    serviceResolvers: resolvers.map((r, i) => resolverFrom(r, at, `${field}.service_resolvers[${i}]`)),
    keyManagementMode,
    cryptoSpacePath,
  };
}

function checkMode(fields: ConnectionFields, field: string): void {
  if (fields.keyManagementMode === 'CLOUD_KMS' && !fields.cryptoSpacePath) {
    throw invalidArgument(`${field}.crypto_space_path: required when key_management_mode is CLOUD_KMS.`);
  }
}

/** A fresh etag for the record as it will be stored at `revision`: it changes with every write. */
function etagFor(name: string, revision: number, fields: ConnectionFields): string {
  const hash = createHash('sha256').update(`${name}\0${revision}\0`);
  hash.update(JSON.stringify({ ...fields, serviceResolvers: fields.serviceResolvers.map((r) => ({ ...r, serverCertificates: r.serverCertificates.map((c) => c.toString('base64')) })) }));
  return hash.digest('base64url').slice(0, 22);
}

export function ekmConnectionResource(r: EkmConnectionRecord): EkmConnection {
  return {
    name: r.name,
    createTime: timestamp(r.createTime),
    serviceResolvers: r.serviceResolvers.map((s) => ({
      serviceDirectoryService: s.serviceDirectoryService,
      endpointFilter: s.endpointFilter || undefined,
      hostname: s.hostname,
      serverCertificates: s.serverCertificates.map(certificateResource),
    })),
    etag: r.etag,
    keyManagementMode: modeName(r.keyManagementMode),
    cryptoSpacePath: r.cryptoSpacePath || undefined,
  };
}

export class EkmConnectionsService {
  constructor(private readonly ctx: ServiceContext) {}

  async createEkmConnection(req: CreateEkmConnectionRequest): Promise<EkmConnection> {
    const parent = parseLocation(req.parent, 'parent');
    checkRegional(parent.location, 'parent');
    const id = checkId(req.ekmConnectionId, 'ekm_connection_id');
    const fields = connectionFields(req.ekmConnection ?? {}, parent, 'ekm_connection');
    checkMode(fields, 'ekm_connection');
    const name = ekmConnectionName({ ...parent, ekmConnection: id });
    const record = await this.ctx.store.ekm.createEkmConnection({
      name,
      parent: locationName(parent),
      createTime: this.ctx.clock.now(),
      ...fields,
      etag: etagFor(name, 1, fields),
    });
    return ekmConnectionResource(record);
  }

  async getEkmConnection(req: GetEkmConnectionRequest): Promise<EkmConnection> {
    return ekmConnectionResource(await this.load(req.name, 'name'));
  }

  async listEkmConnections(req: ListEkmConnectionsRequest): Promise<ListEkmConnectionsResponse> {
    const parent = locationName(parseLocation(req.parent, 'parent'));
    const page = await listPage(this.ctx, 'ListEkmConnections', parent, req, EKM_CONNECTION_FIELDS, (q) => this.ctx.store.ekm.listEkmConnections(q));
    return { ekmConnections: page.items.map(ekmConnectionResource), nextPageToken: page.nextPageToken, totalSize: page.totalSize };
  }

  async updateEkmConnection(req: UpdateEkmConnectionRequest): Promise<EkmConnection> {
    const patch = req.ekmConnection ?? {};
    const at = parseEkmConnection(patch.name, 'ekm_connection.name');
    const paths = normaliseMask(req.updateMask, MUTABLE, IMMUTABLE);
    const given = connectionFields(patch, at, 'ekm_connection');
    const etag = typeof patch.etag === 'string' ? patch.etag : '';
    return retryOnConflict(async () => {
      const stored = await this.load(ekmConnectionName(at), 'ekm_connection.name');
      // A stale etag is a conflict with whoever wrote since the caller read.
      if (etag && etag !== stored.etag) {
        throw aborted(`ekm_connection.etag: '${etag.slice(0, 40)}' is stale; the EkmConnection changed since it was read.`);
      }
      const fields: ConnectionFields = {
        serviceResolvers: paths.includes('service_resolvers') ? given.serviceResolvers : stored.serviceResolvers,
        keyManagementMode: paths.includes('key_management_mode') ? given.keyManagementMode : stored.keyManagementMode,
        cryptoSpacePath: paths.includes('crypto_space_path') ? given.cryptoSpacePath : stored.cryptoSpacePath,
      };
      checkMode(fields, 'ekm_connection');
      const next = { ...stored, ...fields, etag: etagFor(stored.name, stored.revision + 1, fields) };
      return ekmConnectionResource(await this.ctx.store.ekm.updateEkmConnection(next));
    });
  }

  /**
   * Resolves the connection's service, connects with its pinned certificates,
   * authenticates and asks the EKM /info (and, in CLOUD_KMS mode, whether the
   * KMS may manage keys in the crypto space). An empty answer means all of it
   * worked; each failure is FAILED_PRECONDITION naming the stage.
   */
  async verifyConnectivity(req: VerifyConnectivityRequest): Promise<VerifyConnectivityResponse> {
    const connection = await this.load(req.name, 'name');
    await this.ctx.ekm.verifyConnectivity(connection, {
      project: parseEkmConnection(connection.name, 'name').project,
      resourceName: connection.name,
      // A health check is the KMS's own operation, whoever asked for it.
      reason: SYSTEM_REASON,
      isKeyHealthCheck: true,
    });
    return {};
  }

  /** The stored connection, or NOT_FOUND. */
  async load(value: unknown, field: string): Promise<EkmConnectionRecord> {
    const name = ekmConnectionName(parseEkmConnection(value, field));
    const record = await this.ctx.store.ekm.getEkmConnection(name);
    if (!record) throw notFound(`EkmConnection ${name} not found.`);
    return record;
  }
}
