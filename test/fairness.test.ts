import { describe, expect, it } from 'vitest';
import { harness, payloadOf, sleep, within } from './helpers/harness.js';

// One bad endpoint cannot hurt the others: per-endpoint concurrency, first
// attempts apart from retries, and rate limits that wait without a slot.
// Counts are taken at the receiving server.

const h = harness();

describe('endpointConcurrency', () => {
  it('caps one endpoint at 8 requests in flight by default', async () => {
    const slow = await h.holding();
    const s = h.sender({ concurrency: 32 });
    s.endpoints.add({ url: slow.url });
    for (let i = 0; i < 20; i++) s.emit('order.created', { i });

    await within(slow.receiver.waitFor(8), 5000, 'the first 8 requests');
    await sleep(150);
    expect(slow.held).toHaveLength(8);
    expect(s.stats()).toMatchObject({ sending: 8, pending: 12, inFlight: 8 });

    // Each slot freed is taken again, never more than 8 at once.
    slow.release();
    await within(slow.receiver.waitFor(16), 5000, 'the next 8');
    await sleep(100);
    expect(slow.held).toHaveLength(8);
    slow.answer(200);
    slow.release();
    await s.drain();
    expect(slow.receiver.requests).toHaveLength(20);
    expect(slow.max).toBe(8);
    expect(s.stats()).toMatchObject({ succeeded: 20, pending: 0, sending: 0 });
  });

  it('the sender option sets the default, an endpoint`s own concurrency overrides it', async () => {
    const a = await h.holding();
    const b = await h.holding();
    const c = await h.holding();
    const s = h.sender({ concurrency: 32, endpointConcurrency: 3 });
    s.endpoints.add({ url: a.url });
    s.endpoints.add({ url: b.url, concurrency: 1 });
    s.endpoints.add({ url: c.url, concurrency: 5 });
    for (let i = 0; i < 10; i++) s.emit('order.created', { i });

    await within(
      Promise.all([a.receiver.waitFor(3), b.receiver.waitFor(1), c.receiver.waitFor(5)]),
      5000,
      'the first requests',
    );
    await sleep(150);
    expect([a.held.length, b.held.length, c.held.length]).toEqual([3, 1, 5]);

    for (const r of [a, b, c]) {
      r.answer(200);
      r.release();
    }
    await s.drain();
    expect([a.max, b.max, c.max]).toEqual([3, 1, 5]);
    expect(s.stats().succeeded).toBe(30);
  });

  it('a changed concurrency applies to the next claims', async () => {
    const slow = await h.holding();
    const s = h.sender();
    const ep = s.endpoints.add({ url: slow.url, concurrency: 2 });
    for (let i = 0; i < 10; i++) s.emit('order.created', { i });
    await within(slow.receiver.waitFor(2), 5000, 'the first 2 requests');
    await sleep(100);
    expect(slow.held).toHaveLength(2);
    s.endpoints.update(ep.id, { concurrency: 4 });
    slow.release();
    await within(slow.receiver.waitFor(6), 5000, 'the next 4 requests');
    await sleep(100);
    expect(slow.held).toHaveLength(4);
    slow.answer(200);
    slow.release();
    await s.drain();
    expect(slow.receiver.requests).toHaveLength(10);
  });

  it('a slow endpoint holding its 8 slots leaves the rest of `concurrency` to a healthy one', async () => {
    const slow = await h.holding();
    let current = 0;
    let max = 0;
    const healthy = await h.receiver((_req, res) => {
      max = Math.max(max, ++current);
      // Answers after a short while, so that its requests overlap.
      setTimeout(() => {
        current--;
        res.writeHead(200).end();
      }, 5);
    });
    const s = h.sender({ concurrency: 12 });
    const bad = s.endpoints.add({ url: slow.url });
    const good = s.endpoints.add({ url: healthy.url });
    for (let i = 0; i < 60; i++) s.emit('order.created', { i }, { endpointIds: [bad.id] });
    await within(slow.receiver.waitFor(8), 5000, 'the slow endpoint filling its slots');
    for (let i = 0; i < 100; i++) s.emit('order.created', { i }, { endpointIds: [good.id] });

    // Every healthy delivery goes through while the slow endpoint still holds its 8.
    await within(healthy.waitFor(100), 10_000, 'the healthy endpoint’s 100 deliveries');
    await sleep(50);
    expect(slow.held).toHaveLength(8);
    expect(s.deliveries.list({ endpointId: good.id, status: 'succeeded', limit: 1000 }).items).toHaveLength(
      100,
    );
    // It had the 4 slots left over at once, not one at a time.
    expect(max).toBe(4);
    expect(slow.max).toBe(8);
  });
});

