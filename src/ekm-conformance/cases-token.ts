// Token cases: one for each way a bearer token must be refused, each
// answered 401 UNAUTHENTICATED on a wrap the same request with a good token
// would pass (docs/ekm-protocol.md, "Tokens").
import { createHmac, randomBytes } from 'node:crypto';
import { caseMaker, skip, type ConformanceCase } from './case';
import { expectError, secretPlaintext, type Session } from './session';
import { TokenSigner } from './tokens';

const c = caseMaker('token');
const HOUR = 3600;
const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const nowS = () => Math.floor(Date.now() / 1000);

/** The claims of a good token, for tokens built by hand. */
function goodClaims(s: Session): Record<string, unknown> {
  const now = nowS();
  const email = s.target.callerEmail;
  return { iss: s.signer.issuer, aud: s.target.audience, sub: email, email, email_verified: true, iat: now, exp: now + 300 };
}

function goodHeader(s: Session): Record<string, unknown> {
  return { alg: s.signer.alg, typ: 'JWT', ...(s.signer.kid ? { kid: s.signer.kid } : {}) };
}

function flippedSignatureBit(s: Session): string {
  const [head, body, signature] = s.token().split('.');
  const bytes = Buffer.from(signature, 'base64url');
  bytes[bytes.length >> 1] ^= 0x01;
  return `${head}.${body}.${bytes.toString('base64url')}`;
}

function audienceWithPort(s: Session): string {
  const aud = new URL(s.target.audience);
  if (aud.port) skip(`the target's audience ${s.target.audience} has a port itself`);
  return s.token({ audience: `${aud.protocol}//${aud.hostname}:443${aud.pathname === '/' ? '' : aud.pathname}` });
}

function claimsAltered(s: Session): string {
  const claims = goodClaims(s);
  const [head, , signature] = s.signer.signRaw(goodHeader(s), claims).split('.');
  return `${head}.${b64url({ ...claims, exp: (claims.exp as number) + 99_999 })}.${signature}`;
}

function hmacSigned(s: Session): string {
  const input = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url(goodClaims(s))}`;
  return `${input}.${createHmac('sha256', randomBytes(32)).update(input).digest('base64url')}`;
}

function withoutEmail(s: Session): string {
  const claims = goodClaims(s);
  delete claims.email;
  delete claims.email_verified;
  return s.signer.signRaw(goodHeader(s), claims);
}

type Maker = (s: Session) => string | null;

const REFUSED: Array<[string, string, Maker]> = [
  ['missing', 'a request without a token', () => null],
  ['not-a-jwt', 'a token that is not a JWT', () => 'not-a-jwt'],
  ['flipped-signature-bit', 'a token with one bit of its signature flipped', flippedSignatureBit],
  ['claims-altered', 'a token whose claims were changed after signing', claimsAltered],
  ['alg-none', 'an unsigned token (alg none)', (s) => `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(goodClaims(s))}.`],
  ['alg-hs256', 'an HMAC-signed token (alg HS256)', hmacSigned],
  ['wrong-audience', 'a token for another audience', (s) => s.token({ audience: 'https://another-ekm.invalid' })],
  ['audience-with-port', "a token whose audience adds a port (https://host:443)", audienceWithPort],
  ['wrong-issuer', 'a token signed by the trusted key but naming another issuer', (s) => s.token({ issuer: 'https://another-issuer.invalid' })],
  ['unknown-issuer', 'a token from an unknown issuer and key', (s) => s.token({}, TokenSigner.generate('https://unknown-issuer.invalid', s.signer.alg))],
  ['other-key', 'a token naming the trusted issuer and kid but signed by another key',
    (s) => s.token({}, TokenSigner.generate(s.signer.issuer, s.signer.alg, s.signer.kid))],
  ['expired', 'an expired token', (s) => s.token({ issuedAt: nowS() - HOUR, expiresIn: -600 })],
  ['not-yet-valid', 'a token not valid for another hour (nbf)', (s) => s.token({ extra: { nbf: nowS() + HOUR } })],
  ['lifetime-too-long', 'a token living longer than one hour (exp - iat = 2 h)', (s) => s.token({ issuedAt: nowS(), expiresIn: 2 * HOUR })],
  ['email-not-verified', 'a token whose email is not verified', (s) => s.token({ emailVerified: false })],
  ['missing-email', 'a token without an email claim', withoutEmail],
  ['bound-to-another-certificate', 'a token bound to another certificate (ekm_cert_sha256)',
    (s) => s.token({ extra: { ekm_cert_sha256: randomBytes(32).toString('hex') } })],
];

export function tokenCases(): ConformanceCase[] {
  return REFUSED.map(([id, what, make]) => c(id, `${what} is UNAUTHENTICATED`, async (s) => {
    const token = make(s);
    if (token) s.secrets.add(token);
    expectError(await s.call(s.target.keys.wrapA, 'wrap', { plaintext: secretPlaintext(s) }, token), 401, 'UNAUTHENTICATED');
  }));
}
