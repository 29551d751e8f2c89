import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  type Delivery,
  InvalidArgumentError,
  NotFoundError,
  SenderClosedError,
  type WebhookEventRecord,
} from '../src/index.js';
import { startReceiver } from './helpers/receiver.js';
import { cleanups, expectCode, open, T0, twoSendersOnOneFile, URL_A, URL_B } from './helpers/sender.js';

const at = (ms: number) => new Date(T0 + ms).toISOString();
type Lister<T> = (filter: { limit?: number; cursor?: string }) => { items: T[]; nextCursor: string | null };

/** Follows nextCursor to the end and returns every page. */
function allPages<T>(list: Lister<T>, limit: number): T[][] {
  const pages: T[][] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 10_000; i++) {
    const page = list(cursor === undefined ? { limit } : { limit, cursor });
    pages.push(page.items);
    if (page.nextCursor === null) return pages;
    cursor = page.nextCursor;
  }
  throw new Error('the cursor never ended');
}

describe('events.get', () => {
  it('returns the stored event', () => {
    const { sender } = open();
    const ev = sender.emit(
      'order.created',
      { id: 1, lines: [{ sku: 'a' }] },
      { tenant: 'acme', idempotencyKey: 'o-1' },
    );
    const record: WebhookEventRecord = sender.events.get(ev.id);
    expect(record).toEqual({
      id: ev.id,
      type: 'order.created',
      tenant: 'acme',
      idempotencyKey: 'o-1',
      orderingKey: null,
      payload: { id: 1, lines: [{ sku: 'a' }] },
      createdAt: at(0),
    });
  });

  it('an unknown id is a NotFoundError carrying it', () => {
    const { sender } = open();
    const error = expectCode(() => sender.events.get('evt_nope'), NotFoundError, 'ERR_NOT_FOUND');
    expect(error.eventId).toBe('evt_nope');
  });

  it('refuses an id that is not a non-empty string', () => {
    const { sender } = open();
    for (const id of ['', 42, null, undefined]) {
      expectCode(() => sender.events.get(id as never), InvalidArgumentError, 'ERR_INVALID_ARGUMENT');
    }
  });
});

