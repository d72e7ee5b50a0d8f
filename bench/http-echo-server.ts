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

function echo(req: http.IncomingMessage, res: http.ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    // The same headers the KMS's REST transport writes, so both answers cost
    // the same on the wire.
    res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8', 'content-length': String(body.length) });
    res.end(body);
  });
}

function main(): void {
  const port = Number(process.argv[2] ?? '0');
  if (!Number.isInteger(port)) {
    process.stderr.write('usage: http-echo-server PORT\n');
    process.exit(2);
  }
  // Keep-alive as long as the KMS's REST server keeps it (65 s): h2load's
  // connections stay open across the whole run on both servers.
  const server = http.createServer({ keepAliveTimeout: 65_000, requestTimeout: 60_000 }, echo);
  server.on('error', (err) => {
    process.stderr.write(`http-echo-server: ${err.message}\n`);
    process.exit(1);
  });
  server.listen(port, '127.0.0.1', () => {
    const bound = (server.address() as { port: number }).port;
    process.stdout.write(`${JSON.stringify({ rest: `http://127.0.0.1:${bound}` })}\n`);
  });
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
