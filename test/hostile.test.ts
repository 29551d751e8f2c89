import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { describeError } from '../src/engine/http/attempt.js';
import type { AttemptNotice, DeliveryWithAttempts, SenderOptions, WebhookSender } from '../src/index.js';
import { cleanupAfterEach } from './helpers/cleanups.js';
import { dnsError, fakeLookup } from './helpers/fake-dns.js';
import { harness } from './helpers/harness.js';
import { tcpServer } from './helpers/listener.js';
import { tempDir } from './helpers/tmp.js';

// Receivers that misbehave on purpose. Each attempt must end within its deadline, be logged as a
// failure with a code that says what happened, and cost bounded memory. (Plain timeouts, drips,
// endless 2xx bodies, resets and single redirects are in attempts.test.ts.) No real name is ever
// resolved: names go through a fake `lookup`.

const cleanups = cleanupAfterEach();

const h = harness(cleanups);
const sender = (options: SenderOptions = {}): WebhookSender =>
  h.sender({ retry: [], timeout: 3000, connectTimeout: 1000, lookup: fakeLookup({}).lookup, ...options });
const { receiver } = h;

/** Emits one event to `url`, waits for its attempts, and returns the delivery and every 'attempt' notice. */
async function attemptTo(url: string, options: SenderOptions = {}, headers?: Record<string, string>) {
  const s = sender(options);
  const notices: AttemptNotice[] = [];
  s.on('attempt', (n) => notices.push(n));
  const ep = s.endpoints.add({ url, headers });
  s.emit('order.created', { id: 1 });
  await s.drain();
  const [item] = s.deliveries.list({ endpointId: ep.id }).items;
  const delivery = s.deliveries.get(item!.id);
  return { s, delivery, notices };
}

/** A TCP server whose sockets the test drives byte by byte. Returns its port. */
async function rawServer(onSocket: (socket: net.Socket) => void): Promise<number> {
  const server = await tcpServer(onSocket);
  cleanups.push(server.close);
  return server.port;
}

/** Answers every request on the socket with `response` once the request head has arrived. */
function answerWith(response: string | Buffer) {
  return (socket: net.Socket) => socket.once('data', () => socket.write(response));
}

function expectFailedAttempt(d: DeliveryWithAttempts, errorCode: string | RegExp, deadlineMs: number) {
  const [a] = d.attempts;
  expect(d.attempts).toHaveLength(1);
  expect(a!.statusCode).toBeNull();
  if (typeof errorCode === 'string') expect(a!.errorCode).toBe(errorCode);
  else expect(a!.errorCode).toMatch(errorCode);
  expect(a!.errorMessage).toBeTruthy();
  expect(a!.durationMs).toBeLessThan(deadlineMs);
  expect(d.status).toBe('failed');
  expect(d.lastError).toBe(`${a!.errorCode}: ${a!.errorMessage}`);
}

