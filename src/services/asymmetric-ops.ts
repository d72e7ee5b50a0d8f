// AsymmetricSign, AsymmetricDecrypt, GetPublicKey and Decapsulate, for
// classical keys (node:crypto, @noble/curves) and post-quantum ones
// (crypto/pq.ts on @noble/post-quantum).
import { createPublicKey, type KeyObject } from 'node:crypto';
import { asymmetricDecrypt, signData, signDigest } from '../crypto/asymmetric';
import { crc32c } from '../crypto/crc32c';
import {
  checkPublicKeyFormat, type DigestField, encodePqPublicKey, type KemDecapsulator, type PqAlgorithmName, type PqSignAlgorithm, type PqSigner, type PqSignInput,
} from '../crypto/pq';
import { invalidArgument } from '../errors';
import {
  type AsymmetricDecryptRequest, type AsymmetricDecryptResponse, type AsymmetricSignRequest, type AsymmetricSignResponse,
  type DecapsulateRequest, type DecapsulateResponse, type Digest, type GetPublicKeyRequest, protectionLevel, type PublicKey, versionAlgorithm,
} from '../proto/wire';
import type { CallContext, ServiceContext } from './context';
import { accessReason, ExternalKeys, isExternal } from './external-keys';
import { bytesField, checkSize, checksum, verifyCrc32c } from './integrity';
import { cryptoKeyName, parseVersion } from './names';
import { type UsableVersion, usableVersion } from './usable-version';

const MAX_DATA = 64 * 1024;

/**
 * A post-quantum key's public key in the format asked for (required for
 * these algorithms; crypto/pq-algorithms.ts says which each serves): in
 * public_key, and in pem too when the format is PEM.
 */
function pqPublicKeyResponse(use: UsableVersion, format: string, common: PublicKey): PublicKey {
  const algorithm = use.alg.name as PqAlgorithmName;
  const chosen = checkPublicKeyFormat(algorithm, format);
  const data = encodePqPublicKey(algorithm, (use.material.pq as PqSigner | KemDecapsulator).publicKey, chosen);
  const pem = chosen === 'PEM' ? { pem: data.toString('ascii'), pemCrc32c: checksum(data) } : {};
  return { ...common, ...pem, publicKeyFormat: chosen, publicKey: { data, crc32cChecksum: checksum(data) } };
}
const DIGESTS = ['sha256', 'sha384', 'sha512', 'externalMu'] as const;

/** The one digest the request carries (Digest is a oneof), or undefined. */
function requestDigest(digest: Digest | null | undefined): { field: string; bytes: Buffer } | undefined {
  if (digest == null) return undefined;
  const set = DIGESTS.filter((f) => { const b = digest[f]; return Buffer.isBuffer(b) && b.length > 0; });
  if (set.length === 0) throw invalidArgument('digest: one of sha256, sha384 or sha512 must be set.');
  const field = set[set.length - 1];
  return { field, bytes: bytesField(digest[field]) };
}

export class AsymmetricOps {
  private readonly external: ExternalKeys;

  constructor(private readonly ctx: ServiceContext) {
    this.external = new ExternalKeys(ctx);
  }

  async asymmetricSign(req: AsymmetricSignRequest, call?: CallContext): Promise<AsymmetricSignResponse> {
    const name = parseVersion(req.name, 'name');
    const digest = requestDigest(req.digest);
    const data = bytesField(req.data);
    if (digest && data.length > 0) throw invalidArgument('data: can not be supplied together with digest.');
    if (!digest && data.length === 0) throw invalidArgument('digest: either digest or data must be supplied.');
    checkSize(data, MAX_DATA, 'data');
    const verifiedDigest = digest ? verifyCrc32c(digest.bytes, req.digestCrc32c, 'digest_crc32c', 'digest') : false;
    if (!digest && req.digestCrc32c != null) throw invalidArgument('digest_crc32c: set without a digest.');
    const verifiedData = verifyCrc32c(data, req.dataCrc32c, 'data_crc32c', 'data');
    const use = await usableVersion(this.ctx, { keyName: cryptoKeyName(name), version: name.version, purposes: ['ASYMMETRIC_SIGN'], rpc: 'AsymmetricSign', justify: call });
    if (digest?.field === 'externalMu' && use.alg.kind !== 'ml-dsa') {
      throw invalidArgument(`digest.external_mu: only ML-DSA external-mu keys take an external mu; ${use.alg.name} does not.`);
    }
    if (digest && use.alg.hash !== undefined && digest.field !== use.alg.hash) {
      throw invalidArgument(`digest.${digest.field}: algorithm ${use.alg.name} signs ${use.alg.hash} digests.`);
    }
    const signature = isExternal(use.version.protectionLevel)
      ? await this.externalSign(use, digest, data, call)
      : use.material.pq
        ? await this.pqSign(use, digest ? { kind: 'digest', field: digest.field as DigestField, bytes: digest.bytes } : { kind: 'data', bytes: data })
        : digest ? signDigest(use.alg, use.material.privateKey!, digest.bytes) : signData(use.alg, use.material.privateKey!, data);
    return {
      signature,
      signatureCrc32c: checksum(signature),
      verifiedDigestCrc32c: verifiedDigest,
      verifiedDataCrc32c: verifiedData,
      name: use.version.name,
      protectionLevel: protectionLevel(use.version.protectionLevel),
    };
  }

