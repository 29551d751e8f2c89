import { describe, expect, it } from 'vitest';
import type { RetryContext } from '../src/index.js';
import { harness, payloadOf } from './helpers/harness.js';

// Getting back what an endpoint missed: endpoints.recover after a disable, and
// deliveries.retryMany for failed deliveries in bulk, each with a fresh retry schedule.

const h = harness();
const HOUR = 60 * 60 * 1000;

/** A receiver answering `status.now`, recording the `n` of every payload in arrival order. */
async function switchable(initial: number) {
  const status = { now: initial };
  const arrived: number[] = [];
  const receiver = await h.receiver((request, res) => {
    arrived.push(payloadOf<{ n: number }>(request).n);
    res.writeHead(status.now).end();
  });
  return { receiver, status, arrived };
}

describe('endpoints.recover', () => {
  it('after a 410 and enable(), re-sends what failed and what was missed since a moment, oldest first', async () => {
    const r = await switchable(500);
    const { sender: s, clock } = h.clocked({ retry: [] });
    // One at a time, in emit order: the receipt order shows the order of the re-sends.
    const ep = s.endpoints.add({ url: r.receiver.url, ordering: 'fifo' });
    s.emit('order.created', { n: 0 });
    await s.drain();
    expect(s.deliveries.list().items[0]).toMatchObject({ status: 'failed', attemptCount: 1 });

    clock.advance(HOUR);
    const since = new Date(clock.now());
    r.status.now = 410;
    for (let n = 1; n <= 5; n++) s.emit('order.created', { n });
    await s.drain();
    // 1 got the 410 and disabled the endpoint; 2..5 were never tried.
    expect(r.arrived).toEqual([0, 1]);
    expect(s.endpoints.get(ep.id)).toMatchObject({
      enabled: false,
      disabledReason: 'the endpoint answered 410 Gone',
    });
    const failed = s.deliveries.list({ status: 'failed', since }).items.reverse();
    expect(failed.map((d) => d.attemptCount)).toEqual([1, 0, 0, 0, 0]);
    expect(failed.slice(1).map((d) => d.lastError)).toEqual(
      Array(4).fill('endpoint disabled: the endpoint answered 410 Gone'),
    );
    // While disabled it gets no new deliveries.
    expect(s.emit('order.created', { n: 6 }).deliveries).toBe(0);

    s.endpoints.enable(ep.id);
    r.status.now = 200;
    expect(await s.endpoints.recover(ep.id, { since })).toBe(5);
    await s.drain();
    // The event from before `since` is not sent again, and event 6 had no delivery to recover.
    expect(r.arrived).toEqual([0, 1, 1, 2, 3, 4, 5]);
    expect(s.stats()).toMatchObject({ succeeded: 5, failed: 1, pending: 0 });
    // The attempt log keeps counting.
    expect(s.deliveries.get(failed[0]!.id).attempts.map((a) => a.number)).toEqual([1, 2]);
  });

  it('until bounds the window; recover on an enabled endpoint works too, and returns 0 when nothing matches', async () => {
    const r = await switchable(500);
    const { sender: s, clock } = h.clocked({ retry: [], circuitBreaker: false });
    const ep = s.endpoints.add({ url: r.receiver.url, concurrency: 1 });
    const t0 = clock.now();
    for (let n = 1; n <= 6; n++) {
      s.emit('order.created', { n });
      clock.advance(1000);
    }
    await s.drain();
    expect(s.stats().failed).toBe(6);
    r.status.now = 200;
    r.arrived.length = 0;
    // [t0 + 1 s, t0 + 4 s): events 2, 3 and 4, oldest first.
    expect(
      await s.endpoints.recover(ep.id, { since: t0 + 1000, until: new Date(t0 + 4000).toISOString() }),
    ).toBe(3);
    await s.drain();
    expect(r.arrived).toEqual([2, 3, 4]);
    expect(await s.endpoints.recover(ep.id, { since: t0 + 1000, until: t0 + 4000 })).toBe(0);
    expect(await s.endpoints.recover(ep.id, { since: clock.now() })).toBe(0);
  });

  it('only touches the endpoint named', async () => {
    const a = await switchable(500);
    const b = await switchable(500);
    const { sender: s } = h.clocked({ retry: [] });
    const epA = s.endpoints.add({ url: a.receiver.url });
    s.endpoints.add({ url: b.receiver.url });
    s.emit('order.created', { n: 1 });
    await s.drain();
    a.status.now = 200;
    b.status.now = 200;
    expect(await s.endpoints.recover(epA.id, { since: 0 })).toBe(1);
    await s.drain();
    expect(a.arrived).toEqual([1, 1]);
    expect(b.arrived).toEqual([1]);
  });

  it('validates its arguments', async () => {
    const s = h.sender({ autoStart: false });
    const ep = s.endpoints.add({ url: 'http://127.0.0.1:9/h' });
    await expect(s.endpoints.recover(ep.id, {} as never)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
    await expect(s.endpoints.recover(ep.id, { since: 'yesterday' })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
    await expect(s.endpoints.recover(ep.id, { since: 0, from: 1 } as never)).rejects.toMatchObject({
      code: 'ERR_UNKNOWN_OPTION',
    });
    await expect(s.endpoints.recover('ep_nope', { since: 0 })).rejects.toMatchObject({
      code: 'ERR_NOT_FOUND',
    });
  });
});

describe('deliveries.retryMany', () => {
  it('schedules every failed delivery matching the filter, returns how many, and they are delivered', async () => {
    const r = await switchable(500);
    const { sender: s, clock } = h.clocked({ retry: [], circuitBreaker: false });
    const a = s.endpoints.add({ url: r.receiver.url });
    const b = s.endpoints.add({ url: `${r.receiver.url}?b` });
    const t0 = clock.now();
    s.emit('order.created', { n: 1 });
    s.emit('order.paid', { n: 2 });
    clock.advance(1000);
    s.emit('order.created', { n: 3 });
    await s.drain();
    expect(s.stats()).toMatchObject({ failed: 6, pending: 0 });
    r.status.now = 200;

    expect(
      await s.deliveries.retryMany({ status: 'failed', endpointId: a.id, eventType: 'order.created' }),
    ).toBe(2);
    await s.drain();
    expect(s.deliveries.list({ status: 'succeeded' }).items.map((d) => [d.endpointId, d.eventType])).toEqual([
      [a.id, 'order.created'],
      [a.id, 'order.created'],
    ]);
    expect(await s.deliveries.retryMany({ status: 'failed', since: t0 + 1000 })).toBe(1);
    await s.drain();
    expect(s.deliveries.list({ status: 'succeeded', endpointId: b.id }).items).toMatchObject([
      { eventType: 'order.created' },
    ]);
    expect(await s.deliveries.retryMany({ status: 'failed' })).toBe(3);
    await s.drain();
    expect(s.stats()).toMatchObject({ succeeded: 6, failed: 0, pending: 0 });
    expect(await s.deliveries.retryMany({ status: 'failed' })).toBe(0);
  });

  it('starts a fresh retry schedule: the retry function sees attempt 1 again', async () => {
    const r = await switchable(500);
    const contexts: Pick<RetryContext, 'attempt' | 'deliveryId'>[] = [];
    const { sender: s, clock } = h.clocked({
      retry: (ctx) => {
        contexts.push({ attempt: ctx.attempt, deliveryId: ctx.deliveryId });
        return ctx.attempt < 2 ? 1000 : null;
      },
    });
    s.endpoints.add({ url: r.receiver.url });
    s.emit('order.created', { n: 1 });
    await s.drain();
    clock.advance(1000);
    await s.drain();
    const [d] = s.deliveries.list().items;
    expect(d).toMatchObject({ status: 'failed', attemptCount: 2 });

    expect(await s.deliveries.retryMany({ status: 'failed' })).toBe(1);
    await s.drain();
    clock.advance(1000);
    await s.drain();
    expect(contexts.map((c) => c.attempt)).toEqual([1, 2, 1, 2]);
    const again = s.deliveries.get(d!.id);
    expect(again).toMatchObject({ status: 'failed', attemptCount: 4 });
    expect(again.attempts.map((a) => a.number)).toEqual([1, 2, 3, 4]);
    expect(r.arrived).toEqual([1, 1, 1, 1]);
  });

  it('a retry by hand starts a fresh schedule too', async () => {
    const r = await switchable(500);
    const attempts: number[] = [];
    const { sender: s, clock } = h.clocked({
      retry: (ctx) => {
        attempts.push(ctx.attempt);
        return ctx.attempt < 2 ? 1000 : null;
      },
    });
    s.endpoints.add({ url: r.receiver.url });
    s.emit('order.created', { n: 1 });
    await s.drain();
    clock.advance(1000);
    await s.drain();
    s.deliveries.retry(s.deliveries.list().items[0]!.id);
    await s.drain();
    expect(attempts).toEqual([1, 2, 1]);
  });

  it('retries more than a batch (1000), oldest first', async () => {
    const r = await switchable(500);
    const { sender: s } = h.clocked({
      retry: [],
      circuitBreaker: false,
      concurrency: 64,
      endpointConcurrency: 64,
    });
    const ep = s.endpoints.add({ url: r.receiver.url });
    s.emitMany(Array.from({ length: 1100 }, (_, i) => ({ type: 'order.created', payload: { n: i } })));
    await s.drain();
    expect(s.stats().failed).toBe(1100);
    r.status.now = 200;
    s.endpoints.update(ep.id, { ordering: 'fifo' });
    r.arrived.length = 0;
    expect(await s.deliveries.retryMany({ status: 'failed' })).toBe(1100);
    await s.drain();
    expect(r.arrived).toEqual(Array.from({ length: 1100 }, (_, i) => i));
  });

  it('refuses any status but failed, and unknown filters', async () => {
    const s = h.sender({ autoStart: false });
    await expect(s.deliveries.retryMany({ status: 'pending' } as never)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
    await expect(s.deliveries.retryMany({} as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(s.deliveries.retryMany({ status: 'failed', tenant: 'x' } as never)).rejects.toMatchObject({
      code: 'ERR_UNKNOWN_OPTION',
    });
  });
});
