// REST query parameters onto a request message.
import * as protobuf from 'protobufjs';
import { invalidArgument } from '../../errors';
import { Msg } from '../../proto/registry';
import { FieldInfo, Kind, Spec, TypeInfo, infoOf, isObject, typeInfo } from './reflection';
import { PAYLOAD, invalidValue, unknownName } from './errors';
import { isDecimal } from './numbers';
import { isDefaultParsed, parseValue } from './parse';

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

export function checkQueryOneof(info: TypeInfo, f: FieldInfo, target: Msg, path: string): void {
  if (f.oneof === undefined) return;
  for (const other of info.fields) {
    if (other !== f && other.oneof === f.oneof && target[other.name] !== undefined && target[other.name] !== null) {
      throw invalidArgument(
        `${PAYLOAD} Cannot bind query parameter '${path}': oneof field '${f.oneof}' is already set by '${other.name}'.`,
      );
    }
  }
}

export function parseQueryValue(spec: Spec, s: string, path: string, jsonName: string): unknown {
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