  async asymmetricDecrypt(req: AsymmetricDecryptRequest, call?: CallContext): Promise<AsymmetricDecryptResponse> {
    const name = parseVersion(req.name, 'name');
    const ciphertext = bytesField(req.ciphertext);
    if (ciphertext.length === 0) throw invalidArgument('ciphertext: required field is empty.');
    const verified = verifyCrc32c(ciphertext, req.ciphertextCrc32c, 'ciphertext_crc32c', 'ciphertext');
    const use = await usableVersion(this.ctx, { keyName: cryptoKeyName(name), version: name.version, purposes: ['ASYMMETRIC_DECRYPT'], rpc: 'AsymmetricDecrypt', justify: call });
    const plaintext = asymmetricDecrypt(use.alg, use.material.privateKey!, ciphertext);
    return {
      plaintext,
      plaintextCrc32c: checksum(plaintext),
      verifiedCiphertextCrc32c: verified,
      protectionLevel: protectionLevel(use.version.protectionLevel),
    };
  }

  /** Decapsulate (KEY_ENCAPSULATION keys): the shared secret of a ciphertext made with the version's public key. */
  async decapsulate(req: DecapsulateRequest, call?: CallContext): Promise<DecapsulateResponse> {
    const name = parseVersion(req.name, 'name');
    const ciphertext = bytesField(req.ciphertext);
    if (ciphertext.length === 0) throw invalidArgument('ciphertext: required field is empty.');
    checkSize(ciphertext, MAX_DATA, 'ciphertext');
    const verified = verifyCrc32c(ciphertext, req.ciphertextCrc32c, 'ciphertext_crc32c', 'ciphertext');
    const use = await usableVersion(this.ctx, { keyName: cryptoKeyName(name), version: name.version, purposes: ['KEY_ENCAPSULATION'], rpc: 'Decapsulate', justify: call });
    const sharedSecret = (use.material.pq as KemDecapsulator).decapsulate(ciphertext);
    return {
      name: use.version.name,
      sharedSecret,
      // optional int64 (not an Int64Value wrapper, as the other checksums are).
      sharedSecretCrc32c: String(crc32c(sharedSecret)),
      verifiedCiphertextCrc32c: verified,
      protectionLevel: protectionLevel(use.version.protectionLevel),
    };
  }

  /** ML-DSA signs here (milliseconds); SLH-DSA (seconds) in the worker thread, so other calls go on meanwhile. */
  private pqSign(use: UsableVersion, input: PqSignInput): Promise<Buffer> | Buffer {
    if (use.alg.kind === 'slh-dsa') return this.ctx.material.slow.sign(use.alg.name as PqSignAlgorithm, use.material.raw, input);
    return (use.material.pq as PqSigner).sign(input);
  }

  /** The EKM signs; the KMS holds nothing of the key. */
  private async externalSign(use: UsableVersion, digest: { field: string; bytes: Buffer } | undefined, data: Buffer, call?: CallContext): Promise<Buffer> {
    const input = digest ? { digest: { [digest.field]: digest.bytes } } : { data };
    return this.external.call(use.key, use.version, accessReason(call), (target, info) => this.ctx.ekm.asymmetricSign(target, input, info));
  }

  /** The version's public key: from its own material, or asked of the EKM for external keys. */
  private async publicKeyOf(use: UsableVersion, call?: CallContext): Promise<KeyObject> {
    if (!isExternal(use.version.protectionLevel)) return createPublicKey(use.material.privateKey!);
    const answer = await this.external.call(use.key, use.version, accessReason(call), (target, info) => this.ctx.ekm.getPublicKey(target, info));
    return createPublicKey(answer.pem);
  }

  async getPublicKey(req: GetPublicKeyRequest, call?: CallContext): Promise<PublicKey> {
    const name = parseVersion(req.name, 'name');
    const format = String(req.publicKeyFormat ?? 'PUBLIC_KEY_FORMAT_UNSPECIFIED');
    const use = await usableVersion(this.ctx, {
      keyName: cryptoKeyName(name), version: name.version, purposes: ['ASYMMETRIC_SIGN', 'ASYMMETRIC_DECRYPT', 'KEY_ENCAPSULATION'], rpc: 'GetPublicKey',
    });
    const common = { algorithm: versionAlgorithm(use.version.algorithm), name: use.version.name, protectionLevel: protectionLevel(use.version.protectionLevel) };
    if (use.material.pq) return pqPublicKeyResponse(use, format, common);
    if (format !== 'PUBLIC_KEY_FORMAT_UNSPECIFIED' && format !== 'PEM' && format !== 'DER') {
      throw invalidArgument(`public_key_format: ${format} is only available for post-quantum algorithms.`);
    }
    const publicKey = await this.publicKeyOf(use, call);
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const withPem = { ...common, pem, pemCrc32c: checksum(Buffer.from(pem)) };
    if (format === 'PUBLIC_KEY_FORMAT_UNSPECIFIED') return withPem;
    // An explicit format is answered in public_key; PEM also keeps `pem` for older readers.
    const data = format === 'PEM' ? Buffer.from(pem) : publicKey.export({ type: 'spki', format: 'der' });
    const base = format === 'PEM' ? withPem : common;
    return { ...base, publicKeyFormat: format === 'PEM' ? 'PEM' : 'DER', publicKey: { data, crc32cChecksum: checksum(data) } };
  }
}
