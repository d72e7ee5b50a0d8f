// GetPublicKey through the official client, checked in every format: the
// default answer (pem + pem_crc32c), public_key_format PEM and DER. Returns
// the PEM for the caller's own verification.
import assert from 'node:assert/strict';
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { KeyManagementServiceClient } from '@google-cloud/kms';
import { crc32c, crcValue } from './crc32c';
import { bytes } from './kms-keys';

export async function checkedPublicKey(
  client: KeyManagementServiceClient,
  version: string,
  algorithm: string,
): Promise<{ pem: string; key: KeyObject }> {
  const [plain] = await client.getPublicKey({ name: version });
  const pem = plain.pem!;
  assert.match(pem, /^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n?$/);
  assert.equal(crcValue(plain.pemCrc32c), crc32c(Buffer.from(pem)));
  assert.equal(plain.algorithm, algorithm);
  assert.equal(plain.name, version);
  const key = createPublicKey(pem);

  const [asPem] = await client.getPublicKey({ name: version, publicKeyFormat: 'PEM' });
  const pemData = bytes(asPem.publicKey?.data);
  assert.equal(pemData.toString(), pem);
  assert.equal(crcValue(asPem.publicKey?.crc32cChecksum), crc32c(pemData));
  assert.equal(asPem.publicKeyFormat, 'PEM');
  assert.equal(asPem.algorithm, algorithm);
  assert.equal(asPem.name, version);

  const [asDer] = await client.getPublicKey({ name: version, publicKeyFormat: 'DER' });
  const der = bytes(asDer.publicKey?.data);
  assert.equal(crcValue(asDer.publicKey?.crc32cChecksum), crc32c(der));
  assert.equal(asDer.publicKeyFormat, 'DER');
  assert.equal(asDer.algorithm, algorithm);
  assert.equal(asDer.name, version);
  const fromDer = createPublicKey({ key: der, format: 'der', type: 'spki' });
  assert.ok(fromDer.equals(key), 'the DER and the PEM hold the same key');
  return { pem, key };
}
