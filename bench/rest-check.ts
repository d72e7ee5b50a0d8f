// The REST workload and its checks: one request sent by hand over node:http
// with the exact bytes h2load will replay. h2load counts HTTP statuses only,
// so this is what proves that the body really encrypts (the ciphertext
// decrypts back to the plaintext through POST :decrypt) and that the echo
// server returns the body.
import * as http from 'node:http';
import type { Workload } from './bodies';
import { checkFailure, replyJson, sendForReply, type HttpReply } from './http-check';

/** Concurrencies of the REST workloads (the issue's): keep-alive connections, one request in flight on each. */
export const REST_CONCURRENCIES = [16, 64];

export function postJson(port: number, path: string, body: Buffer): Promise<HttpReply> {
  const headers = { 'content-type': 'application/json', 'content-length': String(body.length) };
  // agent: false, a connection of its own: a check must not share or hold
  // a socket that could outlive it.
  return sendForReply((onReply) => http.request({ host: '127.0.0.1', port, method: 'POST', path, headers, agent: false }, onReply), body);
}

function fail(what: string, reply?: HttpReply): never {
  throw checkFailure('REST check', what, reply);
}

/** POSTs `body` and returns the reply's JSON; throws unless it is 200 application/json. */
async function postForJson(port: number, path: string, body: Buffer): Promise<Record<string, unknown>> {
  return replyJson('REST check', path, await postJson(port, path, body));
}

/** Encrypt over REST, then Decrypt of its ciphertext over REST, must give back the plaintext. */
async function checkEncrypt(port: number, keyName: string, path: string, body: Buffer, plaintext: Buffer): Promise<void> {
  const encrypted = await postForJson(port, path, body);
  if (typeof encrypted.ciphertext !== 'string' || encrypted.ciphertext === '') fail(`POST ${path} answered no ciphertext`);
  const decryptBody = Buffer.from(JSON.stringify({ ciphertext: encrypted.ciphertext }));
  const decrypted = await postForJson(port, `/v1/${keyName}:decrypt`, decryptBody);
  if (typeof decrypted.plaintext !== 'string' || !Buffer.from(decrypted.plaintext, 'base64').equals(plaintext)) {
    fail(`the ciphertext from POST ${path} does not decrypt to the plaintext through :decrypt`);
  }
}

/** The echo server must answer 200 with the body unchanged. */
async function checkEcho(port: number, path: string, body: Buffer): Promise<void> {
  const reply = await postJson(port, path, body);
  if (reply.status !== 200 || !reply.body.equals(body)) fail(`echo POST ${path} did not return the body`, reply);
}

/**
 * Encrypt over REST: `POST /v1/{cryptoKey}:encrypt` with the compact JSON
 * body a client sends, `{"plaintext":"<base64>"}`, and no query string (the
 * server then answers in its default format, pretty-printed like Google's).
 */
export function restEncryptWorkload(keyName: string, plaintext: Buffer): Workload {
  const path = `/v1/${keyName}:encrypt`;
  const body = Buffer.from(JSON.stringify({ plaintext: plaintext.toString('base64') }));
  return {
    id: 'rest-encrypt',
    label: 'Encrypt 1 KiB over REST',
    protocol: 'rest',
    concurrencies: REST_CONCURRENCIES,
    path,
    body,
    // The work floor serves :encrypt and :decrypt too, and is checked as ours is.
    verify: (kind, port) => (kind === 'echo' ? checkEcho(port, path, body) : checkEncrypt(port, keyName, path, body, plaintext)),
  };
}
