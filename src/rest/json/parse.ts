// JSON → the internal message shape: fromJson and the values of every kind,
// well-known types included.
import * as protobuf from 'protobufjs';
import { decodeBase64 } from '../../base64';
import { invalidArgument, KmsError } from '../../errors';
import { Msg } from '../../proto/registry';
import { EMPTY_TYPE, FieldInfo, Kind, Spec, TypeInfo, fullName, infoOf, isObject, lookupAnyType, setKey, snakeCase, typeInfo, typeSpec } from './reflection';
import { PAYLOAD, at, invalidDetail, invalidValue, showValue, unknownName } from './errors';
import { parseFloating, parseInt32, parseInt64 } from './numbers';


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

export function parseFields(info: TypeInfo, json: Record<string, unknown>, path: string, out: Msg, inAny: boolean): Msg {
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


export function parseMap(f: FieldInfo, json: Record<string, unknown>, path: string): Record<string, unknown> | undefined {
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

/** What a parser answers when the JSON value is not of the field's kind. */
const NO_FIT = Symbol('no fit');

/** Converts one non-null JSON value of the given type; throws INVALID_ARGUMENT if it doesn't fit. */
export function parseValue(spec: Spec, v: unknown, path: string, jsonName: string): unknown {
  // Kind lists the scalars first, enums last among them.
  const r = spec.kind <= Kind.ENUM ? parseScalar(spec, v, path) : parseComposite(spec, v, path, jsonName);
  if (r === NO_FIT) throw invalidValue(path, spec, v);
  return r;
}

function parseScalar(spec: Spec, v: unknown, path: string): unknown {
  switch (spec.kind) {
    case Kind.STRING:
      return typeof v === 'string' ? v : NO_FIT;
    case Kind.BOOL:
      return typeof v === 'boolean' ? v : NO_FIT;
    case Kind.INT32:
    case Kind.UINT32:
      return parseInt32(v, spec.kind === Kind.UINT32) ?? NO_FIT;
    case Kind.INT64:
    case Kind.UINT64:
      return parseInt64(v, spec.kind === Kind.UINT64) ?? NO_FIT;
    case Kind.DOUBLE:
    case Kind.FLOAT:
      return parseFloating(v, spec.kind === Kind.FLOAT) ?? NO_FIT;
    case Kind.BYTES: {
      if (typeof v !== 'string') return NO_FIT;
      const b = decodeBase64(v);
      if (b === undefined) throw invalidArgument(`Invalid value at '${path}' (${spec.label}), Base64 decoding failed for ${showValue(v)}`);
      return b;
    }
    case Kind.ENUM: {
      const name = typeof v === 'string'
        ? (spec.byName?.has(v) === true ? v : undefined)
        : typeof v === 'number' ? spec.byNumber?.get(v) : undefined;
      return name ?? NO_FIT;
    }
    default:
      return NO_FIT;
  }
}

/** Messages and the well-known types, each in its JSON form. */
function parseComposite(spec: Spec, v: unknown, path: string, jsonName: string): unknown {
  switch (spec.kind) {
    case Kind.MESSAGE:
      return isObject(v) ? parseFields(infoOf(spec), v, path, {}, false) : NO_FIT;
    case Kind.TIMESTAMP:
      return typeof v === 'string' ? parseTimestamp(v, spec, path, jsonName) : NO_FIT;
    case Kind.DURATION:
      return typeof v === 'string' ? parseDuration(v, spec, path, jsonName) : NO_FIT;
    case Kind.FIELD_MASK: {
      if (typeof v !== 'string') return NO_FIT;
      const paths = parseFieldMask(v);
      if (paths === undefined) throw invalidDetail(path, spec, jsonName, `Invalid field mask ${showValue(v)}`);
      return paths.length === 0 ? {} : { paths };
    }
    case Kind.WRAPPER: {
      const inner = spec.inner as Spec;
      if (isObject(v) || Array.isArray(v)) return NO_FIT;
      const r = parseValue(inner, v, path, jsonName);
      return isDefaultParsed(inner, r) ? {} : { value: r };
    }
    case Kind.STRUCT:
      return isObject(v) ? parseStruct(v) : NO_FIT;
    case Kind.LIST_VALUE:
      return Array.isArray(v) ? parseListValue(v) : NO_FIT;
    case Kind.VALUE:
      return parseStructValue(v);
    case Kind.ANY:
      return isObject(v) ? parseAny(spec, v, path) : NO_FIT;
    default:
      return NO_FIT;
  }
}

export function isDefaultParsed(spec: Spec, r: unknown): boolean {
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


// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z in Unix seconds.
export const MIN_TIMESTAMP = -62135596800;
export const MAX_TIMESTAMP = 253402300799;
export const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;
export const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

export function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (any year). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * ((month + 9) % 12) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

export function parseTimestamp(s: string, spec: Spec, path: string, jsonName: string): Msg {
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

export const MAX_DURATION = 315576000000;
export const DURATION = /^(-)?(\d+)(?:\.(\d{1,9}))?$/;

export function parseDuration(s: string, spec: Spec, path: string, jsonName: string): Msg {
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
export function parseFieldMask(s: string): string[] | undefined {
  if (s === '') return [];
  const parts = s.split(',');
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i].trim();
    if (p === '' || p.startsWith('.') || p.endsWith('.') || p.includes('..')) return undefined;
    parts[i] = snakeCase(p);
  }
  return parts;
}

export function parseStruct(json: Record<string, unknown>): Msg {
  const keys = Object.keys(json);
  if (keys.length === 0) return {};
  const fields: Record<string, unknown> = {};
  for (const k of keys) setKey(fields, k, parseStructValue(json[k]));
  return { fields };
}

export function parseListValue(json: unknown[]): Msg {
  return json.length === 0 ? {} : { values: json.map(parseStructValue) };
}

export function parseStructValue(v: unknown): Msg {
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

export function parseAny(spec: Spec, json: Record<string, unknown>, path: string): Msg {
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
