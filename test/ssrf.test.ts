import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type DeliveryWithAttempts,
  InvalidArgumentError,
  type SenderOptions,
  WebhookSender,
} from '../src/index.js';
import { ensureBuilt } from './helpers/build.js';
import { cleanupAfterEach } from './helpers/cleanups.js';
import { fakeLookup } from './helpers/fake-dns.js';
import { hasIpv6Loopback, type Listener, listen } from './helpers/listener.js';
import { tempDir } from './helpers/tmp.js';

// The SSRF guard end to end, through the public API: what is refused when an endpoint is added,
// what is refused when a request is about to connect, and what the options open. No test here
// resolves a real name (every name goes through a fake `lookup`), and no packet is sent to an
// address off this machine: outside the network namespace only loopback is ever a target.

const cleanups = cleanupAfterEach();

const ipv6 = await hasIpv6Loopback();

function sender(options: SenderOptions = {}): WebhookSender {
  const s = new WebhookSender({
    database: ':memory:',
    retry: [],
    timeout: 3000,
    connectTimeout: 1000,
    ...options,
  });
  cleanups.push(() => s.close({ timeout: 0 }));
  return s;
}

async function listener(address = '127.0.0.1', respond?: Parameters<typeof listen>[1]): Promise<Listener> {
  const l = await listen(address, respond);
  cleanups.push(() => l.close());
  return l;
}

/** Emits one event to a new endpoint at `url` and returns its delivery once the attempt is logged. */
async function deliver(s: WebhookSender, url: string): Promise<DeliveryWithAttempts> {
  const ep = s.endpoints.add({ url });
  s.emit('order.created', { id: 1 }, { endpointIds: [ep.id] });
  await s.drain();
  const [item] = s.deliveries.list({ endpointId: ep.id }).items;
  return s.deliveries.get(item!.id);
}

/**
 * Stores an endpoint as a permissive sender would (another process, an older version), then
 * lets a sender with `options` deliver to it: the URL reaches the send-time check unchecked.
 */
async function deliverStored(url: string, options: SenderOptions = {}): Promise<DeliveryWithAttempts> {
  const db = new Database(':memory:');
  cleanups.push(() => db.close());
  const writer = new WebhookSender({ database: db, allowPrivateNetworks: true, autoStart: false });
  const ep = writer.endpoints.add({ url });
  await writer.close();
  const s = sender({ database: db, ...options });
  s.emit('order.created', { id: 1 });
  await s.drain();
  const [item] = s.deliveries.list({ endpointId: ep.id }).items;
  return s.deliveries.get(item!.id);
}

function expectBlocked(d: DeliveryWithAttempts, rule?: string): void {
  expect(d.attempts).toHaveLength(1);
  expect(d.attempts[0]).toMatchObject({
    statusCode: null,
    errorCode: 'ERR_SSRF_BLOCKED',
    responseBody: null,
  });
  if (rule !== undefined) expect(d.attempts[0]!.errorMessage).toContain(`(${rule})`);
  expect(d.status).toBe('failed');
  expect(d.lastError).toMatch(/^ERR_SSRF_BLOCKED: /);
}

