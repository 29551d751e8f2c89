import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { WebhookSender } from '../src/index.js';
import { EndpointCache } from '../src/store/sqlite/endpoint-cache.js';
import { SqliteStore } from '../src/store/sqlite/store.js';
import { cleanupAfterEach } from './helpers/cleanups.js';
import { harness, payloadOf, within } from './helpers/harness.js';
import {
  type Kit,
  kit,
  postgresStore,
  type Sender,
  sqliteStore,
  sqliteWorkerStore,
} from './helpers/stores.js';
import { tempDir } from './helpers/tmp.js';

// Fan-out off the emit path: an event to more endpoints than an emit writes itself (4) is queued,
// and the engine creates its deliveries. Each test here emits to more than 4, so the queue is what
// is under test, on both stores and both engines; which endpoints an event goes to must still be
// decided at emit.

/** Endpoints enough that an emit queues its event. */
const MANY = 6;

/** Where each request went (the endpoint's path) and the `n` of its payload, in arrival order. */
async function recording(k: Kit) {
  const got: { path: string; n: number }[] = [];
  const receiver = await k.receiver((request, res) => {
    got.push({
      path: request.url.slice(request.url.lastIndexOf('/')),
      n: payloadOf<{ n: number }>(request).n,
    });
    res.writeHead(200).end();
  });
  const url = (name: string) => `${receiver.url}/${name}`;
  const paths = (n?: number) =>
    got
      .filter((r) => n === undefined || r.n === n)
      .map((r) => r.path)
      .sort();
  return { receiver, url, got, paths };
}

async function addMany(s: Sender, url: (name: string) => string, n: number, extra = {}) {
  const ids: string[] = [];
  for (let i = 1; i <= n; i++) ids.push((await s.endpoints.add({ url: url(`ep${i}`), ...extra })).id);
  return ids;
}

const stores = [sqliteStore(), sqliteWorkerStore(), postgresStore()].map((s) => [s.name, s] as const);

