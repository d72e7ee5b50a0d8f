// EkmConfig: the per-location singleton projects/*/locations/*/ekmConfig
// whose default_ekm_connection EXTERNAL_VPC keys use when they name none.
// Every regional location has one; a config never written is the empty one.
import { invalidArgument, notFound } from '../../errors';
import type { EkmConfig, GetEkmConfigRequest, UpdateEkmConfigRequest } from '../../proto/wire';
import type { EkmConfigRecord } from '../../store/ekm';
import type { ServiceContext } from '../context';
import { checkRegional } from './connections';
import { ekmConnectionName, type LocationName, locationName, parseEkmConfig, parseEkmConnection } from '../names';
import { retryOnConflict } from '../retry';
import { normaliseMask } from '../update-mask';

const MUTABLE = new Set(['default_ekm_connection']);
const IMMUTABLE = new Set(['name']);

const configName = (at: LocationName): string => `${locationName(at)}/ekmConfig`;

const configResource = (r: EkmConfigRecord): EkmConfig => ({
  name: r.name,
  defaultEkmConnection: r.defaultEkmConnection || undefined,
});

export class EkmConfigService {
  constructor(private readonly ctx: ServiceContext) {}

  async getEkmConfig(req: GetEkmConfigRequest): Promise<EkmConfig> {
    const at = parseEkmConfig(req.name, 'name');
    checkRegional(at.location, 'name');
    return configResource(await this.load(at));
  }

  async updateEkmConfig(req: UpdateEkmConfigRequest): Promise<EkmConfig> {
    const patch = req.ekmConfig ?? {};
    const at = parseEkmConfig(patch.name, 'ekm_config.name');
    checkRegional(at.location, 'ekm_config.name');
    normaliseMask(req.updateMask, MUTABLE, IMMUTABLE);
    const connection = await this.checkDefault(patch.defaultEkmConnection, at);
    return retryOnConflict(async () => {
      const stored = await this.load(at);
      const written = await this.ctx.store.ekm.putEkmConfig({ ...stored, defaultEkmConnection: connection });
      return configResource(written);
    });
  }

  /** The location's config as stored, or the empty one. */
  async load(at: LocationName): Promise<EkmConfigRecord> {
    const name = configName(at);
    return (await this.ctx.store.ekm.getEkmConfig(name)) ?? { name, defaultEkmConnection: '', revision: 0 };
  }

  /** '' clears the default; otherwise an existing connection of the same project and location. */
  private async checkDefault(value: unknown, at: LocationName): Promise<string> {
    if (value === undefined || value === '') return '';
    const field = 'ekm_config.default_ekm_connection';
    const connection = parseEkmConnection(value, field);
    if (connection.project !== at.project || connection.location !== at.location) {
      throw invalidArgument(`${field}: must be an EkmConnection in ${locationName(at)}.`);
    }
    const name = ekmConnectionName(connection);
    if (!(await this.ctx.store.ekm.getEkmConnection(name))) throw notFound(`${field}: EkmConnection ${name} not found.`);
    return name;
  }
}
