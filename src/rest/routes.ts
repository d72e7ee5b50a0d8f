// REST routes, derived at load time from the protos' google.api.http
// annotations (google/api/http.proto): each rule and each of its
// additional_bindings becomes one route. Nothing here is written per RPC.
//
// Template grammar (http.proto):
//   Template = "/" Segments [ Verb ] ;   Segments = Segment { "/" Segment } ;
//   Segment  = "*" | "**" | LITERAL | Variable ;
//   Variable = "{" FieldPath [ "=" Segments ] "}" ;   Verb = ":" LITERAL ;
import * as protobuf from 'protobufjs';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
const HTTP_METHODS: readonly HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** A path variable: the request field it sets (lowerCamelCase segments) and its regex group. */
export interface PathVariable {
  fieldPath: string[];
  /** The field path as the proto spells it (snake_case, dotted), for messages. */
  protoPath: string;
}

export interface Route {
  httpMethod: HttpMethod;
  template: string;
  fullMethod: string;
  request: protobuf.Type;
  response: protobuf.Type;
  /** undefined: no body; '*': the whole request; otherwise the request field (lowerCamelCase) the body fills. */
  body: string | undefined;
  /** The body field as the proto spells it, for messages. */
  bodyProtoPath: string | undefined;
  verb: string;
  variables: PathVariable[];
  /** Matches the path without its verb; group i+1 is variables[i]. */
  pattern: RegExp;
  /** Literal segments: with several matches, the most specific route wins. */
  literals: number;
}

export interface HttpRule {
  get?: string;
  put?: string;
  post?: string;
  delete?: string;
  patch?: string;
  body?: string;
  additional_bindings?: HttpRule | HttpRule[];
}

class TemplateError extends Error {}

const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Splits "a/{b=c/*}/d:verb" at depth-0 slashes and finds the verb. */
function splitTemplate(template: string): { segments: string[]; verb: string } {
  if (!template.startsWith('/')) throw new TemplateError('a template starts with "/"');
  const segments: string[] = [];
  let depth = 0;
  let current = '';
  let verb = '';
  for (let i = 1; i < template.length; i++) {
    const c = template[i];
    if (c === '{') depth++;
    if (c === '}') depth--;
    if (depth < 0) throw new TemplateError('unbalanced "}"');
    if (depth === 0 && c === '/') {
      segments.push(current);
      current = '';
    } else if (depth === 0 && c === ':') {
      verb = template.slice(i + 1);
      if (!/^[A-Za-z0-9_.~-]+$/.test(verb)) throw new TemplateError(`bad verb "${verb}"`);
      break;
    } else {
      current += c;
    }
  }
  if (depth !== 0) throw new TemplateError('unbalanced "{"');
  segments.push(current);
  return { segments, verb };
}

function segmentRegex(segment: string, last: boolean): { source: string; literal: boolean } {
  if (segment === '*') return { source: '[^/]+', literal: false };
  if (segment === '**') {
    if (!last) throw new TemplateError('"**" must be the last segment');
    return { source: '.+', literal: false };
  }
  if (!/^[A-Za-z0-9_.~-]+$/.test(segment)) throw new TemplateError(`bad literal "${segment}"`);
  return { source: escapeRegex(segment), literal: true };
}

/** Resolves a dotted snake_case field path against the request type; returns camel segments. */
function resolveFieldPath(type: protobuf.Type, protoPath: string): string[] {
  const out: string[] = [];
  let current: protobuf.Type | null = type;
  for (const part of protoPath.split('.')) {
    if (!current) throw new TemplateError(`"${protoPath}" descends into a non-message field`);
    const camel = protobuf.util.camelCase(part);
    const field: protobuf.Field | undefined = current.fields[camel];
    if (!field) throw new TemplateError(`${type.fullName} has no field "${protoPath}"`);
    out.push(camel);
    field.resolve();
    current = field.resolvedType instanceof protobuf.Type ? field.resolvedType : null;
  }
  return out;
}

