// Wrap and unwrap cases: round trips, each way AAD can differ, tampered,
// truncated and foreign blobs, the 64 KiB floor and an oversize plaintext.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { caseMaker, type ConformanceCase } from './case';
import { BodyRefusedByClose } from './client';
import { describeAnswer, expectError, expectPlaintext, secretPlaintext, statusName, wrapOk, type Session } from './session';

const c = caseMaker('wrap');
const b64 = (text: string) => Buffer.from(text).toString('base64');

function flipBit(blobB64: string, index: number): string {
  const blob = Buffer.from(blobB64, 'base64');
  blob[(index + blob.length) % blob.length] ^= 0x01;
  return blob.toString('base64');
}

async function roundTrip(s: Session, aad?: string): Promise<void> {
  const plaintext = secretPlaintext(s);
  const blob = await wrapOk(s, s.target.keys.wrapA, plaintext, aad);
  const body = aad === undefined ? { wrappedBlob: blob } : { wrappedBlob: blob, additionalAuthenticatedData: aad };
  expectPlaintext(await s.call(s.target.keys.wrapA, 'unwrap', body), plaintext);
}

/** unwrap of each blob on wrapA is 400 INVALID_ARGUMENT. */
async function refusedBlobs(s: Session, blobs: string[], aad?: string): Promise<void> {
  for (const wrappedBlob of blobs) {
    const body = aad === undefined ? { wrappedBlob } : { wrappedBlob, additionalAuthenticatedData: aad };
    expectError(await s.call(s.target.keys.wrapA, 'unwrap', body), 400, 'INVALID_ARGUMENT');
  }
}

function aadCases(): ConformanceCase[] {
  const one = b64('aad-one');
  return [
    c('aad-changed', 'unwrap with other AAD than the wrap is INVALID_ARGUMENT', async (s) => {
      await refusedBlobs(s, [await wrapOk(s, s.target.keys.wrapA, secretPlaintext(s), one)], b64('aad-two'));
    }),
    c('aad-missing', 'unwrap without the AAD the wrap had is INVALID_ARGUMENT', async (s) => {
      await refusedBlobs(s, [await wrapOk(s, s.target.keys.wrapA, secretPlaintext(s), one)]);
    }),
    c('aad-added', 'unwrap with AAD of a blob wrapped without is INVALID_ARGUMENT', async (s) => {
      await refusedBlobs(s, [await wrapOk(s, s.target.keys.wrapA, secretPlaintext(s))], one);
    }),
  ];
}

function blobCases(): ConformanceCase[] {
  return [
    c('tampered-blob', 'unwrap of a blob with one bit flipped (first, middle, last bytes) is INVALID_ARGUMENT', async (s) => {
      const blob = await wrapOk(s, s.target.keys.wrapA, secretPlaintext(s));
      const length = Buffer.from(blob, 'base64').length;
      await refusedBlobs(s, [0, 1, 13, Math.floor(length / 2), -17, -1].map((i) => flipBit(blob, i)));
    }),
    c('truncated-blob', 'unwrap of a blob missing its last byte is INVALID_ARGUMENT', async (s) => {
      const blob = Buffer.from(await wrapOk(s, s.target.keys.wrapA, secretPlaintext(s)), 'base64');
      await refusedBlobs(s, [blob.subarray(0, blob.length - 1).toString('base64')]);
    }),
    c('short-blob', 'unwrap of an empty or one-byte blob is INVALID_ARGUMENT', (s) => refusedBlobs(s, ['', 'AA=='])),
    c('wrong-key', "unwrap of another key's blob is INVALID_ARGUMENT", async (s) => {
      await refusedBlobs(s, [await wrapOk(s, s.target.keys.wrapB, secretPlaintext(s))]);
    }),
  ];
}

function sizeCases(): ConformanceCase[] {
  return [
    c('large-64kib', '64 KiB of plaintext and 64 KiB of AAD round-trip', async (s) => {
      const plaintext = secretPlaintext(s, randomBytes(64 * 1024));
      const aad = randomBytes(64 * 1024).toString('base64');
      const blob = await wrapOk(s, s.target.keys.wrapA, plaintext, aad);
      expectPlaintext(await s.call(s.target.keys.wrapA, 'unwrap', { wrappedBlob: blob, additionalAuthenticatedData: aad }), plaintext);
    }),
    c('oversize-plaintext', 'a 2 MiB plaintext is 400 INVALID_ARGUMENT or 413 (or the connection closed mid-body, refusing it)', async (s) => {
      // Random bytes, not a marked secret: nothing to look for in the audit log.
      let res;
      try {
        res = await s.call(s.target.keys.wrapA, 'wrap', { plaintext: randomBytes(2 * 1024 * 1024).toString('base64') });
      } catch (err) {
        // A refusal by closing the connection mid-body is a refusal; the 413 written first may be lost to the reset.
        if (err instanceof BodyRefusedByClose) return;
        throw err;
      }
      const ok = res.status === 413 || (res.status === 400 && statusName(res.body) === 'INVALID_ARGUMENT');
      assert.ok(ok, `expected 400 INVALID_ARGUMENT or 413, got ${describeAnswer(res)}`);
    }),
  ];
}

export function wrapCases(): ConformanceCase[] {
  return [
    c('roundtrip', 'wrap then unwrap gives back the plaintext, without AAD', (s) => roundTrip(s)),
    c('roundtrip-aad', 'wrap then unwrap gives back the plaintext, with AAD', (s) => roundTrip(s, b64('conformance-aad'))),
    ...aadCases(),
    ...blobCases(),
    ...sizeCases(),
  ];
}
