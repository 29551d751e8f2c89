import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import {
  InvalidArgumentError,
  InvalidPayloadError,
  NotFoundError,
  SenderClosedError,
  WebhookError,
  WebhookSender,
} from '../src/index.js';
import { type Receiver, startReceiver } from './helpers/receiver.js';
import { catchError, cleanups, open, T0, twoSendersOnOneFile, URL_A, URL_B } from './helpers/sender.js';
import { tempDir } from './helpers/tmp.js';

function appDb(file = ':memory:'): Database.Database {
  const db = new Database(file);
  cleanups.push(() => db.close());
  return db;
}

/** Every stored event and delivery (up to 1000 of each). */
function stored(sender: WebhookSender) {
  return {
    events: sender.events.list({ limit: 1000 }).items,
    deliveries: sender.deliveries.list({ limit: 1000 }).items,
  };
}

function expectNothingStored(sender: WebhookSender): void {
  const { events, deliveries } = stored(sender);
  expect(events).toEqual([]);
  expect(deliveries).toEqual([]);
}

const URL_C = 'https://c.example.com/hook';

describe('emit', () => {
  it('is synchronous and returns { id, type, createdAt, deliveries }', () => {
    const { sender } = open();
    sender.endpoints.add({ url: URL_A });
    sender.endpoints.add({ url: URL_B });
    const ev = sender.emit('order.created', { id: 42 });
    expect(ev).not.toBeInstanceOf(Promise);
    expect(Object.keys(ev).sort()).toEqual(['createdAt', 'deliveries', 'id', 'type']);
    expect(ev.id).toMatch(/^evt_[0-9A-Za-z]{22}$/);
    expect(ev.type).toBe('order.created');
    expect(ev.createdAt).toBe('2026-01-01T00:00:00.000Z');
    expect(ev.deliveries).toBe(2);
    // Stored by the time emit returned.
    expect(sender.events.get(ev.id)).toEqual({
      id: ev.id,
      type: 'order.created',
      tenant: null,
      idempotencyKey: null,
      orderingKey: null,
      payload: { id: 42 },
      createdAt: ev.createdAt,
    });
  });

  it('stores the orderingKey with the event', () => {
    const { sender } = open();
    const ev = sender.emit('order.created', { id: 7 }, { orderingKey: 'order-7' });
    expect(sender.events.get(ev.id)).toEqual({
      id: ev.id,
      type: 'order.created',
      tenant: null,
      idempotencyKey: null,
      orderingKey: 'order-7',
      payload: { id: 7 },
      createdAt: ev.createdAt,
    });
    const [item] = sender.emitMany([{ type: 'order.paid', payload: 1, orderingKey: 'order-8' }]);
    expect(sender.events.get(item!.id).orderingKey).toBe('order-8');
  });

  it('writes one pending delivery per matching endpoint, due at once', () => {
    const { sender } = open();
    const a = sender.endpoints.add({ url: URL_A, events: ['order.*'] });
    const b = sender.endpoints.add({ url: URL_B });
    sender.endpoints.add({ url: URL_C, events: ['user.created'] });
    const ev = sender.emit('order.created', { id: 1 });
    expect(ev.deliveries).toBe(2);
    const deliveries = sender.deliveries.list({ eventId: ev.id }).items;
    expect(deliveries.map((d) => d.endpointId).sort()).toEqual([a.id, b.id].sort());
    for (const d of deliveries) {
      expect(d).toMatchObject({
        eventId: ev.id,
        eventType: 'order.created',
        tenant: null,
        status: 'pending',
        attemptCount: 0,
        nextAttemptAt: ev.createdAt,
        lastStatusCode: null,
        lastError: null,
        createdAt: ev.createdAt,
      });
    }
    expect(sender.stats().pending).toBe(2);
  });

  it('gives every event a new id', () => {
    const { sender } = open();
    const ids = new Set(Array.from({ length: 200 }, () => sender.emit('a', null).id));
    expect(ids.size).toBe(200);
  });

  it('round-trips JSON payloads exactly as JSON.stringify sees them', () => {
    const { sender } = open();
    const payloads: unknown[] = [
      null,
      0,
      -1.5,
      'text with "quotes", \\ and \n newlines',
      '日本語 🎉',
      true,
      [],
      [1, 'two', { three: [3] }],
      { nested: { deep: { deeper: [null, false] } }, empty: {} },
    ];
    for (const payload of payloads) {
      expect(sender.events.get(sender.emit('t', payload).id).payload).toEqual(payload);
    }
    // What JSON does to non-JSON values inside an object.
    const when = new Date(T0);
    const ev = sender.emit('t', {
      when,
      skip: undefined,
      fn: () => 1,
      nan: Number.NaN,
      custom: { toJSON: () => 'x' },
    });
    expect(sender.events.get(ev.id).payload).toEqual({ when: when.toISOString(), nan: null, custom: 'x' });
  });

  it('records the time of the injected clock', () => {
    const { sender, clock } = open();
    const first = sender.emit('a', 1);
    clock.advance(1_500);
    const second = sender.emit('a', 2);
    expect(first.createdAt).toBe('2026-01-01T00:00:00.000Z');
    expect(second.createdAt).toBe('2026-01-01T00:00:01.500Z');
  });

  it('works on a database file and survives reopening', async () => {
    const tmp = tempDir();
    cleanups.push(tmp.cleanup);
    const first = new WebhookSender({ database: tmp.file(), autoStart: false });
    const ep = first.endpoints.add({ url: URL_A });
    const ev = first.emit('order.created', { id: 7 }, { tenant: undefined });
    await first.close();
    const second = new WebhookSender({ database: tmp.file(), autoStart: false });
    cleanups.push(() => second.close());
    expect(second.events.get(ev.id).payload).toEqual({ id: 7 });
    expect(second.deliveries.list().items.map((d) => [d.eventId, d.endpointId, d.status])).toEqual([
      [ev.id, ep.id, 'pending'],
    ]);
  });
});

