// Starting a server on host:port and learning the bound port (0 picks a free
// one), with a failure to bind (EADDRINUSE, ...) rejected rather than thrown
// as an 'error' event. Shared by every listener: gRPC, REST and the EKM.
import type * as net from 'node:net';

export function listen(server: net.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}
