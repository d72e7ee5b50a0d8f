// Service Directory (google.cloud.servicedirectory.v1): RegistrationService's
// namespaces, services and endpoints (Create, Get, List, Update, Delete) and
// LookupService.ResolveService, over the store's directory tables. Cloud EKM
// finds the replicas of an EKM through it: a ServiceResolver names a service,
// whose endpoints (filtered by the resolver's endpoint_filter) are the
// replicas; lookup.ts is that lookup, which the EKM client is given.
// Field rules: rules.ts; names: names.ts; filter meaning: filter.ts.
// What differs from Google's Service Directory: docs/service-directory.md.
import { randomUUID } from 'node:crypto';
import { notFound } from '../../errors';
import { pageSize } from '../../list/page-token';
import type {
  Empty, ListRequest, SdCreateEndpointRequest, SdCreateNamespaceRequest, SdCreateServiceRequest, SdDeleteEndpointRequest, SdDeleteNamespaceRequest, SdDeleteServiceRequest, SdEndpoint, SdGetEndpointRequest, SdGetNamespaceRequest, SdGetServiceRequest, SdListEndpointsRequest, SdListEndpointsResponse, SdListNamespacesRequest, SdListNamespacesResponse, SdListServicesRequest, SdListServicesResponse, SdNamespace, SdResolveServiceRequest, SdResolveServiceResponse, SdService, SdUpdateEndpointRequest, SdUpdateNamespaceRequest, SdUpdateServiceRequest,
} from '../../proto/wire';
import type { EndpointRecord, NamespaceRecord, ServiceRecord } from '../../store/directory';
import type { ListQuery, Page } from '../../store/store';
import type { ServiceContext } from '../context';
import { listPage } from '../list-page';
import { retryOnConflict } from '../retry';
import { normaliseMask } from '../update-mask';
import {
  directoryFilter,
  ENDPOINT_FILTER_FIELDS,
  type FilterFields,
  listFieldsOf,
  NAMESPACE_FILTER_FIELDS,
  SERVICE_FILTER_FIELDS,
} from './filter';
import {
  checkDirectoryId,
  directoryLocationName,
  endpointName,
  namespaceName,
  parseDirectoryLocation,
  parseEndpointName,
  parseNamespaceName,
  parseServiceName,
  serviceName,
} from './names';
import { endpointResource, namespaceResource, serviceResource } from './resources';
import { EndpointLookup, maxEndpoints } from './lookup';
import {
  checkAddress,
  checkAnnotations,
  checkNamespaceLabels,
  checkNetwork,
  checkPort,
  ENDPOINT_ANNOTATIONS_LIMIT,
  SERVICE_ANNOTATIONS_LIMIT,
} from './rules';

export { checkEndpointFilter } from './filter';
export { parseServiceName, serviceName } from './names';

export { DEFAULT_MAX_ENDPOINTS, EndpointLookup, MAX_ENDPOINTS, type ResolvedEndpoint } from './lookup';

// What each Update may name in its mask, and what it may not.
const NAMESPACE_MASK = { mutable: new Set(['labels']), immutable: new Set(['name', 'uid']) };
const SERVICE_MASK = { mutable: new Set(['annotations']), immutable: new Set(['name', 'uid', 'endpoints']) };
const ENDPOINT_MASK = {
  mutable: new Set(['address', 'port', 'annotations']),
  immutable: new Set(['name', 'uid', 'network']),
};

const EMPTY: Empty = {};

export class DirectoryServices {
  /** Endpoint lookups: ResolveService's, and the one the EKM client is given (server.ts). */
  readonly lookup: EndpointLookup;

  constructor(readonly ctx: ServiceContext) {
    this.lookup = new EndpointLookup(ctx.store.directory);
  }

  private get store() {
    return this.ctx.store.directory;
  }

  // ---- namespaces ----

  createNamespace = async (req: SdCreateNamespaceRequest): Promise<SdNamespace> => {
    const parent = directoryLocationName(parseDirectoryLocation(req.parent, 'parent'));
    const id = checkDirectoryId(req.namespaceId, 'namespace_id');
    const body = req.namespace ?? {};
    const now = this.ctx.clock.now();
    const record = await this.store.createNamespace({
      name: `${parent}/namespaces/${id}`,
      parent,
      uid: randomUUID(),
      labels: checkNamespaceLabels(body.labels, 'namespace.labels'),
      createTime: now,
      updateTime: now,
    });
    return namespaceResource(record);
  };

