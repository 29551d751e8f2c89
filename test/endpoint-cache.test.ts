import Database from 'better-sqlite3';
import pg from 'pg';
import { describe, expect, it, vi } from 'vitest';
import type { LiveEndpoint, LiveEndpoints } from '../src/engine/live-endpoints.js';
import { WebhookSender } from '../src/index.js';
import { PgWebhookSender } from '../src/postgres.js';
import { ENDPOINT_CHANGES_KEPT } from '../src/store/endpoint-log.js';
import { PgEndpointCache } from '../src/store/postgres/endpoint-cache.js';
import { PgStore } from '../src/store/postgres/store.js';
import { EndpointCache } from '../src/store/sqlite/endpoint-cache.js';
import { SqliteStore } from '../src/store/sqlite/store.js';
import { cleanupAfterEach } from './helpers/cleanups.js';
import { dropSchema, PG_URL, probePostgres, uniqueSchema } from './helpers/postgres.js';
import { tempDir } from './helpers/tmp.js';

// The endpoint caches (SQLite and PostgreSQL) follow the change log: after a few changes they read again
// only the endpoints that changed (a thousand endpoints cost a change what one does), and reload
// them all on their first load, after many changes, or when a log row they read is gone.
// Whatever path a cache takes, what it holds must equal a cache loaded from scratch.

const cleanups = cleanupAfterEach();

const TENANTS = [null, 'acme', 'globex'] as const;
const TYPES = ['order.created', 'order.paid', 'user.created', 'invoice.sent'];
const PATTERNS = [['*'], ['order.*'], ['user.created', 'invoice.sent'], ['order.paid']];

/** A sender making the changes, and a cache on another connection to the same file. */
function setup() {
  const tmp = tempDir();
  cleanups.push(tmp.cleanup);
  const file = tmp.file();
  const sender = new WebhookSender({ database: file, autoStart: false });
  const db = new Database(file);
  const store = new SqliteStore(db, 'hookline_', false);
  const cache = new EndpointCache(store.endpoints);
  const reloads = vi.spyOn(store.endpoints, 'listEnabled');
  // Fresh loads on a connection of their own, so that they do not count as the cache's reloads.
  const checkDb = new Database(file);
  const checkStore = new SqliteStore(checkDb, 'hookline_', false);
  cleanups.push(async () => {
    await sender.close();
    db.close();
    checkDb.close();
  });
  /** What a cache loaded from scratch holds now. */
  const fresh = () => {
    const other = new EndpointCache(checkStore.endpoints);
    other.refresh();
    return other;
  };
  return { file, sender, db, store, cache, reloads, fresh };
}

/** Everything a cache answers, in a form `toEqual` compares. */
function view(cache: LiveEndpoints) {
  const one = (e: LiveEndpoint) => ({
    id: e.id,
    url: e.url,
    tenant: e.tenant,
    headers: e.headers,
    concurrency: e.concurrency,
    rate: e.ratePerSecond,
    fifo: e.fifo,
    key: e.key.toString('hex'),
    previousKey: e.previousKey?.toString('hex') ?? null,
    matchFrom: e.matchFrom,
    order: e.order,
  });
  const matching: Record<string, string[]> = {};
  for (const tenant of TENANTS)
    for (const type of TYPES) matching[`${tenant}/${type}`] = cache.matching(type, tenant).map((e) => e.id);
  const all = cache.all().map(one);
  return { all, byId: all.map((e) => one(cache.get(e.id)!)), matching };
}

/** A small deterministic random source, so a failure can be run again as it was. */
function random(seed: number) {
  let state = seed;
  return (n: number) => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state % n;
  };
}

