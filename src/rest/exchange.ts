// One REST exchange: the request object built from the path's variables, the
// query string and the JSON body (system parameters set aside), and the
// answer written as JSON, errors in Google's error body.
import * as http from 'node:http';
import { invalidArgument, KmsError } from '../errors';
import { jsonDepthWithin, MAX_JSON_DEPTH } from '../http-intake';
import type { Msg } from '../proto/registry';
import { errorBody } from './errors';
import { fromJson, setQueryParameter } from './json';
import type { Match } from './routes';

/** Largest request body accepted, compressed or not (the gRPC side's limit). */
export const MAX_REQUEST_BYTES = 8 * 1024 * 1024;

/**
 * Google's system parameters (https://cloud.google.com/apis/docs/system-parameters):
 * accepted on every route, never bound to request fields.
 */
export const SYSTEM_PARAMETERS = new Set([
  'alt', '$alt', 'prettyPrint', 'pp', '$prettyPrint', 'fields', '$fields', 'key', 'access_token', 'oauth_token',
  'quotaUser', 'userIp', 'callback', '$callback', 'upload_protocol', 'uploadType', '$.xgafv', 'trace', '$trace',
  'requestReason', '$requestReason', 'userProject', '$userProject',
]);

export interface ResponseFormat {
  pretty: boolean;
  enumsAsInts: boolean;
}

export const DEFAULT_FORMAT: ResponseFormat = { pretty: true, enumsAsInts: false };

export class HttpError extends Error {
  constructor(
    readonly httpCode: number,
    readonly error: KmsError,
    readonly headers: Record<string, string> = {},
  ) {
    super(error.message);
  }
}

/** Parses the query string into name → values, keeping repeated names. */
export function parseQuery(query: string): Map<string, string[]> {
  const params = new Map<string, string[]>();
  if (!query) return params;
  for (const pair of query.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const rawName = eq < 0 ? pair : pair.slice(0, eq);
    const rawValue = eq < 0 ? '' : pair.slice(eq + 1);
    let name: string;
    let value: string;
    try {
      name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      value = decodeURIComponent(rawValue.replace(/\+/g, ' '));
    } catch {
      throw invalidArgument(`The query parameter "${rawName.slice(0, 100)}" holds a malformed percent-encoding.`);
    }
    const list = params.get(name);
    if (list) list.push(value);
    else params.set(name, [value]);
  }
  return params;
}

/** alt / $alt and prettyPrint: how the answer is written. */
export function responseFormat(params: Map<string, string[]>): ResponseFormat {
  let pretty = true;
  let enumsAsInts = false;
  for (const name of ['alt', '$alt']) {
    for (const value of params.get(name) ?? []) {
      const [alt, ...options] = value.split(';');
      if (alt !== 'json') throw invalidArgument(`${name}: only "json" is supported, not "${value.slice(0, 50)}".`);
      for (const option of options) {
        if (option === 'enum-encoding=int') enumsAsInts = true;
        else if (option !== 'enum-encoding=string' && option !== '') {
          throw invalidArgument(`${name}: unknown option "${option.slice(0, 50)}".`);
        }
      }
    }
  }
  for (const name of ['prettyPrint', 'pp', '$prettyPrint']) {
    const value = params.get(name)?.at(-1);
    if (value === undefined) continue;
    if (/^(false|0)$/i.test(value)) pretty = false;
    else if (/^(true|1|)$/i.test(value)) pretty = true;
    else throw invalidArgument(`${name}: expected true or false, not "${value.slice(0, 50)}".`);
  }
  return pretty && !enumsAsInts ? DEFAULT_FORMAT : { pretty, enumsAsInts };
}

export function setPath(msg: Msg, fieldPath: string[], value: string): void {
  let target = msg;
  for (let i = 0; i < fieldPath.length - 1; i++) {
    let next = target[fieldPath[i]] as Msg | undefined;
    if (next === undefined || next === null) {
      next = {};
      target[fieldPath[i]] = next;
    }
    target = next;
  }
  target[fieldPath[fieldPath.length - 1]] = value;
}

export function parseJson(body: Buffer): unknown {
  if (!jsonDepthWithin(body, MAX_JSON_DEPTH)) {
    throw invalidArgument(`Invalid JSON payload received. The request body nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep.`);
  }
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    // V8's parser text names its own internals, not the request: say it in ours.
    throw invalidArgument('Invalid JSON payload received. The request body is not valid JSON.');
  }
}

/** Builds the request object from path variables, the body and the query. */
export function buildRequest(match: Match, params: Map<string, string[]>, body: Buffer): Msg {
  const { route, values } = match;
  let request: Msg;
  if (route.body === undefined) {
    if (body.length > 0 && body.toString('utf8').trim() !== '') {
      throw invalidArgument(`${route.httpMethod} ${route.template} takes no request body; send the fields as query parameters.`);
    }
    request = {};
  } else {
    let json = body.length === 0 ? {} : parseJson(body);
    // The official Node client (google-gax's transcoding) sends the JSON
    // string "" for an empty body message; it means the empty message.
    if (json === '') json = {};
    if (route.body === '*') {
      request = fromJson(route.request, json);
    } else {
      const field = route.request.fields[route.body];
      request = { [route.body]: fromJson(field.resolvedType as typeof route.request, json, route.bodyProtoPath) };
    }
  }
  for (const [name, list] of params) {
    if (SYSTEM_PARAMETERS.has(name)) continue;
    if (route.body === '*') {
      throw invalidArgument(
        `Invalid JSON payload received. Unknown name "${name.slice(0, 100)}": Cannot bind query parameter. ` +
          `${route.fullMethod} takes every field in the request body.`,
      );
    }
    setQueryParameter(route.request, request, name, list);
  }
  for (let i = 0; i < route.variables.length; i++) setPath(request, route.variables[i].fieldPath, values[i]);
  return request;
}

export function stringify(value: unknown, format: ResponseFormat): string {
  return format.pretty ? `${JSON.stringify(value, null, 2)}\n` : JSON.stringify(value);
}

export function send(res: http.ServerResponse, status: number, text: string, headers?: Record<string, string>): void {
  if (res.headersSent || res.destroyed) return;
  const body = Buffer.from(text, 'utf8');
  res.writeHead(status, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': String(body.length),
    ...headers,
  });
  res.end(body);
}

export function sendError(res: http.ServerResponse, httpCode: number, err: KmsError, format: ResponseFormat, headers?: Record<string, string>): void {
  send(res, httpCode, stringify(errorBody(httpCode, err, format.enumsAsInts), format), headers);
}
