import { describe, expect, it } from 'vitest';
import { harness, payloadOf, sleep, within } from './helpers/harness.js';

// ordering: 'fifo': one delivery at a time per endpoint (per orderingKey when
// events carry one), in emit order; n+1 waits until n succeeded or failed for good.

const h = harness();

interface Sent {
  key?: string;
  n: number;
}

/** A receiver that records what arrived, how many were in flight at once, and answers `decide()`. */
async function recorder(decide: (p: Sent, seen: number) => number, delayMs = 5) {
  const arrived: Sent[] = [];
  const counts = new Map<string, number>();
  let current = 0;
  let max = 0;
  const receiver = await h.receiver((request, res) => {
    const p = payloadOf<Sent>(request);
    arrived.push(p);
    const id = `${p.key ?? ''}:${p.n}`;
    const seen = (counts.get(id) ?? 0) + 1;
    counts.set(id, seen);
    max = Math.max(max, ++current);
    // Answers a little later, so that a second request could overlap if it were sent.
    setTimeout(() => {
      current--;
      res.writeHead(decide(p, seen)).end();
    }, delayMs);
  });
  return {
    receiver,
    arrived,
    get max() {
      return max;
    },
    order: () => arrived.map((p) => (p.key === undefined ? p.n : `${p.key}${p.n}`)),
  };
}

describe("ordering: 'fifo'", () => {
  it('sends one at a time, in emit order', async () => {
    const r = await recorder(() => 200);
    const s = h.sender();
    s.endpoints.add({ url: r.receiver.url, ordering: 'fifo' });
    for (let n = 1; n <= 20; n++) s.emit('order.created', { n });
    await s.drain();
    expect(r.order()).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(r.max).toBe(1);
  });

  it('n+1 waits while n is retried: event 1 fails twice, then 2..5 arrive after it, in order', async () => {
    const r = await recorder((p, seen) => (p.n === 1 && seen <= 2 ? 500 : 200));
    const { sender: s, clock } = h.clocked({ retry: () => 1000 });
    s.endpoints.add({ url: r.receiver.url, ordering: 'fifo' });
    for (let n = 1; n <= 5; n++) s.emit('order.created', { n });
    await s.drain();
    await sleep(50);
    expect(r.order()).toEqual([1]);
    // The others are due, but behind the head.
    expect(s.stats()).toMatchObject({ pending: 5, sending: 0 });
    clock.advance(1000);
    await s.drain();
    expect(r.order()).toEqual([1, 1]);
    clock.advance(1000);
    await s.drain();
    expect(r.order()).toEqual([1, 1, 1, 2, 3, 4, 5]);
    expect(r.max).toBe(1);
    expect(s.stats()).toMatchObject({ succeeded: 5, pending: 0 });
  });

  it('a head that fails for good lets the next one go', async () => {
    const r = await recorder((p) => (p.n === 2 ? 500 : 200));
    const { sender: s, clock } = h.clocked({ retry: (ctx) => (ctx.attempt < 3 ? 1000 : null) });
    s.endpoints.add({ url: r.receiver.url, ordering: 'fifo' });
    for (let n = 1; n <= 4; n++) s.emit('order.created', { n });
    await s.drain();
    expect(r.order()).toEqual([1, 2]);
    clock.advance(1000);
    await s.drain();
    expect(r.order()).toEqual([1, 2, 2]);
    clock.advance(1000);
    await s.drain();
    expect(r.order()).toEqual([1, 2, 2, 2, 3, 4]);
    expect(s.stats()).toMatchObject({ succeeded: 3, failed: 1, pending: 0 });
  });

  it('orderingKey: keys are independent, order holds within each', async () => {
    const r = await recorder((p) => (p.key === 'A' ? 500 : 200));
    const { sender: s, clock } = h.clocked({ retry: () => 1000, circuitBreaker: false });
    s.endpoints.add({ url: r.receiver.url, ordering: 'fifo' });
    const emit = (key: string, n: number) => s.emit('order.created', { key, n }, { orderingKey: key });
    emit('A', 1);
    emit('B', 1);
    emit('A', 2);
    emit('B', 2);
    emit('C', 1);
    emit('B', 3);
    emit('A', 3);
    emit('C', 2);
    await s.drain();
    await sleep(50);
    // A's head is stuck; B and C go on, each in its own order.
    const byKey = (key: string) => r.order().filter((x) => String(x).startsWith(key));
    expect(byKey('A')).toEqual(['A1']);
    expect(byKey('B')).toEqual(['B1', 'B2', 'B3']);
    expect(byKey('C')).toEqual(['C1', 'C2']);
    // Different keys overlapped: one request per key at most.
    expect(r.max).toBeGreaterThan(1);
    expect(r.max).toBeLessThanOrEqual(3);

    clock.advance(1000);
    await s.drain();
    expect(byKey('A')).toEqual(['A1', 'A1']);
    expect(s.stats()).toMatchObject({ succeeded: 5, pending: 3 });
  });

  it('events without a key form one line of their own, apart from keyed ones', async () => {
    const r = await recorder((p) => (p.key === undefined && p.n === 1 ? 500 : 200));
    const { sender: s } = h.clocked({ retry: () => 1000 });
    s.endpoints.add({ url: r.receiver.url, ordering: 'fifo' });
    s.emit('order.created', { n: 1 });
    s.emit('order.created', { key: 'K', n: 1 }, { orderingKey: 'K' });
    s.emit('order.created', { n: 2 });
    s.emit('order.created', { key: 'K', n: 2 }, { orderingKey: 'K' });
    await s.drain();
    expect(r.order().filter((x) => typeof x === 'number')).toEqual([1]);
    expect(r.order().filter((x) => typeof x === 'string')).toEqual(['K1', 'K2']);
  });

  it("an endpoint with ordering 'none' beside it is not held", async () => {
    const fifo = await recorder((p, seen) => (p.n === 1 && seen === 1 ? 500 : 200));
    const free = await recorder(() => 200);
    const { sender: s, clock } = h.clocked({ retry: () => 1000 });
    s.endpoints.add({ url: fifo.receiver.url, ordering: 'fifo' });
    s.endpoints.add({ url: free.receiver.url });
    for (let n = 1; n <= 10; n++) s.emit('order.created', { n });
    await s.drain();
    expect(fifo.order()).toEqual([1]);
    expect(free.order().sort((a, b) => Number(a) - Number(b))).toEqual(
      Array.from({ length: 10 }, (_, i) => i + 1),
    );
    expect(free.max).toBeGreaterThan(1);
    clock.advance(1000);
    await s.drain();
    expect(fifo.order()).toEqual([1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('a delivery that failed for good and is retried by hand is found again and sent', async () => {
    let up = false;
    const r = await recorder((p) => (up || p.n !== 1 ? 200 : 500));
    const { sender: s } = h.clocked({ retry: [] });
    s.endpoints.add({ url: r.receiver.url, ordering: 'fifo' });
    for (let n = 1; n <= 3; n++) s.emit('order.created', { n });
    await s.drain();
    // 1 failed for good, then 2 and 3 went.
    expect(r.order()).toEqual([1, 2, 3]);
    const failed = s.deliveries.list({ status: 'failed' }).items;
    expect(failed).toHaveLength(1);
    up = true;
    s.deliveries.retry(failed[0]!.id);
    await within(s.drain(), 5000, 'drain');
    expect(r.order()).toEqual([1, 2, 3, 1]);
  });
});