describe('the SQLite endpoint cache', () => {
  it('after any mix of changes by another connection, holds what a fresh load holds, reading only what changed', () => {
    const { sender, cache, reloads, fresh } = setup();
    for (let i = 0; i < 20; i++)
      sender.endpoints.add({
        url: `https://example.com/${i}`,
        tenant: TENANTS[i % 3] ?? undefined,
        events: PATTERNS[i % 4],
      });
    cache.refresh();
    expect(reloads).toHaveBeenCalledTimes(1);
    const pick = random(7);
    for (let step = 0; step < 300; step++) {
      // One to three changes between two reads of the cache.
      for (let n = 1 + pick(3); n > 0; n--) {
        const ids = sender.endpoints.list().map((e) => e.id);
        const id = ids[pick(ids.length)]!;
        switch (pick(7)) {
          case 0:
            sender.endpoints.add({
              url: `https://example.com/new-${step}`,
              tenant: TENANTS[pick(3)] ?? undefined,
              events: PATTERNS[pick(4)],
            });
            break;
          case 1:
            sender.endpoints.update(id, { events: PATTERNS[pick(4)], headers: { 'x-step': String(step) } });
            break;
          case 2:
            sender.endpoints.update(id, {
              tenant: TENANTS[pick(3)],
              url: `https://example.com/moved-${step}`,
            });
            break;
          case 3:
            sender.endpoints.disable(id);
            break;
          case 4:
            sender.endpoints.enable(id);
            break;
          case 5:
            sender.endpoints.rotateSecret(id);
            break;
          default:
            if (ids.length > 10) sender.endpoints.remove(id);
        }
      }
      cache.refresh();
      expect(view(cache)).toEqual(view(fresh()));
    }
    // Every read after the first followed the log.
    expect(reloads).toHaveBeenCalledTimes(1);
  });

  it('a list it handed out before a change stays as it was', () => {
    const { sender, cache } = setup();
    const a = sender.endpoints.add({ url: 'https://example.com/a', events: ['order.*'] }).id;
    cache.refresh();
    const before = cache.matching('order.created', null);
    const all = cache.all();
    sender.endpoints.add({ url: 'https://example.com/b', events: ['order.*'] });
    sender.endpoints.disable(a);
    cache.refresh();
    expect(before.map((e) => e.id)).toEqual([a]);
    expect(all.map((e) => e.id)).toEqual([a]);
    expect(cache.matching('order.created', null).map((e) => e.url)).toEqual(['https://example.com/b']);
  });

  it('reloads every endpoint when more changed at once than it reads one by one', () => {
    const { sender, cache, reloads, fresh } = setup();
    sender.endpoints.add({ url: 'https://example.com/first' });
    cache.refresh();
    for (let i = 0; i < 300; i++) sender.endpoints.add({ url: `https://example.com/${i}` });
    cache.refresh();
    expect(reloads).toHaveBeenCalledTimes(2);
    expect(view(cache)).toEqual(view(fresh()));
    // And follows the log again after it.
    sender.endpoints.add({ url: 'https://example.com/last' });
    cache.refresh();
    expect(reloads).toHaveBeenCalledTimes(2);
    expect(view(cache)).toEqual(view(fresh()));
  });

  it('reloads every endpoint when the row it read last was pruned from the log', () => {
    const { sender, db, cache, reloads, fresh } = setup();
    const id = sender.endpoints.add({ url: 'https://example.com/a' }).id;
    cache.refresh();
    // As if the log had moved on by more than it keeps: the rows the cache knows are gone.
    db.prepare('DELETE FROM hookline_endpoint_changes').run();
    sender.endpoints.update(id, { url: 'https://example.com/b' });
    cache.refresh();
    expect(reloads).toHaveBeenCalledTimes(2);
    expect(cache.get(id)?.url).toBe('https://example.com/b');
    expect(view(cache)).toEqual(view(fresh()));
  });

  it('keeps the latest rows of the log only', () => {
    const { sender, db } = setup();
    const id = sender.endpoints.add({ url: 'https://example.com/a' }).id;
    const rounds = ENDPOINT_CHANGES_KEPT + 250;
    db.transaction(() => {
      for (let i = 0; i < rounds; i++) sender.endpoints.update(id, { headers: { 'x-n': String(i) } });
    })();
    const { n } = db.prepare('SELECT count(*) AS n FROM hookline_endpoint_changes').get() as { n: number };
    expect(n).toBeGreaterThan(ENDPOINT_CHANGES_KEPT - 1);
    expect(n).toBeLessThan(ENDPOINT_CHANGES_KEPT + 101);
  });

  it("a change rolled back with the application's transaction, and another that reuses its place in the log, are read right", () => {
    const tmp = tempDir();
    cleanups.push(tmp.cleanup);
    const appDb = new Database(tmp.file());
    const sender = new WebhookSender({ database: appDb, autoStart: false });
    const other = new WebhookSender({ database: tmp.file(), autoStart: false });
    cleanups.push(async () => {
      await sender.close();
      await other.close();
      appDb.close();
    });
    const kept = sender.endpoints.add({ url: 'https://example.com/kept', events: ['order.*'] }).id;
    // The emit inside the transaction reads the log row of the endpoint added in it.
    expect(() =>
      appDb.transaction(() => {
        sender.endpoints.add({ url: 'https://example.com/rolled-back', events: ['order.*'] });
        expect(sender.emit('order.created', {}).deliveries).toBe(2);
        throw new Error('rolled back');
      })(),
    ).toThrow('rolled back');
    // Another connection's change takes the same place in the log.
    const late = other.endpoints.add({ url: 'https://example.com/late', events: ['user.*'] }).id;
    const seqs = appDb
      .prepare('SELECT seq, endpoint_id FROM hookline_endpoint_changes ORDER BY seq')
      .all() as {
      seq: number;
      endpoint_id: string;
    }[];
    expect(seqs.map((r) => r.endpoint_id)).toEqual([kept, late]);
    expect(sender.emit('order.created', {}).deliveries).toBe(1);
    expect(sender.emit('user.created', {}).deliveries).toBe(1);
    expect(
      sender.endpoints
        .list()
        .map((e) => e.id)
        .sort(),
    ).toEqual([kept, late].sort());
  });
});

