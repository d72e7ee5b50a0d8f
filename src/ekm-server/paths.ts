// Resource paths of the reference EKM (docs/ekm-protocol.md, "Transport"):
//   crypto space  v0/cryptospaces/{cryptoSpace}
//   key           v0/cryptospaces/{cryptoSpace}/keys/{key}
// The KMS treats them as opaque strings; only this EKM parses them.
import { invalidArgument } from '../errors';

/** Ids: letters, digits, '-' and '_', 1 to 63 characters (so paths stay short and URL-safe). */
const ID = /^[A-Za-z0-9_-]{1,63}$/;
const SPACE_PATH = /^v0\/cryptospaces\/([A-Za-z0-9_-]{1,63})$/;
const KEY_PATH = /^v0\/cryptospaces\/([A-Za-z0-9_-]{1,63})\/keys\/([A-Za-z0-9_-]{1,63})$/;

export interface KeyPathParts {
  cryptoSpace: string;
  keyId: string;
}

export const isValidId = (id: string): boolean => ID.test(id);

export function cryptoSpacePath(cryptoSpace: string): string {
  return `v0/cryptospaces/${cryptoSpace}`;
}

export function keyPath(cryptoSpace: string, keyId: string): string {
  return `${cryptoSpacePath(cryptoSpace)}/keys/${keyId}`;
}

/** The crypto space name in a crypto space path, or undefined if it is not one. */
export function parseCryptoSpacePath(path: string): string | undefined {
  return SPACE_PATH.exec(path)?.[1];
}

export function parseKeyPath(path: string): KeyPathParts | undefined {
  const m = KEY_PATH.exec(path);
  return m ? { cryptoSpace: m[1], keyId: m[2] } : undefined;
}

/** A crypto space given as a bare name or as its path (operator input). */
export function cryptoSpaceName(nameOrPath: string, field = 'cryptoSpace'): string {
  const name = parseCryptoSpacePath(nameOrPath) ?? nameOrPath;
  if (!isValidId(name)) {
    throw invalidArgument(`${field} must be a name of 1 to 63 letters, digits, '-' or '_' (or its path v0/cryptospaces/NAME).`);
  }
  return name;
}

/** Validates a key path given by an operator. */
export function requireKeyPath(path: string, field = 'keyPath'): KeyPathParts {
  const parts = parseKeyPath(path);
  if (!parts) throw invalidArgument(`${field} must have the form v0/cryptospaces/SPACE/keys/KEY.`);
  return parts;
}