function ipv4ToInt(address: string): number {
  return address.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

/** Every way a URL can spell an IPv4 address. */
function ipv4Forms(address: string): [form: string, host: string][] {
  const n = ipv4ToInt(address);
  const parts = address.split('.').map(Number);
  const hi = (n >>> 16).toString(16);
  const lo = (n & 0xffff).toString(16);
  return [
    ['literal', address],
    ['decimal', String(n)],
    ['hex', `0x${n.toString(16)}`],
    ['octal', parts.map((p) => `0${p.toString(8)}`).join('.')],
    ['short a.bcd', `${parts[0]}.${n & 0xffffff}`],
    ['short a.b.cd', `${parts[0]}.${parts[1]}.${n & 0xffff}`],
    ['IPv4-mapped', `[::ffff:${address}]`],
    ['IPv4-mapped hex', `[::ffff:${hi}:${lo}]`],
  ];
}

/** Every way a URL can spell an IPv6 address. */
function ipv6Forms(address: string): [form: string, host: string][] {
  const expanded = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  const full = expanded.includes('::')
    ? (() => {
        const [head, tail] = expanded.split('::') as [string, string];
        const h = head === '' ? [] : head.split(':');
        const t = tail === '' ? [] : tail.split(':');
        return [...h, ...Array(8 - h.length - t.length).fill('0'), ...t].map((g) => g.padStart(4, '0'));
      })()
    : expanded.split(':').map((g) => g.padStart(4, '0'));
  return [
    ['literal', `[${address}]`],
    ['uncompressed', `[${full.join(':')}]`],
    ['upper case', `[${address.toUpperCase()}]`],
  ];
}

const REFUSED_V4: [address: string, rule: string][] = [
  ['127.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['0.0.0.0', 'unspecified'],
  ['10.1.2.3', 'private'],
  ['172.16.5.4', 'private'],
  ['192.168.1.1', 'private'],
  ['100.64.1.1', 'carrier-grade-nat'],
  ['169.254.1.1', 'link-local'],
  ['169.254.169.254', 'metadata'],
  ['100.100.100.200', 'metadata'],
  ['192.0.0.192', 'reserved'],
  ['192.0.2.1', 'documentation'],
  ['198.18.0.1', 'benchmarking'],
  ['198.51.100.7', 'documentation'],
  ['203.0.113.9', 'documentation'],
  ['192.88.99.1', '6to4'],
  ['224.0.0.1', 'multicast'],
  ['240.0.0.1', 'reserved'],
  ['255.255.255.255', 'broadcast'],
];

const REFUSED_V6: [address: string, rule: string][] = [
  ['::1', 'loopback'],
  ['::', 'unspecified'],
  ['::7f00:1', 'ipv4-compatible'],
  ['fc00::1', 'unique-local'],
  ['fd00::1', 'unique-local'],
  ['fe80::1', 'link-local'],
  ['fec0::1', 'site-local'],
  ['ff02::1', 'multicast'],
  ['fd00:ec2::254', 'metadata'],
  ['64:ff9b::a01:203', 'nat64'],
  ['2002:a01:203::1', '6to4'],
  ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'teredo'],
  ['2001:db8::1', 'documentation'],
];

const ADD_CASES: [address: string, rule: string, form: string, host: string][] = [
  ...REFUSED_V4.flatMap(([a, rule]) => ipv4Forms(a).map(([form, host]) => [a, rule, form, host] as const)),
  ...REFUSED_V6.flatMap(([a, rule]) => ipv6Forms(a).map(([form, host]) => [a, rule, form, host] as const)),
].map((c) => [...c]);

describe('when an endpoint is added: an IP literal in a refused range', () => {
  it.each(ADD_CASES)('%s (%s) written %s as %s is refused with ERR_SSRF_BLOCKED', (_a, rule, _form, host) => {
    const s = sender({ autoStart: false });
    const url = `http://${host}:8080/hook`;
    let error: unknown;
    try {
      s.endpoints.add({ url });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ code: 'ERR_SSRF_BLOCKED', argument: 'url' });
    expect((error as Error).message).toContain(`(${rule})`);
    expect((error as Error).message).toContain('allowPrivateNetworks');
    expect(s.endpoints.list()).toEqual([]);

    // And an existing endpoint cannot be moved there.
    const ep = s.endpoints.add({ url: 'https://hooks.example.com/in' });
    expect(() => s.endpoints.update(ep.id, { url })).toThrow(
      expect.objectContaining({ code: 'ERR_SSRF_BLOCKED' }),
    );
    expect(s.endpoints.get(ep.id).url).toBe('https://hooks.example.com/in');
  });

  it.each(ADD_CASES)(
    '%s (%s) written %s as %s is accepted with allowPrivateNetworks',
    (_a, _rule, _form, host) => {
      const s = sender({ autoStart: false, allowPrivateNetworks: true });
      expect(s.endpoints.add({ url: `http://${host}:8080/hook` }).url).toMatch(/^http:\/\//);
    },
  );

  it('allowedNetworks opens the listed range in every spelling, and nothing else', () => {
    const s = sender({ autoStart: false, allowedNetworks: ['10.0.0.0/8'] });
    for (const [, host] of ipv4Forms('10.1.2.3')) {
      expect(s.endpoints.add({ url: `http://${host}/hook` }).url).toMatch(
        /^http:\/\/(10\.1\.2\.3|\[::ffff:a01:203\])\/hook$/,
      );
    }
    for (const [, host] of ipv4Forms('172.16.5.4')) {
      expect(() => s.endpoints.add({ url: `http://${host}/hook` })).toThrow(
        expect.objectContaining({ code: 'ERR_SSRF_BLOCKED' }),
      );
    }
  });

  it('metadata addresses stay refused inside an opened range, until listed on their own', () => {
    const range = sender({ autoStart: false, allowedNetworks: ['169.254.0.0/16', 'fd00::/8'] });
    expect(range.endpoints.add({ url: 'http://169.254.1.1/' }).url).toBe('http://169.254.1.1/');
    for (const url of [
      'http://169.254.169.254/latest',
      'http://2852039166/latest',
      'http://[fd00:ec2::254]/',
    ]) {
      expect(() => range.endpoints.add({ url })).toThrow(
        expect.objectContaining({ code: 'ERR_SSRF_BLOCKED' }),
      );
    }
    const listed = sender({ autoStart: false, allowedNetworks: ['169.254.169.254'] });
    expect(listed.endpoints.add({ url: 'http://169.254.169.254/latest' }).url).toBe(
      'http://169.254.169.254/latest',
    );
  });

  it('a public literal is accepted, and a host name is not resolved when it is added', () => {
    const dns = fakeLookup({});
    const s = sender({ autoStart: false, lookup: dns.lookup });
    s.endpoints.add({ url: 'http://8.8.8.8/hook' });
    s.endpoints.add({ url: 'http://[2606:4700:4700::1111]/hook' });
    s.endpoints.add({ url: 'https://hooks.example.com/in' });
    expect(dns.calls).toEqual([]);
  });
});

describe('got unix-socket URLs (http://unix:/path:/...)', () => {
  it.each([{}, { allowPrivateNetworks: true }])('are refused when added (%o)', (options) => {
    const s = sender({ autoStart: false, ...options });
    for (const url of [
      'http://unix:/var/run/docker.sock:/containers/json',
      'http://UNIX:/tmp/x.sock:/a',
      'https://unix/x',
    ]) {
      expect(() => s.endpoints.add({ url })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_URL' }));
    }
    const ep = s.endpoints.add({ url: 'https://hooks.example.com/in' });
    expect(() => s.endpoints.update(ep.id, { url: 'http://unix:/run/app.sock:/admin' })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_URL' }),
    );
    expect(s.endpoints.list()).toHaveLength(1);
  });

  it('cannot reach a unix socket when sending, even if the row holds one and private networks are open', async () => {
    const dir = tempDir();
    cleanups.push(() => dir.cleanup());
    const socketPath = path.join(dir.dir, 'app.sock');
    let connections = 0;
    const server = http.createServer((_req, res) => res.writeHead(200).end('ok'));
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));

    const db = new Database(':memory:');
    cleanups.push(() => db.close());
    const dns = fakeLookup({});
    const s = sender({ database: db, allowPrivateNetworks: true, autoStart: false, lookup: dns.lookup });
    const ep = s.endpoints.add({ url: 'https://hooks.example.com/in' });
    // As if written by an older version, or by hand.
    db.prepare('UPDATE hookline_endpoints SET url = ? WHERE id = ?').run(
      `http://unix:${socketPath}:/hook`,
      ep.id,
    );
    db.prepare("UPDATE hookline_meta SET value = value + 1 WHERE key = 'endpoints_version'").run();
    s.emit('order.created', { id: 1 });
    s.start();
    await s.drain();
    const d = s.deliveries.get(s.deliveries.list().items[0]!.id);
    expectBlocked(d, 'unix-socket');
    expect(connections).toBe(0);
    expect(dns.calls).toEqual([]);
  });
});

