// The internal message shape → JSON: toJson, well-known types included.
import * as protobuf from 'protobufjs';
import { Msg, OBJECT_OPTIONS } from '../../proto/registry';
import { FieldInfo, Kind, Spec, TypeInfo, camelCase, infoOf, lookupAnyType, setKey, typeInfo, typeSpec } from './reflection';

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

export function writeFields(info: TypeInfo, msg: Msg, asInts: boolean, out: Record<string, unknown>): Record<string, unknown> {
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

export function mapToJson(f: FieldInfo, m: Record<string, unknown>, asInts: boolean): Record<string, unknown> | undefined {
  let out: Record<string, unknown> | undefined;
  for (const k in m) {
    if (!Object.hasOwn(m, k)) continue;
    out ??= {};
    setKey(out, k, valueToJson(f.spec, m[k], asInts));
  }
  return out;
}

export interface LongLike {
  low: number;
  high: number;
  unsigned?: boolean;
}

export function isLongLike(v: unknown): v is LongLike {
  return typeof v === 'object' && v !== null && typeof (v as LongLike).low === 'number' && typeof (v as LongLike).high === 'number';
}

export function int64ToString(v: unknown, unsigned: boolean): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(Math.trunc(v) || 0);
  if (typeof v === 'bigint') return v.toString();
  if (isLongLike(v)) {
    const bits = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
    return (v.unsigned === true || unsigned ? bits : BigInt.asIntN(64, bits)).toString();
  }
  return String(v);
}

export function isDefaultInternal(spec: Spec, v: unknown): boolean {
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

export function doubleToJson(v: unknown): unknown {
  const n = typeof v === 'number' ? v : Number(v);
  if (Number.isFinite(n)) return n;
  return Number.isNaN(n) ? 'NaN' : n > 0 ? 'Infinity' : '-Infinity';
}

/** A float32 value as the shortest decimal that reads back as the same float32. */
export function floatToJson(v: unknown): unknown {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n)) return doubleToJson(n);
  if (Math.fround(n) !== n) return n;
  for (let p = 1; p < 9; p++) {
    const short = Number(n.toPrecision(p));
    if (Math.fround(short) === n) return short;
  }
  return n;
}

export function bytesToBase64(v: unknown): string {
  if (Buffer.isBuffer(v)) return v.toString('base64');
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  if (typeof v === 'string') return v; // already base64 (protobufjs' bytes: String)
  if (Array.isArray(v)) return Buffer.from(v as number[]).toString('base64');
  return '';
}

export function valueToJson(spec: Spec, v: unknown, asInts: boolean): unknown {
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

export function scalarDefault(kind: Kind): unknown {
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

export function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** Nanoseconds as Google writes them: '', '.123', '.123456' or '.123456789'. */
export function fraction(nanos: number): string {
  if (nanos === 0) return '';
  if (nanos % 1000000 === 0) return `.${pad(nanos / 1000000, 3)}`;
  if (nanos % 1000 === 0) return `.${pad(nanos / 1000, 6)}`;
  return `.${pad(nanos, 9)}`;
}

export function timestampToJson(v: Msg): string {
  let seconds = Number(int64ToString(v.seconds ?? 0, false));
  let nanos = Number(v.nanos ?? 0);
  if (nanos < 0 || nanos >= 1e9) {
    seconds += Math.floor(nanos / 1e9);
    nanos = ((nanos % 1e9) + 1e9) % 1e9;
  }
  // toISOString: 'YYYY-MM-DDTHH:MM:SS.mmmZ' for years 0000-9999.
  return `${new Date(seconds * 1000).toISOString().slice(0, 19)}${fraction(nanos)}Z`;
}

export function durationToJson(v: Msg): string {
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

export function structToJson(v: Msg): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const fields = v.fields as Record<string, unknown> | undefined;
  if (fields === undefined || fields === null) return out;
  for (const k in fields) {
    if (Object.hasOwn(fields, k)) setKey(out, k, structValueToJson(fields[k] as Msg));
  }
  return out;
}

export function listValueToJson(v: Msg): unknown[] {
  const values = v.values;
  return Array.isArray(values) ? values.map((x) => structValueToJson(x as Msg)) : [];
}

export function structValueToJson(v: Msg | null | undefined): unknown {
  if (v === null || v === undefined) return null;
  if (v.numberValue !== undefined && v.numberValue !== null) return doubleToJson(v.numberValue);
  if (v.stringValue !== undefined && v.stringValue !== null) return v.stringValue;
  if (v.boolValue !== undefined && v.boolValue !== null) return v.boolValue;
  if (v.structValue !== undefined && v.structValue !== null) return structToJson(v.structValue as Msg);
  if (v.listValue !== undefined && v.listValue !== null) return listValueToJson(v.listValue as Msg);
  return null;
}

export function anyToJson(spec: Spec, v: Msg, asInts: boolean, nested: boolean): Record<string, unknown> {
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

export function typedAnyToJson(type: protobuf.Type, url: string, m: Msg, asInts: boolean): Record<string, unknown> {
  const spec = typeSpec(type);
  if (spec.kind === Kind.MESSAGE) return writeFields(typeInfo(type), m, asInts, { '@type': url });
  if (spec.kind === Kind.ANY) return { '@type': url, value: anyToJson(spec, m, asInts, true) };
  return { '@type': url, value: valueToJson(spec, m, asInts) };
}
