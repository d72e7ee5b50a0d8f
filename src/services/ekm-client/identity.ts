// The KMS's service identity towards EKMs (docs/ekm-protocol.md, "The KMS
// side"): each project has a stable project number and the identity
// service-{projectNumber}@gcp-sa-ekms.iam.gserviceaccount.com; every EKM call
// carries a short-lived ES256 JWT naming that identity, signed by one P-256 key
// the KMS generates once. The private key is kept only sealed under the root
// key (in the store's settings); an EKM trusts the KMS by its JWKS. Tokens
// are signed with jose.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { systemClock, type Clock } from '../../clock';

/** The default `iss` of the KMS's tokens: an EKM's trust configuration names it beside the JWKS. */
export const DEFAULT_ISSUER = 'https://openekm.kms/';
/** Token lifetime: 60 s or less (protocol); a leaked token soon dies. */
export const TOKEN_LIFETIME_SECONDS = 60;
/** A cached token is replaced this long before it expires, so one never arrives expired at a slow EKM. */
export const TOKEN_REFRESH_MARGIN_SECONDS = 20;
/**
 * The claim binding a token to the EKM's TLS certificate: the lower-case hex
 * SHA-256 of the leaf the KMS verified on the connection that carries it (as
 * Cloud KMS writes a pinned certificate's sha256_fingerprint). An EKM that
 * checks it against its own certificate refuses a token captured by another
 * server; one that does not know it ignores it (docs/ekm-protocol.md).
 */
export const CERT_BINDING_CLAIM = 'ekm_cert_sha256';
/** The settings key of the sealed signing key. */
export const SIGNING_KEY_SETTING = 'ekm_client_signing_key';
const SEAL_CONTEXT = 'openekm/ekm-client/signing-key/v1';
const EMAIL_DOMAIN = 'gcp-sa-ekms.iam.gserviceaccount.com';
const TOKEN_CACHE_LIMIT = 1024;

/**
 * Where the signing key lives: the store's settings and the root key. The
 * lead wires it with `identityKeyStore(store, rootKey)`; tests may pass an
 * in-memory map and a RootKey.
 */
export interface IdentityKeyStore {
  getSetting(key: string): Promise<string | undefined>;
  /** Sets the value unless one exists; returns the stored value (so concurrent starts agree on one key). */
  initSetting(key: string, value: string): Promise<string>;
  seal(plaintext: Buffer, context: string): Buffer;
  open(sealed: Buffer, context: string): Buffer;
}

/** Adapts the KMS store (settings) and root key (sealing) to IdentityKeyStore. */
export function identityKeyStore(
  store: { getSetting(key: string): Promise<string | undefined>; initSetting(key: string, value: string): Promise<string> },
  rootKey: { seal(plaintext: Buffer, context: string): Buffer; open(sealed: Buffer, context: string): Buffer },
): IdentityKeyStore {
  return {
    getSetting: (k) => store.getSetting(k),
    initSetting: (k, v) => store.initSetting(k, v),
    seal: (p, c) => rootKey.seal(p, c),
    open: (s, c) => rootKey.open(s, c),
  };
}

export interface ServiceIdentityOptions {
  /** The tokens' `iss`; default DEFAULT_ISSUER. */
  issuer?: string;
  clock?: Clock;
}

export interface Jwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
  kid: string;
  alg: 'ES256';
  use: 'sig';
}

export interface Jwks {
  keys: Jwk[];
}

/**
 * The project number of a project id: the first 12 decimal digits of
 * SHA-256(id) read as a big-endian integer. A decimal rendering never starts
 * with 0, and the same id always gives the same number, across restarts and
 * installations (an EKM's allow-list names it).
 */
export function projectNumber(projectId: string): string {
  const digest = createHash('sha256').update(projectId, 'utf8').digest('hex');
  return BigInt(`0x${digest}`).toString(10).slice(0, 12);
}

/** The KMS service identity of a project (given by id or number). */
export function serviceIdentityEmail(project: string): string {
  const number = /^[1-9][0-9]{0,18}$/.test(project) ? project : projectNumber(project);
  return `service-${number}@${EMAIL_DOMAIN}`;
}

/** The project id in "projects/{id}" or a bare id. */
function projectId(project: string): string {
  const m = /^projects\/([^/]+)/.exec(project);
  return m ? m[1] : project;
}

/** RFC 7638 thumbprint: stable for the key, so the kid needs no storing. */
function thumbprint(jwk: { crv?: string; kty?: string; x?: string; y?: string }): string {
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return createHash('sha256').update(canonical, 'utf8').digest('base64url');
}

