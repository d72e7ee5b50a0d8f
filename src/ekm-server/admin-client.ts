// A client of the admin socket, for the operator CLI and for tests. Errors
// come back as KmsError with the canonical code the server named.
import * as http from 'node:http';
import * as path from 'node:path';
import { Code, KmsError } from '../errors';

export const ADMIN_SOCKET = 'admin.sock';

export const adminSocketPath = (dataDir: string): string => path.join(dataDir, ADMIN_SOCKET);

export class AdminClient {
  constructor(readonly socketPath: string) {}

  static forDataDir(dataDir: string): AdminClient {
    return new AdminClient(adminSocketPath(dataDir));
  }

  call<T = Record<string, unknown>>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const body = Buffer.from(JSON.stringify(params), 'utf8');
    return new Promise((resolve, reject) => {
      const req = http.request(
        // agent: false — one connection per call, never a pooled one to a server that has since stopped.
        { socketPath: this.socketPath, agent: false, path: `/v1/${method}`, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': body.length } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            try {
              const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as T & { code?: number; message?: string };
              if (res.statusCode === 200) resolve(parsed);
              else reject(new KmsError(typeof parsed.code === 'number' && Code[parsed.code] ? parsed.code : Code.UNKNOWN, parsed.message ?? `admin call answered ${res.statusCode}`));
            } catch (err) {
              reject(err as Error);
            }
          });
          res.on('error', reject);
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
          reject(new Error(`no EKM is running with this data directory (cannot connect to ${this.socketPath})`));
        } else {
          reject(err);
        }
      });
      req.end(body);
    });
  }
}
