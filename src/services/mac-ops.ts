// MacSign and MacVerify (HMAC keys).
import { macSign, macVerify } from '../crypto/mac';
import { invalidArgument } from '../errors';
import { type MacSignRequest, type MacSignResponse, type MacVerifyRequest, type MacVerifyResponse, protectionLevel } from '../proto/wire';
import type { CallContext, ServiceContext } from './context';
import { bytesField, checkSize, checksum, verifyCrc32c } from './integrity';
import { cryptoKeyName, parseVersion } from './names';
import { usableVersion } from './usable-version';

const MAX_DATA = 64 * 1024;

export class MacOps {
  constructor(private readonly ctx: ServiceContext) {}

  async macSign(req: MacSignRequest, call?: CallContext): Promise<MacSignResponse> {
    const name = parseVersion(req.name, 'name');
    const data = bytesField(req.data);
    checkSize(data, MAX_DATA, 'data');
    const verified = verifyCrc32c(data, req.dataCrc32c, 'data_crc32c', 'data');
    const use = await usableVersion(this.ctx, { keyName: cryptoKeyName(name), version: name.version, purposes: ['MAC'], rpc: 'MacSign', justify: call });
    const mac = macSign(use.alg, use.material.raw, data);
    return {
      name: use.version.name,
      mac,
      macCrc32c: checksum(mac),
      verifiedDataCrc32c: verified,
      protectionLevel: protectionLevel(use.version.protectionLevel),
    };
  }

  async macVerify(req: MacVerifyRequest): Promise<MacVerifyResponse> {
    const name = parseVersion(req.name, 'name');
    const data = bytesField(req.data);
    const mac = bytesField(req.mac);
    checkSize(data, MAX_DATA, 'data');
    if (mac.length === 0) throw invalidArgument('mac: required field is empty.');
    checkSize(mac, 64, 'mac');
    const verifiedData = verifyCrc32c(data, req.dataCrc32c, 'data_crc32c', 'data');
    const verifiedMac = verifyCrc32c(mac, req.macCrc32c, 'mac_crc32c', 'mac');
    const use = await usableVersion(this.ctx, { keyName: cryptoKeyName(name), version: name.version, purposes: ['MAC'], rpc: 'MacVerify' });
    const success = macVerify(use.alg, use.material.raw, data, mac);
    return {
      name: use.version.name,
      success,
      verifiedDataCrc32c: verifiedData,
      verifiedMacCrc32c: verifiedMac,
      // A copy of success for the client to check it against (resources.proto:
      // "if this field contradicts success, discard the response"); gcloud does.
      verifiedSuccessIntegrity: success,
      protectionLevel: protectionLevel(use.version.protectionLevel),
    };
  }
}