const noV6 = ipv6 ? '' : ' [SKIPPED: no IPv6 loopback on this machine]';

describe('when sending: an IP literal stored unchecked is checked again before connecting', () => {
  // Each is reached through a real listener when allowed, so "nothing arrived" means refused.
  const V4: [form: string, host: string][] = [
    ...ipv4Forms('127.0.0.1').map(([form, host]): [string, string] => [`127.0.0.1 ${form}`, host]),
    ['0.0.0.0 literal', '0.0.0.0'],
    ['0.0.0.0 decimal', '0'],
    ['0.0.0.0 IPv4-mapped', '[::ffff:0.0.0.0]'],
  ];
  const V6: [form: string, host: string][] = [
    ['::1', '[::1]'],
    ['::', '[::]'],
  ];

  async function refusedThenOpen(host: string, listenOn: string) {
    const l = await listener(listenOn);
    const url = l.url(host);
    expectBlocked(await deliverStored(url));
    expect(l.connections).toBe(0);
    // The control: the same stored URL, with private networks open, does reach the listener.
    const open = await deliverStored(url, { allowPrivateNetworks: true });
    expect(open.status).toBe('succeeded');
    expect(l.requests).toHaveLength(1);
  }

  it.each(V4)('%s (%s): ERR_SSRF_BLOCKED, and a listener on 127.0.0.1 sees no connection', (_form, host) =>
    refusedThenOpen(host, '127.0.0.1'),
  );
  it.skipIf(!ipv6).each(V6)(
    `%s (%s): ERR_SSRF_BLOCKED, and a listener on ::1 sees no connection${noV6}`,
    (_form, host) => refusedThenOpen(host, '::1'),
  );
});

