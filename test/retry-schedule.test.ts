import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RETRY_SCHEDULE,
  type FailedNotice,
  type RetryContext,
  type RetryingNotice,
  type SenderOptions,
  type WebhookError,
  WebhookSender,
} from '../src/index.js';
import { cleanupAfterEach } from './helpers/cleanups.js';
import { ManualClock } from './helpers/clock.js';
import { type Receiver, type Responder, startReceiver } from './helpers/receiver.js';

// The retry schedule, driven through an injected ManualClock: time moves only
// when a test says so, so every assertion about "when" is exact and no test sleeps.

const cleanups = cleanupAfterEach();

const fail500: Responder = (_req, res) => res.writeHead(500).end('down');

interface Setup {
  clock: ManualClock;
  receiver: Receiver;
  sender: WebhookSender;
  retrying: RetryingNotice[];
  failed: FailedNotice[];
  errors: WebhookError[];
  /** Moves the clock and waits until the dispatcher has done everything now due. */
  advance(ms: number): Promise<void>;
  /** The single delivery, with its attempts. */
  delivery(): ReturnType<WebhookSender['deliveries']['get']>;
}

async function setup(options: SenderOptions, responder: Responder = fail500): Promise<Setup> {
  const clock = new ManualClock();
  const receiver = await startReceiver(responder);
  cleanups.push(() => receiver.close());
  // A poll that never comes: the due timers alone must bring every retry.
  const sender = new WebhookSender({
    database: ':memory:',
    allowPrivateNetworks: true,
    clock,
    pollInterval: 24 * 60 * 60 * 1000,
    ...options,
  });
  cleanups.push(() => sender.close({ timeout: 0 }));
  const retrying: RetryingNotice[] = [];
  const failed: FailedNotice[] = [];
  const errors: WebhookError[] = [];
  sender.on('retrying', (n) => retrying.push(n));
  sender.on('failed', (n) => failed.push(n));
  sender.on('error', (e) => errors.push(e));
  sender.endpoints.add({ url: receiver.url });
  return {
    clock,
    receiver,
    sender,
    retrying,
    failed,
    errors,
    async advance(ms) {
      clock.advance(ms);
      await sender.drain();
    },
    delivery() {
      const [item] = sender.deliveries.list().items;
      return sender.deliveries.get(item!.id);
    },
  };
}

/** Emits one event and waits for its first attempt. */
async function emitOne(t: Setup): Promise<void> {
  t.sender.emit('order.created', { id: 1 });
  await t.sender.drain();
  expect(t.receiver.requests).toHaveLength(1);
}