const probe = await probePostgres();

describe.skipIf(!probe.available)(`the PostgreSQL endpoint cache (${probe.reason})`, () => {
  it('after changes by another sender, holds what a fresh load holds, reading only what changed', async () => {
    const schema = uniqueSchema('cache');
    const sender = new PgWebhookSender({ connectionString: PG_URL, schema, autoStart: false });
    const pool = new pg.Pool({ connectionString: PG_URL, max: 2 });
    cleanups.push(async () => {
      await sender.close();
      await pool.end();
      await dropSchema(schema);
    });
    const store = new PgStore(pool, schema);
    const cache = new PgEndpointCache(store.endpoints);
    const reloads = vi.spyOn(store.endpoints, 'listEnabled');
    const checkStore = new PgStore(pool, schema);
    const fresh = async () => {
      const other = new PgEndpointCache(checkStore.endpoints);
      await other.refresh();
      return other;
    };
    for (let i = 0; i < 12; i++)
      await sender.endpoints.add({
        url: `https://example.com/${i}`,
        tenant: TENANTS[i % 3] ?? undefined,
        events: PATTERNS[i % 4],
      });
    await cache.refresh();
    expect(reloads).toHaveBeenCalledTimes(1);
    const pick = random(11);
    for (let step = 0; step < 40; step++) {
      for (let n = 1 + pick(3); n > 0; n--) {
        const ids = (await sender.endpoints.list()).map((e) => e.id);
        const id = ids[pick(ids.length)]!;
        const kind = pick(5);
        if (kind === 0)
          await sender.endpoints.add({
            url: `https://example.com/new-${step}`,
            tenant: TENANTS[pick(3)] ?? undefined,
            events: PATTERNS[pick(4)],
          });
        else if (kind === 1)
          await sender.endpoints.update(id, { tenant: TENANTS[pick(3)], events: PATTERNS[pick(4)] });
        else if (kind === 2) await sender.endpoints.disable(id);
        else if (kind === 3) await sender.endpoints.enable(id);
        else if (ids.length > 6) await sender.endpoints.remove(id);
      }
      await cache.refresh();
      expect(view(cache)).toEqual(view(await fresh()));
    }
    expect(reloads).toHaveBeenCalledTimes(1);
    // A log row it read that is gone (pruned): every endpoint again, right.
    const client = await pool.connect();
    await client.query(`DELETE FROM ${schema}.endpoint_changes`);
    client.release();
    await sender.endpoints.add({ url: 'https://example.com/after-prune' });
    await cache.refresh();
    expect(reloads).toHaveBeenCalledTimes(2);
    expect(view(cache)).toEqual(view(await fresh()));
  });
});