  listNamespaces = async (req: SdListNamespacesRequest): Promise<SdListNamespacesResponse> => {
    const parent = directoryLocationName(parseDirectoryLocation(req.parent, 'parent'));
    const page = await this.list('ListNamespaces', parent, req, NAMESPACE_FILTER_FIELDS, (q) => this.store.listNamespaces(q));
    return { namespaces: page.items.map(namespaceResource), nextPageToken: page.nextPageToken };
  };

  getNamespace = async (req: SdGetNamespaceRequest): Promise<SdNamespace> =>
    namespaceResource(await this.mustGetNamespace(namespaceName(parseNamespaceName(req.name, 'name'))));

  updateNamespace = async (req: SdUpdateNamespaceRequest): Promise<SdNamespace> => {
    const patch = req.namespace ?? {};
    const name = namespaceName(parseNamespaceName(patch.name, 'namespace.name'));
    const paths = normaliseMask(req.updateMask, NAMESPACE_MASK.mutable, NAMESPACE_MASK.immutable);
    const labels = checkNamespaceLabels(patch.labels, 'namespace.labels');
    return retryOnConflict(async () => {
      const current = await this.mustGetNamespace(name);
      const next: NamespaceRecord = { ...current, updateTime: this.ctx.clock.now() };
      if (paths.includes('labels')) next.labels = labels;
      return namespaceResource(await this.store.updateNamespace(next));
    });
  };

  deleteNamespace = async (req: SdDeleteNamespaceRequest): Promise<Empty> => {
    const name = namespaceName(parseNamespaceName(req.name, 'name'));
    if (!(await this.store.deleteNamespace(name))) throw notFound(`Namespace ${name} not found.`);
    return EMPTY;
  };

  // ---- services ----

  createService = async (req: SdCreateServiceRequest): Promise<SdService> => {
    const parent = namespaceName(parseNamespaceName(req.parent, 'parent'));
    const id = checkDirectoryId(req.serviceId, 'service_id');
    const body = req.service ?? {};
    const now = this.ctx.clock.now();
    const record = await this.store.createService({
      name: `${parent}/services/${id}`,
      parent,
      uid: randomUUID(),
      annotations: checkAnnotations(body.annotations, SERVICE_ANNOTATIONS_LIMIT, 'service.annotations'),
      createTime: now,
      updateTime: now,
    });
    return serviceResource(record);
  };

  listServices = async (req: SdListServicesRequest): Promise<SdListServicesResponse> => {
    const parent = namespaceName(parseNamespaceName(req.parent, 'parent'));
    await this.mustGetNamespace(parent);
    const page = await this.list('ListServices', parent, req, SERVICE_FILTER_FIELDS, (q) => this.store.listServices(q));
    return { services: page.items.map((s) => serviceResource(s)), nextPageToken: page.nextPageToken };
  };

  getService = async (req: SdGetServiceRequest): Promise<SdService> =>
    serviceResource(await this.mustGetService(serviceName(parseServiceName(req.name, 'name'))));

  updateService = async (req: SdUpdateServiceRequest): Promise<SdService> => {
    const patch = req.service ?? {};
    const name = serviceName(parseServiceName(patch.name, 'service.name'));
    const paths = normaliseMask(req.updateMask, SERVICE_MASK.mutable, SERVICE_MASK.immutable);
    const annotations = checkAnnotations(patch.annotations, SERVICE_ANNOTATIONS_LIMIT, 'service.annotations');
    return retryOnConflict(async () => {
      const current = await this.mustGetService(name);
      const next: ServiceRecord = { ...current, updateTime: this.ctx.clock.now() };
      if (paths.includes('annotations')) next.annotations = annotations;
      return serviceResource(await this.store.updateService(next));
    });
  };

  deleteService = async (req: SdDeleteServiceRequest): Promise<Empty> => {
    const name = serviceName(parseServiceName(req.name, 'name'));
    if (!(await this.store.deleteService(name))) throw notFound(`Service ${name} not found.`);
    return EMPTY;
  };

  // ---- endpoints ----

  createEndpoint = async (req: SdCreateEndpointRequest): Promise<SdEndpoint> => {
    const parent = serviceName(parseServiceName(req.parent, 'parent'));
    const id = checkDirectoryId(req.endpointId, 'endpoint_id');
    const body = req.endpoint ?? {};
    const now = this.ctx.clock.now();
    const record = await this.store.createEndpoint({
      name: `${parent}/endpoints/${id}`,
      parent,
      uid: randomUUID(),
      address: checkAddress(body.address, 'endpoint.address'),
      port: checkPort(body.port, 'endpoint.port'),
      annotations: checkAnnotations(body.annotations, ENDPOINT_ANNOTATIONS_LIMIT, 'endpoint.annotations'),
      network: checkNetwork(body.network, 'endpoint.network'),
      createTime: now,
      updateTime: now,
    });
    return endpointResource(record);
  };

