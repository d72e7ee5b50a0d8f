// Resource names of Cloud KMS, parsed and checked where requests enter the
// services. Ids follow Cloud KMS: [a-zA-Z0-9_-]{1,63}.
import { invalidArgument } from '../errors';

const ID = /^[a-zA-Z0-9_-]{1,63}$/;
/** A project segment of a resource name: an id or a number. */
export const PROJECT = /^[a-zA-Z0-9._:-]{1,128}$/;
const LOCATION = /^[a-z0-9-]{1,63}$/;

export interface LocationName { project: string; location: string }
export interface KeyRingName extends LocationName { keyRing: string }
export interface CryptoKeyName extends KeyRingName { cryptoKey: string }
export interface VersionName extends CryptoKeyName { version: number }

function required(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') throw invalidArgument(`${field}: required field is empty.`);
  return value;
}

function split(value: unknown, field: string, shape: string, pattern: readonly string[]): string[] {
  const text = required(value, field);
  const parts = text.split('/');
  const ok = parts.length === pattern.length * 2 && pattern.every((p, i) => parts[2 * i] === p);
  if (!ok) throw invalidArgument(`${field}: '${clip(text)}' is not a resource name of the form ${shape}.`);
  return parts.filter((_, i) => i % 2 === 1);
}

const clip = (s: string): string => (s.length > 200 ? `${s.slice(0, 200)}...` : s);

export function checkId(value: unknown, field: string): string {
  const id = required(value, field);
  if (!ID.test(id)) throw invalidArgument(`${field}: '${clip(id)}' must match [a-zA-Z0-9_-]{1,63}.`);
  return id;
}

function checkProjectAndLocation(project: string, location: string, field: string): void {
  if (!PROJECT.test(project)) throw invalidArgument(`${field}: invalid project '${clip(project)}'.`);
  if (!LOCATION.test(location)) throw invalidArgument(`${field}: invalid location '${clip(location)}'.`);
}

export function parseProject(value: unknown, field: string): string {
  const [project] = split(value, field, 'projects/*', ['projects']);
  if (!PROJECT.test(project)) throw invalidArgument(`${field}: invalid project '${clip(project)}'.`);
  return project;
}

export function parseLocation(value: unknown, field: string): LocationName {
  const [project, location] = split(value, field, 'projects/*/locations/*', ['projects', 'locations']);
  checkProjectAndLocation(project, location, field);
  return { project, location };
}

export function parseKeyRing(value: unknown, field: string): KeyRingName {
  const [project, location, keyRing] = split(value, field, 'projects/*/locations/*/keyRings/*', [
    'projects', 'locations', 'keyRings',
  ]);
  checkProjectAndLocation(project, location, field);
  return { project, location, keyRing: checkId(keyRing, field) };
}

// Cryptographic calls name the same few keys over and over: valid parses are
// remembered (frozen; a bounded map, emptied when full). Errors are never
// cached, so every bad name is checked and reported with its own field.
const MEMO_LIMIT = 10_000;
function memo<T extends object>(parse: (value: unknown, field: string) => T): (value: unknown, field: string) => T {
  const known = new Map<string, T>();
  return (value, field) => {
    const hit = typeof value === 'string' ? known.get(value) : undefined;
    if (hit) return hit;
    const parsed = Object.freeze(parse(value, field));
    if (known.size >= MEMO_LIMIT) known.clear();
    known.set(value as string, parsed);
    return parsed;
  };
}

export const parseCryptoKey = memo(function parseCryptoKey(value: unknown, field: string): CryptoKeyName {
  const [project, location, keyRing, cryptoKey] = split(
    value, field, 'projects/*/locations/*/keyRings/*/cryptoKeys/*',
    ['projects', 'locations', 'keyRings', 'cryptoKeys'],
  );
  checkProjectAndLocation(project, location, field);
  return { project, location, keyRing: checkId(keyRing, field), cryptoKey: checkId(cryptoKey, field) };
});

