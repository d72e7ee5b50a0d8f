// Project numbers in resource names (AIP-2510), in one place for every RPC:
// a request may name a project by id or by number; the services only ever
// see the id form (services/projects.ts), and the caller gets its answer, and
// its errors, in the form it used. A project id is recorded with its number
// once a request that makes or changes something under it has succeeded, so
// the number can name it from then on; reads and failed writes record
// nothing, so a stranger cannot grow the record by asking.
//
// The common call names projects by ids already recorded: it goes straight
// to the service, after one walk over the request's strings.
import { KmsError, notFound } from '../errors';
import type { Msg } from '../proto/registry';
import { isProjectId, isProjectNumber, type Projects } from '../services/projects';
import type { CallContext } from '../services/context';
import type { Handler } from './methods';

const PREFIX = 'projects/';
/**
 * Names of the resources served here: a project, a location, and what lives
 * in one. Other services' names (an Endpoint's network,
 * projects/{number}/locations/global/networks/{n}) are left as they are.
 */
const SERVED = /^projects\/[^/]+(\/locations\/[^/]+(\/(keyRings|ekmConnections|ekmConfig|namespaces|importJobs)(\/.*)?)?)?$/;

/** The project segment of a string that starts "projects/{p}", else undefined. */
function segmentOf(text: string): string | undefined {
  if (!text.startsWith(PREFIX)) return undefined;
  const end = text.indexOf('/', PREFIX.length);
  const project = end < 0 ? text.slice(PREFIX.length) : text.slice(PREFIX.length, end);
  return project === '' ? undefined : project;
}

/** The project segment of the name of a resource served here, else undefined. */
const projectOf = (text: string): string | undefined => (SERVED.test(text) ? segmentOf(text) : undefined);

const isBytes = (value: object): boolean => value instanceof Uint8Array;

/** The projects of the served names in a message's strings, nested ones included. */
function projectsIn(value: unknown, found: Set<string>): Set<string> {
  if (typeof value === 'string') {
    const project = projectOf(value);
    if (project !== undefined) found.add(project);
  } else if (Array.isArray(value)) {
    for (const item of value) projectsIn(item, found);
  } else if (value !== null && typeof value === 'object' && !isBytes(value)) {
    for (const key in value) projectsIn((value as Record<string, unknown>)[key], found);
  }
  return found;
}

/** A copy of value with every string passed through map; objects are copied only where something changed. */
function mapStrings(value: unknown, map: (text: string) => string): unknown {
  if (typeof value === 'string') return map(value);
  if (Array.isArray(value)) {
    let changed = false;
    const out = value.map((item) => {
      const mapped = mapStrings(item, map);
      changed ||= mapped !== item;
      return mapped;
    });
    return changed ? out : value;
  }
  if (value === null || typeof value !== 'object' || isBytes(value)) return value;
  let out: Record<string, unknown> | undefined;
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    const mapped = mapStrings(item, map);
    if (mapped !== item) (out ??= { ...(value as Record<string, unknown>) })[key] = mapped;
  }
  return out ?? value;
}

/** Resource names whose project is a key of `to`, with that project replaced. */
const renameNames = (to: ReadonlyMap<string, string>) => (text: string): string => {
  const project = projectOf(text);
  const replacement = project === undefined ? undefined : to.get(project);
  return replacement === undefined ? text : `${PREFIX}${replacement}${text.slice(PREFIX.length + project!.length)}`;
};

/** The same error with names of the given projects, anywhere in its text, in the caller's form. */
function renameInError(err: KmsError, to: ReadonlyMap<string, string>): KmsError {
  const pattern = new RegExp(`${PREFIX}(${[...to.keys()].map((k) => k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})(?![A-Za-z0-9._:-])`, 'g');
  const rename = (text: string) => text.replace(pattern, (_, project: string) => `${PREFIX}${to.get(project)!}`);
  const renamed = new KmsError(err.code, rename(err.message), err.details.map((d) => ({ type: d.type, value: mapStrings(d.value, rename) as Record<string, unknown> })));
  if (err.cause !== undefined) Object.defineProperty(renamed, 'cause', { value: err.cause, enumerable: false });
  return renamed;
}

/** Methods whose success leaves something under the projects they name. */
const WRITES = /\.(Create|Update|Import)[A-Z]/;

async function viaIds(handler: Handler, projects: Projects, request: Msg, call: CallContext, writes: boolean): Promise<Msg> {
  const toId = new Map<string, string>();
  const fresh: string[] = [];
  for (const project of projectsIn(request, new Set())) {
    if (!isProjectNumber(project)) {
      if (writes && !projects.known(project) && isProjectId(project)) fresh.push(project);
      continue;
    }
    const id = await projects.idOf(project);
    // The caller's own words (AIP-2510: errors echo what was sent).
    if (!id) throw notFound(`Project ${project} is not known to this KMS: a project number names a project once the project has been used here by its id (openekm project ID prints its number).`);
    toId.set(project, id);
  }
  let response: Msg;
  if (toId.size === 0) {
    response = await handler(request, call);
  } else {
    const toNumber = new Map([...toId].map(([number, id]) => [id, number]));
    try {
      response = mapStrings(await handler(mapStrings(request, renameNames(toId)) as Msg, call), renameNames(toNumber)) as Msg;
    } catch (err) {
      throw err instanceof KmsError ? renameInError(err, toNumber) : err;
    }
  }
  for (const id of fresh) await projects.register(id);
  return response;
}

/**
 * Whether every "projects/{p}" string in a message names a project id already
 * recorded. A number is never recorded, so one Set lookup tells a number and
 * a new id from the common case; no pattern, no allocation but the segment.
 */
function allKnown(value: unknown, projects: Projects): boolean {
  if (typeof value === 'string') {
    const project = segmentOf(value);
    return project === undefined || projects.known(project);
  }
  if (Array.isArray(value)) {
    for (const item of value) if (!allKnown(item, projects)) return false;
  } else if (value !== null && typeof value === 'object' && !isBytes(value)) {
    for (const key in value) if (!allKnown((value as Record<string, unknown>)[key], projects)) return false;
  }
  return true;
}

/**
 * The handler, taking either form of a project in any resource name it is
 * given. Any number, or an id not yet recorded, takes the careful path, which
 * considers served names only.
 */
function aliased(handler: Handler, projects: Projects, writes: boolean): Handler {
  return (request, call) => (allKnown(request, projects) ? handler(request, call) : viaIds(handler, projects, request, call, writes));
}

/** The method table with project numbers accepted wherever a project id is. */
export function withProjectAliases(table: ReadonlyMap<string, Handler>, projects: Projects): ReadonlyMap<string, Handler> {
  return new Map([...table].map(([name, handler]) => [name, aliased(handler, projects, WRITES.test(name))]));
}
