import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  generateSecret,
  type SenderOptions,
  VERSION,
  verifyWebhook,
  type WebhookSender,
} from '../src/index.js';
import { cleanupAfterEach } from './helpers/cleanups.js';
import { harness } from './helpers/harness.js';
import { tcpServer } from './helpers/listener.js';

// One HTTP attempt, end to end: what goes on the wire, how each kind of answer
// (or non-answer) is judged, and what the attempt log keeps.

const cleanups = cleanupAfterEach();

const h = harness(cleanups);
const sender = (options: SenderOptions = {}): WebhookSender => h.sender({ retry: [], ...options });
const { receiver } = h;

/** Emits one event to `url` and waits for its one attempt (`retry: []` by default). */
async function attemptTo(url: string, options: SenderOptions = {}) {
  const s = sender(options);
  const ep = s.endpoints.add({ url });
  s.emit('order.created', { id: 1 });
  await s.drain();
  const [item] = s.deliveries.list({ endpointId: ep.id }).items;
  return { s, delivery: s.deliveries.get(item!.id) };
}

/** A server whose sockets the test drives byte by byte. Returns its URL. */
async function rawServer(onSocket: (socket: net.Socket) => void): Promise<string> {
  const server = await tcpServer(onSocket);
  cleanups.push(server.close);
  return server.url();
}

