/** Starting a local HTTP server and learning its port (0 = any free one). */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Listen on `host:port`; resolves to the port bound, rejects on EADDRINUSE and the like. */
export async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}