describe('a retry function', () => {
  it('is followed to the millisecond: 1000 then 5000, then give up', async () => {
    const t = await setup({ retry: (ctx) => [1000, 5000][ctx.attempt - 1] ?? null });
    const t0 = t.clock.now();
    await emitOne(t);
    expect(t.delivery()).toMatchObject({ status: 'pending', attemptCount: 1 });
    expect(t.delivery().nextAttemptAt).toBe(new Date(t0 + 1000).toISOString());

    await t.advance(999);
    expect(t.receiver.requests).toHaveLength(1);
    await t.advance(1);
    expect(t.receiver.requests).toHaveLength(2);

    await t.advance(4999);
    expect(t.receiver.requests).toHaveLength(2);
    await t.advance(1);
    expect(t.receiver.requests).toHaveLength(3);

    const d = t.delivery();
    expect(d).toMatchObject({ status: 'failed', attemptCount: 3, nextAttemptAt: null, lastStatusCode: 500 });
    expect(d.attempts.map((a) => Date.parse(a.startedAt) - t0)).toEqual([0, 1000, 6000]);
    expect(t.retrying.map((n) => [n.attempts, n.nextAttemptAt])).toEqual([
      [1, new Date(t0 + 1000).toISOString()],
      [2, new Date(t0 + 6000).toISOString()],
    ]);
    expect(t.failed).toHaveLength(1);
    expect(t.failed[0]).toMatchObject({ attempts: 3, statusCode: 500, errorCode: null });

    await t.advance(24 * 60 * 60 * 1000);
    expect(t.receiver.requests).toHaveLength(3);
  });

  it('0 retries at once, without the clock moving', async () => {
    let n = 0;
    const t = await setup({ retry: () => 0 }, (_req, res) => res.writeHead(++n < 3 ? 500 : 200).end());
    t.sender.emit('order.created', {});
    await t.receiver.waitFor(3);
    await t.sender.drain();
    expect(t.delivery()).toMatchObject({ status: 'succeeded', attemptCount: 3 });
  });

  it('is told about the attempt that failed', async () => {
    let n = 0;
    const contexts: RetryContext[] = [];
    const t = await setup(
      {
        retry: (ctx) => {
          contexts.push(structuredClone(ctx));
          return 1000;
        },
      },
      (_req, res) => {
        n++;
        if (n === 1) res.writeHead(503, { 'X-Reason': 'Maintenance' }).end();
        else if (n === 2) res.socket?.resetAndDestroy();
        else res.writeHead(200).end();
      },
    );
    const ev = t.sender.emit('order.created', { id: 1 }, { tenant: undefined });
    await t.sender.drain();
    await t.advance(1000);
    await t.advance(1000);
    const d = t.delivery();
    expect(d.status).toBe('succeeded');
    expect(contexts).toHaveLength(2);
    const [first, second] = contexts;
    expect(first).toMatchObject({
      attempt: 1,
      statusCode: 503,
      errorCode: null,
      event: { id: ev.id, type: 'order.created', tenant: null },
      endpointId: d.endpointId,
      deliveryId: d.id,
    });
    expect(first!.responseHeaders['x-reason']).toBe('Maintenance');
    expect(second).toMatchObject({
      attempt: 2,
      statusCode: null,
      errorCode: 'ECONNRESET',
      responseHeaders: {},
    });
  });

  it('sees the tenant of the event', async () => {
    const clock = new ManualClock();
    const receiver = await startReceiver(fail500);
    cleanups.push(() => receiver.close());
    const seen: RetryContext['event'][] = [];
    const sender = new WebhookSender({
      database: ':memory:',
      allowPrivateNetworks: true,
      clock,
      retry: (ctx) => {
        seen.push({ ...ctx.event });
        return null;
      },
    });
    cleanups.push(() => sender.close());
    sender.endpoints.add({ url: receiver.url, tenant: 'acme' });
    const ev = sender.emit('invoice.paid', { n: 1 }, { tenant: 'acme' });
    await sender.drain();
    expect(seen).toEqual([{ id: ev.id, type: 'invoice.paid', tenant: 'acme' }]);
  });

  it('null gives up: failed, with a failed event', async () => {
    const t = await setup({ retry: () => null });
    await emitOne(t);
    expect(t.delivery()).toMatchObject({ status: 'failed', attemptCount: 1 });
    expect(t.retrying).toHaveLength(0);
    expect(t.failed).toHaveLength(1);
  });

  it.each([
    [
      'throws',
      () => {
        throw new Error('policy bug');
      },
      'ERR_DISPATCH',
    ],
    ['returns a negative delay', () => -1, 'ERR_INVALID_RETRY_DELAY'],
    ['returns NaN', () => Number.NaN, 'ERR_INVALID_RETRY_DELAY'],
    ['returns a string', () => '1000' as unknown as number, 'ERR_INVALID_RETRY_DELAY'],
  ])('that %s gives the delivery up and reports an error', async (_name, retry, code) => {
    const t = await setup({ retry });
    await emitOne(t);
    expect(t.delivery()).toMatchObject({ status: 'failed', attemptCount: 1 });
    expect(t.failed).toHaveLength(1);
    expect(t.errors).toHaveLength(1);
    expect(t.errors[0]!.code).toBe(code);
    await t.advance(60_000);
    expect(t.receiver.requests).toHaveLength(1);
  });
});

