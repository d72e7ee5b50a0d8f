// One HTTP/1.1 request with node:http, for tests that send what fetch would
// refuse (odd methods, headers, bodies) and read the whole answer.
import * as http from 'node:http';

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: Record<string, unknown> & { error?: { code: number; status: string; message: string; details?: Record<string, unknown>[] } };
}

/** Sends one request; content-type defaults to application/json and content-length follows the body. */
export function request(base: string, method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}): Promise<Answer> {
  const url = new URL(path, base);
  const length = body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) };
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false, headers: { 'content-type': 'application/json', ...length, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json = {};
        try {
          json = JSON.parse(text) as Record<string, unknown>;
        } catch {
          // not JSON: the test looks at text
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}
