import type http from 'node:http';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import {
  type AttemptNotice,
  type DeliveredNotice,
  type FailedNotice,
  NotStartedError,
  type RetryingNotice,
  SenderClosedError,
  type WebhookError,
  WebhookSender,
} from '../src/index.js';
import { cleanupAfterEach } from './helpers/cleanups.js';
import { ManualClock } from './helpers/clock.js';
import { harness } from './helpers/harness.js';
import { tempDir } from './helpers/tmp.js';

// The dispatcher: when it delivers, how many requests it runs at once, what it
// announces, how it stops, and that it never sends what was not committed.

const cleanups = cleanupAfterEach();

const { sender, receiver } = harness(cleanups);

function temp() {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t;
}

/** Only for asserting that nothing happens: gives the dispatcher many turns. */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Rejects if `promise` takes longer than `ms` (a generous bound, not a timing assertion). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** A receiver that answers each request only when the test releases it. */
async function holdingReceiver() {
  const held: http.ServerResponse[] = [];
  let current = 0;
  let max = 0;
  const r = await receiver((_req, res) => {
    current++;
    max = Math.max(max, current);
    res.on('close', () => current--);
    held.push(res);
  });
  return {
    r,
    held,
    get max() {
      return max;
    },
    releaseAll(status = 200) {
      for (const res of held.splice(0)) res.writeHead(status).end();
    },
  };
}

/** Opens the same database file without delivering, to look at what another sender left. */
function inspect(file: string): WebhookSender {
  const s = new WebhookSender({ database: file, autoStart: false, allowPrivateNetworks: true });
  cleanups.push(() => s.close());
  return s;
}

describe('starting', () => {
  it('delivers by default, and an emit wakes the dispatcher without waiting for the poll', async () => {
    const r = await receiver();
    const s = sender({ pollInterval: 60_000 });
    s.endpoints.add({ url: r.url });
    s.emit('order.created', { n: 1 });
    // No drain(): it would itself wake the dispatcher. The poll is a minute away.
    await within(r.waitFor(1), 5000, 'the first delivery');
    await s.drain();
    // Idle now; the next emit wakes it again.
    s.emit('order.created', { n: 2 });
    await within(r.waitFor(2), 5000, 'a delivery to an idle endpoint');
    await s.drain();
    expect(s.deliveries.list().items.map((d) => d.status)).toEqual(['succeeded', 'succeeded']);
  });

  it('emitMany wakes it too', async () => {
    const r = await receiver();
    const s = sender({ pollInterval: 60_000 });
    s.endpoints.add({ url: r.url });
    s.emitMany([
      { type: 'a.b', payload: 1 },
      { type: 'a.c', payload: 2 },
    ]);
    await within(r.waitFor(2), 5000, 'emitMany deliveries');
  });

  it('autoStart: false delivers nothing until start()', async () => {
    const r = await receiver();
    const s = sender({ autoStart: false, pollInterval: 10 });
    s.endpoints.add({ url: r.url });
    s.emit('order.created', { n: 1 });
    await sleep(200);
    expect(r.requests).toHaveLength(0);
    expect(s.stats()).toMatchObject({ pending: 1, sending: 0, inFlight: 0 });
    await expect(s.drain()).rejects.toMatchObject({ code: 'ERR_NOT_STARTED' });
    s.start();
    s.start(); // twice is harmless
    await s.drain();
    expect(r.requests).toHaveLength(1);
    expect(s.stats()).toMatchObject({ pending: 0, succeeded: 1 });
  });

  it('drain() on a sender never started rejects with ERR_NOT_STARTED', async () => {
    const s = sender({ autoStart: false });
    const error = await s.drain().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotStartedError);
    expect(error).toMatchObject({ code: 'ERR_NOT_STARTED', name: 'NotStartedError' });
  });

  it('drain() with nothing to do resolves at once', async () => {
    const s = sender();
    await within(s.drain(), 2000, 'an empty drain');
  });
});

