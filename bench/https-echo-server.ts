// The limit the EKM workloads are compared against: a bare node:https server
// that reads the request body and answers 200 with that same body as JSON. No
// routing, no JSON parsing, no token check, no crypto beyond TLS: its
// throughput is what Node's HTTPS/1.1 server alone carries on one core for a
// request and a response of about the size of an EKM wrap or unwrap. It
// serves the EKM's own certificate and key (the same ECDSA P-256 leaf, so
// both handshakes and both record layers cost the same) with the EKM's TLS
// floor and keep-alive timeout. Run as its own process, pinned like the
// server under test, and prints `{"ekm":"https://127.0.0.1:PORT"}` once
// listening.
//
// usage: node dist/bench/https-echo-server.js PORT CERT_PEM_FILE KEY_PEM_FILE
import * as fs from 'node:fs';
import * as https from 'node:https';
import { echoHandler, serveEcho } from './echo-common';

function main(): void {
  const [portArg, certFile, keyFile] = process.argv.slice(2);
  const port = Number(portArg ?? '0');
  if (!Number.isInteger(port) || !certFile || !keyFile) {
    process.stderr.write('usage: https-echo-server PORT CERT_PEM_FILE KEY_PEM_FILE\n');
    process.exit(2);
  }
  // The content headers the EKM writes, so both answers cost about the same on the wire.
  const server = https.createServer(
    { cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile), minVersion: 'TLSv1.2', keepAliveTimeout: 65_000 },
    echoHandler('application/json; charset=utf-8'),
  );
  serveEcho(server, 'https-echo-server', 'ekm', 'https', port);
}

main();