describe("emit inside the application's transaction", () => {
  function setup() {
    const db = appDb();
    db.exec('CREATE TABLE orders (id INTEGER PRIMARY KEY, total INTEGER NOT NULL)');
    const { sender } = open({ database: db });
    sender.endpoints.add({ url: URL_A });
    const insertOrder = db.prepare('INSERT INTO orders (id, total) VALUES (?, ?)');
    const orders = () => db.prepare('SELECT count(*) AS n FROM orders').get() as { n: number };
    return { db, sender, insertOrder, orders };
  }

  it('rolls back with it: nothing stored, no delivery', () => {
    const { db, sender, insertOrder, orders } = setup();
    let emitted: { id: string } | undefined;
    const placeOrder = db.transaction(() => {
      insertOrder.run(1, 100);
      emitted = sender.emit('order.created', { id: 1 });
      throw new Error('payment declined');
    });
    expect(() => placeOrder()).toThrow('payment declined');
    expect(emitted?.id).toMatch(/^evt_/);
    expect(orders().n).toBe(0);
    expectNothingStored(sender);
    expect(() => sender.events.get(emitted!.id)).toThrow(NotFoundError);
    expect(sender.stats().pending).toBe(0);
  });

  it('commits with it: the event and its deliveries are stored', () => {
    const { db, sender, insertOrder, orders } = setup();
    const ev = db.transaction(() => {
      insertOrder.run(1, 100);
      return sender.emit('order.created', { id: 1 });
    })();
    expect(orders().n).toBe(1);
    expect(sender.events.get(ev.id).payload).toEqual({ id: 1 });
    expect(sender.deliveries.list({ eventId: ev.id }).items).toHaveLength(1);
  });

  it('emitMany rolls back with it too', () => {
    const { db, sender } = setup();
    expect(() =>
      db.transaction(() => {
        sender.emitMany([
          { type: 'a', payload: 1 },
          { type: 'b', payload: 2 },
        ]);
        throw new Error('abort');
      })(),
    ).toThrow('abort');
    expectNothingStored(sender);
  });

  it('a refused emit inside it does not undo the application’s own writes', () => {
    const { db, sender, insertOrder, orders } = setup();
    db.transaction(() => {
      insertOrder.run(1, 100);
      expect(() => sender.emit('order.created', { id: 1 }, { endpointIds: ['ep_missing'] })).toThrow(
        NotFoundError,
      );
      sender.emit('order.created', { id: 1 });
    })();
    expect(orders().n).toBe(1);
    const { events, deliveries } = stored(sender);
    expect(events).toHaveLength(1);
    expect(deliveries).toHaveLength(1);
  });

  it('an endpoint added in a rolled-back transaction never receives later events', () => {
    // The endpoint cache is loaded inside the transaction; after the rollback
    // the next endpoint change must still make it reload.
    const db = appDb();
    const { sender } = open({ database: db });
    let phantom: { id: string } | undefined;
    expect(() =>
      db.transaction(() => {
        phantom = sender.endpoints.add({ url: URL_A });
        expect(sender.emit('x', 1).deliveries).toBe(1);
        throw new Error('rollback');
      })(),
    ).toThrow('rollback');
    expect(sender.endpoints.list()).toEqual([]);
    const real = sender.endpoints.add({ url: URL_B });
    const ev = sender.emit('x', 2);
    expect(ev.deliveries).toBe(1);
    const targets = sender.deliveries.list({ eventId: ev.id }).items.map((d) => d.endpointId);
    expect(targets).toEqual([real.id]);
    expect(targets).not.toContain(phantom!.id);
  });

  it('a disable rolled back with the transaction does not stick in the cache', () => {
    const db = appDb();
    const { sender } = open({ database: db });
    const a = sender.endpoints.add({ url: URL_A });
    expect(() =>
      db.transaction(() => {
        sender.endpoints.disable(a.id, 'temporarily');
        expect(sender.emit('x', 1).deliveries).toBe(0);
        throw new Error('rollback');
      })(),
    ).toThrow('rollback');
    expect(sender.endpoints.get(a.id).enabled).toBe(true);
    sender.endpoints.add({ url: URL_B });
    expect(sender.emit('x', 2).deliveries).toBe(2);
  });

  it('an emit that was rolled back is never delivered', async () => {
    const receiver: Receiver = await startReceiver();
    cleanups.push(() => receiver.close());
    const db = appDb();
    const { sender } = open({ database: db, allowPrivateNetworks: true, autoStart: true });
    sender.endpoints.add({ url: receiver.url });
    expect(() =>
      db.transaction(() => {
        sender.emit('order.created', { id: 'rolled-back' });
        throw new Error('rollback');
      })(),
    ).toThrow('rollback');
    const ok = db.transaction(() => sender.emit('order.created', { id: 'committed' }))();
    await sender.drain();
    expect(receiver.requests).toHaveLength(1);
    expect(JSON.parse(receiver.requests[0]!.body)).toMatchObject({ id: ok.id, data: { id: 'committed' } });
  });
});