describe('concurrency', () => {
  it('bounds the requests in flight across all endpoints', async () => {
    const h = await holdingReceiver();
    const s = sender({ concurrency: 3 });
    for (let i = 0; i < 4; i++) s.endpoints.add({ url: `${h.r.url}?ep=${i}` });
    for (let i = 0; i < 3; i++) s.emit('order.created', { i });
    expect(s.stats().pending).toBe(12);

    let answered = 0;
    while (answered < 12) {
      // Wait until the dispatcher has filled every slot it may (or what is left).
      await within(h.r.waitFor(answered + Math.min(3, 12 - answered)), 5000, 'the next requests');
      await sleep(50);
      expect(h.held.length).toBeLessThanOrEqual(3);
      expect(s.stats().inFlight).toBeLessThanOrEqual(3);
      answered += h.held.length;
      h.releaseAll();
    }
    await s.drain();
    expect(h.max).toBe(3);
    expect(h.r.requests).toHaveLength(12);
    expect(s.stats()).toMatchObject({ succeeded: 12, pending: 0, sending: 0, inFlight: 0 });
  });

  it('concurrency: 1 sends one at a time', async () => {
    let current = 0;
    let max = 0;
    const r = await receiver((_req, res) => {
      max = Math.max(max, ++current);
      setTimeout(() => {
        current--;
        res.writeHead(200).end();
      }, 10);
    });
    const s = sender({ concurrency: 1 });
    s.endpoints.add({ url: r.url });
    s.endpoints.add({ url: `${r.url}?2` });
    for (let i = 0; i < 5; i++) s.emit('x.y', { i });
    await s.drain();
    expect(r.requests).toHaveLength(10);
    expect(max).toBe(1);
  });
});

describe('events', () => {
  it("'attempt', 'retrying', 'delivered' and 'failed' carry the documented fields", async () => {
    const okLater = await receiver(
      (() => {
        let n = 0;
        return (_req, res) => res.writeHead(++n === 1 ? 500 : 200).end();
      })(),
    );
    const alwaysDown = await receiver((_req, res) => res.writeHead(502).end());
    const s = sender({ retry: (ctx) => (ctx.attempt < 2 ? 0 : null) });
    const a = s.endpoints.add({ url: okLater.url, tenant: 't1' });
    const b = s.endpoints.add({ url: alwaysDown.url, tenant: 't1' });
    const attempts: AttemptNotice[] = [];
    const delivered: DeliveredNotice[] = [];
    const retrying: RetryingNotice[] = [];
    const failed: FailedNotice[] = [];
    s.on('attempt', (n) => attempts.push(n));
    s.on('delivered', (n) => delivered.push(n));
    s.on('retrying', (n) => retrying.push(n));
    s.on('failed', (n) => failed.push(n));
    const ev = s.emit('order.created', { id: 1 }, { tenant: 't1' });
    await okLater.waitFor(2);
    await alwaysDown.waitFor(2);
    await s.drain();

    const dA = s.deliveries.list({ endpointId: a.id }).items[0]!;
    const dB = s.deliveries.list({ endpointId: b.id }).items[0]!;
    const base = (d: typeof dA) => ({
      deliveryId: d.id,
      eventId: ev.id,
      eventType: 'order.created',
      endpointId: d.endpointId,
      tenant: 't1',
    });
    expect(attempts).toHaveLength(4);
    const attemptsOf = (id: string) => attempts.filter((n) => n.deliveryId === id);
    expect(attemptsOf(dA.id)).toEqual([
      {
        ...base(dA),
        attempt: 1,
        statusCode: 500,
        errorCode: null,
        errorMessage: null,
        durationMs: expect.any(Number),
      },
      {
        ...base(dA),
        attempt: 2,
        statusCode: 200,
        errorCode: null,
        errorMessage: null,
        durationMs: expect.any(Number),
      },
    ]);
    expect(attemptsOf(dB.id).map((n) => n.statusCode)).toEqual([502, 502]);
    expect(delivered).toEqual([{ ...base(dA), attempts: 2, statusCode: 200 }]);
    expect(retrying).toHaveLength(2);
    for (const n of retrying) {
      expect(n).toEqual({
        ...base(n.deliveryId === dA.id ? dA : dB),
        attempts: 1,
        statusCode: n.deliveryId === dA.id ? 500 : 502,
        errorCode: null,
        nextAttemptAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      });
    }
    expect(failed).toEqual([
      { ...base(dB), attempts: 2, statusCode: 502, errorCode: null, errorMessage: 'HTTP 502' },
    ]);
  });

  it("'failed' after a network error carries its code and message", async () => {
    const s = sender({ retry: [] });
    s.endpoints.add({ url: 'http://127.0.0.1:1/hook' });
    const failed: FailedNotice[] = [];
    s.on('failed', (n) => failed.push(n));
    s.emit('x.y', {});
    await s.drain();
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ attempts: 1, statusCode: null, errorCode: 'ECONNREFUSED' });
    expect(failed[0]!.errorMessage).toContain('ECONNREFUSED');
  });

  it('a listener that throws does not stop the dispatcher: an ERR_LISTENER error is emitted', async () => {
    const r = await receiver();
    const s = sender();
    s.endpoints.add({ url: r.url });
    const errors: WebhookError[] = [];
    s.on('attempt', () => {
      throw new Error('listener bug');
    });
    s.on('delivered', () => {
      throw 'not even an Error';
    });
    s.on('error', (e) => errors.push(e));
    for (let i = 0; i < 3; i++) s.emit('x.y', { i });
    await s.drain();
    s.emit('x.y', { i: 3 });
    await s.drain();
    expect(r.requests).toHaveLength(4);
    expect(s.stats().succeeded).toBe(4);
    expect(errors).toHaveLength(8);
    expect(errors.every((e) => e.code === 'ERR_LISTENER')).toBe(true);
    expect(errors.filter((e) => e.message.includes("'attempt'"))).toHaveLength(4);
    expect(errors.find((e) => e.message.includes("'attempt'"))!.cause).toBeInstanceOf(Error);
    expect(errors.filter((e) => e.message.includes("'delivered'"))).toHaveLength(4);
  });

  it('once() and off() work', async () => {
    const r = await receiver();
    const s = sender();
    s.endpoints.add({ url: r.url });
    let once = 0;
    let on = 0;
    const listener = () => on++;
    s.once('delivered', () => once++);
    s.on('delivered', listener);
    s.emit('x.y', {});
    await s.drain();
    s.off('delivered', listener);
    s.emit('x.y', {});
    await s.drain();
    expect([once, on]).toEqual([1, 1]);
  });
});