describe('first attempts and retries', () => {
  it('a backlog of due retries does not starve first attempts of the same endpoint, nor other endpoints', async () => {
    let mode: 'fail' | 'hold' = 'fail';
    const heldA: { kind: string; i: number }[] = [];
    const a = await h.receiver((request, res) => {
      if (mode === 'fail') res.writeHead(500).end();
      else heldA.push(payloadOf<{ kind: string; i: number }>(request));
    });
    const b = await h.holding();
    const { sender: s, clock } = h.clocked({
      concurrency: 12,
      // Isolates the split: 40 failures in a row would otherwise open A's circuit.
      circuitBreaker: false,
      retry: () => 1000,
    });
    const epA = s.endpoints.add({ url: a.url });
    const epB = s.endpoints.add({ url: b.url });
    for (let i = 0; i < 40; i++) s.emit('order.created', { kind: 'retry', i }, { endpointIds: [epA.id] });
    await s.drain();
    expect(a.requests).toHaveLength(40);
    expect(s.stats()).toMatchObject({ pending: 40, succeeded: 0 });

    // 40 retries due since t+1s; at t+5s fresh events arrive for A and B.
    mode = 'hold';
    clock.advance(5000);
    for (let i = 0; i < 4; i++) s.emit('order.created', { kind: 'fresh', i }, { endpointIds: [epA.id] });
    for (let i = 0; i < 4; i++) s.emit('order.created', { kind: 'fresh', i }, { endpointIds: [epB.id] });

    await within(Promise.all([a.waitFor(48), b.receiver.waitFor(4)]), 5000, 'the claims after the advance');
    await sleep(100);
    // A's 8 slots: half to first attempts, although every retry is older.
    expect(heldA).toHaveLength(8);
    expect(heldA.filter((p) => p.kind === 'fresh').map((p) => p.i)).toEqual([0, 1, 2, 3]);
    expect(heldA.filter((p) => p.kind === 'retry')).toHaveLength(4);
    // B is not behind A's backlog either.
    expect(b.held.map((x) => payloadOf<{ i: number }>(x.request).i)).toEqual([0, 1, 2, 3]);
  });

  it('one slot at a time is shared too: first attempts and retries take turns', async () => {
    let fail = true;
    const arrived: string[] = [];
    const a = await h.receiver((request, res) => {
      if (fail) return void res.writeHead(500).end();
      arrived.push(payloadOf<{ kind: string }>(request).kind);
      res.writeHead(200).end();
    });
    const { sender: s, clock } = h.clocked({ circuitBreaker: false, retry: () => 1000 });
    s.endpoints.add({ url: a.url, concurrency: 1 });
    for (let i = 0; i < 6; i++) s.emit('order.created', { kind: 'retry', i });
    await s.drain();
    fail = false;
    clock.advance(5000);
    for (let i = 0; i < 6; i++) s.emit('order.created', { kind: 'fresh', i });
    await s.drain();
    expect(arrived).toHaveLength(12);
    // Neither class waits for the other to run out.
    for (let i = 1; i < arrived.length; i++) expect(arrived[i]).not.toBe(arrived[i - 1]);
  });

  it('with no first attempts waiting, retries take every slot', async () => {
    let fail = true;
    let current = 0;
    let max = 0;
    const a = await h.receiver((_req, res) => {
      if (fail) return void res.writeHead(500).end();
      max = Math.max(max, ++current);
      setTimeout(() => {
        current--;
        res.writeHead(200).end();
      }, 10);
    });
    const { sender: s, clock } = h.clocked({ circuitBreaker: false, retry: () => 1000 });
    s.endpoints.add({ url: a.url });
    for (let i = 0; i < 20; i++) s.emit('order.created', { i });
    await s.drain();
    fail = false;
    clock.advance(1000);
    await s.drain();
    expect(s.stats()).toMatchObject({ succeeded: 20, pending: 0 });
    expect(max).toBe(8);
  });
});