describe('fan-out: event types', () => {
  function fanOut(patterns: string[], types: string[]): number[] {
    const { sender } = open();
    sender.endpoints.add({ url: URL_A, events: patterns });
    return types.map((type) => sender.emit(type, {}).deliveries);
  }

  it('exact types', () => {
    expect(
      fanOut(['order.created', 'user.deleted'], ['order.created', 'user.deleted', 'order.updated']),
    ).toEqual([1, 1, 0]);
  });

  it("'order.*' matches order.created and order.item.added, not orders.x or order", () => {
    expect(
      fanOut(['order.*'], ['order.created', 'order.item.added', 'orders.x', 'order', 'x.order.y']),
    ).toEqual([1, 1, 0, 0, 0]);
  });

  it("'*' matches every type", () => {
    expect(fanOut(['*'], ['a', 'order.created', 'a.b.c.d'])).toEqual([1, 1, 1]);
  });

  it('the default subscription is every type', () => {
    const { sender } = open();
    expect(sender.endpoints.add({ url: URL_A }).events).toEqual(['*']);
    expect(sender.emit('anything.at.all', {}).deliveries).toBe(1);
  });

  it("a middle wildcard 'a.*.c' stands for exactly one segment", () => {
    expect(fanOut(['a.*.c'], ['a.b.c', 'a.xyz.c', 'a.c', 'a.b.b.c', 'a.b.c.d'])).toEqual([1, 1, 0, 0, 0]);
  });

  it('counts each endpoint once even when several of its patterns match', () => {
    expect(fanOut(['order.*', 'order.created', '*'], ['order.created'])).toEqual([1]);
  });

  it('follows an endpoint whose subscription was updated', () => {
    const { sender } = open();
    const ep = sender.endpoints.add({ url: URL_A, events: ['a'] });
    expect(sender.emit('b', {}).deliveries).toBe(0);
    sender.endpoints.update(ep.id, { events: ['b'] });
    expect(sender.emit('b', {}).deliveries).toBe(1);
    expect(sender.emit('a', {}).deliveries).toBe(0);
  });
});