describe('a schedule array', () => {
  it('[1000, 5000]: three attempts, each within ±20% of its delay, then failed', async () => {
    const t = await setup({ retry: [1000, 5000] });
    const t0 = t.clock.now();
    await emitOne(t);

    // Jitter is ±20%: nothing before 800 ms, certainly something by 1200 ms.
    const due1 = Date.parse(t.delivery().nextAttemptAt!) - t0;
    expect(due1).toBeGreaterThanOrEqual(800);
    expect(due1).toBeLessThanOrEqual(1200);
    await t.advance(799);
    expect(t.receiver.requests).toHaveLength(1);
    await t.advance(401);
    expect(t.receiver.requests).toHaveLength(2);

    const at2 = t.clock.now();
    const due2 = Date.parse(t.delivery().nextAttemptAt!) - at2;
    expect(due2).toBeGreaterThanOrEqual(4000);
    expect(due2).toBeLessThanOrEqual(6000);
    await t.advance(3999);
    expect(t.receiver.requests).toHaveLength(2);
    await t.advance(2001);
    expect(t.receiver.requests).toHaveLength(3);

    expect(t.delivery()).toMatchObject({ status: 'failed', attemptCount: 3, nextAttemptAt: null });
    expect(t.failed).toHaveLength(1);
    expect(t.retrying).toHaveLength(2);
  });

  it('the attempt comes exactly when nextAttemptAt says', async () => {
    const t = await setup({ retry: [10_000] });
    await emitOne(t);
    const due = Date.parse(t.delivery().nextAttemptAt!);
    await t.advance(due - t.clock.now() - 1);
    expect(t.receiver.requests).toHaveLength(1);
    await t.advance(1);
    expect(t.receiver.requests).toHaveLength(2);
    expect(Date.parse(t.delivery().attempts[1]!.startedAt)).toBe(due);
  });

  it('[] is a single attempt, then failed', async () => {
    const t = await setup({ retry: [] });
    await emitOne(t);
    expect(t.delivery()).toMatchObject({ status: 'failed', attemptCount: 1, nextAttemptAt: null });
    expect(t.delivery().attempts).toHaveLength(1);
    expect(t.retrying).toHaveLength(0);
    expect(t.failed).toHaveLength(1);
    await t.advance(48 * 60 * 60 * 1000);
    expect(t.receiver.requests).toHaveLength(1);
  });

  it('the default schedule: 8 attempts over about 27 hours', async () => {
    const t = await setup({});
    const t0 = t.clock.now();
    await emitOne(t);
    for (const [i, delay] of DEFAULT_RETRY_SCHEDULE.entries()) {
      await t.advance(Math.floor(delay * 0.8) - 1);
      expect(t.receiver.requests).toHaveLength(i + 1);
      await t.advance(Math.ceil(delay * 0.4) + 1);
      expect(t.receiver.requests).toHaveLength(i + 2);
    }
    const d = t.delivery();
    expect(d).toMatchObject({ status: 'failed', attemptCount: 8 });
    const hours = (Date.parse(d.attempts[7]!.startedAt) - t0) / 3_600_000;
    expect(hours).toBeGreaterThan(20);
    expect(hours).toBeLessThan(34);
  });
});

describe('Retry-After', () => {
  it('on a 429, delta-seconds push the next attempt out', async () => {
    const t = await setup({ retry: () => 1000 }, (_req, res) =>
      res.writeHead(429, { 'retry-after': '120' }).end(),
    );
    await emitOne(t);
    await t.advance(119_999);
    expect(t.receiver.requests).toHaveLength(1);
    await t.advance(1);
    expect(t.receiver.requests).toHaveLength(2);
  });

  it('on a 503, an HTTP date is honoured', async () => {
    let clock: ManualClock | undefined;
    const t = await setup({ retry: [1000] }, (_req, res) =>
      res.writeHead(503, { 'retry-after': new Date(clock!.now() + 30_000).toUTCString() }).end(),
    );
    clock = t.clock;
    await emitOne(t);
    expect(Date.parse(t.delivery().nextAttemptAt!) - t.clock.now()).toBe(30_000);
    await t.advance(29_999);
    expect(t.receiver.requests).toHaveLength(1);
    await t.advance(1);
    expect(t.receiver.requests).toHaveLength(2);
  });

  it('never shortens the schedule', async () => {
    const t = await setup({ retry: () => 10_000 }, (_req, res) =>
      res.writeHead(503, { 'retry-after': '1' }).end(),
    );
    await emitOne(t);
    await t.advance(9_999);
    expect(t.receiver.requests).toHaveLength(1);
    await t.advance(1);
    expect(t.receiver.requests).toHaveLength(2);
  });

  it('is capped at 6 hours', async () => {
    const t = await setup({ retry: () => 1000 }, (_req, res) =>
      res.writeHead(429, { 'retry-after': String(7 * 24 * 3600) }).end(),
    );
    await emitOne(t);
    expect(Date.parse(t.delivery().nextAttemptAt!) - t.clock.now()).toBe(6 * 3_600_000);
  });

  it('is ignored on other statuses', async () => {
    const t = await setup({ retry: () => 1000 }, (_req, res) =>
      res.writeHead(500, { 'retry-after': '120' }).end(),
    );
    await emitOne(t);
    await t.advance(1000);
    expect(t.receiver.requests).toHaveLength(2);
  });

  it('does not revive a delivery the policy gave up on', async () => {
    const t = await setup({ retry: [] }, (_req, res) => res.writeHead(429, { 'retry-after': '5' }).end());
    await emitOne(t);
    expect(t.delivery().status).toBe('failed');
  });
});
