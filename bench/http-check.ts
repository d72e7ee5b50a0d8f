// What the REST and EKM checks share: sending one request by hand and
// reading the whole reply, and reading a 200 JSON answer out of it, with
// failures that name the check and quote the reply.
import type * as http from 'node:http';

export interface HttpReply {
  status: number;
  contentType: string;
  body: Buffer;
}

/** Sends `body` on the request `start` makes (with node:http or node:https) and collects the whole reply. */
export function sendForReply(start: (onReply: (res: http.IncomingMessage) => void) => http.ClientRequest, body: Buffer): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = start((res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks) }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A failed check, e.g. `REST check: ...`, with the reply's status and the start of its body. */
export function checkFailure(check: string, what: string, reply?: HttpReply): Error {
  const detail = reply ? ` (HTTP ${reply.status}: ${reply.body.toString('utf8').slice(0, 300)})` : '';
  return new Error(`${check}: ${what}${detail}`);
}

/** The reply's JSON object; throws unless it is 200 application/json. */
export function replyJson(check: string, path: string, reply: HttpReply): Record<string, unknown> {
  if (reply.status !== 200 || !reply.contentType.startsWith('application/json')) {
    throw checkFailure(check, `POST ${path} did not answer 200 JSON`, reply);
  }
  try {
    return JSON.parse(reply.body.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw checkFailure(check, `POST ${path} answered no valid JSON`, reply);
  }
}
