// Store records to the wire resources of google.cloud.servicedirectory.v1
// (plain objects in the shape of src/proto/registry.ts). The v1 messages have
// no create_time/update_time (v1beta1 has): the store keeps both, and they are
// sent only if the loaded v1 protos declare them.
import { messageType } from '../../proto/registry';
import type { SdEndpoint, SdNamespace, SdService, Timestamp } from '../../proto/wire';
import type { EndpointRecord, NamespaceRecord, ServiceRecord } from '../../store/directory';
import { timestamp } from '../resources';

const PACKAGE = 'google.cloud.servicedirectory.v1';

let timed: Record<string, boolean> | undefined;
/** Whether the v1 message `type` declares create_time and update_time (read once from the protos). */
function hasTimes(type: 'Namespace' | 'Service' | 'Endpoint'): boolean {
  timed ??= Object.fromEntries(
    ['Namespace', 'Service', 'Endpoint'].map((t) => {
      const fields = messageType(`${PACKAGE}.${t}`).fields;
      return [t, 'createTime' in fields && 'updateTime' in fields];
    }),
  );
  return timed[type];
}

function times(type: 'Namespace' | 'Service' | 'Endpoint', r: { createTime: number; updateTime: number }): { createTime?: Timestamp; updateTime?: Timestamp } {
  return hasTimes(type) ? { createTime: timestamp(r.createTime), updateTime: timestamp(r.updateTime) } : {};
}

export function namespaceResource(r: NamespaceRecord): SdNamespace {
  return { name: r.name, labels: r.labels, uid: r.uid, ...times('Namespace', r) };
}

export function endpointResource(r: EndpointRecord): SdEndpoint {
  return {
    name: r.name,
    address: r.address,
    port: r.port,
    annotations: r.annotations,
    network: r.network,
    uid: r.uid,
    ...times('Endpoint', r),
  };
}

/** A service; `endpoints` only on ResolveService (the field is output-only and documented as its). */
export function serviceResource(r: ServiceRecord, endpoints?: readonly EndpointRecord[]): SdService {
  return {
    name: r.name,
    annotations: r.annotations,
    endpoints: endpoints?.map(endpointResource),
    uid: r.uid,
    ...times('Service', r),
  };
}