describe.each(stores)('fan-out on %s', (_name, store) => {
  const k = kit(store);
  afterEach(() => k.cleanup());
  afterAll(() => store.dispose());

  it.skipIf(!store.available)(
    'an event to many endpoints is queued at emit and every endpoint gets it once from the engine',
    async () => {
      const r = await recording(k);
      const s = await k.sender({ autoStart: false });
      await addMany(s, r.url, MANY);
      const emitted = await s.emit('order.created', { n: 1 });
      expect(emitted.deliveries).toBe(MANY);
      // Queued, not written: the deliveries are the engine's to create, and stats count them already.
      expect((await s.stats()).pending).toBe(MANY);
      await s.start();
      await s.drain();
      expect(r.paths()).toEqual(Array.from({ length: MANY }, (_, i) => `/ep${i + 1}`));
      const rows = (await s.deliveries.list({ eventId: emitted.id })).items;
      expect(rows.map((d) => d.status)).toEqual(Array(MANY).fill('succeeded'));
      expect((await s.stats()).pending).toBe(0);
    },
  );

  it.skipIf(!store.available)(
    'a read of the delivery log right after the emit shows every delivery, made once; a replay at once adds its own',
    async () => {
      const r = await recording(k);
      const s = await k.sender({ autoStart: false });
      await addMany(s, r.url, MANY);
      const emitted = await s.emit('order.created', { n: 1 });
      const listed = (await s.deliveries.list({ eventId: emitted.id })).items;
      expect(listed.map((d) => d.status)).toEqual(Array(MANY).fill('pending'));
      expect(new Set(listed.map((d) => d.endpointId)).size).toBe(MANY);
      // A second emit, replayed at once: its own deliveries are made first, the replays after them.
      const second = await s.emit('order.created', { n: 2 });
      expect(await s.events.replay(second.id)).toBe(MANY);
      await s.start();
      await s.drain();
      expect(r.paths()).toHaveLength(MANY * 3);
      const all = (await s.deliveries.list({ limit: 100 })).items;
      expect(all).toHaveLength(MANY * 3);
      expect(new Set(all.map((d) => d.id)).size).toBe(MANY * 3);
      // Each endpoint has the second event twice: its emit's delivery and the replay's.
      const ofSecond = all.filter((d) => d.eventId === second.id).map((d) => d.endpointId);
      expect(ofSecond.sort()).toEqual(listed.flatMap((d) => [d.endpointId, d.endpointId]).sort());
    },
  );

  it.skipIf(!store.available)(
    'the endpoints are those of the emit: changes before the fan-out do not add or drop any',
    async () => {
      const r = await recording(k);
      const s = await k.sender({ autoStart: false });
      const ids = await addMany(s, r.url, MANY, { events: ['order.*'] });
      const off = (await s.endpoints.add({ url: r.url('off'), events: ['order.*'] })).id;
      await s.endpoints.disable(off);
      const first = await s.emit('order.created', { n: 1 });
      expect(first.deliveries).toBe(MANY);
      // Every kind of change, after the emit and before the engine fans it out.
      await s.endpoints.add({ url: r.url('late'), events: ['order.*'] });
      await s.endpoints.disable(ids[0]!);
      await s.endpoints.remove(ids[1]!);
      await s.endpoints.update(ids[2]!, { events: ['user.*'] });
      await s.endpoints.enable(off);
      await s.endpoints.rotateSecret(ids[3]!);
      // After the changes: the endpoints as they are now.
      const second = await s.emit('order.created', { n: 2 });
      expect(second.deliveries).toBe(5);
      await s.start();
      await s.drain();
      // ep1 disabled and ep2 removed after the emit: their deliveries ended as failed, unsent.
      expect(r.paths(1)).toEqual(['/ep3', '/ep4', '/ep5', '/ep6']);
      expect(r.paths(2)).toEqual(['/ep4', '/ep5', '/ep6', '/late', '/off']);
      const rows = (await s.deliveries.list({ eventId: first.id })).items;
      const byEndpoint = new Map(rows.map((d) => [d.endpointId, d]));
      expect(rows).toHaveLength(MANY);
      expect(byEndpoint.get(ids[0]!)).toMatchObject({
        status: 'failed',
        lastError: 'endpoint disabled: disabled',
      });
      expect(byEndpoint.get(ids[1]!)).toMatchObject({ status: 'failed', lastError: 'endpoint removed' });
      expect(byEndpoint.has(off)).toBe(false);
    },
  );

  it.skipIf(!store.available)(
    'tenants, patterns and endpointIds decide the queued fan-out as they decide a small one',
    async () => {
      const r = await recording(k);
      const s = await k.sender({ autoStart: false });
      const a = await addMany(s, r.url, MANY, { tenant: 'a', events: ['order.*'] });
      await s.endpoints.add({ url: r.url('b'), tenant: 'b', events: ['order.*'] });
      await s.endpoints.add({ url: r.url('none'), events: ['order.*'] });
      const users = (await s.endpoints.add({ url: r.url('users'), tenant: 'a', events: ['user.*'] })).id;
      expect((await s.emit('order.created', { n: 1 }, { tenant: 'a' })).deliveries).toBe(MANY);
      const named = [...a.slice(0, 5), users];
      // `users` is named but does not take `order.*`: five remain, still more than an emit writes.
      expect((await s.emit('order.created', { n: 2 }, { tenant: 'a', endpointIds: named })).deliveries).toBe(
        5,
      );
      await s.start();
      await s.drain();
      expect(r.paths(1)).toEqual(['/ep1', '/ep2', '/ep3', '/ep4', '/ep5', '/ep6']);
      expect(r.paths(2)).toEqual(['/ep1', '/ep2', '/ep3', '/ep4', '/ep5']);
    },
  );

  it.skipIf(!store.available)(
    'an idempotent emit of a queued event returns it with its count and queues nothing more',
    async () => {
      const r = await recording(k);
      const s = await k.sender({ autoStart: false });
      await addMany(s, r.url, MANY);
      const first = await s.emit('order.created', { n: 1 }, { idempotencyKey: 'k1' });
      const again = await s.emit('order.created', { n: 1 }, { idempotencyKey: 'k1' });
      expect(again).toEqual(first);
      expect((await s.stats()).pending).toBe(MANY);
      await s.start();
      await s.drain();
      expect(r.got).toHaveLength(MANY);
      const after = await s.emit('order.created', { n: 1 }, { idempotencyKey: 'k1' });
      expect(after).toEqual(first);
    },
  );

  it.skipIf(!store.available)(
    'a FIFO endpoint gets queued and small events in emit order, and a replay of a queued event is its own delivery',
    async () => {
      const r = await recording(k);
      const s = await k.sender({ autoStart: false });
      const ids = await addMany(s, r.url, MANY - 1);
      const fifo = (await s.endpoints.add({ url: r.url('fifo'), ordering: 'fifo' })).id;
      const big = await s.emit('order.created', { n: 1 });
      // One endpoint only, yet after a queued event: queued too, so it cannot overtake it.
      await s.emit('order.created', { n: 2 }, { endpointIds: [fifo] });
      await s.emit('order.created', { n: 3 });
      expect(await s.events.replay(big.id, { endpointIds: [ids[0]!] })).toBe(1);
      await s.start();
      await s.drain();
      expect(r.got.filter((g) => g.path === '/fifo').map((g) => g.n)).toEqual([1, 2, 3]);
      // ep1 got the event twice: once from the fan-out, once from the replay.
      expect(r.got.filter((g) => g.path === '/ep1').map((g) => g.n)).toEqual(
        expect.arrayContaining([1, 1, 3]),
      );
      expect((await s.deliveries.list({ eventId: big.id })).items).toHaveLength(MANY + 1);
    },
  );

  it.skipIf(!store.available)('prune never takes an event that waits for fan-out', async () => {
    const r = await recording(k);
    const s = await k.sender({ autoStart: false, retention: { succeeded: 0, failed: 0 } });
    await addMany(s, r.url, MANY);
    const emitted = await s.emit('order.created', { n: 1 });
    expect(await s.prune()).toEqual({ deliveries: 0, events: 0 });
    expect((await s.events.get(emitted.id)).id).toBe(emitted.id);
    await s.start();
    await s.drain();
    expect(r.got).toHaveLength(MANY);
  });
});

