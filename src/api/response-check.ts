// A check that services answer only with fields their response message
// declares. The encoders drop an undeclared key without a word (protobufjs'
// fromObject, and the JSON printer, read only declared fields), so a
// misspelled field would vanish from every answer. The test harness turns
// the check on for every server it starts (ServerOptions.checkResponses);
// a response with an undeclared field is then INTERNAL, naming it.
import type * as protobuf from 'protobufjs';
import { KmsError, Code } from '../errors';
import { messageType, type Msg, service } from '../proto/registry';
import type { Handler } from './methods';

const isPlainObject = (value: unknown): value is Msg =>
  value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Uint8Array);

/**
 * An Any in the JSON-like form the encoders take ({"@type": URL, ...fields}):
 * its fields belong to the type the URL names.
 */
function anyContent(msg: Msg): { type: protobuf.Type; fields: Msg } | undefined {
  const url = msg['@type'];
  if (typeof url !== 'string') return undefined;
  const fields = { ...msg };
  delete fields['@type'];
  return { type: messageType(url.slice(url.lastIndexOf('/') + 1)), fields };
}

/** Paths of the keys in msg (and in the messages it holds) that their types do not declare. */
export function undeclaredFields(type: protobuf.Type, msg: Msg, at = ''): string[] {
  if (type.fullName === '.google.protobuf.Any') {
    const content = anyContent(msg);
    if (content) return undeclaredFields(content.type, content.fields, at);
  }
  const found: string[] = [];
  for (const key of Object.keys(msg)) {
    const value = msg[key];
    const path = `${at}${key}`;
    const field = type.fields[key];
    if (!field) {
      found.push(`${path} (not a field of ${type.fullName.slice(1)})`);
      continue;
    }
    if (value === undefined || value === null) continue;
    const resolved = field.resolve().resolvedType;
    if (!resolved || !('fields' in resolved)) continue;
    const nested = resolved as protobuf.Type;
    if (field.map) {
      if (isPlainObject(value)) for (const [k, v] of Object.entries(value)) if (isPlainObject(v)) found.push(...undeclaredFields(nested, v, `${path}[${k}].`));
    } else if (field.repeated) {
      if (Array.isArray(value)) value.forEach((v, i) => isPlainObject(v) && found.push(...undeclaredFields(nested, v, `${path}[${i}].`)));
    } else if (isPlainObject(value)) {
      found.push(...undeclaredFields(nested, value, `${path}.`));
    }
  }
  return found;
}

/** The response type of a method named "package.Service.Method". */
function responseType(fullMethod: string): protobuf.Type {
  const dot = fullMethod.lastIndexOf('.');
  const method = service(fullMethod.slice(0, dot)).methods[fullMethod.slice(dot + 1)];
  method.resolve();
  return method.resolvedResponseType!;
}

/** The method table with every response checked against its declared type. */
export function withResponseCheck(table: ReadonlyMap<string, Handler>): ReadonlyMap<string, Handler> {
  return new Map([...table].map(([name, handler]) => {
    const type = responseType(name);
    const checked: Handler = async (request, call) => {
      const response = await handler(request, call);
      const undeclared = undeclaredFields(type, response);
      if (undeclared.length > 0) {
        const more = undeclared.length > 5 ? ` and ${undeclared.length - 5} more` : '';
        throw new KmsError(Code.INTERNAL, `${name} answered with undeclared fields: ${undeclared.slice(0, 5).join(', ')}${more}.`);
      }
      return response;
    };
    return [name, checked];
  }));
}