describe('when sending: a host name is checked on every address the lookup answers', () => {
  const RESOLVED: [address: string, rule: string, listenOn: string][] = [
    ['127.0.0.1', 'loopback', '127.0.0.1'],
    ['127.0.0.2', 'loopback', '127.0.0.2'],
    ['0.0.0.0', 'unspecified', '127.0.0.1'],
    ['::ffff:127.0.0.1', 'loopback', '127.0.0.1'],
    ['::ffff:7f00:1', 'loopback', '127.0.0.1'],
  ];
  const RESOLVED_V6: [address: string, rule: string, listenOn: string][] = [
    ['::1', 'loopback', '::1'],
    ['::', 'unspecified', '::1'],
  ];

  async function refusedByName(address: string, rule: string, listenOn: string) {
    const l = await listener(listenOn);
    const dns = fakeLookup({ 'evil.test': address });
    const url = l.url('evil.test');
    const d = await deliver(sender({ lookup: dns.lookup }), url);
    expectBlocked(d, rule);
    expect(d.attempts[0]!.errorMessage).toContain(address);
    expect(d.attempts[0]!.errorMessage).toContain('evil.test');
    expect(l.connections).toBe(0);
    // The socket's own lookup asked, for every address (Node's happy-eyeballs connector).
    expect(dns.calls).toEqual([{ hostname: 'evil.test', options: expect.objectContaining({ all: true }) }]);

    const open = await deliver(sender({ lookup: dns.lookup, allowPrivateNetworks: true }), url);
    expect(open.status).toBe('succeeded');
    expect(l.requests).toHaveLength(1);
  }

  it.each(RESOLVED)('evil.test resolving to %s (%s): ERR_SSRF_BLOCKED, nothing connects', refusedByName);
  it.skipIf(!ipv6).each(RESOLVED_V6)(
    `evil.test resolving to %s (%s): ERR_SSRF_BLOCKED, nothing connects${noV6}`,
    refusedByName,
  );

  it('localhost (through the fake lookup, as /etc/hosts would answer) is refused', async () => {
    const l = await listener();
    const dns = fakeLookup({ localhost: ipv6 ? ['127.0.0.1', '::1'] : ['127.0.0.1'] });
    const d = await deliver(sender({ lookup: dns.lookup }), l.url('localhost'));
    expectBlocked(d, 'loopback');
    expect(l.connections).toBe(0);
    expect(dns.calls.map((c) => c.hostname)).toEqual(['localhost']);
  });

  it.each(['2130706433', '127.1', '0x7f000001', '0177.0.0.1', 'localhost', '', '::ffff:127.1'])(
    'a resolver answering the non-address %j is refused as invalid',
    async (answer) => {
      const l = await listener();
      const dns = fakeLookup({ 'odd.test': answer });
      const d = await deliver(sender({ lookup: dns.lookup }), l.url('odd.test'));
      expectBlocked(d, 'invalid');
      expect(l.connections).toBe(0);
    },
  );

  it('one answer holding a loopback and a public address is refused as a whole', async () => {
    // Loopback first: even a broken guard would connect there, never off this machine.
    const l = await listener();
    const dns = fakeLookup({ 'mixed.test': ['127.0.0.1', '2606:4700:4700::1111', '8.8.8.8'] });
    const d = await deliver(sender({ lookup: dns.lookup }), l.url('mixed.test'));
    expectBlocked(d, 'loopback');
    expect(l.connections).toBe(0);
  });

  it('DNS rebinding: a first answer that was public does not carry over; the connection-time answer is checked', async () => {
    const l = await listener();
    const dns = fakeLookup({ 'rebind.test': (n) => (n === 1 ? '93.184.216.34' : '127.0.0.1') });
    // Someone checks the name first (an application validating input would), and sees a public address.
    const first = await new Promise<string>((resolve) =>
      dns.lookup('rebind.test', { all: false }, (_e, address) => resolve(address as string)),
    );
    expect(first).toBe('93.184.216.34');
    const d = await deliver(sender({ lookup: dns.lookup }), l.url('rebind.test'));
    expectBlocked(d, 'loopback');
    expect(d.attempts[0]!.errorMessage).toContain('127.0.0.1');
    expect(l.connections).toBe(0);
    expect(dns.calls).toHaveLength(2);
    expect(dns.calls[1]!.options.all).toBe(true);
  });

  it('a resolver that answers at once (synchronously), or throws, is handled', async () => {
    const l = await listener();
    const sync = ((_h: string, options: { all?: boolean }, cb: Function) =>
      options.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4)) as never;
    expectBlocked(await deliver(sender({ lookup: sync }), l.url('sync.test')), 'loopback');
    const opened = await deliver(sender({ lookup: sync, allowPrivateNetworks: true }), l.url('sync.test'));
    expect(opened.status).toBe('succeeded');
    const throwing = (() => {
      throw Object.assign(new Error('resolver down'), { code: 'ESERVFAIL' });
    }) as never;
    const d = await deliver(sender({ lookup: throwing, allowPrivateNetworks: true }), l.url('throw.test'));
    expect(d.attempts[0]).toMatchObject({ statusCode: null, errorCode: 'ESERVFAIL' });
    expect(l.requests).toHaveLength(1);
  });
});

