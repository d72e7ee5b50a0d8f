// The limit the REST workloads are compared against: a bare node:http server
// that reads the request body and answers 200 with that same body as JSON. No
// routing, no JSON parsing, no service work: its throughput is what Node's
// HTTP/1.1 server alone carries on one core for a request and a response of
// about the size of a REST Encrypt. Run as its own process, pinned like the
// server under test, and prints `{"rest":"http://HOST:PORT"}` once listening
// (the same key the KMS prints its REST address under).
//
// usage: node dist/bench/http-echo-server.js PORT
import * as http from 'node:http';
import { echoHandler, serveEcho } from './echo-common';

function main(): void {
  const port = Number(process.argv[2] ?? '0');
  if (!Number.isInteger(port)) {
    process.stderr.write('usage: http-echo-server PORT\n');
    process.exit(2);
  }
  // Keep-alive as long as the KMS's REST server keeps it (65 s): h2load's
  // connections stay open across the whole run on both servers. The content
  // headers are the ones the KMS's REST transport writes, so both answers
  // cost the same on the wire.
  const server = http.createServer({ keepAliveTimeout: 65_000, requestTimeout: 60_000 }, echoHandler('application/json; charset=UTF-8'));
  serveEcho(server, 'http-echo-server', 'rest', 'http', port);
}

main();
