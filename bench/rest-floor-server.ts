// The work floor for REST Encrypt: the least any node:http server must do to
// answer `POST /v1/{cryptoKey}:encrypt` as Cloud KMS does, and nothing else.
// It reads the body, parses the JSON, decodes the base64 plaintext, looks the
// key up in a Map, seals with AES-256-GCM (fresh IV, the key name as AAD),
// computes the ciphertext's CRC32C and answers the EncryptResponse JSON,
// pretty-printed as the default format is. No routing table, no proto3 JSON
// mapping, no name or field validation, no store, no rotation, no logs.
//
// It sits between the echo (the transport alone) and ours (the whole
// server): echo / floor is what the request's own work costs on this core,
// floor / ours what our server costs beyond it. `:decrypt` is served too, so
// the bench checks the floor's answers the way it checks ours (the
// ciphertext decrypts back to the plaintext).
//
// usage: node dist/bench/rest-floor-server.js PORT
import * as http from 'node:http';
import { crc32c } from '../src/crypto/crc32c';
import { serveEcho } from './echo-common';
import { gcmOpen, gcmSeal, IV_BYTES, ivSource, keyring, onRequestBody } from './floor-common';

const keyFor = keyring();
const nextIv = ivSource();

function encrypt(keyName: string, body: { plaintext?: string }): object {
  const plaintext = Buffer.from(String(body.plaintext), 'base64');
  const iv = nextIv();
  const ciphertext = Buffer.concat([iv, gcmSeal(keyFor(keyName), iv, Buffer.from(keyName), plaintext)]);
  return {
    name: `${keyName}/cryptoKeyVersions/1`,
    ciphertext: ciphertext.toString('base64'),
    ciphertextCrc32c: String(crc32c(ciphertext)),
    verifiedPlaintextCrc32c: false,
    verifiedAdditionalAuthenticatedDataCrc32c: false,
    protectionLevel: 'SOFTWARE',
  };
}

function decrypt(keyName: string, body: { ciphertext?: string }): object {
  const ciphertext = Buffer.from(String(body.ciphertext), 'base64');
  const plaintext = gcmOpen(keyFor(keyName), ciphertext.subarray(0, IV_BYTES), Buffer.from(keyName), ciphertext.subarray(IV_BYTES));
  return { plaintext: plaintext.toString('base64'), plaintextCrc32c: String(crc32c(plaintext)), usedPrimary: true, protectionLevel: 'SOFTWARE' };
}

function answer(res: http.ServerResponse, status: number, value: object): void {
  const out = Buffer.from(`${JSON.stringify(value, null, 2)}\n`, 'utf8');
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': String(out.length) });
  res.end(out);
}

function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
  // `/v1/{keyName}:{op}`
  onRequestBody(req, 4, (raw, keyName, op) => {
    try {
      const body = JSON.parse(raw.toString('utf8')) as Record<string, string>;
      if (req.method === 'POST' && op === 'encrypt') answer(res, 200, encrypt(keyName, body));
      else if (req.method === 'POST' && op === 'decrypt') answer(res, 200, decrypt(keyName, body));
      else answer(res, 404, { error: { code: 404, message: 'not served by the floor', status: 'NOT_FOUND' } });
    } catch (err) {
      answer(res, 400, { error: { code: 400, message: (err as Error).message, status: 'INVALID_ARGUMENT' } });
    }
  });
}

function main(): void {
  const port = Number(process.argv[2] ?? '0');
  if (!Number.isInteger(port)) {
    process.stderr.write('usage: rest-floor-server PORT\n');
    process.exit(2);
  }
  // The same server options as the KMS's REST transport and the echo.
  serveEcho(http.createServer({ keepAliveTimeout: 65_000, requestTimeout: 60_000 }, handle), 'rest-floor-server', 'rest', 'http', port);
}

main();
