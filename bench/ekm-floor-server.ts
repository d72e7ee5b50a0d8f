// The work floor for the EKM's wrap and unwrap: the least any node:https
// server must do to answer them as the protocol and the issue ask, and
// nothing else. Per request it reads the body, looks the bearer token up in
// a Map (the steady state of a verified, cached token), parses the JSON,
// checks the justification reason, decodes the base64, seals or opens with
// AES-256-GCM (the blob layout the reference EKM uses, 29 bytes over the
// plaintext), builds one audit line and answers `{"wrappedBlob":...}` or
// `{"plaintext":...}`. The audit lines of one event-loop turn are appended
// with one write before those answers go out, as the reference EKM does.
// No signature check, routing table, policy store, key states or logs.
//
// It sits between the echo (TLS and HTTP alone) and ours (the reference
// EKM): echo / floor is what the request's own work costs on this core,
// floor / ours what our EKM costs beyond it.
//
// usage: node dist/bench/ekm-floor-server.js PORT CERT_PEM_FILE KEY_PEM_FILE AUDIT_FILE
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import type * as http from 'node:http';
import { serveEcho } from './echo-common';
import { gcmOpen, gcmSeal, IV_BYTES, ivSource, keyring, onRequestBody } from './floor-common';

const REASON = 'CUSTOMER_INITIATED_ACCESS';
const keyFor = keyring();
const nextIv = ivSource();
const callers = new Map<string, string>();

// The reference EKM's blob layout: format byte 0x01, IV, ciphertext, tag.
function wrap(path: string, body: Record<string, unknown>): object {
  const plaintext = Buffer.from(String(body.plaintext), 'base64');
  const iv = nextIv();
  const blob = Buffer.concat([Buffer.of(1), iv, gcmSeal(keyFor(path), iv, Buffer.from(path), plaintext)]);
  return { wrappedBlob: blob.toString('base64') };
}

function unwrap(path: string, body: Record<string, unknown>): object {
  const blob = Buffer.from(String(body.wrappedBlob), 'base64');
  const plaintext = gcmOpen(keyFor(path), blob.subarray(1, 1 + IV_BYTES), Buffer.from(path), blob.subarray(1 + IV_BYTES));
  return { plaintext: plaintext.toString('base64') };
}

interface Pending {
  res: http.ServerResponse;
  status: number;
  out: Buffer;
}

function main(): void {
  const [portArg, certFile, keyFile, auditFile] = process.argv.slice(2);
  const port = Number(portArg ?? '0');
  if (!Number.isInteger(port) || !certFile || !keyFile || !auditFile) {
    process.stderr.write('usage: ekm-floor-server PORT CERT_PEM_FILE KEY_PEM_FILE AUDIT_FILE\n');
    process.exit(2);
  }
  const auditFd = fs.openSync(auditFile, 'a');
  let batch: Pending[] = [];
  let lines: string[] = [];
  const flush = () => {
    const answers = batch;
    fs.writeSync(auditFd, lines.join(''));
    batch = [];
    lines = [];
    for (const a of answers) {
      a.res.writeHead(a.status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(a.out.length) });
      a.res.end(a.out);
    }
  };

  const handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const started = performance.now();
    // `/{keyPath}:{op}`
    onRequestBody(req, 1, (raw, path, op) => {
      let status = 200;
      let value: object;
      let reason = '';
      // Any bearer token is taken as verified on first sight: the floor
      // models the cached steady state, not the signature check.
      const token = req.headers.authorization ?? '';
      let caller = callers.get(token);
      if (!caller && token.startsWith('Bearer ')) callers.set(token, (caller = 'bench-caller'));
      try {
        if (!caller) throw Object.assign(new Error('unknown token'), { status: 401 });
        const body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
        reason = String((body.additionalContext as { accessReasonContext?: { reason?: string } } | undefined)?.accessReasonContext?.reason);
        if (reason !== REASON) throw Object.assign(new Error('reason denied'), { status: 403 });
        if (op === 'wrap') value = wrap(path, body);
        else if (op === 'unwrap') value = unwrap(path, body);
        else throw Object.assign(new Error('not served by the floor'), { status: 404 });
      } catch (err) {
        status = (err as { status?: number }).status ?? 400;
        value = { error: { message: (err as Error).message } };
      }
      lines.push(`${JSON.stringify({
        time: new Date().toISOString(), requestId: crypto.randomUUID(), caller: caller ?? null, keyPath: path, operation: op,
        reason, decision: status === 200 ? 'ALLOWED' : 'DENIED', httpStatus: status, latencyMs: performance.now() - started,
      })}\n`);
      if (batch.push({ res, status, out: Buffer.from(JSON.stringify(value)) }) === 1) setImmediate(flush);
    });
  };
  // The same certificate, TLS floor and keep-alive as the reference EKM and the echo.
  const server = https.createServer(
    { cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile), minVersion: 'TLSv1.2', keepAliveTimeout: 65_000 },
    handle,
  );
  serveEcho(server, 'ekm-floor-server', 'ekm', 'https', port);
}

main();
