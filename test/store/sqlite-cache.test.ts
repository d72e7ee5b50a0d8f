// The SQLite store's read cache stays exact across connections: a commit by
// another connection (another process, in production) is seen from the next
// event-loop turn on; this connection's own writes at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { openSqliteStore } from '../../src/store/sqlite';
import { tempDir } from '../helpers/kms';

const RING = 'projects/p/locations/us-east1/keyRings/r';
const KEY = {
  name: `${RING}/cryptoKeys/k`, keyRing: RING, createTime: 1000, purpose: 'ENCRYPT_DECRYPT',
  protectionLevel: 'SOFTWARE', algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION', labels: {}, rotationPeriodMs: null,
  nextRotationTime: null, destroyScheduledDurationMs: 86_400_000, importOnly: false, cryptoKeyBackend: '',
  allowedAccessReasons: null, primaryVersion: null,
};

void test("another connection's commit reaches the cache from the next turn; own writes at once", async () => {
  const file = path.join(tempDir('openekm-cache-'), 'kms.sqlite');
  const a = openSqliteStore(file);
  const b = openSqliteStore(file);
  try {
    await a.createKeyRing({ name: RING, createTime: 1 });
    await a.createCryptoKey(KEY);
    const cached = await a.getCryptoKey(KEY.name);
    assert.deepEqual(cached?.labels, {});

    const fromB = await b.getCryptoKey(KEY.name);
    await b.updateCryptoKey({ ...fromB!, labels: { by: 'b' } });
    await nextTurn();
    assert.deepEqual((await a.getCryptoKey(KEY.name))?.labels, { by: 'b' });

    const current = await a.getCryptoKey(KEY.name);
    await a.updateCryptoKey({ ...current!, labels: { by: 'a' } });
    assert.deepEqual((await a.getCryptoKey(KEY.name))?.labels, { by: 'a' }, 'own write seen in the same turn');
  } finally {
    await a.close();
    await b.close();
  }
});
