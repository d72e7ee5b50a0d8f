// AutokeyAdmin: a folder's or project's AutokeyConfig (where Autokey makes
// keys), and the effective config of a project, resolved through the
// operator's resource hierarchy (hierarchy.ts). Rules from autokey_admin.proto:
// update_mask names key_project and/or key_project_resolution_mode; an empty
// key_project clears the config; a stale etag is ABORTED; RESOURCE_PROJECT
// takes no key_project; DISABLED stops the search up the hierarchy.
import { createHash } from 'node:crypto';
import { aborted, invalidArgument } from '../../errors';
import type {
  AutokeyConfig, GetAutokeyConfigRequest, ShowEffectiveAutokeyConfigRequest, ShowEffectiveAutokeyConfigResponse,
  UpdateAutokeyConfigRequest,
} from '../../proto/wire';
import type { ServiceContext } from '../context';
import { parseProject } from '../names';
import { normaliseMask } from '../update-mask';
import { configChain, type ResourceHierarchy } from './hierarchy';

const MUTABLE = new Set(['key_project', 'key_project_resolution_mode']);
const IMMUTABLE = new Set(['name', 'state', 'etag']);
const MODES = new Set(['KEY_PROJECT_RESOLUTION_MODE_UNSPECIFIED', 'DEDICATED_KEY_PROJECT', 'RESOURCE_PROJECT', 'DISABLED']);

/** Where a project's keys go: a key project, or none (Autokey is off for it). */
export interface EffectiveConfig {
  keyProject: string;
}

function parseConfigName(value: unknown, field: string): string {
  const text = typeof value === 'string' ? value : '';
  if (!text) throw invalidArgument(`${field}: required field is empty.`);
  const m = /^(folders\/[0-9]{1,20}|projects\/[a-zA-Z0-9._:-]{1,128})\/autokeyConfig$/.exec(text);
  if (!m) throw invalidArgument(`${field}: '${text.slice(0, 200)}' is not a resource name of the form folders/*/autokeyConfig or projects/*/autokeyConfig.`);
  return text;
}

function checkKeyProject(value: string, field: string): string {
  if (value === '') return '';
  return `projects/${parseProject(value, field)}`;
}

const etagOf = (c: AutokeyConfig): string =>
  createHash('sha256').update(JSON.stringify([c.keyProject ?? '', c.keyProjectResolutionMode ?? ''])).digest('base64url').slice(0, 16);

export class AutokeyAdminService {
  constructor(
    private readonly ctx: ServiceContext,
    private readonly hierarchy: ResourceHierarchy,
  ) {}

  async getAutokeyConfig(req: GetAutokeyConfigRequest): Promise<AutokeyConfig> {
    return this.read(parseConfigName(req.name, 'name'));
  }

  async updateAutokeyConfig(req: UpdateAutokeyConfigRequest): Promise<AutokeyConfig> {
    const patch = req.autokeyConfig ?? {};
    const name = parseConfigName(patch.name, 'autokey_config.name');
    const paths = normaliseMask(req.updateMask, MUTABLE, IMMUTABLE);
    const stored = await this.ctx.store.lifecycle.getAutokeyConfig(name);
    const current = stored ? (JSON.parse(stored.config) as AutokeyConfig) : this.complete({ name });
    if (patch.etag && patch.etag !== current.etag) {
      throw aborted(`autokey_config.etag: ${name} changed since it was read; read it again and retry.`);
    }
    const next: AutokeyConfig = { name, keyProject: current.keyProject, keyProjectResolutionMode: current.keyProjectResolutionMode };
    if (paths.includes('key_project')) next.keyProject = checkKeyProject(patch.keyProject ?? '', 'autokey_config.key_project') || undefined;
    if (paths.includes('key_project_resolution_mode')) {
      const mode = String(patch.keyProjectResolutionMode ?? 'KEY_PROJECT_RESOLUTION_MODE_UNSPECIFIED');
      if (!MODES.has(mode)) throw invalidArgument(`autokey_config.key_project_resolution_mode: unknown value ${mode.slice(0, 60)}.`);
      next.keyProjectResolutionMode = mode === 'KEY_PROJECT_RESOLUTION_MODE_UNSPECIFIED' ? undefined : mode as AutokeyConfig['keyProjectResolutionMode'];
    }
    if (next.keyProjectResolutionMode !== undefined && next.keyProjectResolutionMode !== 'DEDICATED_KEY_PROJECT' && next.keyProject) {
      throw invalidArgument(`autokey_config.key_project: must be empty when key_project_resolution_mode is ${String(next.keyProjectResolutionMode)}.`);
    }
    const written = this.complete(next);
    // Conditional on what was read: a concurrent update in between is ABORTED, not silently overwritten.
    await this.ctx.store.lifecycle.putAutokeyConfig({ name, config: JSON.stringify(written), etag: written.etag ?? '' }, stored ? stored.etag : null);
    return written;
  }

  async showEffectiveAutokeyConfig(req: ShowEffectiveAutokeyConfigRequest): Promise<ShowEffectiveAutokeyConfigResponse> {
    const project = parseProject(req.parent, 'parent');
    const effective = await this.effective(project);
    return { keyProject: effective?.keyProject || undefined };
  }

  /** The config that governs a project's key handles, nearest first; undefined when none does (or one disables Autokey). */
  async effective(projectId: string): Promise<EffectiveConfig | undefined> {
    for (const name of configChain(this.hierarchy, projectId)) {
      const record = await this.ctx.store.lifecycle.getAutokeyConfig(name);
      if (!record) continue;
      const config = JSON.parse(record.config) as AutokeyConfig;
      const mode = config.keyProjectResolutionMode ?? 'DEDICATED_KEY_PROJECT';
      if (mode === 'DISABLED') return undefined;
      if (mode === 'RESOURCE_PROJECT') return { keyProject: `projects/${projectId}` };
      if (config.keyProject) return { keyProject: config.keyProject };
    }
    return undefined;
  }

  private async read(name: string): Promise<AutokeyConfig> {
    const record = await this.ctx.store.lifecycle.getAutokeyConfig(name);
    return record ? (JSON.parse(record.config) as AutokeyConfig) : this.complete({ name });
  }

  /** The output-only fields: state and etag. */
  private complete(c: AutokeyConfig): AutokeyConfig {
    const active = Boolean(c.keyProject) || c.keyProjectResolutionMode === 'RESOURCE_PROJECT';
    const out: AutokeyConfig = { ...c, state: active ? 'ACTIVE' : 'UNINITIALIZED' };
    return { ...out, etag: etagOf(out) };
  }
}