describe('fan-out: tenants', () => {
  function setup() {
    const { sender } = open();
    const acme = sender.endpoints.add({ url: URL_A, tenant: 'acme' });
    const globex = sender.endpoints.add({ url: URL_B, tenant: 'globex' });
    const shared = sender.endpoints.add({ url: URL_C });
    return { sender, acme, globex, shared };
  }

  const targets = (sender: WebhookSender, eventId: string) =>
    sender.deliveries.list({ eventId }).items.map((d) => d.endpointId);

  it("an event with a tenant reaches only that tenant's endpoints", () => {
    const { sender, acme } = setup();
    const ev = sender.emit('order.created', {}, { tenant: 'acme' });
    expect(ev.deliveries).toBe(1);
    expect(targets(sender, ev.id)).toEqual([acme.id]);
    expect(sender.events.get(ev.id).tenant).toBe('acme');
    expect(sender.deliveries.list({ eventId: ev.id }).items[0]?.tenant).toBe('acme');
  });

  it('an event without a tenant reaches only endpoints without one', () => {
    const { sender, shared } = setup();
    const ev = sender.emit('order.created', {});
    expect(targets(sender, ev.id)).toEqual([shared.id]);
  });

  it('an event of a tenant nobody subscribed is stored with no delivery', () => {
    const { sender } = setup();
    const ev = sender.emit('order.created', { x: 1 }, { tenant: 'initech' });
    expect(ev.deliveries).toBe(0);
    expect(sender.events.get(ev.id).tenant).toBe('initech');
  });

  it('tenant names are compared exactly', () => {
    const { sender } = setup();
    expect(sender.emit('a', {}, { tenant: 'ACME' }).deliveries).toBe(0);
    expect(sender.emit('a', {}, { tenant: 'acme ' }).deliveries).toBe(0);
  });

  it('an endpoint moved to another tenant follows', () => {
    const { sender, shared } = setup();
    sender.endpoints.update(shared.id, { tenant: 'acme' });
    expect(sender.emit('a', {}).deliveries).toBe(0);
    expect(sender.emit('a', {}, { tenant: 'acme' }).deliveries).toBe(2);
    sender.endpoints.update(shared.id, { tenant: null });
    expect(sender.emit('a', {}).deliveries).toBe(1);
  });
});

describe('events nobody subscribed to', () => {
  it('are stored with deliveries: 0, and a replay reaches an endpoint added later', () => {
    const { sender, clock } = open();
    const ev = sender.emit('order.created', { id: 1 });
    expect(ev.deliveries).toBe(0);
    expect(sender.events.get(ev.id).payload).toEqual({ id: 1 });
    expect(sender.deliveries.list().items).toEqual([]);

    clock.advance(60_000);
    const later = sender.endpoints.add({ url: URL_A, events: ['order.*'] });
    sender.endpoints.add({ url: URL_B, events: ['user.*'] });
    expect(sender.events.replay(ev.id)).toBe(1);
    const deliveries = sender.deliveries.list({ eventId: ev.id }).items;
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]).toMatchObject({
      endpointId: later.id,
      status: 'pending',
      eventType: 'order.created',
      createdAt: '2026-01-01T00:01:00.000Z',
      nextAttemptAt: '2026-01-01T00:01:00.000Z',
    });
  });

  it('a replay can name the endpoints, and refuses unknown or foreign ones', () => {
    const { sender } = open();
    const ev = sender.emit('a', {}, { tenant: 'acme' });
    const acme = sender.endpoints.add({ url: URL_A, tenant: 'acme', events: ['other'] });
    const other = sender.endpoints.add({ url: URL_B, tenant: 'globex' });
    expect(sender.events.replay(ev.id, { endpointIds: [acme.id, acme.id] })).toBe(1);
    expect(() => sender.events.replay(ev.id, { endpointIds: [other.id] })).toThrow(NotFoundError);
    expect(() => sender.events.replay(ev.id, { endpointIds: ['ep_nope'] })).toThrow(NotFoundError);
    expect(() => sender.events.replay('evt_nope')).toThrow(NotFoundError);
    expect(sender.deliveries.list().items).toHaveLength(1);
  });
});

describe('disabled endpoints', () => {
  it('are skipped by emit, and reached again once enabled', () => {
    const { sender } = open();
    const a = sender.endpoints.add({ url: URL_A });
    const b = sender.endpoints.add({ url: URL_B });
    sender.endpoints.disable(a.id, 'maintenance');
    const ev = sender.emit('x', {});
    expect(ev.deliveries).toBe(1);
    expect(sender.deliveries.list({ eventId: ev.id }).items.map((d) => d.endpointId)).toEqual([b.id]);
    sender.endpoints.enable(a.id);
    expect(sender.emit('x', {}).deliveries).toBe(2);
  });
});

