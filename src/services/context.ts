// What every service gets: the store, the injected clock, key material, page
// tokens, the log and the EKM client. Built once per server by createServer; no globals, so
// two servers can run in one process.
import type { Clock } from '../clock';
import type { PageTokenCodec } from '../list/page-token';
import type { Logger } from '../log';
import type { Store } from '../store/store';
import type { EkmClient } from './ekm-client/types';
import type { Authorizer, Principal } from './iam/authorize';
import type { ResourceHierarchy } from './autokey/hierarchy';
import type { KeyMaterial } from './usable-version';

export interface ServiceContext {
  store: Store;
  clock: Clock;
  material: KeyMaterial;
  pageTokens: PageTokenCodec;
  log: Logger;
  /** The client every call to an external key manager goes through. */
  ekm: EkmClient;
  /** With --auth required: who holds what (TestIamPermissions answers from it). */
  authorizer?: Authorizer;
  /** Projects' folders and folders' parents, for Autokey (the operator's; none by default). */
  resourceHierarchy?: ResourceHierarchy;
}

/** Per-request facts the transports pass in. */
export interface CallContext {
  /** Request metadata / headers, lower-case names. */
  headers: Readonly<Record<string, string | undefined>>;
  /** The caller's address, as the transport saw it (audit logs). */
  peer?: string;
  /** The authenticated caller (--auth required; api/auth.ts). */
  principal?: Principal;
}