describe('deliveries.retry and events.replay', () => {
  it('retry(id) sends a failed delivery again, with the same webhook-id', async () => {
    let n = 0;
    const r = await receiver((_req, res) => res.writeHead(++n === 1 ? 500 : 200).end());
    const s = sender({ retry: [] });
    s.endpoints.add({ url: r.url });
    const ev = s.emit('order.created', { id: 1 });
    await s.drain();
    const [failed] = s.deliveries.list({ status: 'failed' }).items;
    expect(failed).toBeDefined();

    const scheduled = s.deliveries.retry(failed!.id);
    expect(scheduled).toMatchObject({ id: failed!.id, status: 'pending' });
    await s.drain();
    const d = s.deliveries.get(failed!.id);
    expect(d).toMatchObject({ status: 'succeeded', attemptCount: 2, lastError: null });
    expect(d.attempts.map((a) => a.statusCode)).toEqual([500, 200]);
    expect(r.requests.map((q) => q.headers['webhook-id'])).toEqual([ev.id, ev.id]);

    expect(() => s.deliveries.retry(d.id)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_STATE' }));
    expect(() => s.deliveries.retry('dlv_999')).toThrow(expect.objectContaining({ code: 'ERR_NOT_FOUND' }));
  });

  it('retry(id) of a pending delivery makes it due now', async () => {
    const clock = new ManualClock();
    const r = await receiver((_req, res) => res.writeHead(500).end());
    const s = sender({ clock, retry: [60 * 60 * 1000], pollInterval: 60_000 });
    s.endpoints.add({ url: r.url });
    s.emit('order.created', {});
    await s.drain();
    const [d] = s.deliveries.list().items;
    expect(d!.status).toBe('pending');
    s.deliveries.retry(d!.id);
    await s.drain();
    expect(r.requests).toHaveLength(2);
  });

  it('events.replay(id) makes a new delivery with the same webhook-id', async () => {
    const r = await receiver();
    const s = sender();
    const ep = s.endpoints.add({ url: r.url });
    const ev = s.emit('order.created', { id: 1 });
    await s.drain();
    expect(s.events.replay(ev.id)).toBe(1);
    await s.drain();
    expect(r.requests).toHaveLength(2);
    expect(r.requests.map((q) => q.headers['webhook-id'])).toEqual([ev.id, ev.id]);
    expect(r.requests[0]!.body).toBe(r.requests[1]!.body);
    const deliveries = s.deliveries.list({ eventId: ev.id }).items;
    expect(deliveries).toHaveLength(2);
    expect(new Set(deliveries.map((d) => d.id)).size).toBe(2);
    expect(deliveries.every((d) => d.status === 'succeeded' && d.endpointId === ep.id)).toBe(true);
  });
});

describe('close', () => {
  it('lets an attempt in flight finish: its delivery is succeeded after close', async () => {
    const t = temp();
    const r = await receiver((_req, res) => setTimeout(() => res.writeHead(200).end(), 200));
    const s = new WebhookSender({ database: t.file(), allowPrivateNetworks: true });
    s.endpoints.add({ url: r.url });
    s.emit('order.created', {});
    await r.waitFor(1);
    await s.close({ timeout: 5000 });
    const [d] = inspect(t.file()).deliveries.list().items;
    expect(d).toMatchObject({ status: 'succeeded', attemptCount: 1 });
  });

  it('stops claiming: what was not in flight stays pending', async () => {
    const t = temp();
    const r = await receiver((_req, res) => setTimeout(() => res.writeHead(200).end(), 200));
    const s = new WebhookSender({ database: t.file(), allowPrivateNetworks: true, concurrency: 1 });
    s.endpoints.add({ url: r.url });
    s.emit('a.b', { n: 1 });
    s.emit('a.b', { n: 2 });
    await r.waitFor(1);
    await s.close();
    await sleep(100);
    expect(r.requests).toHaveLength(1);
    const statuses = inspect(t.file())
      .deliveries.list()
      .items.map((d) => [d.status, d.attemptCount]);
    expect(statuses.sort()).toEqual([
      ['pending', 0],
      ['succeeded', 1],
    ]);
  });

  it('aborts past its timeout and hands the row back: pending, not failed, and another sender delivers it', async () => {
    const t = temp();
    let n = 0;
    const r = await receiver((_req, res) => {
      if (++n > 1) res.writeHead(200).end();
    });
    const s = new WebhookSender({ database: t.file(), allowPrivateNetworks: true, timeout: 30_000 });
    s.endpoints.add({ url: r.url });
    const ev = s.emit('order.created', {});
    await r.waitFor(1);
    const started = performance.now();
    await s.close({ timeout: 100 });
    expect(performance.now() - started).toBeLessThan(3000);

    const next = inspect(t.file());
    const [d] = next.deliveries.list().items;
    expect(d).toMatchObject({ status: 'pending', attemptCount: 0 });
    expect(next.deliveries.get(d!.id).attempts).toEqual([]);
    next.start();
    await next.drain();
    expect(next.deliveries.get(d!.id)).toMatchObject({ status: 'succeeded', attemptCount: 1 });
    expect(r.requests.map((q) => q.headers['webhook-id'])).toEqual([ev.id, ev.id]);
  });

  it('its timeout is wall-clock time, even with an injected clock', async () => {
    const r = await receiver(() => {});
    const s = new WebhookSender({
      database: ':memory:',
      allowPrivateNetworks: true,
      clock: new ManualClock(),
      timeout: 20_000,
    });
    s.endpoints.add({ url: r.url });
    s.emit('order.created', {});
    await r.waitFor(1);
    const started = performance.now();
    await within(s.close({ timeout: 100 }), 5000, 'close({ timeout: 100 })');
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it('twice is fine; emit and friends after close throw ERR_SENDER_CLOSED', async () => {
    const s = new WebhookSender({ database: ':memory:', allowPrivateNetworks: true });
    s.endpoints.add({ url: 'http://127.0.0.1:9/hook' });
    const first = s.close();
    const second = s.close();
    await Promise.all([first, second]);
    await s.close();
    expect(() => s.emit('a.b', {})).toThrow(SenderClosedError);
    expect(() => s.emit('a.b', {})).toThrow(expect.objectContaining({ code: 'ERR_SENDER_CLOSED' }));
    expect(() => s.emitMany([{ type: 'a.b', payload: 1 }])).toThrow(SenderClosedError);
    expect(() => s.start()).toThrow(SenderClosedError);
    // As the README says of every method but close: drain() too.
    await expect(s.drain()).rejects.toBeInstanceOf(SenderClosedError);
    await expect(s.drain()).rejects.toMatchObject({ code: 'ERR_SENDER_CLOSED' });
  });

  it('names a bad timeout and echoes it, and names an unknown option', async () => {
    const s = new WebhookSender({ database: ':memory:', autoStart: false });
    const bad = await s.close({ timeout: 'soon' } as never).catch((e: unknown) => e);
    expect(bad).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', argument: 'timeout' });
    expect((bad as Error).message).toBe(
      'Expected `timeout` to be a whole number of ms >= 0, got `"soon"` (string)',
    );
    const unknown = await s.close({ timout: 5 } as never).catch((e: unknown) => e);
    expect(unknown).toMatchObject({ code: 'ERR_UNKNOWN_OPTION', argument: 'timout' });
    // Refused before anything was done: the sender is still open.
    expect(s.emit('a.b', {}).id).toMatch(/^evt_/);
    await s.close();
  });

  it('of a sender never started is fine', async () => {
    const s = new WebhookSender({ database: ':memory:', autoStart: false });
    await s.close();
    expect(() => s.emit('a.b', {})).toThrow(SenderClosedError);
  });

  it('resolves a pending drain()', async () => {
    const h = await holdingReceiver();
    const s = new WebhookSender({ database: ':memory:', allowPrivateNetworks: true, timeout: 30_000 });
    s.endpoints.add({ url: h.r.url });
    s.emit('a.b', {});
    await h.r.waitFor(1);
    const drained = s.drain();
    await s.close({ timeout: 0 });
    await within(drained, 2000, 'drain() after close');
  });
});

describe('nothing uncommitted is sent', () => {
  function appDatabase() {
    const t = temp();
    const db = new Database(t.file('app.db'));
    db.pragma('journal_mode = WAL');
    cleanups.push(() => db.close());
    return db;
  }

  it('an emit inside a transaction that rolls back is never delivered', async () => {
    const db = appDatabase();
    const r = await receiver();
    const s = sender({ database: db });
    s.endpoints.add({ url: r.url });
    db.exec('CREATE TABLE orders (id INTEGER PRIMARY KEY)');

    db.exec('BEGIN');
    db.prepare('INSERT INTO orders (id) VALUES (1)').run();
    const ev = s.emit('order.created', { id: 1 });
    expect(ev.deliveries).toBe(1);
    await sleep(200);
    expect(r.requests).toHaveLength(0);
    db.exec('ROLLBACK');

    await s.drain();
    await sleep(50);
    await s.drain();
    expect(r.requests).toHaveLength(0);
    expect(s.deliveries.list().items).toHaveLength(0);
    expect(() => s.events.get(ev.id)).toThrow(expect.objectContaining({ code: 'ERR_NOT_FOUND' }));
  });

  it('the same emit committed is delivered', async () => {
    const db = appDatabase();
    const r = await receiver();
    const s = sender({ database: db });
    s.endpoints.add({ url: r.url });

    db.exec('BEGIN');
    const ev = s.emit('order.created', { id: 1 });
    await sleep(200);
    expect(r.requests).toHaveLength(0);
    db.exec('COMMIT');
    await s.drain();
    expect(r.requests).toHaveLength(1);
    expect(r.requests[0]!.headers['webhook-id']).toBe(ev.id);
  });

  it('inside db.transaction(): delivered only once it commits', async () => {
    const db = appDatabase();
    const r = await receiver();
    const s = sender({ database: db });
    s.endpoints.add({ url: r.url });
    const fails = db.transaction(() => {
      s.emit('order.created', { id: 1 });
      throw new Error('business rule');
    });
    expect(fails).toThrow('business rule');
    const ok = db.transaction(() => s.emit('order.created', { id: 2 }));
    const ev = ok();
    await s.drain();
    expect(r.requests.map((q) => q.headers['webhook-id'])).toEqual([ev.id]);
  });

  it('a transaction the application opens from a microtask during a dispatcher turn is left alone', async () => {
    const db = appDatabase();
    const r = await receiver();
    const s = sender({ database: db });
    s.endpoints.add({ url: r.url });
    let opened = false;
    // The first 'delivered' is announced in the middle of a dispatcher turn. The
    // application reacts with an async function: its transaction opens in a
    // microtask, before the turn goes on to claim.
    s.once('delivered', async () => {
      await null;
      db.exec('BEGIN');
      opened = true;
      s.emit('order.cancelled', { id: 1 });
      await sleep(200);
      db.exec('ROLLBACK');
    });
    const first = s.emit('order.created', { id: 1 });
    await r.waitFor(1);
    while (!opened) await sleep(5);
    await sleep(300);
    await s.drain();
    expect(r.requests.map((q) => q.headers['webhook-id'])).toEqual([first.id]);
    expect(s.deliveries.list().items.map((d) => d.status)).toEqual(['succeeded']);
  });
});

describe('long delays', () => {
  it('a retry days away arms no timer Node cannot hold (no 1 ms spin, no TimeoutOverflowWarning)', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    cleanups.push(() => process.off('warning', onWarning));
    const r = await receiver((_req, res) => res.writeHead(500).end());
    const s = sender({ retry: () => 40 * 24 * 60 * 60 * 1000 });
    s.endpoints.add({ url: r.url });
    s.emit('a.b', {});
    await s.drain();
    await sleep(200);
    expect(r.requests).toHaveLength(1);
    expect(warnings.filter((w) => w.name === 'TimeoutOverflowWarning')).toEqual([]);
    const [d] = s.deliveries.list().items;
    expect(Date.parse(d!.nextAttemptAt!) - Date.now()).toBeGreaterThan(39 * 24 * 60 * 60 * 1000);
  });
});