describe('allowPrivateNetworks and allowedNetworks open what they list', () => {
  it('allowPrivateNetworks: a name resolving to loopback is delivered', async () => {
    const l = await listener();
    const dns = fakeLookup({ 'dev.test': '127.0.0.1' });
    const d = await deliver(sender({ lookup: dns.lookup, allowPrivateNetworks: true }), l.url('dev.test'));
    expect(d.status).toBe('succeeded');
    expect(l.requests).toHaveLength(1);
  });

  it('allowedNetworks 127.0.0.2/32 opens 127.0.0.2 only', async () => {
    const two = await listener('127.0.0.2');
    const one = await listener('127.0.0.1');
    const dns = fakeLookup({ 'two.test': '127.0.0.2', 'one.test': '127.0.0.1' });
    const s = sender({ lookup: dns.lookup, allowedNetworks: ['127.0.0.2/32'] });
    expect((await deliver(s, two.url('two.test'))).status).toBe('succeeded');
    expect((await deliver(s, two.url())).status).toBe('succeeded');
    expect(two.requests).toHaveLength(2);
    expectBlocked(await deliver(s, one.url('one.test')), 'loopback');
    expect(() => s.endpoints.add({ url: one.url() })).toThrow(
      expect.objectContaining({ code: 'ERR_SSRF_BLOCKED' }),
    );
    expect(one.connections).toBe(0);
  });

  it.skipIf(!ipv6)(`an IPv4 range does not open IPv6 loopback${noV6}`, async () => {
    const l = await listener('::1');
    const dns = fakeLookup({ 'v6.test': '::1' });
    const d = await deliver(
      sender({ lookup: dns.lookup, allowedNetworks: ['127.0.0.0/8'] }),
      l.url('v6.test'),
    );
    expectBlocked(d, 'loopback');
    expect(l.connections).toBe(0);
  });
});

