// The work floor for Encrypt with an external key: the least any Node server
// must do to answer a gRPC Encrypt by double wrapping, and nothing else. On
// node:http2 it reads the frame, takes `name` and `plaintext` out of the
// EncryptRequest by hand, seals the plaintext with AES-256-GCM (the internal
// layer), sends the inner ciphertext in one wrap call to the EKM (a pooled
// keep-alive TLS connection, one fixed bearer token, the request context the
// protocol asks for, an answer read by its Content-Length), and writes the
// EncryptResponse by hand: name, the external ciphertext, its CRC32C,
// protection level EXTERNAL_VPC. No store, service layer, validation, token
// signing, endpoint resolution, metrics, retries or error mapping.
//
// Without an EKM port it answers with the inner ciphertext alone, laid out
// as a SOFTWARE key's: the work floor of gRPC Encrypt on a SOFTWARE key. With
// one, the bench runs it with the EKM work floor (ekm-floor-server.ts) on the
// same core: the two together are what any pair of Node processes must
// spend on one Encrypt with an external key.
//
// usage: node dist/bench/kms-floor-server.js PORT [EKM_PORT EKM_CA_PEM_FILE EKM_KEY_PATH]
import * as fs from 'node:fs';
import * as http2 from 'node:http2';
import * as tls from 'node:tls';
import { crc32c } from '../src/crypto/crc32c';
import { gcmSeal, ivSource, keyring } from './floor-common';
import { grpcFrame } from './grpc-check';

const MAX_CONNECTIONS = 64;
const PROTECTION_LEVEL = { SOFTWARE: 1, EXTERNAL_VPC: 4 };
const TOKEN = `Bearer ${'x'.repeat(600)}`;
const SOFTWARE_HEADER = Buffer.from([0x01, 0, 0, 0, 1]);

const keyFor = keyring();
const nextIv = ivSource();

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

const lengthDelimited = (field: number, bytes: Buffer) => Buffer.concat([Buffer.from([(field << 3) | 2, ...varint(bytes.length)]), bytes]);

/** The length-delimited fields of a message, by field number (what EncryptRequest's name and plaintext are). */
function fields(message: Buffer): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let i = 0;
  while (i < message.length) {
    const tag = message[i++];
    let length = 0;
    let shift = 0;
    let b: number;
    do {
      b = message[i++];
      length += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    if ((tag & 7) !== 2) throw new Error(`field ${tag >> 3}: only length-delimited fields are read`);
    out.set(tag >> 3, message.subarray(i, i + length));
    i += length;
  }
  return out;
}

function encryptResponse(name: string, ciphertext: Buffer, protectionLevel: number): Buffer {
  const message = Buffer.concat([
    lengthDelimited(1, Buffer.from(name)),
    lengthDelimited(2, ciphertext),
    lengthDelimited(4, Buffer.from([0x08, ...varint(crc32c(ciphertext))])), // Int64Value
    Buffer.from([0x38, protectionLevel]),
  ]);
  return grpcFrame(message);
}

/** Keep-alive TLS connections to the EKM, one request at a time on each. */
class EkmPool {
  private readonly idle: tls.TLSSocket[] = [];
  private readonly waiting: ((socket: tls.TLSSocket) => void)[] = [];
  private open = 0;

  constructor(private readonly port: number, private readonly ca: Buffer) {}