describe('receivers that do not speak HTTP properly', () => {
  it('headers that never end (one short line every 50 ms): ETIMEDOUT at the deadline', async () => {
    const port = await rawServer((socket) =>
      socket.once('data', () => {
        socket.write('HTTP/1.1 200 OK\r\n');
        let i = 0;
        const timer = setInterval(() => socket.write(`x-${i++}: y\r\n`), 50);
        socket.on('close', () => clearInterval(timer));
      }),
    );
    const { delivery } = await attemptTo(`http://127.0.0.1:${port}/hook`, { timeout: 400 });
    expectFailedAttempt(delivery, 'ETIMEDOUT', 3000);
    expect(delivery.attempts[0]!.durationMs).toBeGreaterThanOrEqual(350);
  });

  it("headers larger than Node's maxHeaderSize (16 KiB): HPE_HEADER_OVERFLOW", async () => {
    const port = await rawServer(
      answerWith(`HTTP/1.1 200 OK\r\nx-big: ${'a'.repeat(64 * 1024)}\r\ncontent-length: 2\r\n\r\nok`),
    );
    const { delivery } = await attemptTo(`http://127.0.0.1:${port}/hook`);
    expectFailedAttempt(delivery, 'HPE_HEADER_OVERFLOW', 3000);
  });

  it('an endless stream of header bytes, sent as fast as possible: HPE_HEADER_OVERFLOW, promptly', async () => {
    const port = await rawServer((socket) =>
      socket.once('data', () => {
        socket.write('HTTP/1.1 200 OK\r\n');
        const line = Buffer.from(`x-h: ${'b'.repeat(1000)}\r\n`);
        const pump = () => {
          while (!socket.destroyed && socket.write(line));
        };
        socket.on('drain', pump);
        pump();
      }),
    );
    const { delivery } = await attemptTo(`http://127.0.0.1:${port}/hook`, { timeout: 10_000 });
    expectFailedAttempt(delivery, 'HPE_HEADER_OVERFLOW', 5000);
  });

  it.each([
    ['an SSH banner', 'SSH-2.0-OpenSSH_9.6\r\n'],
    ['an SMTP greeting', '220 mail.example.com ESMTP ready\r\n'],
    ['binary noise', Buffer.from([0x00, 0xff, 0x13, 0x37, 0xde, 0xad, 0xbe, 0xef, 0x0d, 0x0a])],
  ])('bytes that are not HTTP (%s): an HPE_ parse error', async (_what, bytes) => {
    const port = await rawServer(answerWith(bytes));
    const { delivery } = await attemptTo(`http://127.0.0.1:${port}/hook`);
    expectFailedAttempt(delivery, /^HPE_/, 3000);
    expect(delivery.attempts[0]!.errorCode).toBe('HPE_INVALID_CONSTANT');
  });

  it('a reset in the middle of a 500 body: ECONNRESET, with the status kept', async () => {
    const port = await rawServer((socket) =>
      socket.once('data', () => {
        socket.write('HTTP/1.1 500 Oops\r\ncontent-length: 1000\r\n\r\npartial');
        setTimeout(() => socket.resetAndDestroy(), 20);
      }),
    );
    const { delivery } = await attemptTo(`http://127.0.0.1:${port}/hook`);
    const [a] = delivery.attempts;
    expect(a).toMatchObject({ statusCode: 500, errorCode: 'ECONNRESET', responseBody: 'partial' });
    expect(delivery.status).toBe('failed');
  });

  it('a body shorter than its content-length, then close: an error, not a success', async () => {
    const port = await rawServer((socket) =>
      socket.once('data', () => socket.end('HTTP/1.1 500 Oops\r\ncontent-length: 1000\r\n\r\nshort')),
    );
    const { delivery } = await attemptTo(`http://127.0.0.1:${port}/hook`);
    expect(delivery.attempts[0]).toMatchObject({ statusCode: 500, responseBody: 'short' });
    expect(delivery.attempts[0]!.errorCode).toMatch(/^E|^ERR_/);
  });
});

describe('redirects and back-pressure answers', () => {
  it('a redirect loop (302 to itself): one request per attempt, never followed', async () => {
    let url = '';
    const r = await receiver((_req, res) => res.writeHead(302, { location: url }).end());
    url = r.url;
    const { delivery } = await attemptTo(r.url, { retry: [0] });
    expect(r.requests).toHaveLength(2);
    expect(delivery.attempts.map((a) => [a.statusCode, a.errorCode])).toEqual([
      [302, null],
      [302, null],
    ]);
    expect(delivery.status).toBe('failed');
  });

  it.each([429, 503])('%i with Retry-After in seconds: the next attempt waits that long', async (status) => {
    const r = await receiver((_req, res) => res.writeHead(status, { 'retry-after': '120' }).end('slow down'));
    const { delivery } = await attemptTo(r.url, { retry: [0] });
    expect(r.requests).toHaveLength(1);
    const [a] = delivery.attempts;
    expect(a).toMatchObject({ statusCode: status, errorCode: null, responseBody: 'slow down' });
    expect(a!.responseHeaders['retry-after']).toBe('120');
    expect(delivery.status).toBe('pending');
    expect(delivery.lastError).toBe(`HTTP ${status}`);
    const wait = Date.parse(delivery.nextAttemptAt!) - Date.parse(a!.startedAt);
    expect(wait).toBeGreaterThanOrEqual(119_000);
    expect(wait).toBeLessThan(125_000);
  });

  it('503 with Retry-After as an HTTP date, and one far in the future (capped at 6 h)', async () => {
    let n = 0;
    const r = await receiver((_req, res) => {
      const later = n++ === 0 ? new Date(Date.now() + 60_000).toUTCString() : '999999999';
      res.writeHead(503, { 'retry-after': later }).end();
    });
    const s = sender({ retry: [0, 0] });
    const a = s.endpoints.add({ url: r.url });
    s.emit('order.created', { id: 1 });
    await s.drain();
    const first = s.deliveries.get(s.deliveries.list({ endpointId: a.id }).items[0]!.id);
    const wait = Date.parse(first.nextAttemptAt!) - Date.parse(first.attempts[0]!.startedAt);
    expect(wait).toBeGreaterThan(55_000);
    expect(wait).toBeLessThanOrEqual(61_000);
    s.deliveries.retry(first.id);
    await r.waitFor(2);
    await s.drain();
    const second = s.deliveries.get(first.id);
    const capped = Date.parse(second.nextAttemptAt!) - Date.parse(second.attempts[1]!.startedAt);
    expect(capped).toBeGreaterThan(6 * 3600_000 - 5_000);
    expect(capped).toBeLessThanOrEqual(6 * 3600_000 + 1_000);
  });
});