describe('rateLimit', () => {
  it('sends at most perSecond per second; the rest wait without holding a slot', async () => {
    const limited = await h.receiver();
    const free = await h.receiver();
    const { sender: s, clock } = h.clocked({ concurrency: 2 });
    const slowEp = s.endpoints.add({ url: limited.url, rateLimit: { perSecond: 2 } });
    const fastEp = s.endpoints.add({ url: free.url });
    for (let i = 0; i < 7; i++) s.emit('order.created', { i }, { endpointIds: [slowEp.id] });
    for (let i = 0; i < 10; i++) s.emit('order.created', { i }, { endpointIds: [fastEp.id] });

    // The clock does not move: the limited endpoint gets its burst of 2, and the other endpoint
    // every one of its 10 deliveries through the 2 global slots: the 5 waiting rows hold none.
    await within(free.waitFor(10), 5000, 'the unlimited endpoint');
    await sleep(150);
    expect(limited.requests).toHaveLength(2);
    expect(s.stats()).toMatchObject({ pending: 5, sending: 0, inFlight: 0 });

    clock.advance(499);
    await sleep(100);
    expect(limited.requests).toHaveLength(2);
    clock.advance(1);
    await within(limited.waitFor(3), 5000, 'a token after 500 ms');
    await sleep(100);
    expect(limited.requests).toHaveLength(3);
    clock.advance(1000);
    await within(limited.waitFor(5), 5000, 'two tokens a second later');
    await sleep(100);
    expect(limited.requests).toHaveLength(5);
    clock.advance(60_000);
    // The bucket holds one second's worth: a long wait does not save up a burst beyond it.
    await within(limited.waitFor(7), 5000, 'the last two');
    await s.drain();
    expect(limited.requests.map((r) => payloadOf<{ i: number }>(r).i).sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(s.stats()).toMatchObject({ succeeded: 17, pending: 0 });
  });

  it('a fractional rate spaces requests further than a second', async () => {
    const limited = await h.receiver();
    const { sender: s, clock } = h.clocked();
    s.endpoints.add({ url: limited.url, rateLimit: { perSecond: 0.5 } });
    for (let i = 0; i < 3; i++) s.emit('order.created', { i });
    await within(limited.waitFor(1), 5000, 'the first request');
    await sleep(100);
    expect(limited.requests).toHaveLength(1);
    clock.advance(1999);
    await sleep(100);
    expect(limited.requests).toHaveLength(1);
    clock.advance(1);
    await within(limited.waitFor(2), 5000, 'the second, 2 s later');
    clock.advance(2000);
    await within(limited.waitFor(3), 5000, 'the third');
    await s.drain();
  });

  it('drain() waits for rows that wait for tokens', async () => {
    const limited = await h.receiver();
    const s = h.sender();
    s.endpoints.add({ url: limited.url, rateLimit: { perSecond: 20 } });
    for (let i = 0; i < 25; i++) s.emit('order.created', { i });
    const t0 = Date.now();
    await within(s.drain(), 5000, 'drain');
    expect(limited.requests).toHaveLength(25);
    // 20 at once, then 5 more tokens take a quarter of a second.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(200);
  });
});