describe('events.list', () => {
  function seed() {
    const { sender, clock } = open();
    const ids: string[] = [];
    // t = 0, 1000, 2000, ... : alternate types and tenants.
    for (let i = 0; i < 6; i++) {
      const type = i % 2 === 0 ? 'order.created' : 'user.created';
      const tenant = i < 3 ? 'acme' : undefined;
      ids.push(sender.emit(type, { i }, { tenant }).id);
      clock.advance(1_000);
    }
    return { sender, clock, ids };
  }

  it('lists newest first as { items, nextCursor }', () => {
    const { sender, ids } = seed();
    const page = sender.events.list();
    expect(page.nextCursor).toBeNull();
    expect(page.items.map((e) => e.id)).toEqual([...ids].reverse());
    expect(page.items[0]).toMatchObject({ payload: { i: 5 }, createdAt: at(5_000), tenant: null });
  });

  it('is empty on a new database', () => {
    const { sender } = open();
    expect(sender.events.list()).toEqual({ items: [], nextCursor: null });
  });

  it('filters by type and tenant', () => {
    const { sender, ids } = seed();
    expect(sender.events.list({ type: 'order.created' }).items.map((e) => e.id)).toEqual([
      ids[4],
      ids[2],
      ids[0],
    ]);
    expect(sender.events.list({ tenant: 'acme' }).items.map((e) => e.id)).toEqual([ids[2], ids[1], ids[0]]);
    expect(sender.events.list({ type: 'user.created', tenant: 'acme' }).items.map((e) => e.id)).toEqual([
      ids[1],
    ]);
    expect(sender.events.list({ type: 'order' }).items).toEqual([]);
    expect(sender.events.list({ tenant: 'globex' }).items).toEqual([]);
  });

  it('since is inclusive, until exclusive; Dates, ISO strings and ms all work', () => {
    const { sender, ids } = seed();
    const expected = [ids[3], ids[2]];
    for (const [since, until] of [
      [new Date(T0 + 2_000), new Date(T0 + 4_000)],
      [at(2_000), at(4_000)],
      [T0 + 2_000, T0 + 4_000],
    ] as const) {
      expect(sender.events.list({ since, until }).items.map((e) => e.id)).toEqual(expected);
    }
    expect(sender.events.list({ since: at(5_000) }).items.map((e) => e.id)).toEqual([ids[5]]);
    expect(sender.events.list({ until: at(1_000) }).items.map((e) => e.id)).toEqual([ids[0]]);
    expect(sender.events.list({ since: at(4_000), until: at(4_000) }).items).toEqual([]);
  });

  it('limit sizes the page, default 50', () => {
    const { sender } = open();
    for (let i = 0; i < 60; i++) sender.emit('a', i);
    const first = sender.events.list();
    expect(first.items).toHaveLength(50);
    expect(first.nextCursor).not.toBeNull();
    const second = sender.events.list({ cursor: first.nextCursor! });
    expect(second.items.map((e) => e.payload)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    expect(second.nextCursor).toBeNull();
    expect(sender.events.list({ limit: 1 }).items.map((e) => e.payload)).toEqual([59]);
    expect(sender.events.list({ limit: 1000 }).items).toHaveLength(60);
  });

  it('cursors walk every event exactly once, with filters kept', () => {
    const { sender } = open();
    for (let i = 0; i < 25; i++) sender.emit(i % 3 === 0 ? 'a' : 'b', i);
    const pages = allPages((f) => sender.events.list({ ...f, type: 'b' }), 4);
    const seen = pages.flat().map((e) => e.payload);
    expect(seen).toEqual(
      Array.from({ length: 25 }, (_, i) => i)
        .filter((i) => i % 3 !== 0)
        .reverse(),
    );
    expect(pages.slice(0, -1).every((p) => p.length === 4)).toBe(true);
  });

  it('pages are stable when events are added between them', () => {
    const { sender } = open();
    const original: string[] = [];
    for (let i = 0; i < 10; i++) original.push(sender.emit('a', i).id);
    const first = sender.events.list({ limit: 4 });
    for (let i = 0; i < 5; i++) sender.emit('a', 100 + i);
    const second = sender.events.list({ limit: 4, cursor: first.nextCursor! });
    sender.emit('a', 200);
    const third = sender.events.list({ limit: 4, cursor: second.nextCursor! });
    expect(third.nextCursor).toBeNull();
    const walked = [...first.items, ...second.items, ...third.items].map((e) => e.id);
    expect(walked).toEqual([...original].reverse());
  });

  it.each([
    ['garbage', 'not-a-cursor'],
    ['empty', ''],
    ['a number', 5],
    ['a deliveries cursor', Buffer.from('d:3').toString('base64url')],
    ['a zero position', Buffer.from('e:0').toString('base64url')],
    ['a negative position', Buffer.from('e:-1').toString('base64url')],
  ])('refuses a cursor that is %s with ERR_INVALID_CURSOR', (_label, cursor) => {
    const { sender } = open();
    sender.emit('a', 1);
    const error = expectCode(
      () => sender.events.list({ cursor: cursor as never }),
      InvalidArgumentError,
      'ERR_INVALID_CURSOR',
    );
    expect((error as InvalidArgumentError).argument).toBe('cursor');
  });

  it.each([0, -1, 1.5, 1001, '10', Number.NaN, null])('refuses limit %j', (limit) => {
    const { sender } = open();
    const error = expectCode(
      () => sender.events.list({ limit: limit as never }),
      InvalidArgumentError,
      'ERR_INVALID_ARGUMENT',
    );
    expect((error as InvalidArgumentError).argument).toBe('limit');
  });

  it.each<[string, Record<string, unknown>, string, string]>([
    ['an unknown filter', { kind: 'a' }, 'kind', 'ERR_UNKNOWN_OPTION'],
    ['an unreadable since', { since: 'yesterday' }, 'since', 'ERR_INVALID_ARGUMENT'],
    ['an invalid Date until', { until: new Date('x') }, 'until', 'ERR_INVALID_ARGUMENT'],
    ['an empty type', { type: '' }, 'type', 'ERR_INVALID_ARGUMENT'],
    ['a numeric tenant', { tenant: 5 }, 'tenant', 'ERR_INVALID_ARGUMENT'],
  ])('refuses %s', (_label, filter, argument, code) => {
    const { sender } = open();
    const error = expectCode(() => sender.events.list(filter as never), InvalidArgumentError, code);
    expect((error as InvalidArgumentError).argument).toBe(argument);
  });

  it('refuses a filter that is not an object', () => {
    const { sender } = open();
    expectCode(() => sender.events.list('a' as never), InvalidArgumentError, 'ERR_INVALID_ARGUMENT');
  });
});

describe('deliveries.list', () => {
  function seed() {
    const { sender, clock } = open();
    const a = sender.endpoints.add({ url: URL_A });
    clock.advance(1);
    const b = sender.endpoints.add({ url: URL_B, events: ['order.*'] });
    clock.advance(1);
    const acme = sender.endpoints.add({ url: URL_A, tenant: 'acme' });
    clock.advance(998);
    const e1 = sender.emit('order.created', { n: 1 }); // -> a, b at 1000
    clock.advance(1_000);
    const e2 = sender.emit('user.created', { n: 2 }); // -> a at 2000
    clock.advance(1_000);
    const e3 = sender.emit('order.paid', { n: 3 }, { tenant: 'acme' }); // -> acme at 3000
    sender.endpoints.disable(b.id, 'off'); // e1's delivery to b: failed
    return { sender, clock, a, b, acme, e1, e2, e3 };
  }

  const pairs = (items: Delivery[]) => items.map((d) => [d.eventId, d.endpointId]);

  it('lists newest first with the documented fields', () => {
    const { sender, a, b, acme, e1, e2, e3 } = seed();
    const page = sender.deliveries.list();
    expect(page.nextCursor).toBeNull();
    // e1's delivery to b was made first: disabling b fanned the queued e1 out to b as it was; this
    // read made the rest (a's of e1, then e2's and e3's), in queue order.
    expect(pairs(page.items)).toEqual([
      [e3.id, acme.id],
      [e2.id, a.id],
      [e1.id, a.id],
      [e1.id, b.id],
    ]);
    expect(page.items[0]).toEqual({
      id: expect.stringMatching(/^dlv_[1-9][0-9]*$/),
      eventId: e3.id,
      eventType: 'order.paid',
      endpointId: acme.id,
      tenant: 'acme',
      status: 'pending',
      attemptCount: 0,
      nextAttemptAt: at(3_000),
      lastStatusCode: null,
      lastError: null,
      createdAt: at(3_000),
      updatedAt: at(3_000),
    });
  });

  it('filters by status, endpointId, eventId, eventType and tenant', () => {
    const { sender, a, b, acme, e1, e2, e3 } = seed();
    expect(pairs(sender.deliveries.list({ status: 'failed' }).items)).toEqual([[e1.id, b.id]]);
    expect(sender.deliveries.list({ status: 'pending' }).items).toHaveLength(3);
    expect(sender.deliveries.list({ status: 'succeeded' }).items).toEqual([]);
    expect(sender.deliveries.list({ status: 'sending' }).items).toEqual([]);
    expect(pairs(sender.deliveries.list({ endpointId: a.id }).items)).toEqual([
      [e2.id, a.id],
      [e1.id, a.id],
    ]);
    expect(pairs(sender.deliveries.list({ eventId: e1.id }).items)).toEqual([
      [e1.id, a.id],
      [e1.id, b.id],
    ]);
    expect(pairs(sender.deliveries.list({ eventType: 'user.created' }).items)).toEqual([[e2.id, a.id]]);
    expect(pairs(sender.deliveries.list({ tenant: 'acme' }).items)).toEqual([[e3.id, acme.id]]);
    expect(
      pairs(
        sender.deliveries.list({ endpointId: a.id, status: 'pending', eventType: 'order.created' }).items,
      ),
    ).toEqual([[e1.id, a.id]]);
    expect(sender.deliveries.list({ eventId: 'evt_nope' }).items).toEqual([]);
    expect(sender.deliveries.list({ endpointId: 'ep_nope' }).items).toEqual([]);
  });

  it('since and until filter on when the delivery was created', () => {
    const { sender, clock, a, e1, e2 } = seed();
    clock.advance(10_000); // t = 13000
    sender.events.replay(e1.id, { endpointIds: [a.id] });
    expect(pairs(sender.deliveries.list({ since: at(2_000), until: at(3_000) }).items)).toEqual([
      [e2.id, a.id],
    ]);
    expect(pairs(sender.deliveries.list({ since: new Date(T0 + 13_000) }).items)).toEqual([[e1.id, a.id]]);
    expect(sender.deliveries.list({ until: T0 + 1_001 }).items).toHaveLength(2);
  });

  it('pages are stable when deliveries are added between them', () => {
    const { sender } = open();
    sender.endpoints.add({ url: URL_A });
    sender.endpoints.add({ url: URL_B });
    for (let i = 0; i < 5; i++) sender.emit('a', i); // 10 deliveries
    const original = sender.deliveries.list({ limit: 100 }).items.map((d) => d.id);
    expect(original).toHaveLength(10);
    const first = sender.deliveries.list({ limit: 3 });
    for (let i = 0; i < 4; i++) sender.emit('a', 100 + i);
    // A fresh walk sees all 18; the walk begun before the new rows sees exactly the original 10.
    expect(allPages((f) => sender.deliveries.list(f), 3).flat()).toHaveLength(18);
    const walked = [...first.items];
    let cursor = first.nextCursor;
    while (cursor !== null) {
      const page = sender.deliveries.list({ limit: 3, cursor });
      walked.push(...page.items);
      cursor = page.nextCursor;
      sender.emit('a', 'more');
    }
    expect(walked.map((d) => d.id)).toEqual(original);
  });

  it('refuses an events cursor, garbage, bad limits and bad statuses', () => {
    const { sender } = open();
    sender.endpoints.add({ url: URL_A });
    for (let i = 0; i < 3; i++) sender.emit('a', i);
    const eventsCursor = sender.events.list({ limit: 1 }).nextCursor!;
    expectCode(
      () => sender.deliveries.list({ cursor: eventsCursor }),
      InvalidArgumentError,
      'ERR_INVALID_CURSOR',
    );
    expectCode(() => sender.deliveries.list({ cursor: '!!' }), InvalidArgumentError, 'ERR_INVALID_CURSOR');
    const deliveriesCursor = sender.deliveries.list({ limit: 1 }).nextCursor!;
    expectCode(
      () => sender.events.list({ cursor: deliveriesCursor }),
      InvalidArgumentError,
      'ERR_INVALID_CURSOR',
    );
    for (const limit of [0, 1001, 2.5, '5']) {
      expectCode(
        () => sender.deliveries.list({ limit: limit as never }),
        InvalidArgumentError,
        'ERR_INVALID_ARGUMENT',
      );
    }
    for (const status of ['done', 'PENDING', '', 1]) {
      const error = expectCode(
        () => sender.deliveries.list({ status: status as never }),
        InvalidArgumentError,
        'ERR_INVALID_ARGUMENT',
      );
      expect((error as InvalidArgumentError).argument).toBe('status');
    }
    expectCode(
      () => sender.deliveries.list({ state: 'failed' } as never),
      InvalidArgumentError,
      'ERR_UNKNOWN_OPTION',
    );
    expectCode(
      () => sender.deliveries.list({ endpointId: '' }),
      InvalidArgumentError,
      'ERR_INVALID_ARGUMENT',
    );
  });
});

describe('deliveries.get', () => {
  it('returns the delivery with its attempts, oldest first', async () => {
    const receiver = await startReceiver();
    cleanups.push(() => receiver.close());
    let calls = 0;
    receiver.respond((_req, res) => {
      calls++;
      if (calls === 1) {
        res.writeHead(500, { 'content-type': 'text/plain', 'x-trace': 'first' });
        res.end('boom');
      } else {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ok');
      }
    });
    const { sender, clock } = open({ allowPrivateNetworks: true, autoStart: true, retry: () => 30_000 });
    const ep = sender.endpoints.add({ url: receiver.url });
    const ev = sender.emit('order.created', { id: 1 });
    await sender.drain();
    const id = sender.deliveries.list().items[0]!.id;

    const afterFirst = sender.deliveries.get(id);
    expect(afterFirst).toMatchObject({
      id,
      eventId: ev.id,
      endpointId: ep.id,
      status: 'pending',
      attemptCount: 1,
      lastStatusCode: 500,
      lastError: 'HTTP 500',
      nextAttemptAt: at(30_000),
    });
    expect(afterFirst.attempts).toHaveLength(1);

    clock.advance(30_000);
    await receiver.waitFor(2);
    await sender.drain();
    const done = sender.deliveries.get(id);
    expect(done).toMatchObject({
      status: 'succeeded',
      attemptCount: 2,
      lastStatusCode: 200,
      lastError: null,
      nextAttemptAt: null,
      updatedAt: at(30_000),
    });
    expect(done.attempts.map((a) => [a.number, a.statusCode, a.responseBody])).toEqual([
      [1, 500, 'boom'],
      [2, 200, 'ok'],
    ]);
    const [first, second] = done.attempts;
    expect(first).toMatchObject({
      id: expect.stringMatching(/^att_[1-9][0-9]*$/),
      deliveryId: id,
      startedAt: at(0),
      errorCode: null,
      errorMessage: null,
    });
    expect(first!.responseHeaders['x-trace']).toBe('first');
    expect(first!.durationMs).toBeGreaterThanOrEqual(0);
    expect(second!.startedAt).toBe(at(30_000));
    expect(second!.id).not.toBe(first!.id);
    // The list shows the same state, without attempts.
    const listed = sender.deliveries.list({ eventId: ev.id }).items[0]!;
    expect(listed).not.toHaveProperty('attempts');
    const { attempts: _attempts, ...withoutAttempts } = done;
    expect(listed).toEqual(withoutAttempts);
  });

  it('records a connection failure with an error code and no status', async () => {
    // A port that was open a moment ago and is now closed: connection refused.
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const { sender } = open({ allowPrivateNetworks: true, autoStart: true, retry: [] });
    sender.endpoints.add({ url: `http://127.0.0.1:${port}/hook` });
    sender.emit('a', {});
    await sender.drain();
    const [delivery] = sender.deliveries.list().items;
    const got = sender.deliveries.get(delivery!.id);
    expect(got).toMatchObject({
      status: 'failed',
      attemptCount: 1,
      lastStatusCode: null,
      nextAttemptAt: null,
    });
    expect(got.lastError).toMatch(/^ECONNREFUSED/);
    expect(got.attempts).toHaveLength(1);
    expect(got.attempts[0]).toMatchObject({
      number: 1,
      statusCode: null,
      errorCode: 'ECONNREFUSED',
      responseBody: null,
    });
    expect(got.attempts[0]!.errorMessage).toEqual(expect.any(String));
  });

  it('a delivery not tried yet has no attempts', () => {
    const { sender } = open();
    sender.endpoints.add({ url: URL_A });
    sender.emit('a', {});
    const [delivery] = sender.deliveries.list().items;
    expect(sender.deliveries.get(delivery!.id)).toEqual({ ...delivery, attempts: [] });
  });

  it('an unknown id is a NotFoundError carrying it', () => {
    const { sender } = open();
    const error = expectCode(() => sender.deliveries.get('dlv_999'), NotFoundError, 'ERR_NOT_FOUND');
    expect(error.deliveryId).toBe('dlv_999');
  });

  it.each(['', 'x', 'dlv_', 'dlv_0', 'dlv_01', 'dlv_abc', 'evt_1', 42, null])('refuses the id %j', (id) => {
    const { sender } = open();
    expectCode(() => sender.deliveries.get(id as never), InvalidArgumentError, 'ERR_INVALID_ARGUMENT');
  });
});

describe('stats', () => {
  it('counts deliveries by status', async () => {
    const receiver = await startReceiver((req, res) => {
      const status = req.url === '/ok' ? 200 : req.url === '/fail' ? 500 : 503;
      res.writeHead(status);
      res.end();
    });
    cleanups.push(() => receiver.close());
    const base = receiver.url.replace(/\/hook$/, '');
    const { sender } = open({
      allowPrivateNetworks: true,
      autoStart: true,
      // 503: try again in a minute; anything else: give up.
      retry: (c) => (c.statusCode === 503 ? 60_000 : null),
    });
    expect(sender.stats()).toEqual({
      pending: 0,
      sending: 0,
      succeeded: 0,
      failed: 0,
      inFlight: 0,
      oldestPendingAgeMs: 0,
      openCircuits: [],
    });
    sender.endpoints.add({ url: `${base}/ok` });
    sender.endpoints.add({ url: `${base}/fail` });
    sender.endpoints.add({ url: `${base}/later` });
    sender.emit('a', 1);
    sender.emit('a', 2);
    await sender.drain();
    expect(receiver.requests).toHaveLength(6);
    expect(sender.stats()).toEqual({
      pending: 2,
      sending: 0,
      succeeded: 2,
      failed: 2,
      inFlight: 0,
      // Pending, but not due yet: nothing is late.
      oldestPendingAgeMs: 0,
      openCircuits: [],
    });
    expect(sender.deliveries.list({ status: 'succeeded' }).items).toHaveLength(2);
    expect(sender.deliveries.list({ status: 'failed' }).items.every((d) => d.lastStatusCode === 500)).toBe(
      true,
    );
  });

  it('oldestPendingAgeMs is how late the most overdue delivery is', () => {
    const { sender, clock } = open();
    sender.endpoints.add({ url: URL_A });
    sender.emit('a', 1);
    clock.advance(2_000);
    sender.emit('a', 2);
    clock.advance(3_000);
    expect(sender.stats()).toMatchObject({ pending: 2, oldestPendingAgeMs: 5_000 });
  });

  it('disabled and removed endpoints move their deliveries to failed', () => {
    const { sender } = open();
    const a = sender.endpoints.add({ url: URL_A });
    const b = sender.endpoints.add({ url: URL_B });
    sender.emit('a', 1);
    sender.emit('a', 2);
    expect(sender.stats()).toMatchObject({ pending: 4, failed: 0 });
    sender.endpoints.disable(a.id);
    expect(sender.stats()).toMatchObject({ pending: 2, failed: 2 });
    sender.endpoints.remove(b.id);
    expect(sender.stats()).toMatchObject({ pending: 0, failed: 4 });
  });

  it('counts what other senders on the same file wrote', () => {
    const { a, b } = twoSendersOnOneFile();
    a.endpoints.add({ url: URL_A });
    a.emit('x', 1);
    b.emit('x', 2);
    expect(b.stats().pending).toBe(2);
    expect(a.events.list().items).toHaveLength(2);
  });
});

describe('after close()', () => {
  it('reads are a SenderClosedError, not a driver error', async () => {
    const { sender } = open();
    sender.endpoints.add({ url: URL_A });
    const ev = sender.emit('a', 1);
    const id = sender.deliveries.list().items[0]!.id;
    await sender.close();
    const calls: [string, () => unknown][] = [
      ['events.get', () => sender.events.get(ev.id)],
      ['events.list', () => sender.events.list()],
      ['events.replay', () => sender.events.replay(ev.id)],
      ['deliveries.get', () => sender.deliveries.get(id)],
      ['deliveries.list', () => sender.deliveries.list()],
      ['deliveries.retry', () => sender.deliveries.retry(id)],
      ['stats', () => sender.stats()],
    ];
    for (const [name, call] of calls) {
      const error = expectCode(call, SenderClosedError, 'ERR_SENDER_CLOSED');
      expect(error.message).toContain(name);
    }
  });
});