describe('redirects are never followed', () => {
  it.each([{ allowedNetworks: ['127.0.0.0/8'] }, { allowPrivateNetworks: true }])(
    'to the metadata service, or to a name (%o)',
    async (options) => {
      for (const location of [
        'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
        'http://internal.test/admin',
      ]) {
        const l = await listener('127.0.0.1', (_req, res) => res.writeHead(302, { location }).end());
        const dns = fakeLookup({ 'internal.test': '127.0.0.1' });
        const d = await deliver(sender({ lookup: dns.lookup, ...options }), l.url());
        expect(d.attempts).toHaveLength(1);
        expect(d.attempts[0]).toMatchObject({ statusCode: 302, errorCode: null });
        expect(d.attempts[0]!.responseHeaders.location).toBe(location);
        expect(d.status).toBe('failed');
        expect(l.requests).toHaveLength(1);
        // Following would have resolved the name.
        expect(dns.calls).toEqual([]);
      }
    },
  );
});

describe('the sender uses its own agents', () => {
  it("never reuses a socket the application pooled: a webhook to the app's keep-alive host is still refused", async () => {
    const l = await listener();
    const dns = fakeLookup({ 'pooled.test': '127.0.0.1' });
    const name = `pooled.test:${l.port}:`;
    expect((http.globalAgent as http.Agent & { options: http.AgentOptions }).options.keepAlive).toBe(true);
    // The application's own keep-alive request, through the global agent and its own resolver.
    await new Promise<void>((resolve, reject) => {
      http
        .get(
          { host: 'pooled.test', port: l.port, path: '/app', agent: http.globalAgent, lookup: dns.lookup },
          (res) => {
            res.resume();
            res.on('end', resolve);
          },
        )
        .on('error', reject);
    });
    await new Promise((resolve) => setImmediate(resolve));
    const pooled = http.globalAgent.freeSockets[name] ?? [];
    cleanups.push(() => {
      for (const socket of http.globalAgent.freeSockets[name] ?? []) socket.destroy();
    });
    expect(pooled).toHaveLength(1);
    expect(l.connections).toBe(1);

    const d = await deliver(sender({ lookup: dns.lookup }), l.url('pooled.test'));
    expectBlocked(d, 'loopback');
    expect(l.requests).toHaveLength(1);
    expect(l.connections).toBe(1);
    expect(http.globalAgent.freeSockets[name]).toEqual(pooled);

    // Opened, the sender still connects on its own rather than take the pooled socket.
    const open = await deliver(
      sender({ lookup: dns.lookup, allowPrivateNetworks: true }),
      l.url('pooled.test'),
    );
    expect(open.status).toBe('succeeded');
    expect(l.requests).toHaveLength(2);
    expect(l.connections).toBe(2);
  });
});

// ---------------------------------------------------------------------------------------------
// Inside a network namespace: real private, metadata and "public" addresses on a loopback-only
// interface, so the listeners exist and nothing can leave the machine.

