// Reflection: what the proto3 JSON mapping needs of each protobufjs type and
// field, computed once per type and cached; and field-name spelling.
import * as protobuf from 'protobufjs';
import { protoRoot } from '../../proto/registry';

// Order matters: the scalars come first and ENUM is the last of them (parse.ts relies on it).
export enum Kind {
  DOUBLE,
  FLOAT,
  INT32,
  UINT32,
  INT64,
  UINT64,
  BOOL,
  STRING,
  BYTES,
  ENUM,
  MESSAGE,
  TIMESTAMP,
  DURATION,
  FIELD_MASK,
  WRAPPER,
  STRUCT,
  VALUE,
  LIST_VALUE,
  ANY,
}

/** What a value of some type is: enough to convert it either way. */
export interface Spec {
  readonly kind: Kind;
  /** How Google's errors name the type: TYPE_INT32 or type.googleapis.com/full.Name. */
  readonly label: string;
  readonly msgType?: protobuf.Type;
  /** Wrappers: the wrapped scalar. */
  readonly inner?: Spec;
  /** Enums: name → number and number → name. */
  readonly byName?: ReadonlyMap<string, number>;
  readonly byNumber?: ReadonlyMap<number, string>;
}

export interface FieldInfo {
  /** lowerCamelCase: the protobufjs name, the internal key and the JSON name. */
  readonly name: string;
  readonly snake: string;
  readonly spec: Spec;
  readonly repeated: boolean;
  readonly map: boolean;
  readonly keySpec: Spec | undefined;
  /** Singular scalar without explicit presence: its default value means absent. */
  readonly implicit: boolean;
  /** snake_case name of a oneof with two or more members, if the field is in one. */
  readonly oneof: string | undefined;
}

export interface TypeInfo {
  readonly spec: Spec;
  readonly fields: readonly FieldInfo[];
  /** Fields by camelCase and by snake_case name. */
  readonly byName: ReadonlyMap<string, FieldInfo>;
}

export function scalar(kind: Kind, protoType: string): Spec {
  return { kind, label: `TYPE_${protoType.toUpperCase()}` };
}

export const SCALARS: ReadonlyMap<string, Spec> = new Map([
  ['double', scalar(Kind.DOUBLE, 'double')],
  ['float', scalar(Kind.FLOAT, 'float')],
  ['int32', scalar(Kind.INT32, 'int32')],
  ['sint32', scalar(Kind.INT32, 'sint32')],
  ['sfixed32', scalar(Kind.INT32, 'sfixed32')],
  ['uint32', scalar(Kind.UINT32, 'uint32')],
  ['fixed32', scalar(Kind.UINT32, 'fixed32')],
  ['int64', scalar(Kind.INT64, 'int64')],
  ['sint64', scalar(Kind.INT64, 'sint64')],
  ['sfixed64', scalar(Kind.INT64, 'sfixed64')],
  ['uint64', scalar(Kind.UINT64, 'uint64')],
  ['fixed64', scalar(Kind.UINT64, 'fixed64')],
  ['bool', scalar(Kind.BOOL, 'bool')],
  ['string', scalar(Kind.STRING, 'string')],
  ['bytes', scalar(Kind.BYTES, 'bytes')],
]);

export const WKT_KINDS: ReadonlyMap<string, Kind> = new Map([
  ['google.protobuf.Timestamp', Kind.TIMESTAMP],
  ['google.protobuf.Duration', Kind.DURATION],
  ['google.protobuf.FieldMask', Kind.FIELD_MASK],
  ['google.protobuf.DoubleValue', Kind.WRAPPER],
  ['google.protobuf.FloatValue', Kind.WRAPPER],
  ['google.protobuf.Int64Value', Kind.WRAPPER],
  ['google.protobuf.UInt64Value', Kind.WRAPPER],
  ['google.protobuf.Int32Value', Kind.WRAPPER],
  ['google.protobuf.UInt32Value', Kind.WRAPPER],
  ['google.protobuf.BoolValue', Kind.WRAPPER],
  ['google.protobuf.StringValue', Kind.WRAPPER],
  ['google.protobuf.BytesValue', Kind.WRAPPER],
  ['google.protobuf.Struct', Kind.STRUCT],
  ['google.protobuf.Value', Kind.VALUE],
  ['google.protobuf.ListValue', Kind.LIST_VALUE],
  ['google.protobuf.Any', Kind.ANY],
]);

export const EMPTY_TYPE = 'google.protobuf.Empty';

/** ".a.b.C" → "a.b.C" */
export function fullName(obj: protobuf.ReflectionObject): string {
  return obj.fullName.startsWith('.') ? obj.fullName.slice(1) : obj.fullName;
}

export const typeSpecs = new WeakMap<protobuf.Type, Spec>();
export const enumSpecs = new WeakMap<protobuf.Enum, Spec>();
export const typeInfos = new WeakMap<protobuf.Type, TypeInfo>();

