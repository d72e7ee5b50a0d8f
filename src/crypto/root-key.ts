// The root key: 32 random bytes kept outside the database. All key material
// is sealed under it at rest, so a copy of the database alone reveals no key.
//
// Sealed layout (our own format):
//   byte 0      format 0x01 = AES-256-GCM (NIST SP 800-38D)
//   bytes 1-12  random 96-bit IV
//   then        ciphertext || 16-byte tag
// The GCM additional data is a label and the caller's context (e.g. the
// CryptoKeyVersion resource name), so sealed material moved to another row
// fails to open instead of silently becoming that row's key.
//
// The sealing key and every other secret are derived from the root key with
// HKDF-SHA256 (RFC 5869) under distinct labels, so no two uses share a key.

import { closeSync, fstatSync, fsyncSync, linkSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hkdfSync, randomBytes } from 'node:crypto';
import { aeadOpen, aeadOverhead, aeadSeal } from './aead';

const ROOT_KEY_BYTES = 32;
const FORMAT_AES_256_GCM = 0x01;
const SEALED_HEADER = Buffer.from([FORMAT_AES_256_GCM]);
const SEAL_LABEL = 'openekm/root-key/seal/v1';
/** RFC 5869 §3.1: a fixed, non-secret salt is fine for a uniformly random input key. */
const HKDF_SALT = Buffer.from('openekm-root-key-hkdf-v1', 'utf8');
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function aadFor(context: string): Buffer {
  return Buffer.from(`${SEAL_LABEL}\0${context}`, 'utf8');
}

export class RootKey {
  readonly #key: Buffer;
  readonly #sealKey: Buffer;

  private constructor(key: Buffer) {
    if (key.length !== ROOT_KEY_BYTES) throw new Error(`root key must be ${ROOT_KEY_BYTES} bytes`);
    this.#key = Buffer.from(key);
    this.#sealKey = this.deriveSecret(SEAL_LABEL);
  }

  static generate(): RootKey {
    return new RootKey(randomBytes(ROOT_KEY_BYTES));
  }

  /** Parses base64 of exactly 32 bytes (surrounding whitespace ignored); a bad value is a startup error. */
  static fromBase64(text: string): RootKey {
    const trimmed = text.trim();
    // Buffer.from(…, 'base64') skips bad characters silently, so validate first.
    const bytes = BASE64.test(trimmed) ? Buffer.from(trimmed, 'base64') : Buffer.alloc(0);
    if (bytes.length !== ROOT_KEY_BYTES) {
      throw new Error(`root key must be base64 of exactly ${ROOT_KEY_BYTES} bytes`);
    }
    return new RootKey(bytes);
  }

  /** The key as base64, for writing the key file. */
  toBase64(): string {
    return this.#key.toString('base64');
  }

  /** Encrypts plaintext bound to context. */
  seal(plaintext: Buffer, context: string): Buffer {
    return aeadSeal(this.#sealKey, SEALED_HEADER, [aadFor(context)], plaintext);
  }

  /** Decrypts what seal produced for the same context; throws Error otherwise. */
  open(sealed: Buffer, context: string): Buffer {
    if (sealed.length < aeadOverhead(SEALED_HEADER.length) || sealed[0] !== FORMAT_AES_256_GCM) {
      throw new Error('sealed key material is malformed');
    }
    const plaintext = aeadOpen(this.#sealKey, sealed, SEALED_HEADER.length, [aadFor(context)]);
    if (!plaintext) throw new Error('sealed key material failed authentication (wrong root key or context)');
    return plaintext;
  }

  /** A 32-byte secret for `label`: HKDF-SHA256 (RFC 5869) of the root key with info = label. */
  deriveSecret(label: string): Buffer {
    return Buffer.from(hkdfSync('sha256', this.#key, HKDF_SALT, Buffer.from(label, 'utf8'), 32));
  }
}

function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
}

/**
 * Writes a new key file atomically: the content goes to a private temporary
 * file (open 'wx', mode 0600), which is then hard-linked into place. link()
 * fails with EEXIST if another process got there first, and a reader never
 * sees a half-written file.
 */
function tryCreate(path: string, key: RootKey): boolean {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, `${key.toBase64()}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, path);
    return true;
  } catch (err) {
    if (errorCode(err) === 'EEXIST') return false;
    throw err;
  } finally {
    unlinkSync(tmp);
  }
}

function readExisting(path: string): RootKey {
  const fd = openSync(path, 'r');
  try {
    // Checked on the open descriptor so the file can't be swapped in between.
    const mode = fstatSync(fd).mode;
    if ((mode & 0o077) !== 0) {
      throw new Error(
        `root key file ${path} is accessible by group or others (mode ${(mode & 0o777).toString(8)}); run chmod 600 on it`,
      );
    }
    return RootKey.fromBase64(readFileSync(fd, 'utf8'));
  } finally {
    closeSync(fd);
  }
}

/** Loads the root key from path, creating the file (mode 0600) with a new key if it does not exist. */
export function loadOrCreateRootKeyFile(path: string): RootKey {
  if (!exists(path)) {
    const key = RootKey.generate();
    if (tryCreate(path, key)) return key;
  }
  return readExisting(path);
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return false;
    throw err;
  }
}
