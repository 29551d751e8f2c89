import http from 'node:http';
import type { AddressInfo } from 'node:net';
export interface ReceivedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export type Responder = (request: ReceivedRequest, res: http.ServerResponse) => void;

export interface Receiver {
  url: string;
  requests: ReceivedRequest[];
  /** Replaces how the receiver answers; default 200 "ok". */
  respond(responder: Responder): void;
  /** Resolves once `n` requests have arrived. */
  waitFor(n: number): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

/** A real node:http server on 127.0.0.1, port 0, that records every request. */
export async function startReceiver(responder?: Responder): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  let answer: Responder =
    responder ??
    ((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  const waiters: { n: number; resolve: (r: ReceivedRequest[]) => void }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const received = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      requests.push(received);
      answer(received, res);
      for (const w of waiters.filter((w) => requests.length >= w.n)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(requests.slice());
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    requests,
    respond(next) {
      answer = next;
    },
    waitFor(n) {
      if (requests.length >= n) return Promise.resolve(requests.slice());
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
