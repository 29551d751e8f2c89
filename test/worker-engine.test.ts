import type { Worker } from 'node:worker_threads';
import { isMainThread } from 'node:worker_threads';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InvalidOptionError, WebhookError, WebhookSender } from '../src/index.js';
import { type PgSenderOptions, PgWebhookSender } from '../src/postgres.js';
import { ensureBuilt } from './helpers/build.js';
import { ManualClock } from './helpers/clock.js';
import { fakeLookup } from './helpers/fake-dns.js';
import { dropSchema, PG_URL, probePostgres, uniqueSchema } from './helpers/postgres.js';
import { type Receiver, startReceiver } from './helpers/receiver.js';
import { tempDir } from './helpers/tmp.js';

// What is the worker engine's own (engine: 'worker'): the engine in a worker thread on its own
// connection, hooks answered on the application's thread, events sent over, crashes survived.
// The shared behaviours run on it too (test/shared-behaviour.test.ts).

const tmp = tempDir();
let n = 0;
let senders: WebhookSender[] = [];
let receivers: Receiver[] = [];

beforeAll(() => ensureBuilt());
afterEach(async () => {
  await Promise.all(senders.map((s) => s.close({ timeout: 0 })));
  await Promise.all(receivers.map((r) => r.close()));
  senders = [];
  receivers = [];
});
afterAll(() => tmp.cleanup());

function sender(options: ConstructorParameters<typeof WebhookSender>[0] = {}): WebhookSender {
  const s = new WebhookSender({
    database: tmp.file(`engine-${n++}.db`),
    engine: 'worker',
    allowPrivateNetworks: true,
    ...options,
  });
  senders.push(s);
  return s;
}

async function receiver(...args: Parameters<typeof startReceiver>): Promise<Receiver> {
  const r = await startReceiver(...args);
  receivers.push(r);
  return r;
}

const thread = (s: WebhookSender) =>
  (s as unknown as Record<symbol, { thread?: Worker | null }>)[Symbol.for('hookline.engine')]!.thread;

const errors = (s: WebhookSender) => {
  const seen: WebhookError[] = [];
  s.on('error', (e) => seen.push(e));
  return seen;
};