describe('the request on the wire', () => {
  it('POSTs the Standard Webhooks body and headers, with the endpoint headers', async () => {
    const r = await receiver();
    const s = sender();
    const secret = generateSecret();
    s.endpoints.add({ url: r.url, secret, headers: { 'x-tenant-key': 'k-1', authorization: 'Bearer abc' } });
    const payload = { id: 42, items: [{ sku: 'a', qty: 2 }], note: 'é €', nested: { ok: true, n: null } };
    const ev = s.emit('order.created', payload);
    await s.drain();

    expect(r.requests).toHaveLength(1);
    const req = r.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/hook');
    const body = JSON.parse(req.body);
    expect(Object.keys(body)).toEqual(['id', 'type', 'timestamp', 'data']);
    expect(body).toEqual({ id: ev.id, type: 'order.created', timestamp: ev.createdAt, data: payload });
    expect(req.headers['content-type']).toBe('application/json');
    const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(req.headers['user-agent']).toBe(`hookline/${pkg.version}`);
    expect(VERSION).toBe(pkg.version);
    expect(req.headers['webhook-id']).toBe(ev.id);
    expect(req.headers['webhook-timestamp']).toMatch(/^\d{10}$/);
    expect(Math.abs(Number(req.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
    expect(req.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(req.headers['x-tenant-key']).toBe('k-1');
    expect(req.headers.authorization).toBe('Bearer abc');
    // The receiver's view: the signature verifies with the endpoint's secret.
    const verified = verifyWebhook({
      secret,
      headers: req.headers as Record<string, string>,
      body: req.body,
    });
    expect(verified.data).toEqual(payload);
  });

  it('sends the same webhook-id and body on every retry, with a fresh signature', async () => {
    let n = 0;
    const r = await receiver((_req, res) => {
      res.writeHead(++n < 3 ? 500 : 200).end();
    });
    const s = sender({ retry: () => 0 });
    const secret = generateSecret();
    s.endpoints.add({ url: r.url, secret });
    const ev = s.emit('order.created', { id: 7 });
    await r.waitFor(3);
    await s.drain();
    expect(r.requests.map((q) => q.headers['webhook-id'])).toEqual([ev.id, ev.id, ev.id]);
    expect(new Set(r.requests.map((q) => q.body)).size).toBe(1);
    for (const q of r.requests) {
      expect(() =>
        verifyWebhook({ secret, headers: q.headers as Record<string, string>, body: q.body }),
      ).not.toThrow();
    }
  });
});

describe('the verdict', () => {
  it.each([200, 204, 299])('HTTP %i is delivered', async (status) => {
    const r = await receiver((_req, res) => res.writeHead(status).end());
    const { delivery } = await attemptTo(r.url);
    expect(delivery.status).toBe('succeeded');
    expect(delivery.lastStatusCode).toBe(status);
    expect(delivery.lastError).toBeNull();
    expect(delivery.nextAttemptAt).toBeNull();
    expect(delivery.attempts).toHaveLength(1);
    expect(delivery.attempts[0]).toMatchObject({ statusCode: status, errorCode: null, errorMessage: null });
  });

  it.each([300, 400, 404, 500, 503])('HTTP %i is not delivered: retried, then failed', async (status) => {
    const r = await receiver((_req, res) => res.writeHead(status).end('no'));
    const { delivery } = await attemptTo(r.url, { retry: [0] });
    expect(r.requests).toHaveLength(2);
    expect(delivery.status).toBe('failed');
    expect(delivery.attemptCount).toBe(2);
    expect(delivery.lastStatusCode).toBe(status);
    expect(delivery.lastError).toBe(`HTTP ${status}`);
    expect(delivery.attempts.map((a) => a.statusCode)).toEqual([status, status]);
    expect(delivery.attempts.map((a) => a.number)).toEqual([1, 2]);
  });

  it('does not follow a redirect: the target receives nothing', async () => {
    const target = await receiver();
    const r = await receiver((_req, res) => res.writeHead(301, { location: target.url }).end());
    const { delivery } = await attemptTo(r.url);
    expect(r.requests).toHaveLength(1);
    expect(target.requests).toHaveLength(0);
    expect(delivery.status).toBe('failed');
    expect(delivery.attempts[0]).toMatchObject({ statusCode: 301, errorCode: null });
    expect(delivery.attempts[0]!.responseHeaders.location).toBe(target.url);
  });

  it('does not follow a 307/308 either (they would re-POST the body elsewhere)', async () => {
    const target = await receiver();
    let n = 0;
    const r = await receiver((_req, res) =>
      res.writeHead(++n === 1 ? 307 : 308, { location: target.url }).end(),
    );
    const { delivery } = await attemptTo(r.url, { retry: [0] });
    expect(target.requests).toHaveLength(0);
    expect(delivery.attempts.map((a) => a.statusCode)).toEqual([307, 308]);
  });
});

describe('the deadline', () => {
  it('a receiver that never answers: ETIMEDOUT at the deadline', async () => {
    const r = await receiver(() => {});
    const { delivery } = await attemptTo(r.url, { timeout: 300 });
    expect(r.requests).toHaveLength(1);
    const [a] = delivery.attempts;
    expect(a).toMatchObject({ statusCode: null, errorCode: 'ETIMEDOUT', responseBody: null });
    expect(a!.errorMessage).toMatch(/300 ms|300ms/);
    expect(a!.durationMs).toBeGreaterThanOrEqual(250);
    expect(a!.durationMs).toBeLessThan(3000);
    expect(delivery.status).toBe('failed');
    expect(delivery.lastError).toMatch(/^ETIMEDOUT: /);
  });

  it('a receiver that accepts the connection but never sends a byte: ETIMEDOUT', async () => {
    const url = await rawServer(() => {});
    const { delivery } = await attemptTo(url, { timeout: 300 });
    expect(delivery.attempts[0]).toMatchObject({ statusCode: null, errorCode: 'ETIMEDOUT' });
    expect(delivery.attempts[0]!.durationMs).toBeLessThan(3000);
  });

  it('a receiver that drips its status line one byte every 100 ms: ETIMEDOUT, not delivered', async () => {
    const head = 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok';
    const url = await rawServer((socket) => {
      let i = 0;
      const timer = setInterval(() => {
        if (i < head.length) socket.write(head[i++]!);
      }, 100);
      socket.on('close', () => clearInterval(timer));
    });
    const { delivery } = await attemptTo(url, { timeout: 300 });
    expect(delivery.attempts[0]).toMatchObject({ statusCode: null, errorCode: 'ETIMEDOUT' });
    expect(delivery.attempts[0]!.durationMs).toBeLessThan(3000);
    expect(delivery.status).toBe('failed');
  });

  it('a 2xx whose body drips one byte every 100 ms for ever: ETIMEDOUT logged, but the 2xx was the answer', async () => {
    const r = await receiver((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => res.write('x'), 100);
      res.on('close', () => clearInterval(timer));
    });
    const { delivery } = await attemptTo(r.url, { timeout: 300 });
    const [a] = delivery.attempts;
    expect(a).toMatchObject({ statusCode: 200, errorCode: 'ETIMEDOUT' });
    expect(a!.durationMs).toBeLessThan(3000);
    expect(a!.responseBody).toMatch(/^x{0,5}$/);
    // The receiver accepted the event with its status line; only the log's copy of the body was cut.
    expect(delivery.status).toBe('succeeded');
  });

  it('a 500 whose body drips for ever: ETIMEDOUT and retried', async () => {
    const r = await receiver((_req, res) => {
      res.writeHead(500);
      const timer = setInterval(() => res.write('x'), 100);
      res.on('close', () => clearInterval(timer));
    });
    const { delivery } = await attemptTo(r.url, { timeout: 300 });
    expect(delivery.attempts[0]).toMatchObject({ statusCode: 500, errorCode: 'ETIMEDOUT' });
    expect(delivery.status).toBe('failed');
  });
});

describe('network errors', () => {
  it('a closed port: ECONNREFUSED', async () => {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const { delivery } = await attemptTo(`http://127.0.0.1:${port}/hook`);
    expect(delivery.attempts[0]).toMatchObject({
      statusCode: null,
      errorCode: 'ECONNREFUSED',
      responseBody: null,
    });
    expect(delivery.attempts[0]!.errorMessage).toContain('ECONNREFUSED');
    expect(delivery.lastError).toMatch(/^ECONNREFUSED: /);
    expect(delivery.status).toBe('failed');
  });

  it('a connection reset before the answer: ECONNRESET', async () => {
    const r = await receiver((_req, res) => res.socket?.resetAndDestroy());
    const { delivery } = await attemptTo(r.url);
    expect(r.requests).toHaveLength(1);
    expect(delivery.attempts[0]).toMatchObject({ statusCode: null, errorCode: 'ECONNRESET' });
  });

  it('a socket closed without an answer is an error too, and retried', async () => {
    const url = await rawServer((socket) => socket.once('data', () => socket.end()));
    const { delivery } = await attemptTo(url, { retry: [0] });
    expect(delivery.attempts).toHaveLength(2);
    expect(delivery.attempts[0]!.statusCode).toBeNull();
    expect(delivery.attempts[0]!.errorCode).toMatch(/^E[A-Z_]+$/);
  });

  it('a name resolving to loopback, without allowPrivateNetworks: refused before connecting', async () => {
    const r = await receiver();
    const { delivery } = await attemptTo(r.url.replace('127.0.0.1', 'localhost'), {
      allowPrivateNetworks: false,
    });
    expect(delivery.attempts[0]).toMatchObject({ statusCode: null, errorCode: 'ERR_SSRF_BLOCKED' });
    expect(r.requests).toHaveLength(0);
  });
});

describe('responseBodyLimit', () => {
  it('keeps the first 1024 bytes of a 1 MB body', async () => {
    const big = Buffer.alloc(1024 * 1024, 'a');
    const r = await receiver((_req, res) => res.writeHead(200).end(big));
    const { delivery } = await attemptTo(r.url, { responseBodyLimit: 1024 });
    expect(delivery.attempts[0]!.responseBody).toBe('a'.repeat(1024));
    expect(delivery.status).toBe('succeeded');
  });

  it('an endless 2xx body: reading stops at the limit, promptly, and the delivery succeeds', async () => {
    const r = await receiver((_req, res) => {
      res.writeHead(200);
      const endless = new Readable({
        read() {
          this.push(Buffer.alloc(16 * 1024, 'z'));
        },
      });
      endless.pipe(res);
      res.on('close', () => endless.destroy());
    });
    const started = performance.now();
    const { delivery } = await attemptTo(r.url, { responseBodyLimit: 1024, timeout: 10_000 });
    expect(performance.now() - started).toBeLessThan(5000);
    const [a] = delivery.attempts;
    expect(a).toMatchObject({ statusCode: 200, errorCode: null, responseBody: 'z'.repeat(1024) });
    expect(a!.durationMs).toBeLessThan(5000);
    expect(delivery.status).toBe('succeeded');
  });

  it('never keeps more than the limit in bytes, even when the cut splits a UTF-8 character', async () => {
    const r = await receiver((_req, res) => res.writeHead(200).end('€'.repeat(1000)));
    const { delivery } = await attemptTo(r.url, { responseBodyLimit: 1024 });
    const body = delivery.attempts[0]!.responseBody!;
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(1024);
    expect(body).toBe('€'.repeat(341));
  });

  it('0 keeps nothing of the body and still judges the status', async () => {
    const r = await receiver((_req, res) => res.writeHead(202).end('accepted'));
    const { delivery } = await attemptTo(r.url, { responseBodyLimit: 0 });
    expect(delivery.attempts[0]).toMatchObject({ statusCode: 202, responseBody: '' });
    expect(delivery.status).toBe('succeeded');
  });
});

describe('the attempt log', () => {
  it('records every field of every attempt, set-cookie left out', async () => {
    let n = 0;
    const r = await receiver((_req, res) => {
      n++;
      res.setHeader('set-cookie', ['session=abc123; HttpOnly']);
      res.setHeader('x-request-id', `req-${n}`);
      if (n === 1) res.writeHead(503, { 'content-type': 'text/plain' }).end('busy');
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    const s = sender({ retry: [0] });
    const ep = s.endpoints.add({ url: r.url });
    const before = Date.now();
    s.emit('order.created', { id: 1 });
    await r.waitFor(2);
    await s.drain();
    const [item] = s.deliveries.list({ endpointId: ep.id }).items;
    const d = s.deliveries.get(item!.id);
    expect(d).toMatchObject({ status: 'succeeded', attemptCount: 2, lastStatusCode: 200, lastError: null });
    expect(d.attempts).toHaveLength(2);
    const [first, second] = d.attempts;
    expect(first).toMatchObject({
      deliveryId: d.id,
      number: 1,
      statusCode: 503,
      responseBody: 'busy',
      errorCode: null,
      errorMessage: null,
    });
    expect(first!.id).toMatch(/^att_\d+$/);
    expect(first!.responseHeaders['content-type']).toBe('text/plain');
    expect(first!.responseHeaders['x-request-id']).toBe('req-1');
    expect(second).toMatchObject({ number: 2, statusCode: 200, responseBody: '{"ok":true}' });
    expect(second!.responseHeaders['x-request-id']).toBe('req-2');
    for (const a of d.attempts) {
      expect(a.responseHeaders).not.toHaveProperty('set-cookie');
      expect(JSON.stringify(a)).not.toContain('abc123');
      expect(Date.parse(a.startedAt)).toBeGreaterThanOrEqual(before - 5);
      expect(a.startedAt).toBe(new Date(Date.parse(a.startedAt)).toISOString());
      expect(Number.isInteger(a.durationMs)).toBe(true);
      expect(a.durationMs).toBeGreaterThanOrEqual(0);
    }
    expect(Date.parse(second!.startedAt)).toBeGreaterThanOrEqual(Date.parse(first!.startedAt));
  });

  it('never stores request secrets: not the signing secret, the signature, nor endpoint headers', async () => {
    const secret = generateSecret();
    const token = 'Bearer tok_5ecr3t_value_9f8e7d';
    const apiKey = 'key-0a1b2c3d4e5f';
    const sent: string[] = [];
    const r = await receiver((req, res) => {
      sent.push(req.headers['webhook-signature'] as string);
      res.writeHead(500).end('nope');
    });
    const s = sender({ retry: [0] });
    s.endpoints.add({
      url: `${r.url}?token=qs-secret-123`,
      secret,
      headers: { authorization: token, 'x-api-key': apiKey },
    });
    // And one that cannot connect, so the error path is logged as well.
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    s.endpoints.add({
      url: `http://127.0.0.1:${port}/x?token=qs-secret-123`,
      secret,
      headers: { authorization: token },
    });
    s.emit('order.created', { id: 1 });
    await r.waitFor(2);
    await s.drain();

    const deliveries = s.deliveries.list().items.map((d) => s.deliveries.get(d.id));
    expect(deliveries).toHaveLength(2);
    expect(deliveries.every((d) => d.status === 'failed' && d.attempts.length === 2)).toBe(true);
    const json = JSON.stringify(deliveries);
    expect(sent).toHaveLength(2);
    for (const needle of [
      secret,
      secret.slice(6),
      token,
      'tok_5ecr3t_value_9f8e7d',
      apiKey,
      'qs-secret-123',
      ...sent,
    ]) {
      expect(json).not.toContain(needle);
    }
    expect(json).not.toContain('webhook-signature');
    expect(json).not.toContain('authorization');
  });
});