describe('idempotencyKey', () => {
  it('a second emit with the same key returns the first event and stores nothing', () => {
    const { sender, clock } = open();
    sender.endpoints.add({ url: URL_A });
    const first = sender.emit('order.created', { v: 1 }, { idempotencyKey: 'order-42' });
    clock.advance(5_000);
    sender.endpoints.add({ url: URL_B });
    const second = sender.emit('order.updated', { v: 2 }, { idempotencyKey: 'order-42' });
    expect(second).toEqual(first);
    expect(second.createdAt).toBe('2026-01-01T00:00:00.000Z');
    expect(second.deliveries).toBe(1);
    const { events, deliveries } = stored(sender);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ id: first.id, payload: { v: 1 }, idempotencyKey: 'order-42' });
    expect(deliveries).toHaveLength(1);
  });

  it('keys are per tenant', () => {
    const { sender } = open();
    const none = sender.emit('a', 0, { idempotencyKey: 'k' });
    const acme = sender.emit('a', 1, { idempotencyKey: 'k', tenant: 'acme' });
    const globex = sender.emit('a', 2, { idempotencyKey: 'k', tenant: 'globex' });
    expect(new Set([none.id, acme.id, globex.id]).size).toBe(3);
    expect(sender.emit('a', 3, { idempotencyKey: 'k', tenant: 'acme' }).id).toBe(acme.id);
    expect(sender.emit('a', 4, { idempotencyKey: 'k' }).id).toBe(none.id);
    expect(stored(sender).events).toHaveLength(3);
  });

  it('different keys make different events; no key never dedupes', () => {
    const { sender } = open();
    const a = sender.emit('a', 1, { idempotencyKey: 'k1' });
    const b = sender.emit('a', 1, { idempotencyKey: 'k2' });
    const c = sender.emit('a', 1);
    const d = sender.emit('a', 1);
    expect(new Set([a.id, b.id, c.id, d.id]).size).toBe(4);
  });

  it('holds across senders sharing a database file', () => {
    const { a, b } = twoSendersOnOneFile();
    const first = a.emit('a', 1, { idempotencyKey: 'shared' });
    expect(b.emit('a', 2, { idempotencyKey: 'shared' }).id).toBe(first.id);
    expect(b.events.list().items).toHaveLength(1);
  });

  it('a key whose first emit was rolled back is free again', () => {
    const db = appDb();
    const { sender } = open({ database: db });
    expect(() =>
      db.transaction(() => {
        sender.emit('a', 1, { idempotencyKey: 'k' });
        throw new Error('rollback');
      })(),
    ).toThrow('rollback');
    const ev = sender.emit('a', 2, { idempotencyKey: 'k' });
    expect(sender.events.get(ev.id).payload).toBe(2);
  });
});

describe('emitMany', () => {
  it('stores every event and returns them in order', () => {
    const { sender } = open();
    sender.endpoints.add({ url: URL_A, events: ['order.*'] });
    const out = sender.emitMany([
      { type: 'order.created', payload: { n: 1 } },
      { type: 'user.created', payload: { n: 2 } },
      { type: 'order.paid', payload: { n: 3 }, tenant: 'acme' },
    ]);
    expect(out.map((e) => [e.type, e.deliveries])).toEqual([
      ['order.created', 1],
      ['user.created', 0],
      ['order.paid', 0],
    ]);
    expect(out.map((e) => sender.events.get(e.id).payload)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(sender.events.get(out[2]!.id).tenant).toBe('acme');
  });

  it('an empty batch stores nothing', () => {
    const { sender } = open();
    expect(sender.emitMany([])).toEqual([]);
    expectNothingStored(sender);
  });

  it('an invalid item 3 stores nothing of the batch', () => {
    const { sender } = open();
    sender.endpoints.add({ url: URL_A });
    const error = catchError(() =>
      sender.emitMany([
        { type: 'a', payload: 1 },
        { type: 'b', payload: 2 },
        { type: 'not valid', payload: 3 },
      ]),
    );
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ code: 'ERR_INVALID_EVENT_TYPE', argument: 'events[2].type' });
    expectNothingStored(sender);
  });

  it('an unserializable payload in item 3 stores nothing of the batch', () => {
    const { sender } = open();
    expect(() =>
      sender.emitMany([
        { type: 'a', payload: 1 },
        { type: 'b', payload: 2 },
        { type: 'c', payload: 3n },
      ]),
    ).toThrow(InvalidPayloadError);
    expectNothingStored(sender);
  });

  it('an unknown endpoint in item 3 rolls back the items already written', () => {
    const { sender } = open();
    sender.endpoints.add({ url: URL_A });
    expect(() =>
      sender.emitMany([
        { type: 'a', payload: 1 },
        { type: 'b', payload: 2 },
        { type: 'c', payload: 3, endpointIds: ['ep_missing'] },
      ]),
    ).toThrow(NotFoundError);
    expectNothingStored(sender);
  });

  it('handles a duplicate idempotency key inside one batch', () => {
    const { sender } = open();
    sender.endpoints.add({ url: URL_A });
    const out = sender.emitMany([
      { type: 'a', payload: 1, idempotencyKey: 'k' },
      { type: 'a', payload: 2, idempotencyKey: 'k' },
      { type: 'a', payload: 3, idempotencyKey: 'k', tenant: 'acme' },
    ]);
    expect(out[1]).toEqual(out[0]);
    expect(out[2]!.id).not.toBe(out[0]!.id);
    const { events, deliveries } = stored(sender);
    expect(events).toHaveLength(2);
    expect(sender.events.get(out[0]!.id).payload).toBe(1);
    // A batch queues its events for fan-out; the read creates the one delivery (the tenant's
    // event matched no endpoint).
    expect(deliveries).toHaveLength(1);
    expect(sender.stats().pending).toBe(1);
  });

  it('dedupes against events stored before the batch', () => {
    const { sender } = open();
    const before = sender.emit('a', 0, { idempotencyKey: 'k' });
    const out = sender.emitMany([
      { type: 'a', payload: 1, idempotencyKey: 'k' },
      { type: 'a', payload: 2 },
    ]);
    expect(out[0]!.id).toBe(before.id);
    expect(stored(sender).events).toHaveLength(2);
  });

  it.each([
    ['not an array', { type: 'a', payload: 1 }, 'events'],
    ['an item that is not an object', [{ type: 'a', payload: 1 }, 'b'], 'events[1]'],
    ['an item that is null', [null], 'events[0]'],
  ])('refuses %s', (_label, input, argument) => {
    const { sender } = open();
    const error = catchError(() => sender.emitMany(input as never));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', argument });
    expectNothingStored(sender);
  });

  it('refuses an unknown item key', () => {
    const { sender } = open();
    const error = catchError(() => sender.emitMany([{ type: 'a', payload: 1, tenat: 'x' } as never]));
    expect(error).toMatchObject({ code: 'ERR_UNKNOWN_OPTION', argument: 'tenat' });
    expectNothingStored(sender);
  });

  it('refuses a batch after close()', async () => {
    const { sender } = open();
    await sender.close();
    expect(() => sender.emitMany([{ type: 'a', payload: 1 }])).toThrow(SenderClosedError);
  });
});

