// GenerateRandomBytes. Cloud KMS serves it at protection level HSM only, for
// 8 to 1024 bytes; OpenEKM draws from the operating system's CSPRNG.
import { randomBytes } from 'node:crypto';
import { invalidArgument } from '../errors';
import type { GenerateRandomBytesRequest, GenerateRandomBytesResponse } from '../proto/wire';
import { checksum } from './integrity';
import { checkKnownLocation } from './locations';
import { parseLocation } from './names';

export async function generateRandomBytes(req: GenerateRandomBytesRequest): Promise<GenerateRandomBytesResponse> {
  const location = parseLocation(req.location, 'location');
  checkKnownLocation(location.location, 'location');
  const length = Number(req.lengthBytes ?? 0);
  if (!Number.isInteger(length) || length < 8 || length > 1024) {
    throw invalidArgument('length_bytes: must be between 8 and 1024.');
  }
  if (req.protectionLevel !== 'HSM') {
    throw invalidArgument('protection_level: only HSM is supported for GenerateRandomBytes.');
  }
  const data = randomBytes(length);
  return { data, dataCrc32c: checksum(data) };
}
