// The proto3 JSON mapping (https://protobuf.dev/programming-guides/json/)
// between JSON values and the internal message shape (see proto/registry.ts),
// driven by protobufjs reflection. Used by the REST transport for request
// bodies (fromJson), query parameters (setQueryParameter) and responses
// (toJson).
//
// Parsing mirrors what a binary decode gives: fields without explicit presence
// that hold their proto3 default ('' / 0 / false / empty bytes / enum 0 / empty
// list or map) are left absent, so a request reads the same whether it came
// over gRPC or REST. Error messages follow the wording of Google's front ends
// ("Invalid value at 'crypto_key.purpose' (...), "NOPE"").
//
// Every per-type fact (field lookup by either name, kinds, presence, oneofs) is
// computed once per protobufjs Type and cached in WeakMaps: this runs on every
// REST request.
import * as protobuf from 'protobufjs';
import { decodeBase64 } from '../base64';
import { invalidArgument, KmsError } from '../errors';
import { Msg, OBJECT_OPTIONS, protoRoot } from '../proto/registry';

// ---------------------------------------------------------------------------
// Reflection cache

enum Kind {
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
interface Spec {
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

interface FieldInfo {
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

interface TypeInfo {
  readonly spec: Spec;
  readonly fields: readonly FieldInfo[];
  /** Fields by camelCase and by snake_case name. */
  readonly byName: ReadonlyMap<string, FieldInfo>;
}

function scalar(kind: Kind, protoType: string): Spec {
  return { kind, label: `TYPE_${protoType.toUpperCase()}` };
}

const SCALARS: ReadonlyMap<string, Spec> = new Map([
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

const WKT_KINDS: ReadonlyMap<string, Kind> = new Map([
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

const EMPTY_TYPE = 'google.protobuf.Empty';

/** ".a.b.C" → "a.b.C" */
function fullName(obj: protobuf.ReflectionObject): string {
  return obj.fullName.startsWith('.') ? obj.fullName.slice(1) : obj.fullName;
}

const typeSpecs = new WeakMap<protobuf.Type, Spec>();
const enumSpecs = new WeakMap<protobuf.Enum, Spec>();
const typeInfos = new WeakMap<protobuf.Type, TypeInfo>();

function typeSpec(type: protobuf.Type): Spec {
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

function enumSpec(type: protobuf.Enum): Spec {
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

function fieldSpec(field: protobuf.Field): Spec {
  const resolved = field.resolve().resolvedType;
  if (resolved instanceof protobuf.Enum) return enumSpec(resolved);
  if (resolved instanceof protobuf.Type) return typeSpec(resolved);
  const spec = SCALARS.get(field.type);
  if (spec === undefined) throw new Error(`json: unresolved type ${field.type} of ${field.fullName}`);
  return spec;
}

function typeInfo(type: protobuf.Type): TypeInfo {
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

function infoOf(spec: Spec): TypeInfo {
  return typeInfo(spec.msgType as protobuf.Type);
}

// Types named by Any: found ones cached per root (unknown names are not cached,
// they come from clients).
const anyTypes = new WeakMap<protobuf.Root, Map<string, protobuf.Type>>();

function lookupAnyType(url: string, anyType: protobuf.Type | undefined): protobuf.Type | undefined {
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

// ---------------------------------------------------------------------------
// Names

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
function camelCase(snake: string): string {
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

// ---------------------------------------------------------------------------
// Errors

const PAYLOAD = 'Invalid JSON payload received.';

function at(path: string): string {
  return path === '' ? '' : ` at '${path}'`;
}

function showValue(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 100 ? `${s.slice(0, 100)}...` : s;
}

function invalidValue(path: string, spec: Spec, v: unknown): KmsError {
  const detail = isObject(v) && spec.kind !== Kind.MESSAGE && spec.kind !== Kind.ANY && spec.kind !== Kind.STRUCT
    ? 'Starting an object on a scalar field'
    : showValue(v);
  return invalidArgument(`Invalid value at '${path}' (${spec.label}), ${detail}`);
}

function invalidDetail(path: string, spec: Spec, jsonName: string, detail: string): KmsError {
  return invalidArgument(`Invalid value at '${path}' (${spec.label}), Field '${jsonName}', ${detail}`);
}

function unknownName(name: string, path: string, detail: string): KmsError {
  return invalidArgument(`${PAYLOAD} Unknown name ${JSON.stringify(name)}${at(path)}: ${detail}`);
}

// ---------------------------------------------------------------------------
// JSON → internal

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses a JSON value (already JSON.parse'd) for a message type into the internal shape. */
export function fromJson(type: protobuf.Type, json: unknown, path = ''): Msg {
  const info = typeInfo(type);
  if (!isObject(json)) {
    if (path !== '') throw invalidValue(path, info.spec, json);
    throw invalidArgument(`${PAYLOAD} Expected a JSON object for ${fullName(type)}, got ${showValue(json)}.`);
  }
  if (info.spec.kind === Kind.MESSAGE) return parseFields(info, json, path, {}, false);
  return parseValue(info.spec, json, path, '') as Msg;
}

function parseFields(info: TypeInfo, json: Record<string, unknown>, path: string, out: Msg, inAny: boolean): Msg {
  let oneofs: Map<string, string> | undefined;
  for (const key of Object.keys(json)) {
    const f = info.byName.get(key);
    if (f === undefined) {
      if (inAny && key === '@type') continue;
      throw unknownName(key, path, 'Cannot find field.');
    }
    if (key !== f.name && Object.hasOwn(json, f.name)) {
      throw invalidArgument(`${PAYLOAD} Duplicate name ${JSON.stringify(key)}${at(path)}: field '${f.name}' is already set.`);
    }
    const v = json[key];
    if (v === null) continue;
    if (f.oneof !== undefined) {
      oneofs ??= new Map();
      const other = oneofs.get(f.oneof);
      if (other !== undefined) {
        throw unknownName(key, path, `oneof field '${f.oneof}' is already set by '${other}'. Cannot set '${key}'.`);
      }
      oneofs.set(f.oneof, key);
    }
    const fieldPath = path === '' ? f.snake : `${path}.${f.snake}`;
    if (f.map) {
      if (!isObject(v)) throw unknownName(key, path, 'Proto field is a map, expected a JSON object.');
      const m = parseMap(f, v, fieldPath);
      if (m !== undefined) out[f.name] = m;
    } else if (f.repeated) {
      if (!Array.isArray(v)) throw unknownName(key, path, 'Proto field is repeated, expected a JSON array.');
      if (v.length === 0) continue;
      const list = new Array<unknown>(v.length);
      for (let i = 0; i < v.length; i++) {
        const item: unknown = v[i];
        const itemPath = `${fieldPath}[${i}]`;
        if (item === null) throw invalidValue(itemPath, f.spec, item);
        list[i] = parseValue(f.spec, item, itemPath, f.name);
      }
      out[f.name] = list;
    } else {
      if (Array.isArray(v) && f.spec.kind !== Kind.VALUE && f.spec.kind !== Kind.LIST_VALUE) {
        throw unknownName(key, path, 'Proto field is not repeating, cannot start list.');
      }
      const r = parseValue(f.spec, v, fieldPath, f.name);
      if (f.implicit && isDefaultParsed(f.spec, r)) continue;
      out[f.name] = r;
    }
  }
  return out;
}

function setKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

function parseMap(f: FieldInfo, json: Record<string, unknown>, path: string): Record<string, unknown> | undefined {
  const keys = Object.keys(json);
  if (keys.length === 0) return undefined;
  const keySpec = f.keySpec as Spec;
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const itemPath = `${path}[${key}]`;
    let k: string;
    switch (keySpec.kind) {
      case Kind.STRING:
        k = key;
        break;
      case Kind.BOOL:
        if (key !== 'true' && key !== 'false') throw invalidValue(itemPath, keySpec, key);
        k = key;
        break;
      case Kind.INT32:
      case Kind.UINT32: {
        const n = parseInt32(key, keySpec.kind === Kind.UINT32);
        if (n === undefined) throw invalidValue(itemPath, keySpec, key);
        k = String(n);
        break;
      }
      default: {
        const s = parseInt64(key, keySpec.kind === Kind.UINT64);
        if (s === undefined) throw invalidValue(itemPath, keySpec, key);
        k = s;
      }
    }
    const v = json[key];
    if (v === null) throw invalidValue(itemPath, f.spec, v);
    setKey(out, k, parseValue(f.spec, v, itemPath, f.name));
  }
  return out;
}

/** Converts one non-null JSON value of the given type; throws INVALID_ARGUMENT if it doesn't fit. */
function parseValue(spec: Spec, v: unknown, path: string, jsonName: string): unknown {
  switch (spec.kind) {
    case Kind.STRING:
      if (typeof v === 'string') return v;
      break;
    case Kind.BOOL:
      if (typeof v === 'boolean') return v;
      break;
    case Kind.INT32:
    case Kind.UINT32: {
      const n = parseInt32(v, spec.kind === Kind.UINT32);
      if (n !== undefined) return n;
      break;
    }
    case Kind.INT64:
    case Kind.UINT64: {
      const s = parseInt64(v, spec.kind === Kind.UINT64);
      if (s !== undefined) return s;
      break;
    }
    case Kind.DOUBLE:
    case Kind.FLOAT: {
      const n = parseFloating(v, spec.kind === Kind.FLOAT);
      if (n !== undefined) return n;
      break;
    }
    case Kind.BYTES:
      if (typeof v === 'string') {
        const b = decodeBase64(v);
        if (b === undefined) throw invalidArgument(`Invalid value at '${path}' (${spec.label}), Base64 decoding failed for ${showValue(v)}`);
        return b;
      }
      break;
    case Kind.ENUM: {
      const name = typeof v === 'string'
        ? (spec.byName?.has(v) === true ? v : undefined)
        : typeof v === 'number' ? spec.byNumber?.get(v) : undefined;
      if (name !== undefined) return name;
      break;
    }
    case Kind.MESSAGE:
      if (isObject(v)) return parseFields(infoOf(spec), v, path, {}, false);
      break;
    case Kind.TIMESTAMP:
      if (typeof v === 'string') return parseTimestamp(v, spec, path, jsonName);
      break;
    case Kind.DURATION:
      if (typeof v === 'string') return parseDuration(v, spec, path, jsonName);
      break;
    case Kind.FIELD_MASK:
      if (typeof v === 'string') {
        const paths = parseFieldMask(v);
        if (paths === undefined) throw invalidDetail(path, spec, jsonName, `Invalid field mask ${showValue(v)}`);
        return paths.length === 0 ? {} : { paths };
      }
      break;
    case Kind.WRAPPER: {
      const inner = spec.inner as Spec;
      if (isObject(v) || Array.isArray(v)) break;
      const r = parseValue(inner, v, path, jsonName);
      return isDefaultParsed(inner, r) ? {} : { value: r };
    }
    case Kind.STRUCT:
      if (isObject(v)) return parseStruct(v);
      break;
    case Kind.LIST_VALUE:
      if (Array.isArray(v)) return parseListValue(v);
      break;
    case Kind.VALUE:
      return parseStructValue(v);
    case Kind.ANY:
      if (isObject(v)) return parseAny(spec, v, path);
      break;
  }
  throw invalidValue(path, spec, v);
}

function isDefaultParsed(spec: Spec, r: unknown): boolean {
  switch (spec.kind) {
    case Kind.STRING:
      return r === '';
    case Kind.BYTES:
      return (r as Buffer).length === 0;
    case Kind.INT32:
    case Kind.UINT32:
    case Kind.DOUBLE:
    case Kind.FLOAT:
      return r === 0 && !Object.is(r, -0);
    case Kind.INT64:
    case Kind.UINT64:
      return r === '0';
    case Kind.BOOL:
      return r === false;
    case Kind.ENUM:
      return spec.byName?.get(r as string) === 0;
    default:
      return false;
  }
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const UINT32_MAX = 4294967295;

/** A decimal integer string: optional '-', then digits. */
function isDecimal(s: string, allowMinus: boolean): boolean {
  let i = 0;
  if (allowMinus && s.charCodeAt(0) === 45) i = 1;
  if (i >= s.length) return false;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function parseInt32(v: unknown, unsigned: boolean): number | undefined {
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string' && isDecimal(v, !unsigned)) n = Number(v);
  else return undefined;
  if (!Number.isInteger(n) || n > (unsigned ? UINT32_MAX : INT32_MAX) || n < (unsigned ? 0 : INT32_MIN)) return undefined;
  return n === 0 ? 0 : n; // no -0
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/** An int64/uint64 JSON value as a normalised decimal string, or undefined. */
function parseInt64(v: unknown, unsigned: boolean): string | undefined {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || (unsigned && v < 0)) return undefined;
    return String(v);
  }
  if (typeof v !== 'string' || !isDecimal(v, !unsigned)) return undefined;
  const negative = v.charCodeAt(0) === 45;
  if (v.length <= (negative ? 16 : 15)) {
    // Up to 15 digits: exact as a double.
    const n = Number(v);
    return String(n === 0 ? 0 : n);
  }
  const b = BigInt(v);
  if (unsigned ? b > UINT64_MAX : b < INT64_MIN || b > INT64_MAX) return undefined;
  return b.toString();
}

const FLOAT_MAX = 3.4028234663852886e38;
const NUMERIC = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function parseFloating(v: unknown, float: boolean): number | undefined {
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string') {
    if (v === 'NaN') n = NaN;
    else if (v === 'Infinity') n = Infinity;
    else if (v === '-Infinity') n = -Infinity;
    else if (NUMERIC.test(v)) {
      n = Number(v);
      if (!Number.isFinite(n)) return undefined; // "1e999": out of range
    } else return undefined;
  } else return undefined;
  if (!float || !Number.isFinite(n)) return n;
  if (Math.abs(n) > FLOAT_MAX) return undefined;
  return Math.fround(n);
}

// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z in Unix seconds.
const MIN_TIMESTAMP = -62135596800;
const MAX_TIMESTAMP = 253402300799;
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (any year). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * ((month + 9) % 12) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

function parseTimestamp(s: string, spec: Spec, path: string, jsonName: string): Msg {
  const m = RFC3339.exec(s);
  const fail = (): KmsError => invalidDetail(path, spec, jsonName, 'Invalid time format: Failed to parse input');
  if (m === null) throw fail();
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = Number(m[6]);
  if (year < 1 || month < 1 || month > 12 || day < 1) throw fail();
  if (day > (month === 2 && isLeap(year) ? 29 : MONTH_DAYS[month - 1])) throw fail();
  if (hour > 23 || minute > 59 || second > 59) throw fail();
  let offset = 0;
  if (m[8] !== undefined) {
    const oh = Number(m[9]);
    const om = Number(m[10]);
    if (oh > 23 || om > 59) throw fail();
    offset = (m[8] === '-' ? -1 : 1) * (oh * 3600 + om * 60);
  }
  const seconds = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset;
  if (seconds < MIN_TIMESTAMP || seconds > MAX_TIMESTAMP) throw fail();
  const nanos = m[7] === undefined ? 0 : Number(m[7].padEnd(9, '0'));
  const out: Msg = {};
  if (seconds !== 0) out.seconds = String(seconds);
  if (nanos !== 0) out.nanos = nanos;
  return out;
}

const MAX_DURATION = 315576000000;
const DURATION = /^(-)?(\d+)(?:\.(\d{1,9}))?$/;

function parseDuration(s: string, spec: Spec, path: string, jsonName: string): Msg {
  if (!s.endsWith('s')) throw invalidDetail(path, spec, jsonName, "Illegal duration format; duration must end with 's'");
  const m = DURATION.exec(s.slice(0, -1));
  if (m === null || m[2].length > 15) throw invalidDetail(path, spec, jsonName, 'Invalid duration format, failed to parse seconds');
  const seconds = Number(m[2]);
  if (seconds > MAX_DURATION) throw invalidDetail(path, spec, jsonName, 'Duration value exceeds limits');
  const nanos = m[3] === undefined ? 0 : Number(m[3].padEnd(9, '0'));
  const negative = m[1] !== undefined;
  const out: Msg = {};
  if (seconds !== 0) out.seconds = negative ? `-${seconds}` : String(seconds);
  if (nanos !== 0) out.nanos = negative ? -nanos : nanos;
  return out;
}

/** "a.fooBar,b" → ['a.foo_bar', 'b']; '' → []; undefined if a path is empty. */
function parseFieldMask(s: string): string[] | undefined {
  if (s === '') return [];
  const parts = s.split(',');
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i].trim();
    if (p === '' || p.startsWith('.') || p.endsWith('.') || p.includes('..')) return undefined;
    parts[i] = snakeCase(p);
  }
  return parts;
}

function parseStruct(json: Record<string, unknown>): Msg {
  const keys = Object.keys(json);
  if (keys.length === 0) return {};
  const fields: Record<string, unknown> = {};
  for (const k of keys) setKey(fields, k, parseStructValue(json[k]));
  return { fields };
}

function parseListValue(json: unknown[]): Msg {
  return json.length === 0 ? {} : { values: json.map(parseStructValue) };
}

function parseStructValue(v: unknown): Msg {
  if (v === null) return { nullValue: 'NULL_VALUE' };
  switch (typeof v) {
    case 'number':
      return { numberValue: v };
    case 'string':
      return { stringValue: v };
    case 'boolean':
      return { boolValue: v };
    default:
      return Array.isArray(v) ? { listValue: parseListValue(v) } : { structValue: parseStruct(v as Record<string, unknown>) };
  }
}

function parseAny(spec: Spec, json: Record<string, unknown>, path: string): Msg {
  const url = json['@type'];
  if (url === undefined) {
    if (Object.keys(json).length === 0) return {};
    throw invalidArgument(`Invalid value at '${path}' (${spec.label}), Missing @type for any field`);
  }
  if (typeof url !== 'string') throw invalidArgument(`Invalid value at '${path}' (${spec.label}), Invalid @type ${showValue(url)}`);
  const type = lookupAnyType(url, spec.msgType);
  if (type === undefined) throw invalidArgument(`Invalid value at '${path}' (${spec.label}), Invalid type URL, unknown type: ${url}`);
  const inner = typeSpec(type);
  if (inner.kind === Kind.MESSAGE) {
    if (fullName(type) === EMPTY_TYPE && isObject(json.value) && Object.keys(json.value).length === 0) {
      // Some encoders write Empty as {"@type": ..., "value": {}}.
      return { '@type': url };
    }
    return parseFields(typeInfo(type), json, path, { '@type': url }, true);
  }
  // Well-known types with their own JSON form: {"@type": ..., "value": <json>}.
  for (const key of Object.keys(json)) {
    if (key !== '@type' && key !== 'value') throw unknownName(key, path, 'Cannot find field.');
  }
  const value = json.value;
  if (value === undefined || value === null) return { '@type': url };
  if (inner.kind === Kind.ANY) {
    // {'@type'} can't hold two type URLs: a nested Any is kept in binary form.
    if (!isObject(value)) throw invalidValue(path, inner, value);
    const nested = parseAny(inner, value, path);
    let binary = nested;
    const nestedUrl = nested['@type'];
    if (typeof nestedUrl === 'string') {
      const nestedType = lookupAnyType(nestedUrl, type) as protobuf.Type;
      binary = { type_url: nestedUrl, value: nestedType.encode(nestedType.fromObject(nested)).finish() };
    }
    return { type_url: url, value: Buffer.from(type.encode(type.fromObject(binary)).finish()) };
  }
  const r = parseValue(inner, value, path, 'value') as Msg;
  return { '@type': url, ...r };
}

// ---------------------------------------------------------------------------
// Query parameters

/**
 * Sets a REST query parameter on a request message: name is a dotted path of
 * camelCase or snake_case field names, values every value it was given.
 */
export function setQueryParameter(type: protobuf.Type, msg: Msg, name: string, values: string[]): void {
  const segments = name.split('.');
  let info = typeInfo(type);
  let target = msg;
  let path = '';
  for (let i = 0; ; i++) {
    const segment = segments[i];
    const f = info.byName.get(segment);
    if (f === undefined) {
      throw unknownName(name, '', `Cannot bind query parameter. Field '${segment}' could not be found in request message.`);
    }
    path = path === '' ? f.snake : `${path}.${f.snake}`;
    const last = i === segments.length - 1;
    if (f.map) {
      throw invalidArgument(`${PAYLOAD} Cannot bind query parameter. '${path}' is a map field. Parameters can only be bound to primitive types.`);
    }
    const kind = f.spec.kind;
    if (!last) {
      if (kind !== Kind.MESSAGE || f.repeated) {
        throw unknownName(name, '', `Cannot bind query parameter. Field '${segments[i + 1]}' could not be found in request message.`);
      }
      const existing = target[f.name];
      let child: Msg;
      if (existing === undefined || existing === null) {
        checkQueryOneof(info, f, target, path);
        child = {};
        target[f.name] = child;
      } else if (isObject(existing)) {
        child = existing;
      } else {
        throw invalidArgument(`${PAYLOAD} Cannot bind query parameter '${name}'.`);
      }
      target = child;
      info = infoOf(f.spec);
      continue;
    }
    if (kind === Kind.MESSAGE || kind === Kind.ANY || kind === Kind.STRUCT || kind === Kind.VALUE || kind === Kind.LIST_VALUE) {
      throw invalidArgument(`${PAYLOAD} Cannot bind query parameter. '${path}' is a message type. Parameters can only be bound to primitive types.`);
    }
    if (values.length === 0) return;
    if (f.repeated) {
      const existing = target[f.name];
      const list: unknown[] = Array.isArray(existing) ? existing : [];
      for (const v of values) list.push(parseQueryValue(f.spec, v, path, f.name));
      target[f.name] = list;
      return;
    }
    if (values.length > 1 || target[f.name] !== undefined) {
      throw invalidArgument(`${PAYLOAD} Cannot bind query parameter '${name}': field '${path}' is not repeated and was given more than one value.`);
    }
    checkQueryOneof(info, f, target, path);
    const r = parseQueryValue(f.spec, values[0], path, f.name);
    if (!(f.implicit && isDefaultParsed(f.spec, r))) target[f.name] = r;
    return;
  }
}

function checkQueryOneof(info: TypeInfo, f: FieldInfo, target: Msg, path: string): void {
  if (f.oneof === undefined) return;
  for (const other of info.fields) {
    if (other !== f && other.oneof === f.oneof && target[other.name] !== undefined && target[other.name] !== null) {
      throw invalidArgument(
        `${PAYLOAD} Cannot bind query parameter '${path}': oneof field '${f.oneof}' is already set by '${other.name}'.`,
      );
    }
  }
}

function parseQueryValue(spec: Spec, s: string, path: string, jsonName: string): unknown {
  switch (spec.kind) {
    case Kind.BOOL:
      if (s === 'true' || s === 'True' || s === '1') return true;
      if (s === 'false' || s === 'False' || s === '0') return false;
      throw invalidValue(path, spec, s);
    case Kind.ENUM:
      return parseValue(spec, isDecimal(s, true) ? Number(s) : s, path, jsonName);
    case Kind.WRAPPER: {
      const inner = spec.inner as Spec;
      const r = parseQueryValue(inner, s, path, jsonName);
      return isDefaultParsed(inner, r) ? {} : { value: r };
    }
    default:
      return parseValue(spec, s, path, jsonName);
  }
}

// ---------------------------------------------------------------------------
// Internal → JSON

export interface ToJsonOptions {
  /** Enums as their numbers instead of their names. */
  enumsAsInts?: boolean;
}

/** Converts an internal-shape message to a JSON-ready object (for JSON.stringify). */
export function toJson(type: protobuf.Type, msg: Msg, options?: ToJsonOptions): Record<string, unknown> {
  const info = typeInfo(type);
  const asInts = options?.enumsAsInts === true;
  switch (info.spec.kind) {
    case Kind.ANY:
      return anyToJson(info.spec, msg, asInts, false);
    case Kind.STRUCT:
      return structToJson(msg);
    default:
      // Message-typed results are objects; scalar-like well-known types at the
      // top level keep their plain message form.
      return writeFields(info, msg, asInts, {});
  }
}

function writeFields(info: TypeInfo, msg: Msg, asInts: boolean, out: Record<string, unknown>): Record<string, unknown> {
  const fields = info.fields;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i];
    const v = msg[f.name];
    if (v === undefined || v === null) continue;
    if (f.map) {
      const m = mapToJson(f, v as Record<string, unknown>, asInts);
      if (m !== undefined) out[f.name] = m;
    } else if (f.repeated) {
      const list = Array.isArray(v) ? v : [v];
      if (list.length === 0) continue;
      const json = new Array<unknown>(list.length);
      for (let j = 0; j < list.length; j++) json[j] = valueToJson(f.spec, list[j], asInts);
      out[f.name] = json;
    } else if (!f.implicit || !isDefaultInternal(f.spec, v)) {
      out[f.name] = valueToJson(f.spec, v, asInts);
    }
  }
  return out;
}

function mapToJson(f: FieldInfo, m: Record<string, unknown>, asInts: boolean): Record<string, unknown> | undefined {
  let out: Record<string, unknown> | undefined;
  for (const k in m) {
    if (!Object.hasOwn(m, k)) continue;
    out ??= {};
    setKey(out, k, valueToJson(f.spec, m[k], asInts));
  }
  return out;
}

interface LongLike {
  low: number;
  high: number;
  unsigned?: boolean;
}

function isLongLike(v: unknown): v is LongLike {
  return typeof v === 'object' && v !== null && typeof (v as LongLike).low === 'number' && typeof (v as LongLike).high === 'number';
}

function int64ToString(v: unknown, unsigned: boolean): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(Math.trunc(v) || 0);
  if (typeof v === 'bigint') return v.toString();
  if (isLongLike(v)) {
    const bits = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
    return (v.unsigned === true || unsigned ? bits : BigInt.asIntN(64, bits)).toString();
  }
  return String(v);
}

function isDefaultInternal(spec: Spec, v: unknown): boolean {
  switch (spec.kind) {
    case Kind.STRING:
      return v === '';
    case Kind.INT32:
    case Kind.UINT32:
    case Kind.DOUBLE:
    case Kind.FLOAT:
      return (v === 0 && !Object.is(v, -0)) || v === '0';
    case Kind.INT64:
    case Kind.UINT64:
      return v === '0' || v === 0 || v === 0n || (isLongLike(v) && v.low === 0 && v.high === 0);
    case Kind.BOOL:
      return v === false;
    case Kind.BYTES:
      return (v instanceof Uint8Array || typeof v === 'string') && v.length === 0;
    case Kind.ENUM:
      return typeof v === 'number' ? v === 0 : spec.byName?.get(v as string) === 0;
    default:
      return false;
  }
}

function doubleToJson(v: unknown): unknown {
  const n = typeof v === 'number' ? v : Number(v);
  if (Number.isFinite(n)) return n;
  return Number.isNaN(n) ? 'NaN' : n > 0 ? 'Infinity' : '-Infinity';
}

/** A float32 value as the shortest decimal that reads back as the same float32. */
function floatToJson(v: unknown): unknown {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n)) return doubleToJson(n);
  if (Math.fround(n) !== n) return n;
  for (let p = 1; p < 9; p++) {
    const short = Number(n.toPrecision(p));
    if (Math.fround(short) === n) return short;
  }
  return n;
}

function bytesToBase64(v: unknown): string {
  if (Buffer.isBuffer(v)) return v.toString('base64');
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  if (typeof v === 'string') return v; // already base64 (protobufjs' bytes: String)
  if (Array.isArray(v)) return Buffer.from(v as number[]).toString('base64');
  return '';
}

function valueToJson(spec: Spec, v: unknown, asInts: boolean): unknown {
  switch (spec.kind) {
    case Kind.STRING:
    case Kind.BOOL:
      return v;
    case Kind.INT32:
    case Kind.UINT32:
      return typeof v === 'number' ? v : Number(v);
    case Kind.INT64:
      return int64ToString(v, false);
    case Kind.UINT64:
      return int64ToString(v, true);
    case Kind.DOUBLE:
      return doubleToJson(v);
    case Kind.FLOAT:
      return floatToJson(v);
    case Kind.BYTES:
      return bytesToBase64(v);
    case Kind.ENUM:
      if (typeof v === 'string') return asInts ? (spec.byName?.get(v) ?? v) : v;
      if (typeof v === 'number') return asInts ? v : (spec.byNumber?.get(v) ?? v);
      return v;
    case Kind.MESSAGE:
      return writeFields(infoOf(spec), v as Msg, asInts, {});
    case Kind.TIMESTAMP:
      return timestampToJson(v as Msg);
    case Kind.DURATION:
      return durationToJson(v as Msg);
    case Kind.FIELD_MASK: {
      const paths = (v as Msg).paths;
      if (!Array.isArray(paths)) return '';
      let s = '';
      for (let i = 0; i < paths.length; i++) s += (i === 0 ? '' : ',') + camelCase(String(paths[i]));
      return s;
    }
    case Kind.WRAPPER: {
      const inner = spec.inner as Spec;
      const value = (v as Msg).value;
      return valueToJson(inner, value ?? scalarDefault(inner.kind), asInts);
    }
    case Kind.STRUCT:
      return structToJson(v as Msg);
    case Kind.LIST_VALUE:
      return listValueToJson(v as Msg);
    case Kind.VALUE:
      return structValueToJson(v as Msg);
    case Kind.ANY:
      return anyToJson(spec, v as Msg, asInts, false);
  }
}

function scalarDefault(kind: Kind): unknown {
  switch (kind) {
    case Kind.INT64:
    case Kind.UINT64:
      return '0';
    case Kind.BOOL:
      return false;
    case Kind.STRING:
    case Kind.BYTES:
      return '';
    default:
      return 0;
  }
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** Nanoseconds as Google writes them: '', '.123', '.123456' or '.123456789'. */
function fraction(nanos: number): string {
  if (nanos === 0) return '';
  if (nanos % 1000000 === 0) return `.${pad(nanos / 1000000, 3)}`;
  if (nanos % 1000 === 0) return `.${pad(nanos / 1000, 6)}`;
  return `.${pad(nanos, 9)}`;
}

function timestampToJson(v: Msg): string {
  let seconds = Number(int64ToString(v.seconds ?? 0, false));
  let nanos = Number(v.nanos ?? 0);
  if (nanos < 0 || nanos >= 1e9) {
    seconds += Math.floor(nanos / 1e9);
    nanos = ((nanos % 1e9) + 1e9) % 1e9;
  }
  // toISOString: 'YYYY-MM-DDTHH:MM:SS.mmmZ' for years 0000-9999.
  return `${new Date(seconds * 1000).toISOString().slice(0, 19)}${fraction(nanos)}Z`;
}

function durationToJson(v: Msg): string {
  let seconds = Number(int64ToString(v.seconds ?? 0, false));
  let nanos = Number(v.nanos ?? 0);
  // Normalise mixed signs (invalid, but be lenient): nanos take the sign of seconds.
  if (seconds > 0 && nanos < 0) {
    seconds -= 1;
    nanos += 1e9;
  } else if (seconds < 0 && nanos > 0) {
    seconds += 1;
    nanos -= 1e9;
  }
  const negative = seconds < 0 || nanos < 0;
  return `${negative ? '-' : ''}${Math.abs(seconds)}${fraction(Math.abs(nanos))}s`;
}

function structToJson(v: Msg): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const fields = v.fields as Record<string, unknown> | undefined;
  if (fields === undefined || fields === null) return out;
  for (const k in fields) {
    if (Object.hasOwn(fields, k)) setKey(out, k, structValueToJson(fields[k] as Msg));
  }
  return out;
}

function listValueToJson(v: Msg): unknown[] {
  const values = v.values;
  return Array.isArray(values) ? values.map((x) => structValueToJson(x as Msg)) : [];
}

function structValueToJson(v: Msg | null | undefined): unknown {
  if (v === null || v === undefined) return null;
  if (v.numberValue !== undefined && v.numberValue !== null) return doubleToJson(v.numberValue);
  if (v.stringValue !== undefined && v.stringValue !== null) return v.stringValue;
  if (v.boolValue !== undefined && v.boolValue !== null) return v.boolValue;
  if (v.structValue !== undefined && v.structValue !== null) return structToJson(v.structValue as Msg);
  if (v.listValue !== undefined && v.listValue !== null) return listValueToJson(v.listValue as Msg);
  return null;
}

function anyToJson(spec: Spec, v: Msg, asInts: boolean, nested: boolean): Record<string, unknown> {
  const atType = nested ? undefined : v['@type'];
  if (typeof atType === 'string') {
    const type = lookupAnyType(atType, spec.msgType);
    if (type === undefined) return { '@type': atType };
    return typedAnyToJson(type, atType, v, asInts);
  }
  const url = v.type_url ?? v.typeUrl;
  if (typeof url !== 'string' || url === '') return {};
  const bytes = v.value === undefined || v.value === null
    ? Buffer.alloc(0)
    : typeof v.value === 'string' ? Buffer.from(v.value, 'base64') : (v.value as Uint8Array);
  const type = lookupAnyType(url, spec.msgType);
  if (type === undefined) return { '@type': url, value: bytesToBase64(bytes) };
  let decoded: Msg;
  try {
    decoded = type.toObject(type.decode(bytes), OBJECT_OPTIONS);
  } catch {
    return { '@type': url, value: bytesToBase64(bytes) };
  }
  return typedAnyToJson(type, url, decoded, asInts);
}

function typedAnyToJson(type: protobuf.Type, url: string, m: Msg, asInts: boolean): Record<string, unknown> {
  const spec = typeSpec(type);
  if (spec.kind === Kind.MESSAGE) return writeFields(typeInfo(type), m, asInts, { '@type': url });
  if (spec.kind === Kind.ANY) return { '@type': url, value: anyToJson(spec, m, asInts, true) };
  return { '@type': url, value: valueToJson(spec, m, asInts) };
}