describe('fan-out on SQLite: what the database guarantees', () => {
  const cleanups = cleanupAfterEach();

  function appSender() {
    const tmp = tempDir();
    cleanups.push(tmp.cleanup);
    const db = new Database(tmp.file());
    const sender = new WebhookSender({ database: db, autoStart: false });
    cleanups.push(async () => {
      await sender.close();
      db.close();
    });
    for (let i = 0; i < MANY; i++) sender.endpoints.add({ url: `https://example.com/${i}` });
    return { db, sender };
  }

  it('an emit in a transaction that rolls back leaves no event and nothing queued', () => {
    const { db, sender } = appSender();
    expect(() =>
      db.transaction(() => {
        sender.emit('order.created', { n: 1 });
        throw new Error('rolled back');
      })(),
    ).toThrow('rolled back');
    expect(db.prepare('SELECT count(*) AS n FROM hookline_events').get()).toEqual({ n: 0 });
    expect(db.prepare('SELECT count(*) AS n FROM hookline_fanout').get()).toEqual({ n: 0 });
    expect(sender.stats().pending).toBe(0);
  });

  it('a read inside the transaction that emitted lists the deliveries, and they roll back with it', () => {
    const { db, sender } = appSender();
    const count = (table: string) =>
      (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    const before = sender.emit('order.created', { n: 0 });
    expect(() =>
      db.transaction(() => {
        const inside = sender.emit('order.created', { n: 1 });
        // The read creates both events' deliveries, inside the application's transaction.
        expect(sender.deliveries.list({ eventId: inside.id }).items).toHaveLength(MANY);
        expect(count('hookline_deliveries')).toBe(2 * MANY);
        throw new Error('rolled back');
      })(),
    ).toThrow('rolled back');
    // Nothing of the transaction is left: the earlier event is queued again, as before the read.
    expect(count('hookline_deliveries')).toBe(0);
    expect(count('hookline_events')).toBe(1);
    expect(sender.stats().pending).toBe(MANY);
    expect(sender.deliveries.list({ eventId: before.id }).items).toHaveLength(MANY);
    expect(count('hookline_deliveries')).toBe(MANY);
  });

  it('a second delivery of one emit to one endpoint cannot be written', () => {
    const { db, sender } = appSender();
    const small = sender.emit('order.created', { n: 1 }, { endpointIds: [sender.endpoints.list()[0]!.id] });
    // The read creates the queued event's delivery.
    expect(sender.deliveries.list({ eventId: small.id }).items).toHaveLength(1);
    const row = db
      .prepare(
        `SELECT d.event_seq, d.endpoint_id FROM hookline_deliveries d JOIN hookline_events e ON e.seq = d.event_seq
         WHERE e.id = ?`,
      )
      .get(small.id) as { event_seq: number; endpoint_id: string };
    expect(() =>
      db
        .prepare(
          `INSERT INTO hookline_deliveries (event_seq, endpoint_id, status, created_at, updated_at)
           VALUES (?, ?, 'pending', 0, 0)`,
        )
        .run(row.event_seq, row.endpoint_id),
    ).toThrow(/UNIQUE/);
    // A replay is numbered: it is a delivery of its own.
    expect(sender.events.replay(small.id, { endpointIds: [row.endpoint_id] })).toBe(1);
    const replays = db
      .prepare('SELECT replay FROM hookline_deliveries WHERE event_seq = ? ORDER BY replay')
      .all(row.event_seq);
    expect(replays).toEqual([{ replay: 0 }, { replay: 1 }]);
  });

  it('a broadcast cut over several passes resumes after the last endpoint, and changes between passes hold', () => {
    const { db, sender } = appSender();
    // Oldest first, the order the passes go in.
    const ids = sender.endpoints.list().map((e) => e.id);
    const emitted = sender.emit('order.created', { n: 1 });
    expect(emitted.deliveries).toBe(MANY);
    // The engine's side, on the same connection: passes of 2 rows at most.
    const store = new SqliteStore(db, 'hookline_', false);
    const cache = new EndpointCache(store.endpoints);
    const pass = () =>
      store.write(() => {
        cache.refresh();
        return store.fanout.expand(cache, Date.now(), 2);
      });
    const first = pass();
    expect([...first.endpoints].sort()).toEqual(ids.slice(0, 2).sort());
    expect(first.more).toBe(true);
    expect(sender.stats().pending).toBe(MANY);
    // Between passes: one endpoint not reached yet is disabled, one already reached is removed, and
    // one is added; none of it adds or drops a delivery of the event.
    sender.endpoints.disable(ids[4]!);
    sender.endpoints.remove(ids[0]!);
    sender.endpoints.add({ url: 'https://example.com/late' });
    while (pass().more);
    const rows = db
      .prepare(
        `SELECT endpoint_id, status FROM hookline_deliveries WHERE event_seq =
           (SELECT seq FROM hookline_events WHERE id = ?) ORDER BY endpoint_id`,
      )
      .all(emitted.id) as { endpoint_id: string; status: string }[];
    expect(rows.map((r) => r.endpoint_id)).toEqual([...ids].sort());
    const status = new Map(rows.map((r) => [r.endpoint_id, r.status]));
    expect(status.get(ids[0]!)).toBe('failed');
    expect(status.get(ids[4]!)).toBe('failed');
    expect([...status.values()].filter((v) => v === 'pending')).toHaveLength(MANY - 2);
    expect(db.prepare('SELECT count(*) AS n FROM hookline_fanout WHERE done = 0').get()).toEqual({ n: 0 });
  });

  it('a ticket is never handed out twice: an endpoint changed while the queue held events gets those queued after', () => {
    const { db, sender } = appSender();
    const store = new SqliteStore(db, 'hookline_', false);
    const cache = new EndpointCache(store.endpoints);
    const drain = () => {
      while (
        store.write(() => {
          cache.refresh();
          return store.fanout.expand(cache, Date.now(), 1_000);
        }).more
      );
    };
    const ticket = db.prepare('SELECT max(ticket) AS t FROM hookline_fanout');
    const x = sender.endpoints.list()[0]!.id;
    sender.emit('order.created', { n: 1 });
    const first = (ticket.get() as { t: number }).t;
    // Changed while the event waits: the endpoint takes events queued after it.
    sender.endpoints.update(x, { description: 'changed' });
    drain();
    // The queue is empty again, yet the next event gets a later ticket, so the endpoint gets it.
    const second = sender.emit('order.created', { n: 2 });
    expect((ticket.get() as { t: number }).t).toBeGreaterThan(first);
    drain();
    const endpoints = db
      .prepare(
        `SELECT endpoint_id FROM hookline_deliveries WHERE event_seq = (SELECT seq FROM hookline_events WHERE id = ?)`,
      )
      .all(second.id) as { endpoint_id: string }[];
    expect(endpoints.map((r) => r.endpoint_id)).toContain(x);
    expect(endpoints).toHaveLength(MANY);
  });
});

describe('one write transaction per turn on SQLite', () => {
  const cleanups = cleanupAfterEach();
  const h = harness(cleanups);

  it('the engine fans an emitted event out, claims its deliveries and records their results in one transaction a turn', async () => {
    const receiver = await h.receiver();
    const tmp = tempDir();
    cleanups.push(tmp.cleanup);
    // Inline: the engine's writes run on this thread, where the spy sees them.
    const s = h.sender({ database: tmp.file(), engine: 'inline', pollInterval: 60_000 });
    const first = s.endpoints.add({ url: `${receiver.url}/a` });
    s.endpoints.add({ url: `${receiver.url}/b` });
    await s.drain();
    // After each of the store's write transactions: every delivery's endpoint and status.
    const after: { endpoint_id: string; status: string }[][] = [];
    const write = SqliteStore.prototype.write;
    const spy = vi.spyOn(SqliteStore.prototype, 'write').mockImplementation(function (
      this: SqliteStore,
      fn: () => unknown,
    ) {
      const result = write.call(this, fn);
      after.push(
        this.db.prepare('SELECT endpoint_id, status FROM hookline_deliveries ORDER BY seq').all() as {
          endpoint_id: string;
          status: string;
        }[],
      );
      return result;
    });
    cleanups.push(() => spy.mockRestore());
    const delivered = new Promise<void>((resolve) => {
      let n = 0;
      s.on('delivered', () => {
        if (++n === 2) resolve();
      });
    });
    s.emit('order.created', { n: 1 });
    await delivered;
    spy.mockRestore();
    // The first write made both deliveries and leased them: no row was ever left pending between
    // a fan-out transaction and a claim transaction.
    expect(after[0]).toHaveLength(2);
    expect(after[0]!.map((r) => r.status)).toEqual(['sending', 'sending']);
    expect(after[0]!.map((r) => r.endpoint_id)).toContain(first.id);
    // Then the results, in one transaction or one each as they came: nothing else.
    expect(after.length).toBeLessThanOrEqual(3);
    expect(after.at(-1)!.map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
  });
  it('plans with the endpoints as of its transaction: one another process adds just before gets the event it emitted', async () => {
    const held = await h.holding();
    const receiver = await h.receiver();
    const tmp = tempDir();
    cleanups.push(tmp.cleanup);
    const file = tmp.file();
    // The attempt to `a` is held: only the turn below can send the other process's event.
    const s = h.sender({ database: file, engine: 'inline', pollInterval: 60_000, timeout: 30_000 });
    s.endpoints.add({ url: `${held.url}/a`, events: ['order.*'] });
    const other = new WebhookSender({ database: file, autoStart: false, allowPrivateNetworks: true });
    cleanups.push(() => other.close());
    await s.drain();
    // Right before the engine's next write transaction: the other process adds an endpoint and
    // emits an event only it takes, both committed before the transaction begins.
    let armed = true;
    const write = SqliteStore.prototype.write;
    const spy = vi.spyOn(SqliteStore.prototype, 'write').mockImplementation(function (
      this: SqliteStore,
      fn: () => unknown,
    ) {
      if (armed) {
        armed = false;
        other.endpoints.add({ url: `${receiver.url}/late`, events: ['invoice.*'] });
        other.emit('invoice.paid', { n: 2 });
      }
      return write.call(this, fn);
    });
    cleanups.push(() => spy.mockRestore());
    s.emit('order.created', { n: 1 });
    const [late] = await within(receiver.waitFor(1), 5_000, "the other process's event");
    expect(late!.url.endsWith('/late')).toBe(true);
    expect(payloadOf<{ n: number }>(late!).n).toBe(2);
    expect(armed).toBe(false);
    held.release();
  });
});
