import type http from 'node:http';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { WebhookSender } from '../src/index.js';
import { PgWebhookSender } from '../src/postgres.js';
import { ManualClock } from './helpers/clock.js';
import { sleep, within } from './helpers/harness.js';
import { dropSchema, PG_URL, probePostgres, uniqueSchema } from './helpers/postgres.js';
import { type Receiver, type Responder, startReceiver } from './helpers/receiver.js';
import type { Sender, SharedOptions } from './helpers/stores.js';
import { tempDir } from './helpers/tmp.js';

// An endpoint's concurrency (its own `concurrency`, else the sender's
// `endpointConcurrency`) and its `rateLimit` hold for every sender sharing the
// database together, not for each one: two senders (each with its own
// connection) on one database, against each store. SQLite: two WebhookSenders
// on one file. PostgreSQL: two PgWebhookSenders, each with its own pool, on one
// schema (skipped, with the reason in the suite's name, when PostgreSQL is
// unreachable).

const SEC = 1000;
const DAY = 24 * 60 * 60 * SEC;

/** One database per test, shared by every sender the test opens on it. */
interface SharedStore {
  /** Shown as the suite's name; says why when the store is unreachable and the suite is skipped. */
  name: string;
  available: boolean;
  /** A sender on the test's database, with a connection (a pool) of its own. */
  open(options?: SharedOptions): Promise<Sender>;
  /** How many shared rate-limit buckets the database holds. */
  buckets(): Promise<number>;
  /** After each test: closes its senders and removes its database. */
  cleanup(): Promise<void>;
}

function sqliteFile(): SharedStore {
  let senders: Sender[] = [];
  let tmp: ReturnType<typeof tempDir> | undefined;
  return {
    name: 'SQLite (two senders on one file)',
    available: true,
    async open(options = {}) {
      tmp ??= tempDir();
      const sender = new WebhookSender({ database: tmp.file(), allowPrivateNetworks: true, ...options });
      senders.push(sender);
      return sender;
    },
    async buckets() {
      const db = new Database(tmp!.file());
      try {
        return (db.prepare('SELECT count(*) AS n FROM hookline_rate_buckets').get() as { n: number }).n;
      } finally {
        db.close();
      }
    },
    async cleanup() {
      await Promise.all(senders.map((s) => s.close({ timeout: 0 })));
      senders = [];
      tmp?.cleanup();
      tmp = undefined;
    },
  };
}

const probe = await probePostgres();

function postgresSchema(): SharedStore {
  let senders: Sender[] = [];
  let pools: pg.Pool[] = [];
  let schema: string | undefined;
  return {
    name: `PostgreSQL (two senders, two pools, one schema; ${probe.available ? `at ${PG_URL}` : probe.reason})`,
    available: probe.available,
    async open(options = {}) {
      schema ??= uniqueSchema('limits');
      const pool = new pg.Pool({ connectionString: PG_URL, max: 4 });
      pools.push(pool);
      const sender = new PgWebhookSender({ pool, schema, allowPrivateNetworks: true, ...options });
      senders.push(sender);
      await sender.ready;
      return sender;
    },
    async buckets() {
      const { rows } = await pools[0]!.query(`SELECT count(*)::int AS n FROM "${schema}".rate_buckets`);
      return rows[0].n as number;
    },
    async cleanup() {
      await Promise.all(senders.map((s) => s.close({ timeout: 0 })));
      await Promise.all(pools.map((p) => p.end()));
      if (schema !== undefined) await dropSchema(schema);
      senders = [];
      pools = [];
      schema = undefined;
    },
  };
}

interface Test {
  store: SharedStore;
  receiver(responder?: Responder): Promise<Receiver>;
}

/** The ids of the events a receiver got, each as often as it came. */
const idsOf = (r: Receiver) => r.requests.map((request) => request.headers['webhook-id'] as string);

/**
 * Two senders sharing an endpoint whose concurrency is 2, a receiver that
 * holds each request open a while: never more than 2 open at once (4 if each
 * sender kept its own count), every event delivered once.
 */
async function concurrencyHolds(t: Test, how: 'endpoint' | 'sender') {
  let open = 0;
  let most = 0;
  const r = await t.receiver((_request, res) => {
    open++;
    most = Math.max(most, open);
    setTimeout(() => {
      open--;
      res.writeHead(200).end();
    }, 30);
  });
  const options = how === 'sender' ? { endpointConcurrency: 2 } : {};
  const a = await t.store.open(options);
  const b = await t.store.open(options);
  await a.endpoints.add(how === 'sender' ? { url: r.url } : { url: r.url, concurrency: 2 });
  const events = 24;
  const emitted = new Set<string>();
  // Both senders emit, so both are at work from the start.
  for (let i = 0; i < events; i++) {
    const event = await (i % 2 === 0 ? a : b).emit('load.test', { i });
    expect(event.deliveries).toBe(1);
    emitted.add(event.id);
  }
  await within(r.waitFor(events), 20_000, 'delivering every event');
  // A sender that found nothing due may yet take a row the other had not: each drains again.
  await within(Promise.all([a.drain(), b.drain()]), 10_000, 'drain()');
  await sleep(100);
  expect(most).toBe(2);
  expect(idsOf(r)).toHaveLength(events);
  expect(new Set(idsOf(r))).toEqual(emitted);
  expect(await a.stats()).toMatchObject({ succeeded: events, pending: 0, sending: 0 });
}

