// The resource hierarchy Autokey resolves configs through. Cloud KMS reads it
// from Resource Manager (organizations, folders, projects); OpenEKM has no
// Resource Manager, so the operator describes it (`--resource-hierarchy FILE`,
// docs/autokey.md):
//
//   { "projects": { "my-app": "folders/123" },
//     "folders":  { "123": "folders/45", "45": "organizations/1" } }
//
// A project's effective AutokeyConfig is its own, else its folder's, else the
// folder's parent's, and so on up.
import { invalidArgument } from '../../errors';

export interface ResourceHierarchy {
  /** project id → its parent (folders/F or organizations/O). */
  projects: Readonly<Record<string, string>>;
  /** folder number → its parent (folders/F or organizations/O). */
  folders: Readonly<Record<string, string>>;
}

export const EMPTY_HIERARCHY: ResourceHierarchy = { projects: {}, folders: {} };

const PARENT = /^(folders\/[0-9]{1,20}|organizations\/[0-9]{1,20})$/;

/** Checks a hierarchy as read from JSON; errors name the entry. */
export function checkHierarchy(value: unknown, where: string): ResourceHierarchy {
  const v = value as { projects?: unknown; folders?: unknown } | null;
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw invalidArgument(`${where}: must be a JSON object with "projects" and "folders".`);
  for (const key of Object.keys(v)) {
    if (key !== 'projects' && key !== 'folders') throw invalidArgument(`${where}: unknown key "${key.slice(0, 40)}" (only "projects" and "folders").`);
  }
  const table = (name: 'projects' | 'folders', child: RegExp): Record<string, string> => {
    const t = v[name] ?? {};
    if (!t || typeof t !== 'object' || Array.isArray(t)) throw invalidArgument(`${where}.${name}: must be an object of child → parent.`);
    for (const [k, p] of Object.entries(t)) {
      if (!child.test(k)) throw invalidArgument(`${where}.${name}: "${k.slice(0, 60)}" is not a ${name === 'projects' ? 'project id' : 'folder number'}.`);
      if (typeof p !== 'string' || !PARENT.test(p)) {
        throw invalidArgument(`${where}.${name}.${k}: parent ${JSON.stringify(p)?.slice(0, 60)} must be folders/NUMBER or organizations/NUMBER.`);
      }
    }
    return { ...(t as Record<string, string>) };
  };
  const hierarchy = { projects: table('projects', /^[a-z][a-z0-9-]{0,62}$/), folders: table('folders', /^[0-9]{1,20}$/) };
  checkAcyclic(hierarchy, where);
  return hierarchy;
}

function checkAcyclic(h: ResourceHierarchy, where: string): void {
  for (const start of Object.keys(h.folders)) {
    const seen = new Set<string>();
    for (let f: string | undefined = start; f !== undefined; f = folderOf(h.folders[f])) {
      if (seen.has(f)) throw invalidArgument(`${where}.folders: folder ${start} is its own ancestor.`);
      seen.add(f);
    }
  }
}

const folderOf = (parent: string | undefined): string | undefined =>
  parent?.startsWith('folders/') ? parent.slice('folders/'.length) : undefined;

/** The AutokeyConfig names that apply to a project, nearest first: its own, then each ancestor folder's. */
export function configChain(h: ResourceHierarchy, projectId: string): string[] {
  const chain = [`projects/${projectId}/autokeyConfig`];
  for (let f = folderOf(h.projects[projectId]); f !== undefined; f = folderOf(h.folders[f])) {
    chain.push(`folders/${f}/autokeyConfig`);
    if (chain.length > 100) break;
  }
  return chain;
}
