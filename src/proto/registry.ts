// Wire types come from the official googleapis protos shipped in the
// @google-cloud/kms, @google-cloud/service-directory and google-gax packages:
// loaded at start, never copied.
// Everything inside the server handles messages as plain objects in one shape,
// the shape protobufjs' toObject gives with OBJECT_OPTIONS below: lowerCamelCase
// names, enums as their names, int64 as decimal strings, bytes as Buffers,
// Timestamp/Duration as {seconds, nanos}, absent fields undefined.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as protobuf from 'protobufjs';

const PROTO_FILES = [
  'google/cloud/kms/v1/service.proto',
  'google/cloud/kms/v1/ekm_service.proto',
  'google/cloud/kms/v1/autokey.proto',
  'google/cloud/kms/v1/autokey_admin.proto',
  'google/cloud/kms/v1/hsm_management.proto',
  'google/longrunning/operations.proto',
  'google/cloud/location/locations.proto',
  'google/iam/v1/iam_policy.proto',
  'google/cloud/servicedirectory/v1/registration_service.proto',
  'google/cloud/servicedirectory/v1/lookup_service.proto',
  'google/rpc/status.proto',
  'google/rpc/error_details.proto',
];

export const OBJECT_OPTIONS: protobuf.IConversionOptions = {
  longs: String,
  enums: String,
  defaults: false,
  oneofs: false,
};

/** A plain message object (see the header comment for its shape). */
export type Msg = Record<string, unknown>;

// The packages' "exports" hide package.json, so find each root from its entry point.
function packageRoot(name: string, from?: string): string {
  let dir = path.dirname(require.resolve(name, from ? { paths: [from] } : undefined));
  while (!fs.existsSync(path.join(dir, 'package.json')) || !dir.endsWith(path.join('node_modules', name))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the package root of ${name}`);
    dir = up;
  }
  return dir;
}

function includeDirs(): string[] {
  const kms = packageRoot('@google-cloud/kms');
  const gax = packageRoot('google-gax', kms);
  const directory = packageRoot('@google-cloud/service-directory');
  return [path.join(kms, 'build', 'protos'), path.join(gax, 'build', 'protos'), path.join(directory, 'build', 'protos')];
}

function loadRoot(): protobuf.Root {
  const dirs = includeDirs();
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    for (const dir of dirs) {
      const candidate = path.join(dir, target);
      if (fs.existsSync(candidate)) return candidate;
    }
    return target;
  };
  // protobufjs' synchronous loader reads files through util.fs; it reads them
  // through oneByteSource for this one load.
  const util = protobuf.util as unknown as { fs: { readFileSync(file: string): Buffer } };
  const realFs = util.fs;
  util.fs = { readFileSync: (file) => oneByteSource(realFs.readFileSync(file)) };
  try {
    root.loadSync(PROTO_FILES, { keepCase: false });
  } finally {
    util.fs = realFs;
  }
  root.resolveAll();
  return root;
}

/**
 * A .proto file's text with every character beyond ASCII replaced by '?'.
 * A few comments in the KMS protos hold characters such as U+2019 and U+03BC.
 * V8 stores a string with any of them in two bytes per character, and every
 * name protobufjs slices out of that file (field names such as
 * "ciphertextCrc32c") with it. Those names become the keys of every message
 * object; JSON.stringify then writes the whole REST answer in two bytes per
 * character, and turning it into UTF-8 costs several microseconds a request.
 * The characters stand only in comments, which nothing reads.
 */
export function oneByteSource(bytes: Buffer): Buffer {
  const text = bytes.toString('utf8');
  return /[^\x00-\x7f]/.test(text) ? Buffer.from(text.replace(/[^\x00-\x7f]/g, '?'), 'utf8') : bytes;
}

// The Root is immutable reflection data, the same for every server in the
// process, and takes ~100 ms to load: memoised like a constant, not state.
let cached: protobuf.Root | undefined;
export function protoRoot(): protobuf.Root {
  cached ??= loadRoot();
  return cached;
}

export function messageType(fullName: string): protobuf.Type {
  return protoRoot().lookupType(fullName);
}

export function service(fullName: string): protobuf.Service {
  return protoRoot().lookupService(fullName);
}

/** Decodes binary protobuf into the plain object shape. */
export function decodeMessage(type: protobuf.Type, bytes: Uint8Array): Msg {
  return type.toObject(type.decode(bytes), OBJECT_OPTIONS) as Msg;
}

/** Encodes a plain object (as services return) into binary protobuf. */
export function encodeMessage(type: protobuf.Type, obj: Msg): Buffer {
  const bytes = type.encode(type.fromObject(obj)).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Names of an enum's values, in declaration order (for filters and validation). */
export function enumNames(fullName: string): string[] {
  return Object.keys(protoRoot().lookupEnum(fullName).values);
}
