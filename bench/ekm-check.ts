// The EKM workloads' checks: one request sent by hand over node:https, with
// the exact bytes and headers h2load will replay, trusting only the EKM's own
// certificate. h2load counts HTTP statuses only; these show that a wrap body
// really wraps (its blob unwraps to the plaintext), that the unwrap body
// really unwraps, and that the HTTPS echo returns the body.
import * as https from 'node:https';
import { checkFailure, replyJson, sendForReply, type HttpReply } from './http-check';

export interface HttpsTarget {
  port: number;
  /** PEM of the server's certificate, the only trust anchor. */
  ca: string;
  /** Header lines as h2load gets them: `name: value`. */
  headers: readonly string[];
}

function headerObject(lines: readonly string[], length: number): Record<string, string> {
  const headers: Record<string, string> = { 'content-length': String(length) };
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

export function postHttps(target: HttpsTarget, path: string, body: Buffer): Promise<HttpReply> {
  // agent: false, a connection of its own that cannot outlive the check.
  // The certificate covers IP 127.0.0.1, so the name check is a real one.
  return sendForReply((onReply) => https.request(
    { host: '127.0.0.1', port: target.port, method: 'POST', path, ca: target.ca, agent: false, headers: headerObject(target.headers, body.length) },
    onReply,
  ), body);
}

function fail(what: string, reply?: HttpReply): never {
  throw checkFailure('EKM check', what, reply);
}

/** POSTs `body` and returns the reply's JSON; throws unless it is 200 application/json. */
async function postForJson(target: HttpsTarget, path: string, body: Buffer): Promise<Record<string, unknown>> {
  return replyJson('EKM check', path, await postHttps(target, path, body));
}

/** POST :wrap with `body`; returns the wrappedBlob (base64), which must be 29 bytes longer than the plaintext. */
export async function wrapOnce(target: HttpsTarget, path: string, body: Buffer, plaintext: Buffer): Promise<string> {
  const wrapped = await postForJson(target, path, body);
  const blob = wrapped.wrappedBlob;
  if (typeof blob !== 'string' || Buffer.from(blob, 'base64').length !== plaintext.length + 29) {
    fail(`POST ${path} answered no wrappedBlob of ${plaintext.length + 29} bytes`);
  }
  return blob;
}

/** POST :unwrap with `body` must answer the plaintext. */
export async function checkUnwrap(target: HttpsTarget, path: string, body: Buffer, plaintext: Buffer): Promise<void> {
  const unwrapped = await postForJson(target, path, body);
  if (typeof unwrapped.plaintext !== 'string' || !Buffer.from(unwrapped.plaintext, 'base64').equals(plaintext)) {
    fail(`POST ${path} did not answer the plaintext`);
  }
}

/** The HTTPS echo must answer 200 with the body unchanged. */
export async function checkEcho(target: HttpsTarget, path: string, body: Buffer): Promise<void> {
  const reply = await postHttps(target, path, body);
  if (reply.status !== 200 || !reply.body.equals(body)) fail(`echo POST ${path} did not return the body`, reply);
}
