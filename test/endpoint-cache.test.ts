import Database from 'better-sqlite3';
import pg from 'pg';
import { describe, expect, it, vi } from 'vitest';
import { type LiveEndpoint, LiveEndpoints } from '../src/engine/live-endpoints.js';
import { WebhookSender } from '../src/index.js';
import { PgWebhookSender } from '../src/postgres.js';
import type { EndpointRow } from '../src/shared/rows.js';
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
  const adds = vi.spyOn(sender.endpoints, 'add');
  /** Every endpoint added so far, removed ones too. */
  const known = () => adds.mock.results.flatMap((r) => (r.type === 'return' ? [r.value.id] : []));
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
  /** The cache's view, and that of a fresh load, over every endpoint ever added. */
  const compare = () => {
    const ids = known();
    return [view(cache, ids), view(fresh(), ids)];
  };
  return { file, sender, db, store, cache, reloads, fresh, compare };
}

/**
 * Everything a cache answers, in a form `toEqual` compares: its lists, and `get` of every id in
 * `ids` (the endpoints ever added, removed ones too: a cache must not keep them either).
 */
function view(cache: LiveEndpoints, ids: Iterable<string>) {
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
  const byId: Record<string, ReturnType<typeof one> | undefined> = {};
  for (const id of ids) {
    const endpoint = cache.get(id);
    byId[id] = endpoint === undefined ? undefined : one(endpoint);
  }
  return { all: cache.all().map(one), byId, matching };
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
    const { sender, cache, reloads, compare } = setup();
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
      const [held, loaded] = compare();
      expect(held).toEqual(loaded);
    }
    // Every read after the first followed the log.
    expect(reloads).toHaveBeenCalledTimes(1);
  });

  it('a list it handed out before a change stays as it was', () => {
    const { sender, cache } = setup();
    const a = sender.endpoints.add({ url: 'https://example.com/a', events: ['order.*'] }).id;
    cache.refresh();
    const all = cache.all();
    sender.endpoints.add({ url: 'https://example.com/b', events: ['order.*'] });
    sender.endpoints.disable(a);
    cache.refresh();
    expect(all.map((e) => e.id)).toEqual([a]);
    expect(cache.all().map((e) => e.url)).toEqual(['https://example.com/b']);
    expect(cache.matching('order.created', null).map((e) => e.url)).toEqual(['https://example.com/b']);
  });

  it('reloads every endpoint when more changed at once than it reads one by one', () => {
    const { sender, cache, reloads, compare } = setup();
    sender.endpoints.add({ url: 'https://example.com/first' });
    cache.refresh();
    for (let i = 0; i < 300; i++) sender.endpoints.add({ url: `https://example.com/${i}` });
    cache.refresh();
    expect(reloads).toHaveBeenCalledTimes(2);
    let [held, loaded] = compare();
    expect(held).toEqual(loaded);
    // And follows the log again after it.
    sender.endpoints.add({ url: 'https://example.com/last' });
    cache.refresh();
    expect(reloads).toHaveBeenCalledTimes(2);
    [held, loaded] = compare();
    expect(held).toEqual(loaded);
  });

  it('reloads every endpoint when the row it read last was pruned from the log', () => {
    const { sender, db, cache, reloads, compare } = setup();
    const id = sender.endpoints.add({ url: 'https://example.com/a' }).id;
    sender.endpoints.add({ url: 'https://example.com/b' });
    cache.refresh();
    sender.endpoints.update(id, { url: 'https://example.com/a2' });
    // As if the log had moved on by more than it keeps: every row up to the one the cache read
    // last is gone, the later ones are there (their seq goes on: no row is handed out again).
    db.prepare(
      'DELETE FROM hookline_endpoint_changes WHERE seq < (SELECT max(seq) FROM hookline_endpoint_changes)',
    ).run();
    cache.refresh();
    expect(reloads).toHaveBeenCalledTimes(2);
    expect(cache.get(id)?.url).toBe('https://example.com/a2');
    const [held, loaded] = compare();
    expect(held).toEqual(loaded);
  });

  it('reloads every endpoint when the version moved without a row (a release before the log wrote it)', () => {
    const { sender, db, cache, reloads, compare } = setup();
    const id = sender.endpoints.add({ url: 'https://example.com/a' }).id;
    sender.endpoints.add({ url: 'https://example.com/b' });
    cache.refresh();
    // What an earlier release's disable writes: the row and a new version, no log row.
    db.transaction(() => {
      db.prepare('UPDATE hookline_endpoints SET enabled = 0 WHERE id = ?').run(id);
      db.prepare(`UPDATE hookline_meta SET value = random() >> 11 WHERE key = 'endpoints_version'`).run();
    })();
    cache.refresh();
    expect(reloads).toHaveBeenCalledTimes(2);
    expect(cache.get(id)).toBeUndefined();
    // A change of this release after it: followed by the log again.
    sender.endpoints.add({ url: 'https://example.com/c' });
    cache.refresh();
    expect(reloads).toHaveBeenCalledTimes(2);
    const [held, loaded] = compare();
    expect(held).toEqual(loaded);
  });

  it('a reload that failed is made again on the next read', () => {
    const { sender, cache, reloads, compare } = setup();
    sender.endpoints.add({ url: 'https://example.com/a' });
    reloads.mockImplementationOnce(() => {
      throw new Error('SQLITE_BUSY: database is locked');
    });
    expect(() => cache.refresh()).toThrow('SQLITE_BUSY');
    sender.endpoints.add({ url: 'https://example.com/b' });
    cache.refresh();
    expect(cache.all().map((e) => e.url)).toEqual(['https://example.com/a', 'https://example.com/b']);
    const [held, loaded] = compare();
    expect(held).toEqual(loaded);
  });

  it('a row that cannot be read leaves the cache as it was, and the next read applies the change', () => {
    const { sender, store, cache } = setup();
    const a = sender.endpoints.add({ url: 'https://example.com/a' }).id;
    cache.refresh();
    // The first change applies cleanly, the second cannot be read: nothing of either may show.
    sender.endpoints.disable(a);
    sender.endpoints.add({ url: 'https://example.com/b' });
    const read = store.endpoints.getMany.bind(store.endpoints);
    const get = vi
      .spyOn(store.endpoints, 'getMany')
      .mockImplementation(
        (ids) => new Map([...read(ids)].map(([id, row]) => [id, { ...row, secret: 'not a secret' }])),
      );
    expect(() => cache.refresh()).toThrow();
    expect(cache.all().map((e) => e.id)).toEqual([a]);
    expect(cache.get(a)?.url).toBe('https://example.com/a');
    get.mockRestore();
    cache.refresh();
    expect(cache.all().map((e) => e.url)).toEqual(['https://example.com/b']);
    expect(cache.get(a)).toBeUndefined();
  });

  it('keeps to the order of `order` whatever order the database returned the rows in', () => {
    const { sender, store } = setup();
    const row = store.endpoints.get(sender.endpoints.add({ url: 'https://example.com/x' }).id)!;
    // Two endpoints created in one millisecond, returned in the order of a collation like
    // PostgreSQL's en_US (`ep_a…` before `ep_B…`), which JavaScript's string order reverses.
    const a = { ...row, id: 'ep_a000000000000000000000' };
    const b = { ...row, id: 'ep_B000000000000000000000' };
    class Probe extends LiveEndpoints {
      load(rows: EndpointRow[]) {
        this.replace(1, rows);
      }
      remove(id: string) {
        this.patch(2, new Map([[id, undefined]]));
      }
    }
    const cache = new Probe();
    cache.load([a, b]);
    expect(cache.all().map((e) => e.id)).toEqual([b.id, a.id]);
    cache.remove(b.id);
    expect(cache.all().map((e) => e.id)).toEqual([a.id]);
    expect(cache.matching('order.created', null).map((e) => e.id)).toEqual([a.id]);
  });

  it('keeps the latest rows of the log only', () => {
    const { sender, db } = setup();
    const id = sender.endpoints.add({ url: 'https://example.com/a' }).id;
    const rounds = ENDPOINT_CHANGES_KEPT + 250;
    for (let i = 0; i < rounds; i++) sender.endpoints.update(id, { headers: { 'x-n': String(i) } });
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
    /** Every endpoint added so far, removed ones too. */
    const known = new Set<string>();
    const add = async (input: Parameters<typeof sender.endpoints.add>[0]) => {
      known.add((await sender.endpoints.add(input)).id);
    };
    const compare = async () => {
      const other = new PgEndpointCache(checkStore.endpoints);
      await other.refresh();
      return [view(cache, known), view(other, known)];
    };
    for (let i = 0; i < 12; i++)
      await add({
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
          await add({
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
      const [held, loaded] = await compare();
      expect(held).toEqual(loaded);
    }
    expect(reloads).toHaveBeenCalledTimes(1);
    // A log row it read that is gone (pruned): every endpoint again, right.
    const client = await pool.connect();
    await client.query(`DELETE FROM ${schema}.endpoint_changes`);
    client.release();
    await add({ url: 'https://example.com/after-prune' });
    await cache.refresh();
    expect(reloads).toHaveBeenCalledTimes(2);
    const [held, loaded] = await compare();
    expect(held).toEqual(loaded);
  });
});