describe('names that do not resolve', () => {
  it.each([
    ['ENOTFOUND', 'nowhere.test'],
    ['EAI_AGAIN', 'flaky.test'],
  ])('%s from the resolver is the attempt error', async (code, host) => {
    const dns = fakeLookup({ [host]: dnsError(code, host) });
    const { delivery } = await attemptTo(`https://${host}/hook`, {
      lookup: dns.lookup,
      allowPrivateNetworks: false,
    });
    expectFailedAttempt(delivery, code, 3000);
    expect(delivery.attempts[0]!.errorMessage).toContain(host);
    expect(dns.calls).toHaveLength(1);
  });

  it('an empty answer is ENOTFOUND', async () => {
    const dns = fakeLookup({ 'empty.test': [] });
    const { delivery } = await attemptTo('http://empty.test/hook', { lookup: dns.lookup });
    expectFailedAttempt(delivery, 'ENOTFOUND', 3000);
  });

  it('a resolver that never answers: the attempt still ends (connectTimeout)', async () => {
    const never = (() => {}) as never;
    const { delivery } = await attemptTo('http://hang.test/hook', { lookup: never, connectTimeout: 300 });
    expectFailedAttempt(delivery, 'ETIMEDOUT', 2500);
  });
});

describe('TLS', () => {
  let tls: { key: string; cert: string } | null = null;
  const noOpenssl = spawnSync('openssl', ['version']).status !== 0;
  beforeAll(() => {
    if (noOpenssl) return;
    const dir = tempDir();
    const key = path.join(dir.dir, 'key.pem');
    const cert = path.join(dir.dir, 'cert.pem');
    // A throw-away self-signed certificate for 127.0.0.1, made here rather than kept in the repository.
    const r = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:selfsigned.test',
      ],
      { stdio: 'pipe' },
    );
    if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
    tls = { key: fs.readFileSync(key, 'utf8'), cert: fs.readFileSync(cert, 'utf8') };
    dir.cleanup();
  });

  it('a handshake that stalls (TCP accepted, no TLS answer): ETIMEDOUT within connectTimeout', async () => {
    const port = await rawServer(() => {});
    const { delivery } = await attemptTo(`https://127.0.0.1:${port}/hook`, {
      connectTimeout: 300,
      timeout: 10_000,
    });
    expectFailedAttempt(delivery, 'ETIMEDOUT', 3000);
    expect(delivery.attempts[0]!.errorMessage).toMatch(/secureConnect/);
  });

  it.skipIf(noOpenssl)(
    `a self-signed certificate: refused (verification stays on), nothing is sent${noOpenssl ? ' [SKIPPED: no openssl CLI]' : ''}`,
    async () => {
      let requests = 0;
      const server = https.createServer({ key: tls!.key, cert: tls!.cert }, (_req, res) => {
        requests++;
        res.writeHead(200).end('ok');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
      const { port } = server.address() as AddressInfo;
      const dns = fakeLookup({ 'selfsigned.test': '127.0.0.1' });
      for (const url of [`https://127.0.0.1:${port}/hook`, `https://selfsigned.test:${port}/hook`]) {
        const { delivery } = await attemptTo(url, { lookup: dns.lookup });
        expectFailedAttempt(delivery, 'DEPTH_ZERO_SELF_SIGNED_CERT', 3000);
      }
      expect(requests).toBe(0);
    },
  );
});

