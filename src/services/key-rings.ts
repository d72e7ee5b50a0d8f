// KeyRings: Create, Get, List.
import { notFound } from '../errors';
import type { CreateKeyRingRequest, GetKeyRingRequest, KeyRing, ListKeyRingsRequest, ListKeyRingsResponse } from '../proto/wire';
import type { ServiceContext } from './context';
import { KEY_RING_FIELDS } from './list-fields';
import { listPage } from './list-page';
import { checkKnownLocation } from './locations';
import { checkId, keyRingName, parseKeyRing, parseLocation } from './names';
import { keyRingResource } from './resources';

export class KeyRingsService {
  constructor(private readonly ctx: ServiceContext) {}

  async createKeyRing(req: CreateKeyRingRequest): Promise<KeyRing> {
    const parent = parseLocation(req.parent, 'parent');
    checkKnownLocation(parent.location, 'parent');
    const keyRing = checkId(req.keyRingId, 'key_ring_id');
    const record = { name: keyRingName({ ...parent, keyRing }), createTime: this.ctx.clock.now() };
    await this.ctx.store.createKeyRing(record);
    return keyRingResource(record);
  }

  async getKeyRing(req: GetKeyRingRequest): Promise<KeyRing> {
    const name = keyRingName(parseKeyRing(req.name, 'name'));
    const record = await this.ctx.store.getKeyRing(name);
    if (!record) throw notFound(`KeyRing ${name} not found.`);
    return keyRingResource(record);
  }

  async listKeyRings(req: ListKeyRingsRequest): Promise<ListKeyRingsResponse> {
    const parent = parseLocation(req.parent, 'parent');
    const name = `projects/${parent.project}/locations/${parent.location}`;
    const page = await listPage(this.ctx, 'ListKeyRings', name, req, KEY_RING_FIELDS, (q) => this.ctx.store.listKeyRings(q));
    return { keyRings: page.items.map(keyRingResource), nextPageToken: page.nextPageToken, totalSize: page.totalSize };
  }
}
