// Resource names of Service Directory, parsed and checked where requests
// enter. Ids are RFC 1035 labels: a lowercase letter, then up to 62 lowercase
// letters, digits or dashes, not ending with a dash. Service Directory is
// regional: `global` and multi-regions are not Service Directory locations.
import { invalidArgument } from '../../errors';
import { locationKind } from '../locations';
import { parseLocation } from '../names';

const RFC1035 = /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/;

export interface DirectoryLocation { project: string; location: string }
export interface NamespaceName extends DirectoryLocation { namespace: string }
export interface ServiceName extends NamespaceName { service: string }
export interface EndpointName extends ServiceName { endpoint: string }

const clip = (s: string): string => (s.length > 200 ? `${s.slice(0, 200)}...` : s);

function required(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') throw invalidArgument(`${field}: required field is empty.`);
  return value;
}

/** The ids of a name of the form collection/id/collection/id…, in order. */
function ids(value: unknown, field: string, collections: readonly string[]): string[] {
  const text = required(value, field);
  const parts = text.split('/');
  const ok = parts.length === collections.length * 2 && collections.every((c, i) => parts[2 * i] === c);
  if (!ok) {
    const shape = collections.map((c) => `${c}/*`).join('/');
    throw invalidArgument(`${field}: '${clip(text)}' is not a resource name of the form ${shape}.`);
  }
  return parts.filter((_, i) => i % 2 === 1);
}

/** Throws INVALID_ARGUMENT unless `id` is an RFC 1035 label (what every Service Directory id must be). */
export function checkDirectoryId(value: unknown, field: string): string {
  const id = required(value, field);
  if (!RFC1035.test(id)) {
    throw invalidArgument(
      `${field}: '${clip(id)}' must be 1-63 characters matching [a-z](?:[-a-z0-9]{0,61}[a-z0-9])? (RFC 1035).`,
    );
  }
  return id;
}

function checkLocation(project: string, location: string, field: string): DirectoryLocation {
  // Project and location syntax as Cloud KMS checks them (src/services/names.ts).
  parseLocation(`projects/${project}/locations/${location}`, field);
  if (locationKind(location) !== 'region') {
    throw invalidArgument(`${field}: '${clip(location)}' is not a Service Directory location (Service Directory is regional, e.g. us-east1).`);
  }
  return { project, location };
}

export function parseDirectoryLocation(value: unknown, field: string): DirectoryLocation {
  const [project, location] = ids(value, field, ['projects', 'locations']);
  return checkLocation(project, location, field);
}

export function parseNamespaceName(value: unknown, field: string): NamespaceName {
  const [project, location, namespace] = ids(value, field, ['projects', 'locations', 'namespaces']);
  return { ...checkLocation(project, location, field), namespace: checkDirectoryId(namespace, field) };
}

export function parseServiceName(value: unknown, field: string): ServiceName {
  const [project, location, namespace, service] = ids(value, field, ['projects', 'locations', 'namespaces', 'services']);
  return {
    ...checkLocation(project, location, field),
    namespace: checkDirectoryId(namespace, field),
    service: checkDirectoryId(service, field),
  };
}

export function parseEndpointName(value: unknown, field: string): EndpointName {
  const [project, location, namespace, service, endpoint] = ids(value, field, [
    'projects', 'locations', 'namespaces', 'services', 'endpoints',
  ]);
  return {
    ...checkLocation(project, location, field),
    namespace: checkDirectoryId(namespace, field),
    service: checkDirectoryId(service, field),
    endpoint: checkDirectoryId(endpoint, field),
  };
}

export const directoryLocationName = (n: DirectoryLocation): string => `projects/${n.project}/locations/${n.location}`;
export const namespaceName = (n: NamespaceName): string => `${directoryLocationName(n)}/namespaces/${n.namespace}`;
export const serviceName = (n: ServiceName): string => `${namespaceName(n)}/services/${n.service}`;
export const endpointName = (n: EndpointName): string => `${serviceName(n)}/endpoints/${n.endpoint}`;