export function typeSpec(type: protobuf.Type): Spec {
  let spec = typeSpecs.get(type);
  if (spec !== undefined) return spec;
  const name = fullName(type);
  let kind = WKT_KINDS.get(name) ?? Kind.MESSAGE;
  let inner: Spec | undefined;
  if (kind === Kind.WRAPPER) {
    const valueField = type.fields.value as protobuf.Field | undefined;
    inner = valueField === undefined ? undefined : SCALARS.get(valueField.type);
    if (inner === undefined) kind = Kind.MESSAGE;
  }
  spec = { kind, label: `type.googleapis.com/${name}`, msgType: type, inner };
  typeSpecs.set(type, spec);
  return spec;
}

export function enumSpec(type: protobuf.Enum): Spec {
  let spec = enumSpecs.get(type);
  if (spec !== undefined) return spec;
  const byName = new Map<string, number>();
  const byNumber = new Map<number, string>();
  for (const name of Object.keys(type.values)) {
    const n = type.values[name];
    byName.set(name, n);
    if (!byNumber.has(n)) byNumber.set(n, name); // aliases: the first name wins
  }
  spec = { kind: Kind.ENUM, label: `type.googleapis.com/${fullName(type)}`, byName, byNumber };
  enumSpecs.set(type, spec);
  return spec;
}

export function fieldSpec(field: protobuf.Field): Spec {
  const resolved = field.resolve().resolvedType;
  if (resolved instanceof protobuf.Enum) return enumSpec(resolved);
  if (resolved instanceof protobuf.Type) return typeSpec(resolved);
  const spec = SCALARS.get(field.type);
  if (spec === undefined) throw new Error(`json: unresolved type ${field.type} of ${field.fullName}`);
  return spec;
}

export function typeInfo(type: protobuf.Type): TypeInfo {
  let info = typeInfos.get(type);
  if (info !== undefined) return info;
  const fields: FieldInfo[] = [];
  const byName = new Map<string, FieldInfo>();
  for (const field of type.fieldsArray) {
    const spec = fieldSpec(field);
    const isMap = field.map;
    const repeated = !isMap && field.repeated;
    const oneof = field.partOf;
    const f: FieldInfo = {
      name: field.name,
      snake: snakeCase(field.name),
      spec,
      repeated,
      map: isMap,
      keySpec: isMap ? SCALARS.get((field as unknown as protobuf.MapField).keyType) : undefined,
      implicit: !isMap && !repeated && oneof === null && spec.kind <= Kind.ENUM,
      oneof: oneof !== null && oneof.fieldsArray.length > 1 ? snakeCase(oneof.name) : undefined,
    };
    fields.push(f);
    byName.set(f.name, f);
    byName.set(f.snake, f);
  }
  info = { spec: typeSpec(type), fields, byName };
  typeInfos.set(type, info);
  return info;
}

export function infoOf(spec: Spec): TypeInfo {
  return typeInfo(spec.msgType as protobuf.Type);
}

// Types named by Any: found ones cached per root (unknown names are not cached,
// they come from clients).
export const anyTypes = new WeakMap<protobuf.Root, Map<string, protobuf.Type>>();

export function lookupAnyType(url: string, anyType: protobuf.Type | undefined): protobuf.Type | undefined {
  const slash = url.lastIndexOf('/');
  const name = url.slice(slash + 1);
  if (slash < 0 || name === '') return undefined;
  const roots = anyType === undefined || anyType.root === protoRoot() ? [protoRoot()] : [anyType.root, protoRoot()];
  for (const root of roots) {
    let cache = anyTypes.get(root);
    const hit = cache?.get(name);
    if (hit !== undefined) return hit;
    let found: protobuf.ReflectionObject | null = null;
    try {
      found = root.lookup(`.${name}`);
    } catch {
      found = null;
    }
    if (found instanceof protobuf.Type) {
      if (cache === undefined) {
        cache = new Map();
        anyTypes.set(root, cache);
      }
      cache.set(name, found);
      return found;
    }
  }
  return undefined;
}


/** lowerCamelCase → snake_case: '_' and the lower case letter for each upper case one. */
export function snakeCase(camel: string): string {
  let out = '';
  let start = 0;
  for (let i = 0; i < camel.length; i++) {
    const c = camel.charCodeAt(i);
    if (c >= 65 && c <= 90) {
      out += `${camel.slice(start, i)}_${String.fromCharCode(c + 32)}`;
      start = i + 1;
    }
  }
  return start === 0 ? camel : out + camel.slice(start);
}

/** snake_case → lowerCamelCase ('_' before a lower case letter becomes its upper case), the inverse of snakeCase. */
export function camelCase(snake: string): string {
  let out = '';
  let start = 0;
  for (let i = 0; i < snake.length - 1; i++) {
    if (snake.charCodeAt(i) !== 95) continue;
    const c = snake.charCodeAt(i + 1);
    if (c >= 97 && c <= 122) {
      out += snake.slice(start, i) + String.fromCharCode(c - 32);
      start = i + 2;
      i++;
    }
  }
  return start === 0 ? snake : out + snake.slice(start);
}

/** A JSON object (not null, not an array). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function setKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}
