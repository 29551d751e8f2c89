import http from 'node:http';
import type net from 'node:net';
import type { AddressInfo } from 'node:net';
import { expect, it } from 'vitest';
import { type AttemptNotice, WebhookSender } from '../src/index.js';
import { cleanupAfterEach } from './helpers/cleanups.js';
import { tcpServer } from './helpers/listener.js';

// Six receivers that hold every attempt for the whole deadline, and one healthy receiver, all
// subscribed to the same 300 events. The healthy one must get all 300 promptly: the hostile ones
// cost 1800 attempts x 1 s, which, served in turn through 32 slots, would be about a minute.
//
// Per-endpoint concurrency (`endpointConcurrency: 4`) keeps the six from holding more than 24 of
// the 32 slots, and the dispatcher claims endpoint by endpoint, so the healthy one always has room.

const cleanups = cleanupAfterEach();

const EVENTS = 300;
const TIMEOUT = 1000;

/** Connections the hostile receivers are holding open right now. */
let hostileOpen = 0;

/** A TCP server that hands each socket to `onSocket`, destroyed on cleanup. Returns its port. */
async function tcp(onSocket: (socket: net.Socket) => void): Promise<number> {
  const server = await tcpServer((socket) => {
    hostileOpen++;
    socket.on('close', () => hostileOpen--);
    onSocket(socket);
  });
  cleanups.push(server.close);
  return server.port;
}

/** Writes `text` one byte every `ms` once the request arrives, for ever. */
function drip(text: () => string, ms: number) {
  return (socket: net.Socket) =>
    socket.once('data', () => {
      let i = 0;
      let pending = text();
      const timer = setInterval(() => {
        if (i >= pending.length) {
          pending += text();
        }
        socket.write(pending[i++]!);
      }, ms);
      socket.on('close', () => clearInterval(timer));
    });
}

it('six hostile receivers do not delay a healthy one: its 300 deliveries all arrive promptly', async () => {
  const hostile = [
    // Accepts, reads the request, never answers.
    `http://127.0.0.1:${await tcp(() => {})}/silent`,
    // Accepts and says nothing on a TLS port: the handshake stalls.
    `https://127.0.0.1:${await tcp(() => {})}/tls-stall`,
    // Drips its status line.
    `http://127.0.0.1:${await tcp(drip(() => 'HTTP/1.1 200 OK\r\n', 100))}/drip-status`,
    // Sends a status line, then header lines for ever.
    `http://127.0.0.1:${await tcp((socket) =>
      socket.once('data', () => {
        socket.write('HTTP/1.1 200 OK\r\n');
        const timer = setInterval(() => socket.write('x-wait: 1\r\n'), 50);
        socket.on('close', () => clearInterval(timer));
      }),
    )}/drip-headers`,
    // A 500 whose body drips for ever.
    `http://127.0.0.1:${await tcp((socket) =>
      socket.once('data', () => {
        socket.write('HTTP/1.1 500 Busy\r\ntransfer-encoding: chunked\r\n\r\n');
        const timer = setInterval(() => socket.write('1\r\nx\r\n'), 50);
        socket.on('close', () => clearInterval(timer));
      }),
    )}/drip-body`,
    // A 503 whose headers say a body of 1 GB follows, which comes at 1 KB per 100 ms.
    `http://127.0.0.1:${await tcp((socket) =>
      socket.once('data', () => {
        socket.write('HTTP/1.1 503 Busy\r\ncontent-length: 1073741824\r\n\r\n');
        const timer = setInterval(() => socket.write(Buffer.alloc(1024, 'y')), 100);
        socket.on('close', () => clearInterval(timer));
      }),
    )}/slow-gig`,
  ];

  let healthyRequests = 0;
  const healthy = http.createServer((req, res) => {
    healthyRequests++;
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  });
  await new Promise<void>((resolve) => healthy.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    healthy.closeAllConnections();
    return new Promise<void>((resolve) => healthy.close(() => resolve()));
  });
  const healthyUrl = `http://127.0.0.1:${(healthy.address() as AddressInfo).port}/ok`;

  const sender = new WebhookSender({
    database: ':memory:',
    allowPrivateNetworks: true,
    concurrency: 32,
    endpointConcurrency: 4,
    timeout: TIMEOUT,
    connectTimeout: TIMEOUT,
    retry: [],
    autoStart: false,
  });
  cleanups.push(() => sender.close({ timeout: 0 }));

  for (const url of hostile) sender.endpoints.add({ url });
  const good = sender.endpoints.add({ url: healthyUrl });
  let delivered = 0;
  let healthyFailures = 0;
  let allHealthy: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    allHealthy = resolve;
  });
  const hostileAttempts: AttemptNotice[] = [];
  let firstHostile: () => void = () => {};
  const hostileEnded = new Promise<void>((resolve) => {
    firstHostile = resolve;
  });
  sender.on('attempt', (n) => {
    if (n.endpointId !== good.id) {
      hostileAttempts.push(n);
      firstHostile();
      return;
    }
    if (n.statusCode === 204) {
      if (++delivered === EVENTS) allHealthy();
    } else healthyFailures++;
  });

  sender.emitMany(Array.from({ length: EVENTS }, (_, i) => ({ type: 'order.created', payload: { i } })));
  const started = performance.now();
  sender.start();
  const bound = 15_000;
  const timer = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), bound).unref());
  const outcome = await Promise.race([done.then(() => 'done' as const), timer]);
  const elapsed = performance.now() - started;
  const heldWhileHealthyRan = hostileOpen;

  expect(outcome, `healthy deliveries after ${bound} ms: ${delivered}/${EVENTS}`).toBe('done');
  expect(healthyFailures).toBe(0);
  expect(healthyRequests).toBe(EVENTS);
  expect(
    sender.deliveries.list({ endpointId: good.id, status: 'succeeded', limit: 1000 }).items,
  ).toHaveLength(EVENTS);
  // Serving the 1800 hostile attempts first, 32 at a time, would take about 1800 / 32 x 1 s = 56 s.
  expect(elapsed).toBeLessThan(bound);
  // The hostile ones were being tried meanwhile, holding connections (at least one each)...
  expect(heldWhileHealthyRan).toBeGreaterThanOrEqual(hostile.length);
  expect(sender.stats().inFlight).toBeLessThanOrEqual(32);
  // ...and their attempts end at the deadline, as failures.
  await hostileEnded;
  for (const a of hostileAttempts) {
    expect(a.errorCode).toBe('ETIMEDOUT');
    expect(a.durationMs).toBeGreaterThanOrEqual(TIMEOUT * 0.9);
    expect(a.durationMs).toBeLessThan(TIMEOUT + 1000);
  }
}, 30_000);
