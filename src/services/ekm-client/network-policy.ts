// Where the KMS may connect for EKM calls (`serve --ekm-allowed-network
// CIDR`). A caller who may create EkmConnections or import EXTERNAL key
// versions names the address the KMS dials; without a policy that is any host
// and port the KMS can reach, and the failures differ enough to tell an open
// port from a closed one. With a policy, an address outside every allowed
// network fails before any packet is sent: IP literals (Service Directory
// endpoints, key URIs by address) are checked before connecting, host names
// after DNS and before connecting, on every address the name resolves to.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/** Marks the error of a lookup whose addresses are all outside the policy. */
export const NOT_ALLOWED = Symbol('ekm-network-not-allowed');

export class NotAllowedError extends Error {
  readonly [NOT_ALLOWED] = true;
  readonly code = 'EKM_NETWORK_NOT_ALLOWED';

  constructor(readonly address: string, readonly host: string) {
    super(`${address} is outside the networks the KMS may connect to`);
    this.name = 'NotAllowedError';
  }
}

/** "::ffff:10.1.2.3" is 10.1.2.3: a mapped address is checked as the IPv4 address it is. */
function plain(address: string): { address: string; family: 'ipv4' | 'ipv6' } {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return { address: mapped[1], family: 'ipv4' };
  return { address, family: isIP(address) === 6 ? 'ipv6' : 'ipv4' };
}

export class NetworkPolicy {
  readonly #allowed = new BlockList();

  private constructor(readonly networks: readonly string[]) {
    for (const cidr of networks) {
      const [address, prefix] = cidr.split('/');
      const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      this.#allowed.addSubnet(address, prefix === undefined ? (family === 'ipv6' ? 128 : 32) : Number(prefix), family);
    }
  }

  /** A policy from CIDRs ("10.0.0.0/8", "fd00::/8", or an address alone); a malformed one is an Error naming it. */
  static parse(cidrs: readonly string[]): NetworkPolicy {
    for (const cidr of cidrs) {
      const [address, prefix, extra] = cidr.split('/');
      const version = isIP(address ?? '');
      const max = version === 6 ? 128 : 32;
      const prefixOk = prefix === undefined || (/^[0-9]{1,3}$/.test(prefix) && Number(prefix) <= max);
      if (version === 0 || extra !== undefined || !prefixOk) {
        throw new Error(`--ekm-allowed-network: '${cidr}' is not an IPv4 or IPv6 network in CIDR form (10.0.0.0/8, fd00::/8)`);
      }
    }
    return new NetworkPolicy(cidrs);
  }

  allows(address: string): boolean {
    const p = plain(address);
    return this.#allowed.check(p.address, p.family);
  }

  /** A lookup that answers only addresses this policy allows, and a NotAllowedError when it would answer none. */
  guard(lookup: LookupFunction = dnsLookup as unknown as LookupFunction): LookupFunction {
    return (hostname, options, callback) => {
      lookup(hostname, options, (err, address: string | LookupAddress[], family?: number) => {
        if (err) {
          callback(err, address as string, family);
          return;
        }
        if (Array.isArray(address)) {
          const allowed = address.filter((a) => this.allows(a.address));
          if (allowed.length === 0) callback(new NotAllowedError(address[0]?.address ?? '', hostname), [] as unknown as string);
          else (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, allowed);
          return;
        }
        if (!this.allows(address)) callback(new NotAllowedError(address, hostname), '', family);
        else callback(null, address, family);
      });
    };
  }
}
