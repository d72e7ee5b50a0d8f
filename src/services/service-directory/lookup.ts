// Service Directory's lookup of a service's endpoints, on the directory
// store alone: what LookupService.ResolveService answers, and the endpoint
// resolution the EKM client is given when the server is built (an
// EkmConnection's service resolver names a service whose endpoints, filtered
// by the resolver's endpoint_filter, are the EKM's replicas). It needs no
// other service, so nothing reaches back up to find it.
import { invalidArgument, notFound } from '../../errors';
import type { DirectoryStore, EndpointRecord, ServiceRecord } from '../../store/directory';
import { type CheckedFilter, checkFilter, checkOrderBy } from '../../list/check';
import { type DirectoryFilter, directoryFilter, ENDPOINT_FILTER_FIELDS, listFieldsOf, renamingErrors } from './filter';

const ENDPOINT_FIELDS = listFieldsOf(ENDPOINT_FILTER_FIELDS);
const BY_NAME = checkOrderBy(undefined, ENDPOINT_FIELDS);

/** The rewritten filter, checked against the endpoint fields. */
function checkedFilter(filter: DirectoryFilter): CheckedFilter | undefined {
  return filter.match === 'some' ? renamingErrors('endpoint_filter', () => checkFilter(filter.text, ENDPOINT_FIELDS)) : undefined;
}
import { parseServiceName, serviceName } from './names';

/** ResolveService's max_endpoints: 25 when unset or below 1, at most 100 (lookup_service.proto). */
export const DEFAULT_MAX_ENDPOINTS = 25;
export const MAX_ENDPOINTS = 100;

/** An endpoint as the EKM client needs it. */
export interface ResolvedEndpoint {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly annotations: Readonly<Record<string, string>>;
}

/** max_endpoints as ResolveService reads it. */
export function maxEndpoints(value: unknown): number {
  if (value == null) return DEFAULT_MAX_ENDPOINTS;
  const n = Number(value);
  if (!Number.isFinite(n)) throw invalidArgument(`max_endpoints: ${String(value)} is not a number.`);
  if (n < 1) return DEFAULT_MAX_ENDPOINTS;
  return Math.min(Math.floor(n), MAX_ENDPOINTS);
}

export class EndpointLookup {
  // The EKM client resolves the same service with the same filter on every
  // call: the checked name and the compiled filter are kept (both are pure
  // functions of the two strings; a bad one throws and is not kept).
  readonly #queries = new Map<string, { service: string; filter: DirectoryFilter; checked: CheckedFilter | undefined }>();
  // The store answers the same frozen page while a service's endpoints are
  // unchanged: its resolution is made once per page, and is the same array
  // each time (the EKM client keys its connection routes on it).
  readonly #resolved = new WeakMap<readonly EndpointRecord[], readonly ResolvedEndpoint[]>();

  constructor(private readonly store: DirectoryStore) {}

  /** The service record; NOT_FOUND when there is none. */
  async service(name: string): Promise<ServiceRecord> {
    const record = await this.store.getService(name);
    if (!record) throw notFound(`Service ${name} not found.`);
    return record;
  }

  /** The service's endpoints that `filter` selects, ordered by name, at most `limit`. */
  async matching(service: string, filter: DirectoryFilter, limit: number, checked = checkedFilter(filter)): Promise<EndpointRecord[]> {
    if (filter.match === 'none') return [];
    const page = await this.store.listEndpoints({ parent: service, filter: checked, order: BY_NAME, pageSize: limit });
    return page.items;
  }

  /**
   * The endpoints of the service `name` that `endpointFilter` selects, ordered
   * by name: what ResolveService returns, for the EKM client. NOT_FOUND when
   * the service does not exist; INVALID_ARGUMENT naming `name` or
   * `endpoint_filter` for a bad name or filter.
   */
  resolve = async (name: string, endpointFilter: string, limit: number = MAX_ENDPOINTS): Promise<readonly ResolvedEndpoint[]> => {
    const { service, filter, checked } = this.#query(name, endpointFilter);
    await this.service(service);
    const endpoints = await this.matching(service, filter, maxEndpoints(limit), checked);
    let resolved = this.#resolved.get(endpoints);
    if (!resolved) {
      resolved = Object.freeze(endpoints.map((e) => Object.freeze({ name: e.name, address: e.address, port: e.port, annotations: Object.freeze({ ...e.annotations }) })));
      this.#resolved.set(endpoints, resolved);
    }
    return resolved;
  };

  #query(name: string, endpointFilter: string): { service: string; filter: DirectoryFilter; checked: CheckedFilter | undefined } {
    const key = `${name}\n${endpointFilter}`;
    let query = this.#queries.get(key);
    if (!query) {
      const filter = directoryFilter(endpointFilter, ENDPOINT_FILTER_FIELDS, 'endpoint_filter');
      query = { service: serviceName(parseServiceName(name, 'name')), filter, checked: checkedFilter(filter) };
      if (this.#queries.size >= 1024) this.#queries.clear();
      this.#queries.set(key, query);
    }
    return query;
  }
}
