// The KMS service identity: stable project numbers and emails, one signing
// key kept sealed in the settings, tokens an EKM's verifier accepts, cached
// until a minute before they expire.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ManualClock } from '../../src/clock';
import { RootKey } from '../../src/crypto/root-key';
import { silentLogger } from '../../src/log';
import { TokenVerifier } from '../../src/jwt';
import {
  CERT_BINDING_CLAIM, DEFAULT_ISSUER, SIGNING_KEY_SETTING, ServiceIdentity, identityKeyStore, projectNumber, serviceIdentityEmail,
} from '../../src/services/ekm-client/identity';
import { tempDir } from '../ekm-server/helpers';
import { memoryKeyStore } from './helpers';

void test('project numbers are stable, 12 digits, never starting with 0; emails follow Cloud KMS', () => {
  const n = projectNumber('my-project');
  assert.match(n, /^[1-9][0-9]{11}$/);
  assert.equal(projectNumber('my-project'), n);
  assert.notEqual(projectNumber('my-project-2'), n);
  for (let i = 0; i < 200; i++) assert.match(projectNumber(`p${i}`), /^[1-9][0-9]{11}$/);
  assert.equal(serviceIdentityEmail('my-project'), `service-${n}@gcp-sa-ekms.iam.gserviceaccount.com`);
  assert.equal(serviceIdentityEmail('123456789012'), 'service-123456789012@gcp-sa-ekms.iam.gserviceaccount.com', 'a project number is its own number');
  assert.equal(ServiceIdentity.ephemeral().email('projects/my-project'), serviceIdentityEmail('my-project'));
});

void test('the signing key is made once, stored only sealed, and survives a reload', async () => {
  const rootKey = RootKey.generate();
  const keys = memoryKeyStore(new Map(), rootKey);
  const first = await ServiceIdentity.load(keys);
  const stored = keys.settings.get(SIGNING_KEY_SETTING)!;
  assert.ok(stored);
  assert.ok(!stored.includes('PRIVATE KEY') && !stored.includes('"d"'), 'no plaintext key in the settings');
  const again = await ServiceIdentity.load(keys);
  assert.equal(again.kid, first.kid);
  assert.deepEqual(again.jwks(), first.jwks());
  assert.equal(keys.settings.size, 1);
  await assert.rejects(ServiceIdentity.load(memoryKeyStore(keys.settings, RootKey.generate())), /failed authentication/, 'another root key cannot open it');

  const jwk = first.jwks().keys[0];
  assert.deepEqual(Object.keys(jwk).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
  assert.equal(jwk.alg, 'ES256');
  assert.equal(jwk.use, 'sig');
  assert.equal(first.issuer, DEFAULT_ISSUER);
});

void test('concurrent first loads agree on one key', async () => {
  const keys = memoryKeyStore();
  const [a, b] = await Promise.all([ServiceIdentity.load(keys), ServiceIdentity.load(keys)]);
  assert.equal(a.kid, b.kid);
});

void test('identityKeyStore adapts a store and a root key', async () => {
  const settings = new Map<string, string>();
  const store = {
    getSetting: async (k: string) => settings.get(k),
    initSetting: async (k: string, v: string) => (settings.has(k) ? settings.get(k)! : (settings.set(k, v), v)),
  };
  const rootKey = RootKey.generate();
  const a = await ServiceIdentity.load(identityKeyStore(store, rootKey));
  const b = await ServiceIdentity.load(identityKeyStore(store, rootKey));
  assert.equal(a.kid, b.kid);
});

void test('tokens verify with the reference EKM verifier, are cached, and renew a minute before expiry', async () => {
  const clock = new ManualClock(Date.parse('2025-06-01T00:00:00Z'));
  const identity = ServiceIdentity.ephemeral({ clock, issuer: 'https://kms.example/' });
  const dir = tempDir('openekm-identity-');
  try {
    const jwks = path.join(dir, 'jwks.json');
    fs.writeFileSync(jwks, JSON.stringify(identity.jwks()));
    const verifier = await TokenVerifier.create({
      issuers: [{ issuer: 'https://kms.example/', jwks }], audiences: ['https://ekm.example'], clock, logger: silentLogger,
    });
    const cert = 'ab'.repeat(32);
    const token = await identity.token('p', 'https://ekm.example', cert);
    assert.equal(identity.token('p', 'https://ekm.example', cert), token, 'a signed token is then answered at once');
    const header = JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString('utf8')) as Record<string, unknown>;
    assert.deepEqual(header, { alg: 'ES256', kid: identity.kid, typ: 'JWT' });
    const caller = await verifier.verify(`Bearer ${token}`);
    assert.equal(caller.email, identity.email('p'));
    assert.equal(caller.expiresAt, clock.now() + 60_000, 'a token lives 60 s');
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as Record<string, unknown>;
    assert.equal(claims[CERT_BINDING_CLAIM], cert, 'bound to the EKM certificate the connection verified');

    clock.advance(39_000);
    assert.equal(identity.token('p', 'https://ekm.example', cert), token, 'reused until 20 s before expiry');
    assert.notEqual(await identity.token('p', 'https://other.example', cert), token, 'one token per audience');
    assert.notEqual(await identity.token('q', 'https://ekm.example', cert), token, 'one token per project');
    assert.notEqual(await identity.token('p', 'https://ekm.example', 'cd'.repeat(32)), token, 'one token per EKM certificate');
    clock.advance(1_000);
    const pending = identity.token('p', 'https://ekm.example', cert);
    assert.equal(identity.token('p', 'https://ekm.example', cert), pending, 'calls during a signature share it');
    const renewed = await pending;
    assert.notEqual(renewed, token);
    await verifier.verify(`Bearer ${renewed}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