  listEndpoints = async (req: SdListEndpointsRequest): Promise<SdListEndpointsResponse> => {
    const parent = serviceName(parseServiceName(req.parent, 'parent'));
    await this.mustGetService(parent);
    const page = await this.list('ListEndpoints', parent, req, ENDPOINT_FILTER_FIELDS, (q) => this.store.listEndpoints(q));
    return { endpoints: page.items.map(endpointResource), nextPageToken: page.nextPageToken };
  };

  getEndpoint = async (req: SdGetEndpointRequest): Promise<SdEndpoint> =>
    endpointResource(await this.mustGetEndpoint(endpointName(parseEndpointName(req.name, 'name'))));

  updateEndpoint = async (req: SdUpdateEndpointRequest): Promise<SdEndpoint> => {
    const patch = req.endpoint ?? {};
    const name = endpointName(parseEndpointName(patch.name, 'endpoint.name'));
    const paths = normaliseMask(req.updateMask, ENDPOINT_MASK.mutable, ENDPOINT_MASK.immutable);
    const fields = {
      address: paths.includes('address') ? checkAddress(patch.address, 'endpoint.address') : undefined,
      port: paths.includes('port') ? checkPort(patch.port, 'endpoint.port') : undefined,
      annotations: paths.includes('annotations')
        ? checkAnnotations(patch.annotations, ENDPOINT_ANNOTATIONS_LIMIT, 'endpoint.annotations')
        : undefined,
    };
    return retryOnConflict(async () => {
      const current = await this.mustGetEndpoint(name);
      const next: EndpointRecord = {
        ...current,
        address: fields.address ?? current.address,
        port: fields.port ?? current.port,
        annotations: fields.annotations ?? current.annotations,
        updateTime: this.ctx.clock.now(),
      };
      return endpointResource(await this.store.updateEndpoint(next));
    });
  };

  deleteEndpoint = async (req: SdDeleteEndpointRequest): Promise<Empty> => {
    const name = endpointName(parseEndpointName(req.name, 'name'));
    if (!(await this.store.deleteEndpoint(name))) throw notFound(`Endpoint ${name} not found.`);
    return EMPTY;
  };

  // ---- lookup ----

  resolveService = async (req: SdResolveServiceRequest): Promise<SdResolveServiceResponse> => {
    const name = serviceName(parseServiceName(req.name, 'name'));
    const max = maxEndpoints(req.maxEndpoints);
    const filter = directoryFilter(req.endpointFilter, ENDPOINT_FILTER_FIELDS, 'endpoint_filter');
    const service = await this.lookup.service(name);
    const endpoints = await this.lookup.matching(name, filter, max);
    return { service: serviceResource(service, endpoints) };
  };

  /** A list page with the filter read as Service Directory means it (filter.ts); order_by and paging as everywhere. */
  private async list<T>(
    rpc: string,
    parent: string,
    req: ListRequest,
    fields: FilterFields,
    fetch: (query: ListQuery) => Promise<Page<T>>,
  ): Promise<{ items: T[]; nextPageToken?: string }> {
    const filter = directoryFilter(req.filter, fields, 'filter');
    if (filter.match === 'none') {
      // A filter that can never hold (it names only fields the resource does not have).
      pageSize(req.pageSize ?? undefined);
      return { items: [] };
    }
    const text = filter.match === 'some' ? filter.text : '';
    return listPage(this.ctx, rpc, parent, { ...req, filter: text }, listFieldsOf(fields), fetch);
  }

  private async mustGetNamespace(name: string): Promise<NamespaceRecord> {
    const record = await this.store.getNamespace(name);
    if (!record) throw notFound(`Namespace ${name} not found.`);
    return record;
  }

  private mustGetService(name: string): Promise<ServiceRecord> {
    return this.lookup.service(name);
  }

  private async mustGetEndpoint(name: string): Promise<EndpointRecord> {
    const record = await this.store.getEndpoint(name);
    if (!record) throw notFound(`Endpoint ${name} not found.`);
    return record;
  }
}

export function createDirectoryServices(ctx: ServiceContext): DirectoryServices {
  return new DirectoryServices(ctx);
}
