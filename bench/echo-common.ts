// What the bare HTTP and HTTPS echo servers share: the handler (read the
// body, answer 200 with it as JSON, nothing else) and the process lifecycle
// (print the address line once listening, exit on SIGTERM).
import type * as http from 'node:http';
import type * as https from 'node:https';

/** Answers every request 200 with its own body, with the content headers the server under test writes. */
export function echoHandler(contentType: string): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  return (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      res.writeHead(200, { 'content-type': contentType, 'content-length': String(body.length) });
      res.end(body);
    });
  };
}

/**
 * Listens on 127.0.0.1:`port`, prints `{"KEY":"SCHEME://127.0.0.1:PORT"}` once
 * listening (the key the server under test prints its address under), and
 * closes on SIGTERM or SIGINT.
 */
export function serveEcho(server: http.Server | https.Server, name: string, key: string, scheme: 'http' | 'https', port: number): void {
  server.on('error', (err) => {
    process.stderr.write(`${name}: ${err.message}\n`);
    process.exit(1);
  });
  server.listen(port, '127.0.0.1', () => {
    const bound = (server.address() as { port: number }).port;
    process.stdout.write(`${JSON.stringify({ [key]: `${scheme}://127.0.0.1:${bound}` })}\n`);
  });
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
