import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';

/** An HTTP server on one address that counts what reaches it, down to bare TCP connections. */
export interface Listener {
  port: number;
  /** TCP connections accepted, whether or not a request followed. */
  connections: number;
  /** HTTP requests received. */
  requests: http.IncomingHttpHeaders[];
  /** `http://<host>:<port><path>`, brackets added for IPv6. */
  url(host?: string, path?: string): string;
  close(): Promise<void>;
}

/** Starts an HTTP server on `address` (default 127.0.0.1), port 0, that answers 200. */
export async function listen(
  address = '127.0.0.1',
  respond: (req: http.IncomingMessage, res: http.ServerResponse) => void = (_req, res) =>
    res.writeHead(200).end('ok'),
): Promise<Listener> {
  const server = http.createServer((req, res) => {
    listener.requests.push(req.headers);
    req.resume();
    req.on('end', () => respond(req, res));
  });
  server.on('connection', () => listener.connections++);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, address, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const listener: Listener = {
    port,
    connections: 0,
    requests: [],
    url(host = address, path = '/hook') {
      const shown = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
      return `http://${shown}:${port}${path}`;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  return listener;
}

/** Whether this machine has IPv6 loopback (some CI containers turn IPv6 off). */
export async function hasIpv6Loopback(): Promise<boolean> {
  const server = http.createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '::1', resolve);
    });
    return true;
  } catch {
    return false;
  } finally {
    server.close();
  }
}

/** A raw TCP server on 127.0.0.1 whose sockets the test drives byte by byte. */
export interface TcpServer {
  port: number;
  /** `http://127.0.0.1:<port><path>`. */
  url(path?: string): string;
  /** Destroys every open socket and closes the server. */
  close(): Promise<void>;
}

/** Starts a TCP server on 127.0.0.1, port 0, that hands each socket (errors ignored) to `onSocket`. */
export async function tcpServer(onSocket: (socket: net.Socket) => void): Promise<TcpServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: (path = '/hook') => `http://127.0.0.1:${port}${path}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