describe('endpointIds', () => {
  function setup() {
    const { sender } = open();
    const a = sender.endpoints.add({ url: URL_A });
    const b = sender.endpoints.add({ url: URL_B });
    const c = sender.endpoints.add({ url: URL_C, events: ['user.*'] });
    return { sender, a, b, c };
  }

  it('restricts the fan-out to the given endpoints', () => {
    const { sender, b } = setup();
    const ev = sender.emit('order.created', {}, { endpointIds: [b.id] });
    expect(ev.deliveries).toBe(1);
    expect(sender.deliveries.list({ eventId: ev.id }).items.map((d) => d.endpointId)).toEqual([b.id]);
  });

  it('an endpoint must still match the type', () => {
    const { sender, a, c } = setup();
    const ev = sender.emit('order.created', {}, { endpointIds: [a.id, c.id] });
    expect(sender.deliveries.list({ eventId: ev.id }).items.map((d) => d.endpointId)).toEqual([a.id]);
  });

  it('an empty list sends to nobody but stores the event', () => {
    const { sender } = setup();
    const ev = sender.emit('order.created', {}, { endpointIds: [] });
    expect(ev.deliveries).toBe(0);
    expect(sender.events.get(ev.id).type).toBe('order.created');
  });

  it('a disabled endpoint is not an error, and not a target', () => {
    const { sender, a, b } = setup();
    sender.endpoints.disable(a.id);
    const ev = sender.emit('order.created', {}, { endpointIds: [a.id, b.id] });
    expect(sender.deliveries.list({ eventId: ev.id }).items.map((d) => d.endpointId)).toEqual([b.id]);
  });

  it('an unknown endpoint id is a NotFoundError and nothing is stored', () => {
    const { sender, a } = setup();
    const error = catchError(() => sender.emit('order.created', {}, { endpointIds: [a.id, 'ep_nope'] }));
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toBeInstanceOf(WebhookError);
    expect(error).toMatchObject({ code: 'ERR_NOT_FOUND', endpointId: 'ep_nope' });
    expectNothingStored(sender);
  });

  it('a removed endpoint id is unknown', () => {
    const { sender, a } = setup();
    sender.endpoints.remove(a.id);
    expect(() => sender.emit('x', {}, { endpointIds: [a.id] })).toThrow(NotFoundError);
    expectNothingStored(sender);
  });

  it.each([
    ['a string', 'ep_1'],
    ['numbers', [1]],
    ['an empty id', ['']],
    ['null', null],
  ])('refuses %s', (_label, endpointIds) => {
    const { sender } = setup();
    const error = catchError(() => sender.emit('x', {}, { endpointIds } as never));
    expect(error).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', argument: 'endpointIds' });
    expectNothingStored(sender);
  });
});