function unshareFlags(): string[] | null {
  for (const flags of [['-n'], ['-rn']]) {
    const r = spawnSync(
      'unshare',
      [...flags, 'sh', '-c', 'ip link set lo up && ip addr add 10.9.9.9/32 dev lo'],
      {
        stdio: 'ignore',
        timeout: 10_000,
      },
    );
    if (r.status === 0) return flags;
  }
  return null;
}
const netnsFlags = unshareFlags();
const canUnshare = netnsFlags !== null;
const inNetns = canUnshare
  ? 'in its own network namespace'
  : 'in a network namespace [SKIPPED: `unshare -n` is not permitted here]';

const SWEEP = [...REFUSED_V4, ...REFUSED_V6.filter(([a]) => a !== '::1' && a !== '::')];

interface Found {
  status?: string;
  thrown?: { code: string; message: string };
  attempts?: { statusCode: number | null; errorCode: string | null; errorMessage: string | null }[];
}
interface NetnsReport {
  interfaces: string[];
  placed: string[];
  sweep: Record<
    string,
    {
      listening: boolean;
      byName: Found;
      byLiteral: Found;
      connectionsAfterName: number | null;
      connectionsAfterRefusals: number | null;
      lookupAll: boolean[];
      control: Found | null;
      requestsAfterControl: number | null;
    }
  >;
  private: {
    allowedLiteral: Found;
    allowedName: Found;
    requestsWhenAllowed: number;
    defaultAdd: Found;
    defaultName: Found;
    defaultStored: Found;
    otherRange: Found;
    requestsAtEnd: number;
    connectionsAtEnd: number;
  };
  metadata: {
    linkLocalRange: Found;
    everything: Found;
    connectionsWhileClosed: number;
    listedAlone: Found;
    requestsAtEnd: number;
  };
  rebinding: {
    result: Found;
    publicRequests: number;
    loopbackConnections: number;
    lookups: { hostname: string; all: boolean }[];
  };
  redirect: { byDefault: Found; open: Found; publicRequests: number; metadataConnections: number };
}

