// google.cloud.location.Locations over the catalogue of Cloud KMS location
// ids. EXTERNAL keys exist everywhere except `global` and `nam-eur-asia1`;
// EXTERNAL_VPC (EKM connections) only in regions.
// https://cloud.google.com/kms/docs/locations
import { invalidArgument, notFound } from '../errors';
import { parseFilter } from '../list/filter';
import { matchesFilter } from '../list/query';
import { listScope, pageSize } from '../list/page-token';
import type { GetLocationRequest, ListLocationsRequest, ListLocationsResponse, Location } from '../proto/wire';
import type { ServiceContext } from './context';
import { parseLocation, parseProject } from './names';

export type LocationKind = 'region' | 'multi-region' | 'global';

const REGIONS = [
  'africa-south1', 'asia-east1', 'asia-east2', 'asia-northeast1', 'asia-northeast2', 'asia-northeast3',
  'asia-south1', 'asia-south2', 'asia-southeast1', 'asia-southeast2', 'australia-southeast1',
  'australia-southeast2', 'europe-central2', 'europe-north1', 'europe-north2', 'europe-southwest1',
  'europe-west1', 'europe-west10', 'europe-west12', 'europe-west2', 'europe-west3', 'europe-west4',
  'europe-west6', 'europe-west8', 'europe-west9', 'me-central1', 'me-central2', 'me-west1',
  'northamerica-northeast1', 'northamerica-northeast2', 'northamerica-south1', 'southamerica-east1',
  'southamerica-west1', 'us-central1', 'us-east1', 'us-east4', 'us-east5', 'us-south1', 'us-west1',
  'us-west2', 'us-west3', 'us-west4',
];
// Multi-regions and dual-regions of Cloud KMS.
const MULTI_REGIONS = ['asia', 'europe', 'us', 'asia1', 'eur3', 'eur4', 'eur5', 'nam3', 'nam4', 'nam6', 'nam-eur-asia1'];
const NO_EXTERNAL = new Set(['global', 'nam-eur-asia1']);

const DISPLAY: Record<string, string> = {
  global: 'Global', us: 'United States', europe: 'Europe', asia: 'Asia', 'nam-eur-asia1': 'Global (multi-continent)',
};

export function locationKind(id: string): LocationKind | undefined {
  if (id === 'global') return 'global';
  if (MULTI_REGIONS.includes(id)) return 'multi-region';
  return REGIONS.includes(id) ? 'region' : undefined;
}

export const ekmAvailable = (id: string): boolean => locationKind(id) !== undefined && !NO_EXTERNAL.has(id);

const CATALOGUE = ['global', ...MULTI_REGIONS, ...REGIONS].sort();

function location(project: string, id: string): Location {
  return {
    name: `projects/${project}/locations/${id}`,
    locationId: id,
    displayName: DISPLAY[id] ?? id,
    labels: { 'cloud.googleapis.com/location': id },
    // An Any in protobufjs' object form: '@type' plus the message's fields.
    metadata: {
      '@type': 'type.googleapis.com/google.cloud.kms.v1.LocationMetadata',
      hsmAvailable: true,
      ekmAvailable: ekmAvailable(id),
    },
  };
}

/** Throws INVALID_ARGUMENT unless `id` is a Cloud KMS location. */
export function checkKnownLocation(id: string, field: string): void {
  if (!locationKind(id)) throw invalidArgument(`${field}: '${id}' is not a Cloud KMS location.`);
}

export class LocationsService {
  constructor(private readonly ctx: ServiceContext) {}

  async getLocation(req: GetLocationRequest): Promise<Location> {
    const name = parseLocation(req.name, 'name');
    if (!locationKind(name.location)) throw notFound(`Location projects/${name.project}/locations/${name.location} not found.`);
    return location(name.project, name.location);
  }

  async listLocations(req: ListLocationsRequest): Promise<ListLocationsResponse> {
    const project = parseProject(req.name, 'name');
    const filter = parseFilter(req.filter ?? '');
    const scope = listScope('ListLocations', project, req.filter ?? undefined, undefined);
    const size = pageSize(req.pageSize ?? undefined);
    const start = req.pageToken ? Number(this.ctx.pageTokens.decode(req.pageToken, scope)[0]) : 0;
    const matching = CATALOGUE.map((id) => location(project, id)).filter((loc) =>
      matchesFilter(
        filter,
        (field) => (field === 'name' || field === 'location_id' || field === 'display_name'
          ? String(loc[field === 'name' ? 'name' : field === 'location_id' ? 'locationId' : 'displayName'])
          : undefined),
        (map, key) => (map === 'labels' ? loc.labels?.[key] : undefined),
      ),
    );
    const page = matching.slice(start, start + size);
    const more = start + size < matching.length;
    return { locations: page, nextPageToken: more ? this.ctx.pageTokens.encode(scope, [start + size]) : undefined };
  }
}