function newSealedKey(keys: IdentityKeyStore): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const der = privateKey.export({ type: 'pkcs8', format: 'der' });
  try {
    return JSON.stringify({ v: 1, sealedPkcs8: keys.seal(der, SEAL_CONTEXT).toString('base64') });
  } finally {
    der.fill(0);
  }
}

function openSealedKey(keys: IdentityKeyStore, stored: string): KeyObject {
  let sealed: unknown;
  try {
    sealed = (JSON.parse(stored) as { v?: unknown; sealedPkcs8?: unknown }).sealedPkcs8;
  } catch {
    sealed = undefined;
  }
  if (typeof sealed !== 'string') throw new Error(`setting ${SIGNING_KEY_SETTING} is malformed`);
  const der = keys.open(Buffer.from(sealed, 'base64'), SEAL_CONTEXT);
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } finally {
    der.fill(0);
  }
}

export class ServiceIdentity {
  readonly issuer: string;
  readonly kid: string;
  readonly #privateKey: KeyObject;
  readonly #jwk: Jwk;
  readonly #clock: Clock;
  readonly #tokens = new Map<string, { token: string | Promise<string>; refreshAt: number }>();

  private constructor(privateKey: KeyObject, options: ServiceIdentityOptions) {
    if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new Error('the EKM client signing key must be EC P-256');
    }
    this.issuer = options.issuer ?? DEFAULT_ISSUER;
    this.#clock = options.clock ?? systemClock;
    this.#privateKey = privateKey;
    const pub = createPublicKey(privateKey).export({ format: 'jwk' });
    this.kid = thumbprint(pub);
    this.#jwk = { kty: 'EC', crv: 'P-256', x: pub.x!, y: pub.y!, kid: this.kid, alg: 'ES256', use: 'sig' };
  }

  /**
   * Loads the signing key from the store's settings, making (and storing,
   * sealed) one on first use. Concurrent first starts agree through
   * initSetting: whichever key was stored first wins.
   */
  static async load(keys: IdentityKeyStore, options: ServiceIdentityOptions = {}): Promise<ServiceIdentity> {
    const stored = (await keys.getSetting(SIGNING_KEY_SETTING)) ?? (await keys.initSetting(SIGNING_KEY_SETTING, newSealedKey(keys)));
    return new ServiceIdentity(openSealedKey(keys, stored), options);
  }

  /** An identity whose key lives only in memory (an in-memory KMS, tests): EKMs must re-trust it after a restart. */
  static ephemeral(options: ServiceIdentityOptions = {}): ServiceIdentity {
    return new ServiceIdentity(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey, options);
  }

  /** The service identity email of a project ("p", "projects/p" or a project number). */
  email(project: string): string {
    return serviceIdentityEmail(projectId(project));
  }

  /** The public key set an EKM trusts for this KMS's issuer. */
  jwks(): Jwks {
    return { keys: [{ ...this.#jwk }] };
  }

  /**
   * A bearer token for project's identity to the EKM named by audience, bound
   * to the certificate (SHA-256 hex) that EKM's connection presented; reused
   * until TOKEN_REFRESH_MARGIN_SECONDS before it expires. A reused token is
   * answered at once; a new one is signed asynchronously (jose), once however
   * many calls ask for it meanwhile.
   */
  token(project: string, audience: string, certSha256: string): string | Promise<string> {
    const cacheKey = `${project}\0${audience}\0${certSha256}`;
    const now = this.#clock.now();
    const cached = this.#tokens.get(cacheKey);
    if (cached && now < cached.refreshAt) return cached.token;
    const iat = Math.floor(now / 1000);
    const exp = iat + TOKEN_LIFETIME_SECONDS;
    const email = this.email(project);
    const signing = new SignJWT({ email, email_verified: true, [CERT_BINDING_CLAIM]: certSha256 })
      .setProtectedHeader({ alg: 'ES256', kid: this.kid, typ: 'JWT' })
      .setIssuer(this.issuer)
      .setAudience(audience)
      .setSubject(email)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(this.#privateKey);
    const entry = { token: signing as string | Promise<string>, refreshAt: (exp - TOKEN_REFRESH_MARGIN_SECONDS) * 1000 };
    if (this.#tokens.size >= TOKEN_CACHE_LIMIT) this.#tokens.delete(this.#tokens.keys().next().value as string);
    this.#tokens.set(cacheKey, entry);
    signing.then(
      (token) => {
        entry.token = token;
      },
      () => {
        if (this.#tokens.get(cacheKey) === entry) this.#tokens.delete(cacheKey);
      },
    );
    return signing;
  }
}