const behaviours: Record<string, (t: Test) => Promise<void>> = {
  async "an endpoint's own concurrency holds across two senders; each event goes once"(t) {
    await concurrencyHolds(t, 'endpoint');
  },

  async 'the endpointConcurrency option holds across two senders too'(t) {
    await concurrencyHolds(t, 'sender');
  },

  async 'a rate limit is one token bucket for both senders (ManualClock, frozen between steps)'(t) {
    const clock = new ManualClock();
    const r = await t.receiver();
    // The poll never comes: only emits, finished attempts and due timers (on the clock) move them.
    const a = await t.store.open({ clock, pollInterval: DAY });
    const b = await t.store.open({ clock, pollInterval: DAY });
    const ep = await a.endpoints.add({ url: r.url, rateLimit: { perSecond: 2 } });
    const emitted = new Set<string>();
    for (let i = 0; i < 10; i++) emitted.add((await (i % 2 === 0 ? a : b).emit('rate.test', { i })).id);
    // Two tokens at first (a bucket holds one second's worth), then two per second.
    for (let step = 1; step <= 5; step++) {
      if (step > 1) clock.advance(SEC);
      await within(r.waitFor(2 * step), 10_000, `step ${step}`);
      // The clock is frozen: nothing more, however long the senders run.
      await sleep(150);
      expect(idsOf(r)).toHaveLength(2 * step);
    }
    await within(Promise.all([a.drain(), b.drain()]), 10_000, 'drain()');
    expect(new Set(idsOf(r))).toEqual(emitted);
    expect(await b.stats()).toMatchObject({ succeeded: 10, pending: 0, sending: 0 });
    // The bucket is the endpoint's: it goes with it.
    expect(await t.store.buckets()).toBe(1);
    await b.endpoints.remove(ep.id);
    expect(await t.store.buckets()).toBe(0);
  },

  async "a sender held back by the other's leases delivers its rows once they end"(t) {
    const held: http.ServerResponse[] = [];
    let answering = false;
    const r = await t.receiver((_request, res) => {
      if (answering) res.writeHead(200).end();
      else held.push(res);
    });
    const a = await t.store.open();
    const ep = await a.endpoints.add({ url: r.url, concurrency: 2 });
    await a.emit('first', {});
    await a.emit('first', {});
    await within(r.waitFor(2), 10_000, "a's two requests");

    // Both of the endpoint's slots are a's: b takes none of its rows, and knows they are due.
    const b = await t.store.open();
    for (let i = 0; i < 3; i++) await b.emit('second', { i });
    let drained = false;
    const draining = b.drain().then(() => {
      drained = true;
    });
    await sleep(300);
    expect(r.requests).toHaveLength(2);
    expect(drained).toBe(false);
    expect(await b.stats()).toMatchObject({ pending: 3, sending: 2, inFlight: 0 });
    expect((await b.deliveries.list({ endpointId: ep.id, status: 'sending' })).items).toHaveLength(2);

    // a stops claiming; its two requests end: b, told nothing, finds the slots free.
    const closing = a.close({ timeout: 10_000 });
    answering = true;
    for (const res of held.splice(0)) res.writeHead(200).end();
    await closing;
    await within(draining, 10_000, "b's drain()");
    expect(idsOf(r)).toHaveLength(5);
    expect(new Set(idsOf(r)).size).toBe(5);
    expect(await b.stats()).toMatchObject({ succeeded: 5, pending: 0, sending: 0 });
  },
};

// `%s` of a plain string: `$name` would cut the reason a skipped suite gives.
const stores = [sqliteFile(), postgresSchema()].map((store) => [store.name, store] as const);

describe.each(stores)('limits shared by every sender on %s', (_name, store) => {
  let receivers: Receiver[] = [];
  const t: Test = {
    store,
    async receiver(responder) {
      const r = await startReceiver(responder);
      receivers.push(r);
      return r;
    },
  };
  afterEach(async () => {
    await store.cleanup();
    await Promise.all(receivers.map((r) => r.close()));
    receivers = [];
  });
  afterAll(() => store.cleanup());
  for (const [name, behaviour] of Object.entries(behaviours)) {
    it.skipIf(!store.available)(name, () => behaviour(t));
  }
});