describe(`the guard ${inNetns}`, () => {
  let report: NetnsReport;
  beforeAll(() => {
    if (!canUnshare) return;
    ensureBuilt();
    const fixture = fileURLToPath(new URL('./fixtures/ssrf-netns-child.mjs', import.meta.url));
    expect(fs.existsSync(fixture)).toBe(true);
    const r = spawnSync(
      'unshare',
      [...netnsFlags, process.execPath, fixture, JSON.stringify({ sweep: SWEEP })],
      {
        encoding: 'utf8',
        timeout: 120_000,
        cwd: path.dirname(fixture),
      },
    );
    if (r.status !== 0) throw new Error(`netns child failed (${r.status}): ${r.stderr}`);
    report = JSON.parse(r.stdout.trim().split('\n').pop()!);
  }, 240_000);

  it.skipIf(!canUnshare)('has nothing but a loopback interface (no packet can leave)', () => {
    expect(report.interfaces).toEqual(['lo']);
  });

  it.skipIf(!canUnshare).each(SWEEP)(
    '%s (%s): refused by name and as a stored literal, nothing connects; reachable once opened',
    (address, rule) => {
      const r = report.sweep[address]!;
      for (const found of [r.byName, r.byLiteral]) {
        expect(found.thrown).toBeUndefined();
        expect(found.attempts).toEqual([
          {
            statusCode: null,
            errorCode: 'ERR_SSRF_BLOCKED',
            errorMessage: expect.stringContaining(`(${rule})`),
          },
        ]);
        expect(found.status).toBe('failed');
      }
      expect(r.lookupAll.length).toBeGreaterThan(0);
      expect(r.lookupAll.every(Boolean)).toBe(true);
      if (r.listening) {
        expect(r.connectionsAfterRefusals).toBe(0);
        expect(r.control).toMatchObject({ status: 'succeeded', attempts: [{ statusCode: 200 }] });
        expect(r.requestsAfterControl).toBe(1);
      } else {
        // Multicast, broadcast, IPv6 link-local: nothing can listen there; the refusal alone is shown.
        expect(['multicast', 'broadcast', 'link-local']).toContain(rule);
      }
    },
  );

  it.skipIf(!canUnshare)(
    'a receiver on 10.1.2.3: delivered with allowedNetworks 10.0.0.0/8, refused by default',
    () => {
      const p = report.private;
      expect(p.allowedLiteral).toMatchObject({ status: 'succeeded', attempts: [{ statusCode: 200 }] });
      expect(p.allowedName).toMatchObject({ status: 'succeeded', attempts: [{ statusCode: 200 }] });
      expect(p.requestsWhenAllowed).toBe(2);
      expect(p.defaultAdd.thrown).toMatchObject({ code: 'ERR_SSRF_BLOCKED' });
      for (const refused of [p.defaultName, p.defaultStored]) {
        expect(refused.attempts).toEqual([
          {
            statusCode: null,
            errorCode: 'ERR_SSRF_BLOCKED',
            errorMessage: expect.stringContaining('(private)'),
          },
        ]);
      }
      expect(p.otherRange.thrown).toMatchObject({ code: 'ERR_SSRF_BLOCKED' });
      expect(p.requestsAtEnd).toBe(2);
      expect(p.connectionsAtEnd).toBe(2);
    },
  );

  it.skipIf(!canUnshare)(
    'the metadata service on 169.254.169.254: closed under 169.254.0.0/16 and 0.0.0.0/0, open when listed alone',
    () => {
      const m = report.metadata;
      for (const closed of [m.linkLocalRange, m.everything]) {
        expect(closed.attempts).toEqual([
          {
            statusCode: null,
            errorCode: 'ERR_SSRF_BLOCKED',
            errorMessage: expect.stringContaining('(metadata)'),
          },
        ]);
      }
      expect(m.connectionsWhileClosed).toBe(0);
      expect(m.listedAlone).toMatchObject({ status: 'succeeded', attempts: [{ statusCode: 200 }] });
      expect(m.requestsAtEnd).toBe(1);
    },
  );

  it.skipIf(!canUnshare)(
    'DNS rebinding: the first answer (public) is reached; the next (loopback) is refused before connecting',
    () => {
      const r = report.rebinding;
      expect(r.result.attempts).toEqual([
        { statusCode: 500, errorCode: null, errorMessage: null },
        {
          statusCode: null,
          errorCode: 'ERR_SSRF_BLOCKED',
          errorMessage: expect.stringContaining('127.0.0.1 (loopback)'),
        },
      ]);
      expect(r.result.status).toBe('failed');
      expect(r.publicRequests).toBe(1);
      expect(r.loopbackConnections).toBe(0);
      expect(r.lookups).toEqual([
        { hostname: 'rebind.test', all: true },
        { hostname: 'rebind.test', all: true },
      ]);
    },
  );

  it.skipIf(!canUnshare)(
    'a public receiver redirecting to the metadata service: not followed, under any policy',
    () => {
      const r = report.redirect;
      for (const found of [r.byDefault, r.open]) {
        expect(found).toMatchObject({ status: 'failed', attempts: [{ statusCode: 302, errorCode: null }] });
      }
      expect(r.publicRequests).toBe(2);
      expect(r.metadataConnections).toBe(0);
    },
  );
});

it('Node does not call lookup for an IP literal, which is why literals are checked before connecting', async () => {
  const calls: string[] = [];
  const l = await listener();
  await new Promise<void>((resolve) => {
    const socket = net.connect({
      host: '127.0.0.1',
      port: l.port,
      lookup: ((h: string, _o: unknown, cb: Function) => {
        calls.push(h);
        cb(null, [{ address: '127.0.0.1', family: 4 }]);
      }) as never,
    });
    socket.on('connect', () => {
      socket.destroy();
      resolve();
    });
  });
  expect(calls).toEqual([]);
});