export function compileRoute(
  httpMethod: HttpMethod,
  template: string,
  body: string | undefined,
  method: protobuf.Method,
  fullMethod: string,
): Route {
  const request = method.resolvedRequestType!;
  const { segments, verb } = splitTemplate(template);
  const variables: PathVariable[] = [];
  let source = '^';
  let literals = 0;
  segments.forEach((segment, index) => {
    const last = index === segments.length - 1;
    source += '/';
    const variable = /^\{([A-Za-z0-9_.]+)(?:=(.+))?\}$/.exec(segment);
    if (!variable) {
      if (segment.includes('{') || segment.includes('}')) throw new TemplateError(`bad segment "${segment}"`);
      const part = segmentRegex(segment, last);
      source += part.source;
      if (part.literal) literals++;
      return;
    }
    const [, protoPath, inner = '*'] = variable;
    variables.push({ fieldPath: resolveFieldPath(request, protoPath), protoPath });
    const parts = inner.split('/');
    const sources = parts.map((p, i) => {
      const part = segmentRegex(p, last && i === parts.length - 1);
      if (part.literal) literals++;
      return part.source;
    });
    source += `(${sources.join('/')})`;
  });
  source += '$';
  let bodyField: string | undefined;
  if (body && body !== '*') {
    const path = resolveFieldPath(request, body);
    if (path.length !== 1) throw new TemplateError(`body "${body}" must name a top-level field`);
    if (!(request.fields[path[0]].resolvedType instanceof protobuf.Type)) {
      throw new TemplateError(`body "${body}" must name a message field`);
    }
    bodyField = path[0];
  }
  return {
    httpMethod,
    template,
    fullMethod,
    request,
    response: method.resolvedResponseType!,
    body: body === '*' ? '*' : bodyField,
    bodyProtoPath: body || undefined,
    verb,
    variables,
    pattern: new RegExp(source),
    literals,
  };
}

function rulesOf(rule: HttpRule): HttpRule[] {
  const extra = rule.additional_bindings;
  const bindings = extra === undefined ? [] : Array.isArray(extra) ? extra : [extra];
  return [rule, ...bindings];
}

/** The google.api.http rule of a method, as protobufjs parsed it. */
function httpRule(method: protobuf.Method): HttpRule | undefined {
  for (const option of method.parsedOptions ?? []) {
    const rule = (option as Record<string, unknown>)['(google.api.http)'];
    if (rule) return rule as HttpRule;
  }
  return undefined;
}

/** Every route the services' annotations declare; `overrides` replaces the annotation of a method (a mixin's rules, by full method name). */
export function routesOf(
  serviceNames: readonly string[],
  lookup: (name: string) => protobuf.Service,
  overrides: ReadonlyMap<string, HttpRule> = new Map(),
): Route[] {
  const routes: Route[] = [];
  for (const name of serviceNames) {
    for (const method of lookup(name).methodsArray) {
      method.resolve();
      const fullMethod = `${name}.${method.name}`;
      const rule = overrides.get(fullMethod) ?? httpRule(method);
      if (!rule) continue;
      for (const binding of rulesOf(rule)) {
        for (const httpMethod of HTTP_METHODS) {
          const template = binding[httpMethod.toLowerCase() as keyof HttpRule];
          if (typeof template !== 'string') continue;
          try {
            routes.push(compileRoute(httpMethod, template, binding.body, method, fullMethod));
          } catch (err) {
            throw new Error(`${fullMethod}: cannot use the http rule "${template}": ${(err as Error).message}`);
          }
        }
      }
    }
  }
  return routes;
}

export interface Match {
  route: Route;
  /** Decoded values of the path variables, in route.variables order. */
  values: string[];
}

export type Resolution = { match: Match } | { allowed: HttpMethod[] } | undefined;

/**
 * Finds the route for a request path (without its query). The verb is what
 * follows the last ':' of the last segment; candidates are grouped by method
 * and verb, the most specific pattern first.
 */
export class Router {
  private readonly byKey = new Map<string, Route[]>();
  private readonly byVerb = new Map<string, Route[]>();

  constructor(readonly routes: readonly Route[]) {
    const sorted = [...routes].sort((a, b) => b.literals - a.literals);
    for (const route of sorted) {
      push(this.byKey, `${route.httpMethod} ${route.verb}`, route);
      push(this.byVerb, route.verb, route);
    }
  }

  resolve(httpMethod: string, rawPath: string): Resolution {
    const slash = rawPath.lastIndexOf('/');
    const colon = rawPath.indexOf(':', slash + 1);
    const path = colon < 0 ? rawPath : rawPath.slice(0, colon);
    const verb = colon < 0 ? '' : rawPath.slice(colon + 1);
    for (const route of this.byKey.get(`${httpMethod} ${verb}`) ?? []) {
      const m = route.pattern.exec(path);
      if (m) return { match: { route, values: decodeValues(m) } };
    }
    const allowed = new Set<HttpMethod>();
    for (const route of this.byVerb.get(verb) ?? []) {
      if (route.pattern.test(path)) allowed.add(route.httpMethod);
    }
    return allowed.size > 0 ? { allowed: [...allowed] } : undefined;
  }
}

function push(map: Map<string, Route[]>, key: string, route: Route): void {
  const list = map.get(key);
  if (list) list.push(route);
  else map.set(key, [route]);
}

class PathError extends Error {}
export { PathError };

function decodeValues(m: RegExpExecArray): string[] {
  const values: string[] = [];
  for (let i = 1; i < m.length; i++) {
    const raw = m[i];
    if (!raw.includes('%')) {
      values.push(raw);
      continue;
    }
    try {
      values.push(decodeURIComponent(raw));
    } catch {
      throw new PathError(`the path holds a malformed percent-encoding: ${raw.slice(0, 200)}`);
    }
  }
  return values;
}
