// The field rules Service Directory documents for its resources
// (google/cloud/servicedirectory/v1/*.proto comments, cloud.google.com/service-directory):
// - namespace labels: at most 64, keys and values at most 63 characters (GCP label syntax);
// - annotations: keys `[prefix/]name`, name 1-63 characters, alphanumeric at
//   both ends with '-', '_', '.' between, prefix a DNS subdomain of at most 253
//   characters; the whole map at most 2000 characters for services, 512 for endpoints;
// - endpoint address: an IPv4 or IPv6 address (no brackets, no port), at most 45 characters, or empty;
// - endpoint port: 0-65535;
// - endpoint network: projects/<project number>/locations/global/networks/<name>.
import { isIP } from 'node:net';
import { invalidArgument } from '../../errors';
import { checkLabels } from '../key-rules';

export const SERVICE_ANNOTATIONS_LIMIT = 2000;
export const ENDPOINT_ANNOTATIONS_LIMIT = 512;
const ADDRESS_LIMIT = 45;

const ANNOTATION_NAME = /^[A-Za-z0-9](?:[-_.A-Za-z0-9]{0,61}[A-Za-z0-9])?$/;
const DNS_LABEL = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const NETWORK = /^projects\/[0-9]{1,20}\/locations\/global\/networks\/[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/;

const clip = (s: string): string => (s.length > 80 ? `${s.slice(0, 80)}...` : s);
const chars = (s: string): number => [...s].length;

/** Namespace labels: the GCP label rules (the same as Cloud KMS applies to CryptoKey labels). */
export function checkNamespaceLabels(labels: unknown, field: string): Record<string, string> {
  return checkLabels(labels, field);
}

function isDnsSubdomain(prefix: string): boolean {
  return prefix.length <= 253 && prefix.split('.').every((label) => DNS_LABEL.test(label));
}

function checkAnnotationKey(key: string, field: string): void {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && !isDnsSubdomain(prefix)) {
    throw invalidArgument(`${field}: the prefix of key '${clip(key)}' must be a DNS subdomain of at most 253 characters.`);
  }
  if (!ANNOTATION_NAME.test(name)) {
    throw invalidArgument(
      `${field}: key '${clip(key)}' must be [prefix/]name, name 1-63 characters beginning and ending with [a-zA-Z0-9], with '-', '_', '.' between.`,
    );
  }
}

/** Annotations of a service (limit 2000) or an endpoint (limit 512): total size and key syntax. */
export function checkAnnotations(annotations: unknown, limit: number, field: string): Record<string, string> {
  const entries = Object.entries((annotations ?? {}) as Record<string, unknown>);
  let size = 0;
  for (const [key, value] of entries) {
    if (typeof value !== 'string') throw invalidArgument(`${field}: the value of '${clip(key)}' must be a string.`);
    checkAnnotationKey(key, field);
    size += chars(key) + chars(value);
  }
  if (size > limit) {
    throw invalidArgument(`${field}: annotations hold ${size} characters (keys and values); at most ${limit} are allowed.`);
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

export function checkAddress(address: unknown, field: string): string {
  if (address == null || address === '') return '';
  if (typeof address !== 'string') throw invalidArgument(`${field}: must be a string.`);
  if (address.length > ADDRESS_LIMIT) throw invalidArgument(`${field}: longer than ${ADDRESS_LIMIT} characters.`);
  if (isIP(address) === 0) {
    throw invalidArgument(`${field}: '${clip(address)}' is not an IPv4 or IPv6 address (no brackets, no port).`);
  }
  return address;
}

export function checkPort(port: unknown, field: string): number {
  if (port == null) return 0;
  const n = Number(port);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw invalidArgument(`${field}: ${String(port)} is outside [0, 65535].`);
  return n;
}

export function checkNetwork(network: unknown, field: string): string {
  if (network == null || network === '') return '';
  if (typeof network !== 'string' || !NETWORK.test(network)) {
    throw invalidArgument(
      `${field}: '${clip(String(network))}' is not of the form projects/<project number>/locations/global/networks/<network>.`,
    );
  }
  return network;
}
