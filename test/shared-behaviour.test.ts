import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  type CircuitNotice,
  type DeliveredNotice,
  type EndpointDisabledNotice,
  type FailedNotice,
  InvalidArgumentError,
  NotFoundError,
  type RetryContext,
  type RetryingNotice,
  verifyWebhook,
} from '../src/index.js';
import { payloadOf, sleep } from './helpers/harness.js';
import { type Kit, kit, postgresStore, sqliteStore, sqliteWorkerStore } from './helpers/stores.js';

// The behaviour both stores share, written once and run against each (the
// factories are in helpers/stores.ts): SQLite (`WebhookSender`, a fresh
// `:memory:` database per sender) and PostgreSQL (`PgWebhookSender`, one random
// schema per suite, emptied after each test; skipped, with the reason in the
// suite's name, when PostgreSQL is unreachable). SQLite answers synchronously
// and PostgreSQL with Promises, so every call is awaited. Where the two truly
// differ, a test says so and branches; none needs to today.

const SEC = 1000;
const HOUR = 60 * 60 * SEC;
const DAY = 24 * HOUR;
const iso = (ms: number) => new Date(ms).toISOString();

/** What `fn` throws or rejects with: SQLite throws, PostgreSQL rejects. */
async function failure(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  throw new Error('Expected a failure');
}

/** A receiver answering `status.now`, recording each request's `n` in arrival order. */
async function switchable(k: Kit, initial: number) {
  const status = { now: initial };
  const arrived: number[] = [];
  const receiver = await k.receiver((request, res) => {
    arrived.push(payloadOf<{ n: number }>(request).n);
    res.writeHead(status.now).end();
  });
  return { receiver, status, arrived };
}

/**
 * A clocked sender whose only endpoint (at `url`) failed 5 deliveries once each: its circuit is
 * open for 30 s, their retries due after 1 s. `circuit` collects the 'endpoint.circuit' notices.
 */
async function withOpenCircuit(k: Kit, url: string) {
  const { sender: s, clock } = await k.clocked({ retry: () => SEC });
  const circuit: CircuitNotice[] = [];
  s.on('endpoint.circuit', (n) => circuit.push(n));
  const ep = await s.endpoints.add({ url });
  const t0 = clock.now();
  for (let i = 0; i < 5; i++) await s.emit('order.created', { i });
  await s.drain();
  return { s, clock, circuit, ep, t0 };
}