  wrap(keyPath: string, inner: Buffer, resource: string, done: (err: Error | undefined, blob?: Buffer) => void): void {
    const body =
      `{"plaintext":"${inner.toString('base64')}","additionalAuthenticatedData":"${Buffer.from(resource).toString('base64')}",` +
      `"additionalContext":{"fullResourceName":"//cloudkms.googleapis.com/${resource}","relativeResourceName":"${resource}",` +
      `"accessReasonContext":{"reason":"CUSTOMER_INITIATED_ACCESS"},"isKeyHealthCheck":false}}`;
    const request =
      `POST /${keyPath}:wrap HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: ${TOKEN}\r\n` +
      `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    this.socket((socket) => {
      let answer: Buffer | undefined;
      // The EKM may close a connection (its keep-alive timeout) while a request is on it.
      const onClose = () => done(new Error('the EKM closed the connection'));
      socket.once('close', onClose);
      const onData = (chunk: Buffer) => {
        try {
          read(chunk);
        } catch (err) {
          socket.destroy();
          done(err as Error);
        }
      };
      const read = (chunk: Buffer) => {
        answer = answer ? Buffer.concat([answer, chunk]) : chunk;
        const end = answer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = answer.toString('latin1', 0, end);
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1]);
        if (answer.length < end + 4 + length) return;
        socket.removeListener('data', onData);
        socket.removeListener('close', onClose);
        this.release(socket);
        if (!head.startsWith('HTTP/1.1 200')) {
          done(new Error(`EKM answered ${head.slice(0, 12)}`));
          return;
        }
        const json = JSON.parse(answer.toString('utf8', end + 4, end + 4 + length)) as { wrappedBlob: string };
        done(undefined, Buffer.from(json.wrappedBlob, 'base64'));
      };
      socket.on('data', onData);
      socket.write(request);
    });
  }

  private socket(use: (socket: tls.TLSSocket) => void): void {
    let idle = this.idle.pop();
    // Connections the EKM closed while idle (its keep-alive timeout between runs) are dropped.
    while (idle && (idle.destroyed || !idle.writable)) idle = this.idle.pop();
    if (idle) use(idle);
    else if (this.open >= MAX_CONNECTIONS) this.waiting.push(use);
    else {
      this.open++;
      const socket = tls.connect({ host: '127.0.0.1', port: this.port, ca: this.ca }, () => use(socket));
      socket.setNoDelay(true);
      socket.on('error', (err) => process.stderr.write(`kms-floor-server: EKM connection: ${err.message}\n`));
      socket.on('close', () => {
        this.open--;
        const at = this.idle.indexOf(socket);
        if (at >= 0) this.idle.splice(at, 1);
      });
    }
  }

  private release(socket: tls.TLSSocket): void {
    const next = this.waiting.shift();
    if (next) next(socket);
    else this.idle.push(socket);
  }
}

function main(): void {
  const [portArg, ekmPortArg, caFile, keyPath] = process.argv.slice(2);
  const port = Number(portArg ?? '0');
  const ekmPort = ekmPortArg === undefined ? undefined : Number(ekmPortArg);
  if (!Number.isInteger(port) || (ekmPort !== undefined && (!Number.isInteger(ekmPort) || !caFile || !keyPath))) {
    process.stderr.write('usage: kms-floor-server PORT [EKM_PORT EKM_CA_PEM_FILE EKM_KEY_PATH]\n');
    process.exit(2);
  }
  const ekm = ekmPort === undefined ? undefined : new EkmPool(ekmPort, fs.readFileSync(caFile));
  const server = http2.createServer();
  server.on('stream', (stream) => {
    const chunks: Buffer[] = [];
    // h2load resets the streams still in flight when a run ends: that is no failure of the floor's.
    stream.on('error', () => undefined);
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      const answer = (err: Error | undefined, frame?: Buffer) => {
        if (stream.destroyed || stream.closed) return;
        if (err) {
          stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '13', 'grpc-message': encodeURIComponent(err.message) }, { endStream: true });
          return;
        }
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => {
          if (!stream.destroyed && !stream.closed) stream.sendTrailers({ 'grpc-status': '0' });
        });
        stream.end(frame);
      };
      try {
        const request = fields(Buffer.concat(chunks).subarray(5));
        const keyName = request.get(1)?.toString('utf8') ?? '';
        const versionName = `${keyName}/cryptoKeyVersions/1`;
        const plaintext = request.get(2) ?? Buffer.alloc(0);
        const iv = nextIv();
        const inner = Buffer.concat([iv, gcmSeal(keyFor(keyName), iv, Buffer.from(versionName), plaintext)]);
        if (!ekm) {
          // The software layout (src/crypto/symmetric.ts): format byte 0x01, the version number (u32), IV, ciphertext, tag.
          answer(undefined, encryptResponse(versionName, Buffer.concat([SOFTWARE_HEADER, inner]), PROTECTION_LEVEL.SOFTWARE));
          return;
        }
        ekm.wrap(keyPath, inner, versionName, (err, blob) => {
          // The external layout (src/crypto/external.ts): format byte 0x02, the version number (u32), the EKM's blob.
          answer(err, blob && encryptResponse(versionName, Buffer.concat([Buffer.from([0x02, 0, 0, 0, 1]), blob]), PROTECTION_LEVEL.EXTERNAL_VPC));
        });
      } catch (err) {
        answer(err as Error);
      }
    });
  });
  server.listen(port, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ grpc: `127.0.0.1:${(server.address() as { port: number }).port}` })}\n`);
  });
  const stop = () => {
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