export const parseVersion = memo(function parseVersion(value: unknown, field: string): VersionName {
  const [project, location, keyRing, cryptoKey, version] = split(
    value, field, 'projects/*/locations/*/keyRings/*/cryptoKeys/*/cryptoKeyVersions/*',
    ['projects', 'locations', 'keyRings', 'cryptoKeys', 'cryptoKeyVersions'],
  );
  checkProjectAndLocation(project, location, field);
  if (!/^[1-9][0-9]{0,9}$/.test(version) || Number(version) > 0xffffffff) {
    throw invalidArgument(`${field}: invalid CryptoKeyVersion id '${clip(version)}'.`);
  }
  return {
    project, location, keyRing: checkId(keyRing, field), cryptoKey: checkId(cryptoKey, field),
    version: Number(version),
  };
});

/** A CryptoKey or a CryptoKeyVersion name (Encrypt accepts either). */
export function parseKeyOrVersion(value: unknown, field: string): CryptoKeyName | VersionName {
  const text = required(value, field);
  return text.includes('/cryptoKeyVersions/') ? parseVersion(text, field) : parseCryptoKey(text, field);
}

export const locationName = (n: LocationName): string => `projects/${n.project}/locations/${n.location}`;
export const keyRingName = (n: KeyRingName): string => `${locationName(n)}/keyRings/${n.keyRing}`;
export const cryptoKeyName = (n: CryptoKeyName): string => `${keyRingName(n)}/cryptoKeys/${n.cryptoKey}`;
export const versionName = (n: VersionName): string => `${cryptoKeyName(n)}/cryptoKeyVersions/${n.version}`;
export const isVersionName = (n: CryptoKeyName | VersionName): n is VersionName => 'version' in n;

export interface EkmConnectionName extends LocationName { ekmConnection: string }

export function parseEkmConnection(value: unknown, field: string): EkmConnectionName {
  const [project, location, ekmConnection] = split(value, field, 'projects/*/locations/*/ekmConnections/*', [
    'projects', 'locations', 'ekmConnections',
  ]);
  checkProjectAndLocation(project, location, field);
  return { project, location, ekmConnection: checkId(ekmConnection, field) };
}

/** projects/P/locations/L/ekmConfig, the singleton of a location. */
export function parseEkmConfig(value: unknown, field: string): LocationName {
  const text = required(value, field);
  const parts = text.split('/');
  if (parts.length !== 5 || parts[0] !== 'projects' || parts[2] !== 'locations' || parts[4] !== 'ekmConfig') {
    throw invalidArgument(`${field}: '${clip(text)}' is not a resource name of the form projects/*/locations/*/ekmConfig.`);
  }
  checkProjectAndLocation(parts[1], parts[3], field);
  return { project: parts[1], location: parts[3] };
}

export interface DirectoryServiceName extends LocationName { namespace: string; service: string }

/** A Service Directory service name, as a ServiceResolver names it (ids as Service Directory allows). */
export function parseDirectoryService(value: unknown, field: string): DirectoryServiceName {
  const [project, location, namespace, service] = split(
    value, field, 'projects/*/locations/*/namespaces/*/services/*', ['projects', 'locations', 'namespaces', 'services'],
  );
  checkProjectAndLocation(project, location, field);
  for (const id of [namespace, service]) {
    if (!/^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(id)) {
      throw invalidArgument(`${field}: '${clip(id)}' is not a Service Directory id (RFC 1035 label: [a-z]([-a-z0-9]*[a-z0-9])?, 1 to 63 characters).`);
    }
  }
  return { project, location, namespace, service };
}

export const ekmConnectionName = (n: EkmConnectionName): string => `${locationName(n)}/ekmConnections/${n.ekmConnection}`;

export interface ImportJobName extends KeyRingName { importJob: string }

export function parseImportJob(value: unknown, field: string): ImportJobName {
  const [project, location, keyRing, importJob] = split(value, field, 'projects/*/locations/*/keyRings/*/importJobs/*', [
    'projects', 'locations', 'keyRings', 'importJobs',
  ]);
  checkProjectAndLocation(project, location, field);
  return { project, location, keyRing: checkId(keyRing, field), importJob: checkId(importJob, field) };
}

export const importJobName = (n: ImportJobName): string => `${keyRingName(n)}/importJobs/${n.importJob}`;

/** A resource directly under a location (retiredResources, operations, keyHandles): its location and id. */
export function parseLocated(value: unknown, field: string, collection: string): LocationName & { id: string } {
  const [project, location, id] = split(value, field, `projects/*/locations/*/${collection}/*`, [
    'projects', 'locations', collection,
  ]);
  checkProjectAndLocation(project, location, field);
  return { project, location, id: checkId(id, field) };
}