describe('bad input: a typed error with a stable code, and nothing stored', () => {
  const circular: Record<string, unknown> = { a: 1 };
  circular.self = circular;

  const table: [label: string, emit: (s: WebhookSender) => unknown, type: Function, code: string][] = [
    ['an empty type', (s) => s.emit('', {}), InvalidArgumentError, 'ERR_INVALID_EVENT_TYPE'],
    [
      'a 256-character type',
      (s) => s.emit('a'.repeat(256), {}),
      InvalidArgumentError,
      'ERR_INVALID_EVENT_TYPE',
    ],
    [
      'a type with spaces',
      (s) => s.emit('order created', {}),
      InvalidArgumentError,
      'ERR_INVALID_EVENT_TYPE',
    ],
    ['a type with a wildcard', (s) => s.emit('order.*', {}), InvalidArgumentError, 'ERR_INVALID_EVENT_TYPE'],
    [
      'a type with an empty segment',
      (s) => s.emit('order..x', {}),
      InvalidArgumentError,
      'ERR_INVALID_EVENT_TYPE',
    ],
    ['a type ending in a dot', (s) => s.emit('order.', {}), InvalidArgumentError, 'ERR_INVALID_EVENT_TYPE'],
    [
      'a type that is not a string',
      (s) => s.emit(42 as never, {}),
      InvalidArgumentError,
      'ERR_INVALID_EVENT_TYPE',
    ],
    ['a circular payload', (s) => s.emit('a', circular), InvalidPayloadError, 'ERR_PAYLOAD_NOT_SERIALIZABLE'],
    ['a BigInt payload', (s) => s.emit('a', 10n), InvalidPayloadError, 'ERR_PAYLOAD_NOT_SERIALIZABLE'],
    ['a nested BigInt', (s) => s.emit('a', { n: [1n] }), InvalidPayloadError, 'ERR_PAYLOAD_NOT_SERIALIZABLE'],
    ['a function payload', (s) => s.emit('a', () => 1), InvalidPayloadError, 'ERR_PAYLOAD_NOT_SERIALIZABLE'],
    [
      'an undefined payload',
      (s) => s.emit('a', undefined),
      InvalidPayloadError,
      'ERR_PAYLOAD_NOT_SERIALIZABLE',
    ],
    [
      'a symbol payload',
      (s) => s.emit('a', Symbol('x')),
      InvalidPayloadError,
      'ERR_PAYLOAD_NOT_SERIALIZABLE',
    ],
    [
      'a payload whose toJSON throws',
      (s) =>
        s.emit('a', {
          toJSON() {
            throw new Error('nope');
          },
        }),
      InvalidPayloadError,
      'ERR_PAYLOAD_NOT_SERIALIZABLE',
    ],
    [
      'a payload over 1 MiB of JSON',
      (s) => s.emit('a', 'x'.repeat(1024 * 1024 - 1)),
      InvalidPayloadError,
      'ERR_PAYLOAD_TOO_LARGE',
    ],
    [
      'an unknown emit option',
      (s) => s.emit('a', {}, { tenat: 'acme' } as never),
      InvalidArgumentError,
      'ERR_UNKNOWN_OPTION',
    ],
    [
      'options that are not an object',
      (s) => s.emit('a', {}, 'acme' as never),
      InvalidArgumentError,
      'ERR_INVALID_ARGUMENT',
    ],
    [
      'options that are null',
      (s) => s.emit('a', {}, null as never),
      InvalidArgumentError,
      'ERR_INVALID_ARGUMENT',
    ],
    ['an empty tenant', (s) => s.emit('a', {}, { tenant: '' }), InvalidArgumentError, 'ERR_INVALID_ARGUMENT'],
    [
      'a numeric tenant',
      (s) => s.emit('a', {}, { tenant: 7 as never }),
      InvalidArgumentError,
      'ERR_INVALID_ARGUMENT',
    ],
    [
      'a 256-character tenant',
      (s) => s.emit('a', {}, { tenant: 't'.repeat(256) }),
      InvalidArgumentError,
      'ERR_INVALID_ARGUMENT',
    ],
    [
      'an empty idempotencyKey',
      (s) => s.emit('a', {}, { idempotencyKey: '' }),
      InvalidArgumentError,
      'ERR_INVALID_ARGUMENT',
    ],
    [
      'a 256-character idempotencyKey',
      (s) => s.emit('a', {}, { idempotencyKey: 'k'.repeat(256) }),
      InvalidArgumentError,
      'ERR_INVALID_ARGUMENT',
    ],
    [
      'an empty orderingKey',
      (s) => s.emit('a', {}, { orderingKey: '' }),
      InvalidArgumentError,
      'ERR_INVALID_ARGUMENT',
    ],
    [
      'a numeric orderingKey',
      (s) => s.emit('a', {}, { orderingKey: 3 as never }),
      InvalidArgumentError,
      'ERR_INVALID_ARGUMENT',
    ],
  ];

  it.each(table)('%s', (_label, emit, type, code) => {
    const { sender } = open();
    sender.endpoints.add({ url: URL_A });
    const error = catchError(() => emit(sender));
    expect(error).toBeInstanceOf(type);
    expect(error).toBeInstanceOf(WebhookError);
    expect((error as WebhookError).code).toBe(code);
    expectNothingStored(sender);
  });

  it('the error names the argument and echoes the bad type', () => {
    const { sender } = open();
    const error = catchError(() => sender.emit('order created', {})) as InvalidArgumentError;
    expect(error.argument).toBe('type');
    expect(error.message).toContain('"order created"');
    const option = catchError(() => sender.emit('a', {}, { tenat: 'acme' } as never)) as InvalidArgumentError;
    expect(option.argument).toBe('tenat');
    expect(option.message).toContain('`tenat`');
  });

  it('the payload error keeps the JSON error as its cause', () => {
    const { sender } = open();
    const error = catchError(() => sender.emit('a', 1n)) as InvalidPayloadError;
    expect(error.cause).toBeInstanceOf(TypeError);
    expect(error.message).toMatch(/BigInt/);
  });

  it('a 255-character type and a 255-character tenant are fine', () => {
    const { sender } = open();
    const ev = sender.emit('a'.repeat(255), {}, { tenant: 't'.repeat(255), idempotencyKey: 'k'.repeat(255) });
    expect(sender.events.get(ev.id).type).toHaveLength(255);
  });

  it('types may use letters, digits and _:/- in dot-separated segments', () => {
    const { sender } = open();
    expect(sender.emit('v2/Order_Created:now-ish.x', {}).type).toBe('v2/Order_Created:now-ish.x');
  });

  it('payload size counts UTF-8 bytes of the JSON, not characters', () => {
    const { sender } = open({ maxPayloadBytes: 10 });
    // "éééé" is 2 quotes + 4 × 2 bytes = 10 bytes.
    expect(sender.emit('a', 'éééé').deliveries).toBe(0);
    const error = catchError(() => sender.emit('a', 'ééééé')) as InvalidPayloadError;
    expect(error.code).toBe('ERR_PAYLOAD_TOO_LARGE');
    expect(error.message).toContain('12 bytes');
    expect(error.message).toContain('(10)');
    expect(stored(sender).events).toHaveLength(1);
  });

  it('exactly maxPayloadBytes (default 1 MiB) is accepted', () => {
    const { sender } = open();
    const ev = sender.emit('a', 'x'.repeat(1024 * 1024 - 2));
    expect((sender.events.get(ev.id).payload as string).length).toBe(1024 * 1024 - 2);
  });

  it('a small maxPayloadBytes refuses an object just over it', () => {
    const { sender } = open({ maxPayloadBytes: 20 });
    expect(() => sender.emit('a', { k: 'x'.repeat(12) })).not.toThrow(); // {"k":"xxxxxxxxxxxx"} = 20
    expect(() => sender.emit('a', { k: 'x'.repeat(13) })).toThrow(
      expect.objectContaining({ code: 'ERR_PAYLOAD_TOO_LARGE' }),
    );
  });

  it('emit after close() is a SenderClosedError', async () => {
    const { sender } = open();
    await sender.close();
    const error = catchError(() => sender.emit('a', {}));
    expect(error).toBeInstanceOf(SenderClosedError);
    expect(error).toMatchObject({ code: 'ERR_SENDER_CLOSED' });
    expect((error as Error).message).toContain('emit');
  });

  it("emit after close() on the application's database stores nothing", async () => {
    const db = appDb();
    const { sender } = open({ database: db });
    await sender.close();
    expect(() => sender.emit('a', {})).toThrow(SenderClosedError);
    expect(db.prepare('SELECT count(*) AS n FROM hookline_events').get()).toEqual({ n: 0 });
  });
});