describe('bodies that would exhaust memory', () => {
  it('a gzip bomb is not decompressed: the raw bytes, capped, are all that is kept', async () => {
    // 256 MiB of zeros, compressed to about 256 KiB, generated as a stream.
    const gzipped: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      let left = 256;
      const zero = Buffer.alloc(1024 * 1024);
      const source = new Readable({
        read() {
          this.push(left-- > 0 ? zero : null);
        },
      });
      source
        .pipe(zlib.createGzip({ level: 9 }))
        .on('data', (c: Buffer) => gzipped.push(c))
        .on('end', resolve)
        .on('error', reject);
    });
    const bomb = Buffer.concat(gzipped);
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const r = await receiver((_req, res) =>
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'application/json' }).end(bomb),
    );
    const { delivery } = await attemptTo(r.url, { responseBodyLimit: 1024 });
    const [a] = delivery.attempts;
    expect(a).toMatchObject({ statusCode: 200, errorCode: null });
    expect(a!.responseHeaders['content-encoding']).toBe('gzip');
    // The gzip header (1f 8b 08; 8b is not UTF-8), not inflated zeros.
    expect(a!.responseBody!.startsWith('\u001f\ufffd\u0008')).toBe(true);
    expect(Buffer.byteLength(a!.responseBody!)).toBeLessThanOrEqual(1024);
    expect(r.requests[0]!.headers['accept-encoding']).toBeUndefined();
  });

  it('binary bytes never make the kept body larger than the limit in bytes', async () => {
    const r = await receiver((_req, res) => res.writeHead(500).end(Buffer.alloc(4096, 0xff)));
    const { delivery } = await attemptTo(r.url, { responseBodyLimit: 1000 });
    const body = delivery.attempts[0]!.responseBody!;
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(1000);
    expect(body.length).toBeGreaterThan(300);
  });

  it.each([16 * 1024, 1024 * 1024])(
    'a 1 GiB body (streamed, generated) with responseBodyLimit %i: ends promptly, RSS grows < 100 MB',
    async (limit) => {
      const GIB = 1024 * 1024 * 1024;
      const block = Buffer.alloc(64 * 1024, 'x');
      let written = 0;
      const r = await receiver((_req, res) => {
        res.writeHead(500, { 'content-type': 'text/plain', 'content-length': String(GIB) });
        const source = new Readable({
          read() {
            if (written >= GIB) return this.push(null);
            written += block.length;
            this.push(block);
          },
        });
        source.pipe(res);
        res.on('close', () => source.destroy());
      });
      (globalThis as { gc?: () => void }).gc?.();
      const before = process.memoryUsage().rss;
      let peak = before;
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss);
      }, 5);
      const started = performance.now();
      const { delivery } = await attemptTo(r.url, { responseBodyLimit: limit, timeout: 20_000 });
      clearInterval(sampler);
      peak = Math.max(peak, process.memoryUsage().rss);
      const [a] = delivery.attempts;
      expect(a).toMatchObject({ statusCode: 500, errorCode: null });
      expect(Buffer.byteLength(a!.responseBody!)).toBe(limit);
      expect(performance.now() - started).toBeLessThan(10_000);
      // Reading stopped at the limit: the receiver could only push what the socket buffers held.
      expect(written).toBeLessThan(limit + 32 * 1024 * 1024);
      expect(peak - before).toBeLessThan(100 * 1024 * 1024);
    },
  );
});