const behaviours: Record<string, (k: Kit) => Promise<void>> = {
  async 'emit: a signed request reaches a real receiver, and the attempt is logged'(k) {
    const r = await k.receiver();
    const s = await k.sender();
    const ep = await s.endpoints.add({ url: r.url, headers: { 'x-team': 'blue' } });
    const event = await s.emit('order.created', { id: 42 });
    expect(event).toMatchObject({ type: 'order.created', deliveries: 1 });
    await s.drain();
    expect(r.requests).toHaveLength(1);
    const request = r.requests[0]!;
    expect(request.headers).toMatchObject({
      'webhook-id': event.id,
      'content-type': 'application/json',
      'x-team': 'blue',
    });
    expect(request.headers['user-agent']).toMatch(/^hookline\//);
    const verified = verifyWebhook({ secret: ep.secret, headers: request.headers, body: request.body });
    expect(verified).toMatchObject({ id: event.id, type: 'order.created', data: { id: 42 } });

    const [delivery] = (await s.deliveries.list({ eventId: event.id })).items;
    expect(delivery).toMatchObject({
      endpointId: ep.id,
      eventType: 'order.created',
      status: 'succeeded',
      attemptCount: 1,
      lastStatusCode: 200,
      nextAttemptAt: null,
    });
    const full = await s.deliveries.get(delivery!.id);
    expect(full.attempts).toEqual([
      expect.objectContaining({ deliveryId: delivery!.id, number: 1, statusCode: 200, responseBody: 'ok' }),
    ]);
    expect(await s.events.get(event.id)).toMatchObject({ id: event.id, payload: { id: 42 }, tenant: null });
  },

  async 'endpoints: add, get, list, update, disable, enable, rotateSecret, remove'(k) {
    const { sender: s, clock } = await k.clocked({ autoStart: false });
    const a = await s.endpoints.add({ url: 'https://example.com/a', events: ['order.*'], description: 'A' });
    expect(a.secret).toMatch(/^whsec_/);
    expect(JSON.stringify(a)).not.toContain('whsec_');
    // Listed oldest first: a millisecond apart, so the order does not fall back to the random ids.
    clock.advance(1);
    const b = await s.endpoints.add({
      url: 'https://example.com/b',
      tenant: 'acme',
      metadata: { team: 'x' },
    });
    expect((await s.endpoints.list()).map((e) => e.id)).toEqual([a.id, b.id]);
    expect(await s.endpoints.get(b.id)).toMatchObject({
      tenant: 'acme',
      metadata: { team: 'x' },
      enabled: true,
    });
    expect(await s.endpoints.update(a.id, { url: 'https://example.com/a2', concurrency: 2 })).toMatchObject({
      url: 'https://example.com/a2',
      concurrency: 2,
      description: 'A',
    });

    // Disabling fails its pending deliveries, and emit skips it until it is enabled again.
    expect((await s.emit('order.created', {})).deliveries).toBe(1);
    expect(await s.endpoints.disable(a.id, 'maintenance')).toMatchObject({
      enabled: false,
      disabledReason: 'maintenance',
    });
    expect((await s.deliveries.list({ endpointId: a.id })).items[0]).toMatchObject({
      status: 'failed',
      lastError: 'endpoint disabled: maintenance',
    });
    expect((await s.emit('order.created', {})).deliveries).toBe(0);
    expect(await s.endpoints.enable(a.id)).toMatchObject({ enabled: true, disabledReason: null });
    expect((await s.emit('order.created', {})).deliveries).toBe(1);

    const rotated = await s.endpoints.rotateSecret(a.id);
    expect(rotated.secret).not.toBe(a.secret);
    expect((await s.endpoints.get(a.id)).secret).toBe(rotated.secret);

    await s.endpoints.remove(b.id);
    expect(await failure(() => s.endpoints.get(b.id))).toBeInstanceOf(NotFoundError);
    expect(await failure(() => s.endpoints.remove(b.id))).toBeInstanceOf(NotFoundError);
    expect(await failure(() => s.endpoints.add({ url: 'ftp://nope' }))).toBeInstanceOf(InvalidArgumentError);
    expect(await failure(() => s.endpoints.update(a.id, { bogus: 1 } as never))).toMatchObject({
      code: 'ERR_UNKNOWN_OPTION',
    });
  },

  async 'tenants and event-type patterns decide the fan-out; endpointIds narrows it'(k) {
    const s = await k.sender({ autoStart: false });
    const orders = await s.endpoints.add({ url: 'https://example.com/orders', events: ['order.*'] });
    const all = await s.endpoints.add({ url: 'https://example.com/all' });
    const acmeOrders = await s.endpoints.add({
      url: 'https://example.com/acme-orders',
      events: ['order.created'],
      tenant: 'acme',
    });
    const acmeUsers = await s.endpoints.add({
      url: 'https://example.com/acme-users',
      events: ['user.*'],
      tenant: 'acme',
    });
    // Without a tenant, only endpoints without one; with a tenant, only that tenant's.
    expect((await s.emit('order.created', {})).deliveries).toBe(2);
    expect((await s.emit('user.created', {})).deliveries).toBe(1);
    expect((await s.emit('order.created', {}, { tenant: 'acme' })).deliveries).toBe(1);
    expect((await s.emit('order.paid', {}, { tenant: 'acme' })).deliveries).toBe(0);
    expect((await s.emit('user.deleted', {}, { tenant: 'acme' })).deliveries).toBe(1);
    expect((await s.emit('order.created', {}, { tenant: 'other' })).deliveries).toBe(0);
    // endpointIds restricts the fan-out; the endpoints must still match.
    expect((await s.emit('order.created', {}, { endpointIds: [all.id] })).deliveries).toBe(1);
    expect((await s.emit('user.created', {}, { endpointIds: [orders.id] })).deliveries).toBe(0);
    expect(await failure(() => s.emit('a.b', {}, { endpointIds: ['ep_missing'] }))).toBeInstanceOf(
      NotFoundError,
    );

    const count = async (endpointId: string) =>
      (await s.deliveries.list({ endpointId, limit: 100 })).items.length;
    expect(await count(orders.id)).toBe(1);
    expect(await count(all.id)).toBe(3);
    expect(await count(acmeOrders.id)).toBe(1);
    expect(await count(acmeUsers.id)).toBe(1);
    expect((await s.deliveries.list({ tenant: 'acme' })).items).toHaveLength(2);
    expect((await s.events.list({ tenant: 'acme' })).items).toHaveLength(3);
  },

  async 'idempotencyKey: a second emit returns the first event and stores nothing, per tenant'(k) {
    const s = await k.sender({ autoStart: false });
    await s.endpoints.add({ url: 'https://example.com/a' });
    const first = await s.emit('order.paid', { n: 1 }, { idempotencyKey: 'order-42' });
    expect(await s.emit('order.paid', { n: 2 }, { idempotencyKey: 'order-42' })).toEqual(first);
    expect(await s.emit('order.refunded', { n: 3 }, { idempotencyKey: 'order-42' })).toEqual(first);
    expect((await s.events.list()).items).toHaveLength(1);
    expect((await s.deliveries.list()).items).toHaveLength(1);
    expect(await s.events.get(first.id)).toMatchObject({ payload: { n: 1 }, idempotencyKey: 'order-42' });

    const acme = await s.emit('order.paid', { n: 4 }, { idempotencyKey: 'order-42', tenant: 'acme' });
    expect(acme.id).not.toBe(first.id);
    expect(await s.emit('order.paid', {}, { idempotencyKey: 'order-42', tenant: 'acme' })).toEqual(acme);
    expect((await s.events.list()).items).toHaveLength(2);
  },

  async 'emitMany: several events at once, all or nothing'(k) {
    const r = await k.receiver();
    const s = await k.sender();
    await s.endpoints.add({ url: r.url, events: ['order.*'] });
    const emitted = await s.emitMany([
      { type: 'order.created', payload: { n: 1 } },
      { type: 'user.created', payload: { n: 2 } },
      { type: 'order.paid', payload: { n: 3 }, idempotencyKey: 'k' },
    ]);
    expect(emitted.map((e) => [e.type, e.deliveries])).toEqual([
      ['order.created', 1],
      ['user.created', 0],
      ['order.paid', 1],
    ]);
    await s.drain();
    expect(r.requests.map((request) => payloadOf<{ n: number }>(request).n).sort()).toEqual([1, 3]);

    // One bad item: nothing of the batch is stored.
    const error = await failure(() =>
      s.emitMany([
        { type: 'order.created', payload: { n: 4 } },
        { type: '', payload: {} },
      ]),
    );
    expect(error).toMatchObject({ code: 'ERR_INVALID_EVENT_TYPE' });
    expect((await s.events.list()).items).toHaveLength(3);
    expect(await s.emitMany([])).toEqual([]);
    // An idempotency key already used returns the first event here too.
    expect((await s.emitMany([{ type: 'order.paid', payload: {}, idempotencyKey: 'k' }]))[0]).toEqual(
      emitted[2],
    );
  },

  async 'retries on the ManualClock with a retry function, then gives up when it returns null'(k) {
    const answers = [503, 500, 200];
    const r = await k.receiver((_request, res) => res.writeHead(answers.shift() ?? 500).end());
    const contexts: RetryContext[] = [];
    const { sender: s, clock } = await k.clocked({
      retry: (ctx) => {
        contexts.push(ctx);
        return ctx.attempt < 3 ? ctx.attempt * 10 * SEC : null;
      },
    });
    const retrying: RetryingNotice[] = [];
    const delivered: DeliveredNotice[] = [];
    const failed: FailedNotice[] = [];
    s.on('retrying', (n) => retrying.push(n));
    s.on('delivered', (n) => delivered.push(n));
    s.on('failed', (n) => failed.push(n));
    const ep = await s.endpoints.add({ url: r.url });
    const t0 = clock.now();
    const event = await s.emit('order.created', {});
    await s.drain();
    const [first] = (await s.deliveries.list()).items;
    expect(first).toMatchObject({
      status: 'pending',
      attemptCount: 1,
      lastStatusCode: 503,
      nextAttemptAt: iso(t0 + 10 * SEC),
    });

    // Not a millisecond early.
    clock.advance(10 * SEC - 1);
    await s.drain();
    expect(r.requests).toHaveLength(1);
    clock.advance(1);
    await s.drain();
    expect(r.requests).toHaveLength(2);
    expect(await s.deliveries.get(first!.id)).toMatchObject({
      status: 'pending',
      attemptCount: 2,
      nextAttemptAt: iso(t0 + 30 * SEC),
    });
    clock.advance(20 * SEC);
    await s.drain();
    const done = await s.deliveries.get(first!.id);
    expect(done).toMatchObject({ status: 'succeeded', attemptCount: 3, nextAttemptAt: null });
    expect(done.attempts.map((a) => a.statusCode)).toEqual([503, 500, 200]);
    expect(new Set(r.requests.map((request) => request.headers['webhook-id']))).toEqual(new Set([event.id]));
    expect(contexts.map((c) => [c.attempt, c.statusCode])).toEqual([
      [1, 503],
      [2, 500],
    ]);
    expect(contexts[0]).toMatchObject({
      endpointId: ep.id,
      deliveryId: first!.id,
      event: { id: event.id, type: 'order.created', tenant: null },
    });
    expect(retrying.map((n) => n.nextAttemptAt)).toEqual([iso(t0 + 10 * SEC), iso(t0 + 30 * SEC)]);
    expect(delivered).toEqual([
      expect.objectContaining({ deliveryId: first!.id, attempts: 3, statusCode: 200 }),
    ]);

    // The function returns null after the 3rd failure: given up.
    const second = await s.emit('order.created', {});
    await s.drain();
    clock.advance(10 * SEC);
    await s.drain();
    clock.advance(20 * SEC);
    await s.drain();
    const [gaveUp] = (await s.deliveries.list({ eventId: second.id })).items;
    expect(gaveUp).toMatchObject({
      status: 'failed',
      attemptCount: 3,
      nextAttemptAt: null,
      lastStatusCode: 500,
    });
    expect(failed).toEqual([
      expect.objectContaining({ deliveryId: gaveUp!.id, attempts: 3, statusCode: 500 }),
    ]);
    expect(await s.stats()).toMatchObject({ pending: 0, succeeded: 1, failed: 1 });
  },

  async "first attempts and retries share an endpoint's slots: neither waits behind the other"(k) {
    let holding = false;
    const held: (() => void)[] = [];
    const arrived: string[] = [];
    const r = await k.receiver((request, res) => {
      const { kind } = payloadOf<{ kind: string }>(request);
      arrived.push(kind);
      const answer = () => res.writeHead(kind === 'retried' ? 500 : 200).end();
      if (holding) held.push(answer);
      else answer();
    });
    const { sender: s, clock } = await k.clocked({ retry: () => 10 * SEC });
    await s.endpoints.add({ url: r.url, concurrency: 2 });
    for (let i = 0; i < 4; i++) await s.emit('t', { kind: 'retried' });
    await s.drain();
    expect(arrived).toHaveLength(4);
    // Both slots held by first attempts while 4 more wait; then the 4 retries come due behind them.
    holding = true;
    for (let i = 0; i < 6; i++) await s.emit('t', { kind: 'fresh' });
    for (let i = 0; held.length < 2 && i < 2000; i++) await sleep(5);
    expect(held).toHaveLength(2);
    // The turn this wakes finds both slots taken (on PostgreSQL it may still be out when they free).
    clock.advance(10 * SEC);
    await sleep(200);
    holding = false;
    arrived.length = 0;
    for (const answer of held.splice(0)) answer();
    await s.drain();
    // Slots freed one or two at a time go to each kind in turn: retries are not starved by the backlog
    // of first attempts, nor do they take every slot.
    expect(arrived).toHaveLength(8);
    expect(arrived.slice(0, 4).filter((kind) => kind === 'retried')).toHaveLength(2);
  },

  async 'deliveries.retry and retryMany put failed deliveries back, with a fresh schedule'(k) {
    const r = await switchable(k, 500);
    const { sender: s } = await k.clocked({ retry: [], circuitBreaker: false });
    await s.endpoints.add({ url: r.receiver.url });
    const event = await s.emit('order.created', { n: 1 });
    await s.drain();
    const [d] = (await s.deliveries.list({ eventId: event.id })).items;
    expect(d).toMatchObject({ status: 'failed', attemptCount: 1, lastStatusCode: 500 });

    r.status.now = 200;
    expect(await s.deliveries.retry(d!.id)).toMatchObject({ id: d!.id, status: 'pending' });
    await s.drain();
    const retried = await s.deliveries.get(d!.id);
    expect(retried).toMatchObject({ status: 'succeeded', attemptCount: 2 });
    expect(retried.attempts.map((a) => [a.number, a.statusCode])).toEqual([
      [1, 500],
      [2, 200],
    ]);
    expect(await failure(() => s.deliveries.retry(d!.id))).toMatchObject({ code: 'ERR_INVALID_STATE' });
    expect(await failure(() => s.deliveries.retry('dlv_999999'))).toBeInstanceOf(NotFoundError);

    r.status.now = 500;
    for (let n = 2; n <= 4; n++) await s.emit('order.created', { n });
    await s.emit('user.created', { n: 5 });
    await s.drain();
    expect(await s.stats()).toMatchObject({ failed: 4, succeeded: 1, pending: 0 });

    r.status.now = 200;
    expect(await s.deliveries.retryMany({ status: 'failed', eventType: 'user.created' })).toBe(1);
    await s.drain();
    expect(await s.stats()).toMatchObject({ failed: 3, succeeded: 2 });
    expect(await s.deliveries.retryMany({ status: 'failed' })).toBe(3);
    await s.drain();
    expect(await s.stats()).toMatchObject({ failed: 0, succeeded: 5, pending: 0 });
    expect(r.arrived.slice(-3).sort()).toEqual([2, 3, 4]);
    expect(await s.deliveries.retryMany({ status: 'failed' })).toBe(0);
    expect(await failure(() => s.deliveries.retryMany({ status: 'pending' } as never))).toBeInstanceOf(
      InvalidArgumentError,
    );
  },

  async 'retryMany and recover report their progress, batch by batch, and check the callback'(k) {
    const r = await switchable(k, 500);
    const s = await k.sender({ retry: [], circuitBreaker: false });
    const ep = await s.endpoints.add({ url: r.receiver.url });
    await s.emitMany(Array.from({ length: 1_100 }, (_, n) => ({ type: 'order.created', payload: { n } })));
    await s.drain();
    r.status.now = 200;
    const seen: number[] = [];
    expect(await s.deliveries.retryMany({ status: 'failed' }, { onProgress: (n) => seen.push(n) })).toBe(
      1_100,
    );
    // Batches of 1,000, then the empty look that ends the loop reports nothing new.
    expect(seen).toEqual([1_000, 1_100]);
    await s.drain();
    r.status.now = 500;
    await s.emit('order.created', { n: 'late' });
    await s.drain();
    const recovered: number[] = [];
    r.status.now = 200;
    expect(await s.endpoints.recover(ep.id, { since: 0, onProgress: (n) => recovered.push(n) })).toBe(1);
    expect(recovered).toEqual([1]);
    expect(
      await failure(() => s.deliveries.retryMany({ status: 'failed' }, { onProgress: 1 } as never)),
    ).toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    expect(
      await failure(() => s.deliveries.retryMany({ status: 'failed' }, { other: 1 } as never)),
    ).toMatchObject({
      code: 'ERR_UNKNOWN_OPTION',
    });
  },

  async 'events.replay makes new deliveries of a stored event, same webhook-id'(k) {
    const r = await k.receiver();
    const s = await k.sender();
    const a = await s.endpoints.add({ url: r.url, events: ['order.*'] });
    const b = await s.endpoints.add({ url: r.url });
    const event = await s.emit('order.created', { id: 7 });
    await s.drain();
    expect(r.requests).toHaveLength(2);

    expect(await s.events.replay(event.id)).toBe(2);
    await s.drain();
    expect(await s.events.replay(event.id, { endpointIds: [b.id] })).toBe(1);
    await s.drain();
    expect(r.requests).toHaveLength(5);
    expect(new Set(r.requests.map((request) => request.headers['webhook-id']))).toEqual(new Set([event.id]));
    const deliveries = (await s.deliveries.list({ eventId: event.id })).items;
    expect(deliveries.map((d) => d.endpointId).sort()).toEqual([a.id, a.id, b.id, b.id, b.id].sort());
    expect(deliveries.every((d) => d.status === 'succeeded')).toBe(true);

    // Replay goes to the endpoints of now: a disabled one gets nothing.
    await s.endpoints.disable(a.id);
    expect(await s.events.replay(event.id)).toBe(1);
    expect(await failure(() => s.events.replay(event.id, { endpointIds: [a.id] }))).toBeInstanceOf(
      NotFoundError,
    );
    expect(await failure(() => s.events.replay('evt_missing'))).toBeInstanceOf(NotFoundError);
    expect(await failure(() => s.events.replay(event.id, { bogus: 1 } as never))).toMatchObject({
      code: 'ERR_UNKNOWN_OPTION',
    });
  },

  async "410 Gone disables the endpoint, emits 'endpoint.disabled' once, and fails what is left"(k) {
    const r = await k.receiver((_request, res) => res.writeHead(410).end());
    const { sender: s, clock } = await k.clocked({ retry: () => 10 * 60 * SEC, autoStart: false });
    const disabled: EndpointDisabledNotice[] = [];
    s.on('endpoint.disabled', (n) => disabled.push(n));
    const ep = await s.endpoints.add({ url: r.url });
    for (let i = 0; i < 4; i++) await s.emit('order.created', { i });
    // All four go out together: the first 410 recorded disables it while the others are in flight.
    await s.start();
    await s.drain();
    const sent = 4;
    expect(r.requests).toHaveLength(sent);
    const reason = 'the endpoint answered 410 Gone';
    expect(disabled).toEqual([{ endpointId: ep.id, reason }]);
    expect(await s.endpoints.get(ep.id)).toMatchObject({ enabled: false, disabledReason: reason });
    // None is left pending for ever, though their retries were scheduled when their answers came.
    expect(await s.stats()).toMatchObject({ pending: 0, sending: 0, failed: 4 });
    // Each attempt is counted once, also in the batch that disabled the endpoint.
    const counted = (await s.activity()).reduce((n, m) => n + m.succeeded + m.retrying + m.failed, 0);
    expect(counted).toBe(sent);

    expect((await s.emit('order.created', {})).deliveries).toBe(0);
    clock.advance(HOUR);
    await s.drain();
    await sleep(50);
    expect(r.requests).toHaveLength(sent);
    expect(disabled).toHaveLength(1);
    expect(await s.endpoints.health(ep.id)).toMatchObject({ consecutiveFailures: sent });
    await s.endpoints.enable(ep.id);
    expect(await s.endpoints.health(ep.id)).toMatchObject({ circuit: 'closed', consecutiveFailures: 0 });
  },

  async 'the circuit breaker opens after 5 failures; after the cool-off one probe closes it'(k) {
    let status = 500;
    const r = await k.receiver((_request, res) => res.writeHead(status).end());
    const { s, clock, circuit, ep, t0 } = await withOpenCircuit(k, r.url);
    expect(r.requests).toHaveLength(5);
    expect(await s.endpoints.health(ep.id)).toEqual({
      endpointId: ep.id,
      circuit: 'open',
      consecutiveFailures: 5,
      failingSince: iso(t0),
      lastSuccessAt: null,
      lastFailureAt: iso(t0),
      circuitOpenUntil: iso(t0 + 30 * SEC),
      attemptsLastHour: 5,
      successRateLastHour: 0,
    });

    // It is announced, and stats() names it: drain() resolved with its rows still pending.
    expect(circuit).toEqual([
      { endpointId: ep.id, state: 'open', consecutiveFailures: 5, openUntil: iso(t0 + 30 * SEC) },
    ]);
    expect(await s.stats()).toMatchObject({ pending: 5, openCircuits: [ep.id] });

    // Their retries are due after 1 s, but nothing goes out while the circuit is open.
    clock.advance(29 * SEC);
    await s.drain();
    await sleep(50);
    expect(r.requests).toHaveLength(5);
    expect(await s.stats()).toMatchObject({ pending: 5, sending: 0, openCircuits: [ep.id] });
    expect(circuit).toHaveLength(1);

    // At 30 s it is half-open: one probe. It succeeds, the circuit closes and the rest go.
    status = 200;
    clock.advance(SEC);
    await s.drain();
    expect(r.requests).toHaveLength(10);
    expect(await s.stats()).toMatchObject({ succeeded: 5, pending: 0, failed: 0, openCircuits: [] });
    expect(circuit.slice(1)).toEqual([
      { endpointId: ep.id, state: 'half-open', consecutiveFailures: 5, openUntil: iso(t0 + 30 * SEC) },
      { endpointId: ep.id, state: 'closed', consecutiveFailures: 0, openUntil: null },
    ]);
    expect(await s.endpoints.health(ep.id)).toMatchObject({
      circuit: 'closed',
      consecutiveFailures: 0,
      failingSince: null,
      lastSuccessAt: iso(t0 + 30 * SEC),
      circuitOpenUntil: null,
      attemptsLastHour: 10,
      successRateLastHour: 0.5,
    });
  },

  async 'enable() on an endpoint with an open circuit closes it and sends what waited at once, with no poll'(
    k,
  ) {
    let status = 500;
    const r = await k.receiver((_request, res) => res.writeHead(status).end());
    const { s, clock, circuit, ep } = await withOpenCircuit(k, r.url);
    // Their retries are due, 28 s before the cool-off ends.
    clock.advance(2 * SEC);
    await s.drain();
    expect(await s.endpoints.health(ep.id)).toMatchObject({ circuit: 'open' });
    expect(r.requests).toHaveLength(5);

    // The clock stays and the poll never comes: only enable() can make them go now.
    status = 200;
    await s.endpoints.enable(ep.id);
    await s.drain();
    expect(r.requests).toHaveLength(10);
    expect(await s.stats()).toMatchObject({ pending: 0, succeeded: 5, openCircuits: [] });
    expect(circuit.map((n) => n.state)).toEqual(['open', 'closed']);
  },

  async 'endpoints.update() with a new URL resets the circuit (a new receiver); other changes keep it'(k) {
    const broken = await k.receiver((_request, res) => res.writeHead(503).end());
    const fixed = await k.receiver();
    const { s, clock, ep } = await withOpenCircuit(k, broken.url);
    clock.advance(2 * SEC);
    expect(await s.endpoints.health(ep.id)).toMatchObject({ circuit: 'open', consecutiveFailures: 5 });

    await s.endpoints.update(ep.id, { headers: { 'x-other': '1' } });
    await s.drain();
    expect(await s.endpoints.health(ep.id)).toMatchObject({ circuit: 'open', consecutiveFailures: 5 });
    expect(fixed.requests).toHaveLength(0);

    await s.endpoints.update(ep.id, { url: fixed.url });
    expect(await s.endpoints.health(ep.id)).toMatchObject({ circuit: 'closed', consecutiveFailures: 0 });
    await s.drain();
    expect(fixed.requests).toHaveLength(5);
    expect(broken.requests).toHaveLength(5);
    expect(await s.stats()).toMatchObject({ pending: 0, succeeded: 5, openCircuits: [] });
  },

  async "ordering: 'fifo' sends one orderingKey in emit order, its next waiting while the head is retried"(
    k,
  ) {
    const arrived: string[] = [];
    const seen = new Map<string, number>();
    const r = await k.receiver((request, res) => {
      const { key, n } = payloadOf<{ key: string; n: number }>(request);
      const id = `${key}${n}`;
      arrived.push(id);
      seen.set(id, (seen.get(id) ?? 0) + 1);
      res.writeHead(id === 'a1' && seen.get(id) === 1 ? 500 : 200).end();
    });
    const { sender: s, clock } = await k.clocked({ retry: () => SEC });
    await s.endpoints.add({ url: r.url, ordering: 'fifo' });
    const order: [string, number][] = [
      ['a', 1],
      ['b', 1],
      ['a', 2],
      ['b', 2],
      ['a', 3],
    ];
    for (const [key, n] of order) await s.emit('order.created', { key, n }, { orderingKey: key });
    await s.drain();
    const ofKey = (key: string) => arrived.filter((id) => id.startsWith(key));
    // a1 failed: a2 and a3 wait behind it, while key b goes on.
    expect(ofKey('a')).toEqual(['a1']);
    expect(ofKey('b')).toEqual(['b1', 'b2']);
    expect(await s.stats()).toMatchObject({ pending: 3, succeeded: 2 });
    clock.advance(SEC);
    await s.drain();
    expect(ofKey('a')).toEqual(['a1', 'a1', 'a2', 'a3']);
    expect(await s.stats()).toMatchObject({ pending: 0, succeeded: 5 });
  },

  async 'endpoints.recover re-sends the failed deliveries of a time window'(k) {
    const r = await switchable(k, 500);
    const { sender: s, clock } = await k.clocked({ retry: [], circuitBreaker: false });
    const ep = await s.endpoints.add({ url: r.receiver.url });
    await s.emit('order.created', { n: 0 });
    await s.drain();
    clock.advance(HOUR);
    const since = new Date(clock.now());
    await s.emit('order.created', { n: 1 });
    await s.emit('order.created', { n: 2 });
    await s.drain();
    expect(await s.stats()).toMatchObject({ failed: 3 });
    expect(await failure(() => s.endpoints.recover(ep.id, {} as never))).toBeInstanceOf(InvalidArgumentError);
    expect(await failure(() => s.endpoints.recover('ep_missing', { since }))).toBeInstanceOf(NotFoundError);

    r.status.now = 200;
    expect(await s.endpoints.recover(ep.id, { since })).toBe(2);
    await s.drain();
    expect(r.arrived.slice(3).sort()).toEqual([1, 2]);
    expect(await s.stats()).toMatchObject({ succeeded: 2, failed: 1, pending: 0 });
    expect(await s.endpoints.recover(ep.id, { since })).toBe(0);
    // `until` closes the window: only the event from before `since`.
    expect(await s.endpoints.recover(ep.id, { since: 0, until: since })).toBe(1);
    await s.drain();
    expect(r.arrived.slice(5)).toEqual([0]);
    expect(await s.stats()).toMatchObject({ succeeded: 3, failed: 0 });
  },

  async 'prune deletes finished deliveries past retention, with their attempts and events'(k) {
    const r = await switchable(k, 200);
    const { sender: s, clock } = await k.clocked({
      retry: [],
      retention: { succeeded: SEC, failed: 10 * SEC },
    });
    await s.endpoints.add({ url: r.receiver.url, events: ['order.*'] });
    const ok = await s.emit('order.created', { n: 1 });
    await s.drain();
    r.status.now = 500;
    const bad = await s.emit('order.failed', { n: 2 });
    await s.drain();
    await s.emit('nobody.listens', {});
    expect(await s.stats()).toMatchObject({ succeeded: 1, failed: 1 });
    expect(await s.prune()).toEqual({ deliveries: 0, events: 0 });

    // Past the succeeded retention only; an event nobody received waits for the longest one.
    clock.advance(5 * SEC);
    expect(await s.prune()).toEqual({ deliveries: 1, events: 1 });
    expect(await failure(() => s.events.get(ok.id))).toBeInstanceOf(NotFoundError);
    expect(await s.events.get(bad.id)).toMatchObject({ type: 'order.failed' });

    clock.advance(10 * SEC);
    expect(await s.prune()).toEqual({ deliveries: 1, events: 2 });
    expect((await s.events.list()).items).toHaveLength(0);
    expect(await s.stats()).toMatchObject({ pending: 0, succeeded: 0, failed: 0 });
    expect(await s.prune()).toEqual({ deliveries: 0, events: 0 });
  },

  async 'prune keeps what a retention without a duration keeps, and events nobody received with it'(k) {
    const r = await switchable(k, 200);
    const { sender: s, clock } = await k.clocked({ retry: [], retention: { succeeded: SEC } });
    await s.endpoints.add({ url: r.receiver.url, events: ['order.*'] });
    await s.emit('order.created', { n: 1 });
    await s.drain();
    r.status.now = 500;
    await s.emit('order.failed', { n: 2 });
    await s.drain();
    const unheard = await s.emit('nobody.listens', {});
    clock.advance(DAY);
    // Failed deliveries are kept for ever, so are events without deliveries.
    expect(await s.prune()).toEqual({ deliveries: 1, events: 1 });
    expect(await s.stats()).toMatchObject({ succeeded: 0, failed: 1 });
    expect(await s.events.get(unheard.id)).toMatchObject({ type: 'nobody.listens' });
  },

  async 'log pages follow a cursor that stays put while new rows arrive'(k) {
    const s = await k.sender({ autoStart: false });
    await s.endpoints.add({ url: 'https://example.com/a' });
    await s.endpoints.add({ url: 'https://example.com/b' });
    const ids: string[] = [];
    for (let n = 1; n <= 5; n++) ids.push((await s.emit('order.created', { n })).id);
    let emitted = 5;

    const first = await s.events.list({ limit: 2 });
    expect(first.items.map((e) => e.id)).toEqual([ids[4], ids[3]]);
    const deliveries = await s.deliveries.list({ limit: 4 });
    for (let n = 6; n <= 8; n++) await s.emit('order.created', { n });
    emitted += 3;
    const second = await s.events.list({ limit: 2, cursor: first.nextCursor! });
    expect(second.items.map((e) => e.id)).toEqual([ids[2], ids[1]]);
    const third = await s.events.list({ limit: 2, cursor: second.nextCursor! });
    expect(third.items.map((e) => e.id)).toEqual([ids[0]]);
    expect(third.nextCursor).toBeNull();

    // Deliveries page the same way: the 10 that existed at the first page, newest first, each once.
    const seen = deliveries.items.map((d) => d.id);
    let cursor = deliveries.nextCursor;
    while (cursor !== null) {
      await s.emit('order.created', {});
      emitted++;
      const page = await s.deliveries.list({ limit: 4, cursor });
      seen.push(...page.items.map((d) => d.id));
      cursor = page.nextCursor;
    }
    expect(seen).toHaveLength(10);
    expect(new Set(seen).size).toBe(10);
    const seqs = seen.map((id) => Number(id.replace(/^dlv_0*/, '')));
    expect(seqs).toEqual([...seqs].sort((x, y) => y - x));
    expect((await s.events.list({ limit: 100 })).items).toHaveLength(emitted);
  },

  async 'deliveries.attempts(): the attempts of every delivery in the order they were made, after a cursor'(
    k,
  ) {
    const r = await switchable(k, 500);
    const s = await k.sender({ retry: [] });
    const ep = await s.endpoints.add({ url: r.receiver.url, tenant: 'acme' });
    expect(await s.deliveries.attempts()).toEqual([]);
    const first = await s.emit('order.created', { n: 1 }, { tenant: 'acme' });
    await s.drain();
    r.status.now = 200;
    const second = await s.emit('user.created', { n: 2 }, { tenant: 'acme' });
    await s.drain();
    const all = await s.deliveries.attempts();
    expect(all.map((a) => [a.eventId, a.eventType, a.tenant, a.endpointId, a.number, a.statusCode])).toEqual([
      [first.id, 'order.created', 'acme', ep.id, 1, 500],
      [second.id, 'user.created', 'acme', ep.id, 1, 200],
    ]);
    // Retried, the failed one's second attempt comes after both.
    const [failed] = (await s.deliveries.list({ eventId: first.id })).items;
    await s.deliveries.retry(failed!.id);
    await s.drain();
    const after = await s.deliveries.attempts({ after: all[1]!.id });
    expect(after.map((a) => [a.deliveryId, a.number, a.statusCode])).toEqual([[failed!.id, 2, 200]]);
    expect(await s.deliveries.attempts({ after: after[0]!.id })).toEqual([]);
    // Without a cursor: the latest `limit`, oldest first.
    expect((await s.deliveries.attempts({ limit: 2 })).map((a) => a.id)).toEqual([all[1]!.id, after[0]!.id]);
    expect(await failure(() => s.deliveries.attempts({ after: 'dlv_1' }))).toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
    expect(await failure(() => s.deliveries.attempts({ since: 1 } as never))).toMatchObject({
      code: 'ERR_UNKNOWN_OPTION',
    });
  },

  async 'activity(): attempts per minute by outcome (succeeded, retrying, failed), every minute of the window'(
    k,
  ) {
    const r = await switchable(k, 200);
    const { sender: s, clock } = await k.clocked({ retry: (ctx) => (ctx.attempt < 2 ? 61 * SEC : null) });
    await s.endpoints.add({ url: r.receiver.url });
    const t0 = clock.now();
    const minute = (ms: number) => iso(Math.floor(ms / 60_000) * 60_000);
    await s.emit('order.created', { n: 1 });
    await s.drain();
    r.status.now = 500;
    await s.emit('order.created', { n: 2 });
    await s.drain();
    clock.advance(61 * SEC);
    await s.drain();
    expect(r.arrived).toEqual([1, 2, 2]);
    const window = await s.activity({ since: t0, until: clock.now() });
    expect(window.map((m) => m.minute)).toEqual([minute(t0), minute(t0 + 61 * SEC)]);
    expect(window).toEqual([
      { minute: minute(t0), succeeded: 1, retrying: 1, failed: 0 },
      { minute: minute(t0 + 61 * SEC), succeeded: 0, retrying: 0, failed: 1 },
    ]);
    // The last hour by default, minutes without attempts as zeros.
    const hour = await s.activity();
    expect(hour).toHaveLength(61);
    expect(hour.at(-1)).toEqual({ minute: minute(clock.now()), succeeded: 0, retrying: 0, failed: 1 });
    expect(hour.reduce((n, m) => n + m.succeeded + m.retrying + m.failed, 0)).toBe(3);
    expect(await failure(() => s.activity({ since: clock.now(), until: t0 }))).toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
    expect(await failure(() => s.activity({ from: 1 } as never))).toMatchObject({
      code: 'ERR_UNKNOWN_OPTION',
    });
  },

  async 'stats(): counts by status, in flight, and how late the most overdue delivery is'(k) {
    const r = await k.receiver((request, res) =>
      res.writeHead(payloadOf<{ ok: boolean }>(request).ok ? 200 : 500).end(),
    );
    const { sender: s, clock } = await k.clocked({ autoStart: false, retry: [] });
    await s.endpoints.add({ url: r.url });
    const empty = {
      pending: 0,
      sending: 0,
      succeeded: 0,
      failed: 0,
      inFlight: 0,
      oldestPendingAgeMs: 0,
      openCircuits: [],
    };
    expect(await s.stats()).toEqual(empty);
    await s.emit('order.created', { ok: true });
    clock.advance(2 * SEC);
    await s.emit('order.created', { ok: false });
    clock.advance(3 * SEC);
    expect(await s.stats()).toEqual({ ...empty, pending: 2, oldestPendingAgeMs: 5 * SEC });
    await s.start();
    await s.drain();
    expect(await s.stats()).toEqual({ ...empty, succeeded: 1, failed: 1 });
  },
};

// `%s` of a plain string: `$name` would cut the reason a skipped suite gives.
const stores = [sqliteStore(), postgresStore()].map((store) => [store.name, store] as const);

// The worker engine runs every behaviour that does not drive time with a ManualClock (those run
// inline above, on both stores; test/worker-engine.test.ts covers what is the worker's own).
const needsClock = (behaviour: (k: Kit) => Promise<void>) =>
  /clocked|withOpenCircuit/.test(String(behaviour));
const workerStore = sqliteWorkerStore();
describe(`shared behaviour on ${workerStore.name}`, () => {
  const k = kit(workerStore);
  afterEach(() => k.cleanup());
  afterAll(() => workerStore.dispose());
  const runnable = Object.entries(behaviours).filter(([, behaviour]) => !needsClock(behaviour));
  it('runs at least the behaviours that need no clock', () => {
    expect(runnable.length).toBeGreaterThanOrEqual(5);
  });
  for (const [name, behaviour] of runnable) it(name, () => behaviour(k));
});

describe.each(stores)('shared behaviour on %s', (_name, store) => {
  const k = kit(store);
  afterEach(() => k.cleanup());
  afterAll(() => store.dispose());
  for (const [name, behaviour] of Object.entries(behaviours)) {
    it.skipIf(!store.available)(name, () => behaviour(k));
  }
});
