// One gRPC unary call sent by hand over node:http2 with the exact bytes h2load
// will send. h2load counts HTTP statuses only, and a gRPC error is still HTTP
// 200 with a non-zero grpc-status trailer: this is what proves the body works.
import * as http2 from 'node:http2';

export interface GrpcReply {
  grpcStatus: string;
  grpcMessage: string;
  /** The response message without its 5-byte frame header (empty if none). */
  message: Buffer;
}

export function grpcFrame(message: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt8(0, 0); // not compressed
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

export function postGrpc(port: number, path: string, body: Buffer): Promise<GrpcReply> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const req = session.request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    let headers: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    req.on('response', (h) => (headers = h));
    req.on('trailers', (t) => (trailers = t));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', reject);
    req.on('end', () => {
      session.close();
      const data = Buffer.concat(chunks);
      if (headers[':status'] !== 200) {
        reject(new Error(`${path}: HTTP status ${headers[':status']}`));
        return;
      }
      // A trailers-only response (how errors usually come) carries grpc-status in the headers.
      const pick = (name: string) => String(trailers[name] ?? headers[name] ?? '');
      const message = data.length >= 5 ? data.subarray(5, 5 + data.readUInt32BE(1)) : Buffer.alloc(0);
      resolve({ grpcStatus: pick('grpc-status'), grpcMessage: decodeURIComponent(pick('grpc-message')), message });
    });
    req.end(body);
  });
}
