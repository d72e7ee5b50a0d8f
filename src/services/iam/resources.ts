// The resources that hold an IAM policy in Cloud KMS (the IAMPolicy mixin's
// routes name them): key rings, crypto keys, import jobs, EkmConnections and
// each location's EkmConfig. A policy is read or written only on a resource
// that exists.
import { notFound } from '../../errors';
import type { ServiceContext } from '../context';
import { checkRegional } from '../ekm-service/connections';
import {
  checkId, cryptoKeyName, ekmConnectionName, keyRingName, locationName, parseCryptoKey, parseEkmConfig, parseEkmConnection, parseKeyRing,
} from '../names';
import { invalidArgument } from '../../errors';

export type IamResourceType = 'KeyRing' | 'CryptoKey' | 'ImportJob' | 'EkmConnection' | 'EkmConfig';

export interface IamResource {
  /** The resource's canonical name. */
  name: string;
  type: IamResourceType;
}

const FORMS = 'projects/*/locations/*/keyRings/*, .../keyRings/*/cryptoKeys/*, .../keyRings/*/importJobs/*, projects/*/locations/*/ekmConnections/* or projects/*/locations/*/ekmConfig';

/** The resource a request names, by its form; INVALID_ARGUMENT for a name of no such form. */
export function parseIamResource(value: unknown, field: string): IamResource {
  const text = typeof value === 'string' ? value : '';
  if (text === '') throw invalidArgument(`${field}: required field is empty.`);
  const parts = text.split('/');
  if (parts.length === 6 && parts[4] === 'keyRings') return { name: keyRingName(parseKeyRing(text, field)), type: 'KeyRing' };
  if (parts.length === 8 && parts[6] === 'cryptoKeys') return { name: cryptoKeyName(parseCryptoKey(text, field)), type: 'CryptoKey' };
  if (parts.length === 8 && parts[6] === 'importJobs') {
    const ring = parseKeyRing(parts.slice(0, 6).join('/'), field);
    return { name: `${keyRingName(ring)}/importJobs/${checkId(parts[7], field)}`, type: 'ImportJob' };
  }
  if (parts.length === 6 && parts[4] === 'ekmConnections') return { name: ekmConnectionName(parseEkmConnection(text, field)), type: 'EkmConnection' };
  if (parts.length === 5 && parts[4] === 'ekmConfig') {
    const at = parseEkmConfig(text, field);
    checkRegional(at.location, field);
    return { name: `${locationName(at)}/ekmConfig`, type: 'EkmConfig' };
  }
  throw invalidArgument(`${field}: '${text.length > 200 ? `${text.slice(0, 200)}...` : text}' is not the name of a resource with an IAM policy (${FORMS}).`);
}

/** NOT_FOUND unless the resource exists (an EkmConfig always does: every regional location has one). */
export async function checkExists(ctx: ServiceContext, r: IamResource): Promise<void> {
  switch (r.type) {
    case 'KeyRing':
      if (!(await ctx.store.getKeyRing(r.name))) throw notFound(`KeyRing ${r.name} not found.`);
      return;
    case 'CryptoKey':
      if (!(await ctx.store.getCryptoKey(r.name))) throw notFound(`CryptoKey ${r.name} not found.`);
      return;
    case 'ImportJob':
      // Import jobs are not implemented yet (issue 17): none exists.
      throw notFound(`ImportJob ${r.name} not found.`);
    case 'EkmConnection':
      if (!(await ctx.store.ekm.getEkmConnection(r.name))) throw notFound(`EkmConnection ${r.name} not found.`);
      return;
    case 'EkmConfig':
      return;
  }
}