describe("engine: 'worker'", () => {
  it('delivers from a worker thread, and the events come back to listeners on this thread', async () => {
    const r = await receiver();
    const s = sender();
    s.endpoints.add({ url: r.url });
    const delivered: string[] = [];
    s.on('delivered', (notice) => delivered.push(notice.eventId));
    const ids = Array.from({ length: 50 }, (_, i) => s.emit('order.created', { i }).id);
    await s.drain();
    expect(r.requests).toHaveLength(50);
    expect(delivered.sort()).toEqual([...ids].sort());
    expect(s.stats()).toMatchObject({ succeeded: 50, pending: 0, inFlight: 0 });
    expect(thread(s)).not.toBeNull();
    expect(isMainThread).toBe(true);
  });

  it('sends over only the events someone listens to, and starts sending one when a listener comes', async () => {
    const r = await receiver();
    const s = sender();
    s.endpoints.add({ url: r.url });
    s.emit('a', {});
    await s.drain();
    const attempts: number[] = [];
    s.on('attempt', (notice) => attempts.push(notice.statusCode ?? 0));
    s.emit('b', {});
    await s.drain();
    expect(attempts).toEqual([200]);
  });

  it("calls a retry function on the application's thread, with the attempt's context", async () => {
    const r = await receiver((_req, res) => {
      res.writeHead(r.requests.length < 3 ? 503 : 200);
      res.end();
    });
    const calls: { attempt: number; statusCode: number | null; main: boolean }[] = [];
    const s = sender({
      retry: (c) => {
        calls.push({ attempt: c.attempt, statusCode: c.statusCode, main: isMainThread });
        return 5;
      },
    });
    s.endpoints.add({ url: r.url });
    const { id } = s.emit('order.created', {});
    // drain() does not wait for a retry that is not due yet: the third request is the sign.
    await r.waitFor(3);
    await s.drain();
    expect(calls).toEqual([
      { attempt: 1, statusCode: 503, main: true },
      { attempt: 2, statusCode: 503, main: true },
    ]);
    expect(s.deliveries.list({ eventId: id }).items[0]).toMatchObject({
      status: 'succeeded',
      attemptCount: 3,
    });
  });

  it('gives the delivery up when the retry function throws or answers junk, and says why as an error', async () => {
    const r = await receiver((_req, res) => {
      res.writeHead(500);
      res.end();
    });
    const s = sender({
      retry: (c) => {
        if (c.event.type === 'throws') throw new Error('policy broke');
        return 'soon' as unknown as number;
      },
    });
    const seen = errors(s);
    s.endpoints.add({ url: r.url });
    s.emit('throws', {});
    s.emit('junk', {});
    await s.drain();
    expect(s.stats()).toMatchObject({ failed: 2, pending: 0 });
    const codes = seen.map((e) => [e.code, e.message]);
    expect(codes).toContainEqual(['ERR_DISPATCH', expect.stringContaining('policy broke')]);
    expect(codes).toContainEqual(['ERR_INVALID_RETRY_DELAY', expect.stringContaining('"soon"')]);
    expect(seen.every((e) => e instanceof WebhookError)).toBe(true);
  });

  it("resolves names with the application's lookup, and the SSRF guard checks its answer", async () => {
    const r = await receiver();
    const port = new URL(r.url).port;
    const dns = fakeLookup({ 'hooks.example.com': '127.0.0.1' });
    const guarded = sender({ lookup: dns.lookup, allowPrivateNetworks: false, retry: [] });
    guarded.endpoints.add({ url: `http://hooks.example.com:${port}/` });
    guarded.emit('order.created', {});
    const open = sender({ lookup: dns.lookup, retry: [] });
    open.endpoints.add({ url: `http://hooks.example.com:${port}/` });
    open.emit('order.created', {});
    await Promise.all([guarded.drain(), open.drain()]);
    expect(r.requests).toHaveLength(1);
    expect(dns.calls.map((c) => c.hostname)).toEqual(['hooks.example.com', 'hooks.example.com']);
    const [blocked] = guarded.deliveries.list().items;
    expect(blocked).toMatchObject({ status: 'failed' });
    expect(guarded.deliveries.get(blocked!.id).attempts[0]).toMatchObject({ errorCode: 'ERR_SSRF_BLOCKED' });
    expect(open.stats()).toMatchObject({ succeeded: 1 });
  });

  it("takes a lookup's answer in any shape a resolver may give, as the inline engine does", async () => {
    const r = await receiver();
    const port = new URL(r.url).port;
    // One address and its family, not the list `{ all: true }` asks for.
    const lookup = ((_host: string, _options: unknown, callback: (...args: unknown[]) => void) =>
      callback(null, '127.0.0.1', 4)) as never;
    const s = sender({ lookup, retry: [] });
    s.endpoints.add({ url: `http://single.example.com:${port}/` });
    s.emit('order.created', {});
    await s.drain();
    expect(r.requests).toHaveLength(1);
    expect(s.stats()).toMatchObject({ succeeded: 1, failed: 0 });
  });

  it('restarts a worker that died, reports it, and delivers what it held without waiting for leases', async () => {
    let hold = true;
    const r = await receiver((_req, res) => {
      if (hold) return; // never answers: the attempt stays in flight, its row leased
      res.end('ok');
    });
    const s = sender({ timeout: 60_000 });
    const seen = errors(s);
    s.endpoints.add({ url: r.url });
    s.emit('order.created', { n: 1 });
    await r.waitFor(1);
    expect(s.stats().sending).toBe(1);
    hold = false;
    await thread(s)!.terminate();
    // The lease would last 70 s; the restarted worker hands the dead one's rows back at once.
    await s.drain();
    expect(seen.map((e) => e.code)).toContain('ERR_DISPATCH');
    expect(seen.some((e) => /worker thread stopped/.test(e.message))).toBe(true);
    expect(s.stats()).toMatchObject({ succeeded: 1, sending: 0, pending: 0 });
    expect(r.requests).toHaveLength(2);
    s.emit('order.created', { n: 2 });
    await s.drain();
    expect(r.requests).toHaveLength(3);
  });

  it('close() aborts what is in flight and hands the row back pending, for the next start', async () => {
    const r = await receiver(() => {});
    const file = tmp.file('close.db');
    const s = new WebhookSender({ database: file, engine: 'worker', allowPrivateNetworks: true });
    s.endpoints.add({ url: r.url });
    s.emit('order.created', {});
    await r.waitFor(1);
    await s.close({ timeout: 0 });
    const after = new WebhookSender({ database: file, autoStart: false });
    expect(after.stats()).toMatchObject({ pending: 1, sending: 0 });
    await after.close();
  });

  it('needs a database file and the system clock, and says so before anything is written', () => {
    const refused = (options: ConstructorParameters<typeof WebhookSender>[0]) => {
      try {
        new WebhookSender(options).close();
        return null;
      } catch (error) {
        return error;
      }
    };
    expect(refused({ database: ':memory:', engine: 'worker' })).toBeInstanceOf(InvalidOptionError);
    expect(
      refused({ database: tmp.file('clock.db'), engine: 'worker', clock: new ManualClock() }),
    ).toMatchObject({
      code: 'ERR_INVALID_OPTION',
      message: expect.stringContaining("engine: 'inline'"),
    });
    expect(refused({ database: tmp.file('bad.db'), engine: 'threads' as 'worker' })).toMatchObject({
      code: 'ERR_INVALID_OPTION',
    });
  });
});