describe('secrets stay out of the log', () => {
  const SECRET = 'SECRET_q5Zt0ken';

  it('secret-bearing response headers are redacted, set-cookie dropped, the rest kept', async () => {
    const r = await receiver((_req, res) =>
      res
        .writeHead(401, {
          'set-cookie': [`session=${SECRET}-1`],
          authorization: `Bearer ${SECRET}-2`,
          'proxy-authorization': `Basic ${SECRET}-3`,
          cookie: `sid=${SECRET}-4`,
          'x-api-key': `${SECRET}-5`,
          'x-auth-token': `${SECRET}-6`,
          'x-client-secret': `${SECRET}-7`,
          'x-db-password': `${SECRET}-8`,
          'www-authenticate': 'Bearer realm="hooks"',
          'x-request-id': 'req-1',
        })
        .end('no'),
    );
    const { s, delivery, notices } = await attemptTo(r.url);
    const h = delivery.attempts[0]!.responseHeaders;
    expect(h).not.toHaveProperty('set-cookie');
    for (const name of [
      'authorization',
      'proxy-authorization',
      'cookie',
      'x-api-key',
      'x-auth-token',
      'x-client-secret',
      'x-db-password',
    ]) {
      expect(h[name]).toBe('[redacted]');
    }
    expect(h['www-authenticate']).toBe('Bearer realm="hooks"');
    expect(h['x-request-id']).toBe('req-1');
    const everything = JSON.stringify([delivery, notices, s.stats(), s.deliveries.list(), s.events.list()]);
    expect(everything).not.toContain(SECRET);
  });

  it('a token in the URL query and the endpoint headers appear in no error, attempt, event or stat', async () => {
    const token = `Bearer ${SECRET}-hdr`;
    const closed = await rawServer(() => {});
    // A closed port: listen, note the port, stop listening.
    const gone = net.createServer();
    await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
    const gonePort = (gone.address() as AddressInfo).port;
    await new Promise<void>((resolve) => gone.close(() => resolve()));
    const garbage = await rawServer(answerWith('SSH-2.0-x\r\n'));
    const dns = fakeLookup({
      'nowhere.test': dnsError('ENOTFOUND', 'nowhere.test'),
      'loop.test': '127.0.0.1',
    });
    const urls = [
      `http://127.0.0.1:${gonePort}/hook?token=${SECRET}`, // ECONNREFUSED
      `http://127.0.0.1:${closed}/hook?token=${SECRET}&x=1`, // ETIMEDOUT
      `https://127.0.0.1:${closed}/hook?token=${SECRET}`, // TLS stall
      `http://127.0.0.1:${garbage}/hook?token=${encodeURIComponent(`${SECRET}/+`)}`, // HPE_INVALID_CONSTANT
      `http://nowhere.test/hook?token=${SECRET}`, // ENOTFOUND
    ];
    const s = sender({ lookup: dns.lookup, timeout: 500, connectTimeout: 300, retry: [0] });
    const blocked = sender({ lookup: dns.lookup, allowPrivateNetworks: false });
    const seen: unknown[] = [];
    for (const target of [s, blocked]) {
      for (const name of ['attempt', 'retrying', 'failed', 'delivered', 'error'] as const) {
        target.on(name, (n: unknown) => seen.push(n instanceof Error ? { ...n, message: n.message } : n));
      }
    }
    for (const url of urls)
      s.endpoints.add({ url, headers: { authorization: token, 'x-api-key': `${SECRET}-key` } });
    blocked.endpoints.add({
      url: `http://loop.test/hook?token=${SECRET}`,
      headers: { authorization: token },
    });
    s.emit('order.created', { id: 1 });
    blocked.emit('order.created', { id: 1 });
    await Promise.all([s.drain(), blocked.drain()]);

    const deliveries = [s, blocked].flatMap((x) =>
      x.deliveries.list().items.map((d) => x.deliveries.get(d.id)),
    );
    expect(deliveries).toHaveLength(6);
    const codes = deliveries.map((d) => d.attempts[0]!.errorCode).sort();
    expect(codes).toEqual(
      [
        'ECONNREFUSED',
        'ENOTFOUND',
        'ERR_SSRF_BLOCKED',
        'ETIMEDOUT',
        'ETIMEDOUT',
        'HPE_INVALID_CONSTANT',
      ].sort(),
    );
    const logged = JSON.stringify([deliveries, seen, s.stats(), blocked.stats(), s.events.list()]);
    expect(logged).not.toContain(SECRET);
    expect(logged).not.toContain('token=');
    expect(seen.length).toBeGreaterThanOrEqual(12);
  });

  it('describeError strips the URL, its query string raw and decoded, from any message', () => {
    const url = 'https://hooks.example.com/in?token=SECRET%2Fa%2Bb&sig=S2';
    const messages = [
      `Request to ${url} failed`,
      'GET /in?token=SECRET%2Fa%2Bb&sig=S2 -> 500',
      'query token=SECRET/a+b&sig=S2 rejected',
      'bad ?token=SECRET%2Fa%2Bb&sig=S2',
    ];
    for (const message of messages) {
      const { code, message: cleaned } = describeError(
        Object.assign(new Error(message), { code: 'EX' }),
        url,
      );
      expect(code).toBe('EX');
      expect(cleaned).not.toContain('SECRET');
      expect(cleaned).toContain('<url>');
    }
    expect(describeError(null, url)).toEqual({ code: 'ERR_REQUEST', message: 'null' });
    expect(describeError(new Error('x'.repeat(2000)), url).message).toHaveLength(500);
  });
});
