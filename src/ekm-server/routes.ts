// The EKM's route table (docs/ekm-protocol.md): GET /healthz, GET /info and
// its well-known alias, and POST /{path}:{operation} for the operations of a
// key path or crypto space path. A known path with another method is 405; any
// other path is 404. Paths are matched as sent (no percent-decoding): key
// paths only use characters that need no escaping.
import { Code, KmsError } from '../errors';
import {
  CRYPTO_SPACE_OPERATIONS, HEALTH_PATH, INFO_PATH, KEY_OPERATIONS, WELL_KNOWN_PATH,
  type CryptoSpaceOperation, type KeyOperation,
} from '../protocol/ekm';
import { HttpFault } from './errors';
import { parseCryptoSpacePath, parseKeyPath } from './paths';

export type Route =
  | { kind: 'health' }
  | { kind: 'info' }
  | { kind: 'key'; operation: KeyOperation; target: string }
  | { kind: 'cryptoSpace'; operation: CryptoSpaceOperation; target: string };

const GET_PATHS: ReadonlyMap<string, Route> = new Map<string, Route>([
  [HEALTH_PATH, { kind: 'health' }],
  [INFO_PATH, { kind: 'info' }],
  [WELL_KNOWN_PATH, { kind: 'info' }],
  [WELL_KNOWN_PATH.slice(0, -1), { kind: 'info' }],
]);

const notFound = (message: string) => new HttpFault(404, new KmsError(Code.NOT_FOUND, message), message);

function methodNotAllowed(method: string, allowed: string): HttpFault {
  return new HttpFault(405, undefined, `Method ${method.slice(0, 20)} is not allowed here; use ${allowed}.`, { allow: allowed });
}

function operationRoute(path: string): Route | undefined {
  const colon = path.lastIndexOf(':');
  if (colon < 2) return undefined;
  const target = path.slice(1, colon);
  const operation = path.slice(colon + 1);
  if ((KEY_OPERATIONS as readonly string[]).includes(operation)) {
    return parseKeyPath(target) ? { kind: 'key', operation: operation as KeyOperation, target } : undefined;
  }
  if ((CRYPTO_SPACE_OPERATIONS as readonly string[]).includes(operation)) {
    return parseCryptoSpacePath(target) ? { kind: 'cryptoSpace', operation: operation as CryptoSpaceOperation, target } : undefined;
  }
  return undefined;
}

/** The route of a request; throws HttpFault 404 or 405. */
export function resolveRoute(method: string, url: string): Route {
  const query = url.indexOf('?');
  const path = query < 0 ? url : url.slice(0, query);
  const get = GET_PATHS.get(path);
  if (get) {
    if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed(method, 'GET');
    return get;
  }
  const route = operationRoute(path);
  if (!route) throw notFound(`Nothing is served at ${path.slice(0, 200)}: no such key, crypto space or operation.`);
  if (method !== 'POST') throw methodNotAllowed(method, 'POST');
  return route;
}

/** The target and operation of a route, for the audit log. */
export function describeRoute(route: Route): { operation: string; keyPath: string | null } {
  if (route.kind === 'key' || route.kind === 'cryptoSpace') return { operation: route.operation, keyPath: route.target };
  return { operation: route.kind, keyPath: null };
}