const probe = await probePostgres();

describe.skipIf(!probe.available)(`engine: 'worker' on PostgreSQL (${probe.reason})`, () => {
  const schemas: string[] = [];
  const pools: pg.Pool[] = [];
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end()));
    for (const schema of schemas) await dropSchema(schema);
  });

  async function pgSender(options: Partial<PgSenderOptions> = {}): Promise<PgWebhookSender> {
    const schema = uniqueSchema('worker');
    schemas.push(schema);
    const pool = new pg.Pool({ connectionString: PG_URL, max: 4 });
    pools.push(pool);
    const s = new PgWebhookSender({ pool, schema, allowPrivateNetworks: true, ...options });
    await s.ready;
    pgSenders.push(s);
    return s;
  }
  const pgSenders: PgWebhookSender[] = [];
  afterEach(async () => {
    await Promise.all(pgSenders.splice(0).map((s) => s.close({ timeout: 0 })));
  });

  it('is the default with a pool whose settings a worker can copy: it delivers, events come back', async () => {
    const r = await receiver();
    const s = await pgSender();
    await s.endpoints.add({ url: r.url });
    const delivered: string[] = [];
    s.on('delivered', (notice) => delivered.push(notice.eventId));
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => s.emit('order.created', { i })));
    await s.drain();
    expect(thread(s as unknown as WebhookSender)).not.toBeNull();
    expect(r.requests).toHaveLength(20);
    expect(delivered.sort()).toEqual(ids.map((e) => e.id).sort());
    expect(await s.stats()).toMatchObject({ succeeded: 20, pending: 0, inFlight: 0 });
  });

  it('restarts a worker that died and hands back at once what it held', async () => {
    let hold = true;
    const r = await receiver((_req, res) => {
      if (!hold) res.end('ok');
    });
    const s = await pgSender({ timeout: 60_000 });
    const seen: WebhookError[] = [];
    s.on('error', (e) => seen.push(e));
    await s.endpoints.add({ url: r.url });
    await s.emit('order.created', {});
    await r.waitFor(1);
    hold = false;
    await thread(s as unknown as WebhookSender)!.terminate();
    await r.waitFor(2);
    await s.drain();
    expect(seen.some((e) => /worker thread stopped/.test(e.message))).toBe(true);
    expect(await s.stats()).toMatchObject({ succeeded: 1, sending: 0 });
  });

  it('stays inline with a pool a worker cannot copy, and refuses engine: worker for it', async () => {
    class CustomClient extends pg.Client {}
    const pool = new pg.Pool({ connectionString: PG_URL, Client: CustomClient });
    pools.push(pool);
    const schema = uniqueSchema('worker');
    schemas.push(schema);
    const s = new PgWebhookSender({ pool, schema, allowPrivateNetworks: true });
    pgSenders.push(s);
    await s.ready;
    const r = await receiver();
    await s.endpoints.add({ url: r.url });
    await s.emit('order.created', {});
    await s.drain();
    expect(r.requests).toHaveLength(1);
    expect(thread(s as unknown as WebhookSender)).toBeUndefined();
    expect(() => new PgWebhookSender({ pool, schema, engine: 'worker' })).toThrow(InvalidOptionError);
  });
});

describe("engine: 'worker' runs the retention sweep", () => {
  it('in the worker, a second after it starts: finished deliveries past retention go without prune()', async () => {
    const r = await receiver();
    const s = sender({ retention: { succeeded: 1 } });
    s.endpoints.add({ url: r.url });
    const { id } = s.emit('order.created', {});
    await s.drain();
    expect(s.deliveries.list({ eventId: id }).items).toHaveLength(1);
    const deadline = Date.now() + 10_000;
    while (s.deliveries.list({ eventId: id }).items.length > 0 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(s.deliveries.list({ eventId: id }).items).toHaveLength(0);
    expect(() => s.events.get(id)).toThrow(/No event/);
  });
});
