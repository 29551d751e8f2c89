import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DashboardHandler } from '../dashboard/index.js';

/**
 * Serves the dashboard for `hookline dashboard`, on a loopback address, until SIGINT or SIGTERM.
 * The one server of the package: the library itself only makes requests (src/engine/http/).
 */
export async function serve(handler: DashboardHandler, host: string, port: number) {
  const server = http.createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const closed = new Promise<void>((resolve) => {
    const stop = () => {
      server.close(() => resolve());
      server.closeAllConnections();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return { url: `http://${shown}:${address.port}/`, closed };
}
