// The wire types services take and return: the TypeScript interfaces
// generated from the official protos, shipped in @google-cloud/kms
// (type-only: nothing of the package is loaded by this import). The
// interfaces accept the internal message shape (proto/registry.ts: enums by
// name, int64 as decimal strings, bytes as Buffers), and a misspelled field
// in an object literal of one of them is a compile error.
//
// Services move onto these one at a time; the rest still take and return
// Msg. The method table (api/methods.ts) is the only place a Msg becomes a
// typed request, or a typed response a Msg.
import type { protos } from '@google-cloud/kms';
import { enumNames } from './registry';

/** Enums by name, as the internal shape holds them. */
export type ProtectionLevel = keyof typeof protos.google.cloud.kms.v1.ProtectionLevel;
export type CryptoKeyVersionAlgorithm = keyof typeof protos.google.cloud.kms.v1.CryptoKeyVersion.CryptoKeyVersionAlgorithm;

/**
 * The narrowing of a stored enum name (a string in the store) to its wire
 * type, checked against the proto: a name it does not have is a bug of ours,
 * answered INTERNAL.
 */
function narrowing<T extends string>(enumName: string): (name: string) => T {
  const names: ReadonlySet<string> = new Set(enumNames(enumName));
  const isName = (name: string): name is T => names.has(name);
  return (name) => {
    if (isName(name)) return name;
    throw new Error(`'${name}' is not a value of ${enumName}`);
  };
}

export const protectionLevel = narrowing<ProtectionLevel>('google.cloud.kms.v1.ProtectionLevel');
export const versionAlgorithm = narrowing<CryptoKeyVersionAlgorithm>('google.cloud.kms.v1.CryptoKeyVersion.CryptoKeyVersionAlgorithm');

export type EncryptRequest = protos.google.cloud.kms.v1.IEncryptRequest;
export type EncryptResponse = protos.google.cloud.kms.v1.IEncryptResponse;
export type DecryptRequest = protos.google.cloud.kms.v1.IDecryptRequest;
export type DecryptResponse = protos.google.cloud.kms.v1.IDecryptResponse;
export type AsymmetricSignRequest = protos.google.cloud.kms.v1.IAsymmetricSignRequest;
export type AsymmetricSignResponse = protos.google.cloud.kms.v1.IAsymmetricSignResponse;
export type AsymmetricDecryptRequest = protos.google.cloud.kms.v1.IAsymmetricDecryptRequest;
export type AsymmetricDecryptResponse = protos.google.cloud.kms.v1.IAsymmetricDecryptResponse;
export type Digest = protos.google.cloud.kms.v1.IDigest;
export type GetPublicKeyRequest = protos.google.cloud.kms.v1.IGetPublicKeyRequest;
export type PublicKey = protos.google.cloud.kms.v1.IPublicKey;
export type MacSignRequest = protos.google.cloud.kms.v1.IMacSignRequest;
export type MacSignResponse = protos.google.cloud.kms.v1.IMacSignResponse;
export type MacVerifyRequest = protos.google.cloud.kms.v1.IMacVerifyRequest;
export type MacVerifyResponse = protos.google.cloud.kms.v1.IMacVerifyResponse;
export type RawEncryptRequest = protos.google.cloud.kms.v1.IRawEncryptRequest;
export type RawEncryptResponse = protos.google.cloud.kms.v1.IRawEncryptResponse;
export type RawDecryptRequest = protos.google.cloud.kms.v1.IRawDecryptRequest;
export type RawDecryptResponse = protos.google.cloud.kms.v1.IRawDecryptResponse;
export type GenerateRandomBytesRequest = protos.google.cloud.kms.v1.IGenerateRandomBytesRequest;
export type GenerateRandomBytesResponse = protos.google.cloud.kms.v1.IGenerateRandomBytesResponse;
