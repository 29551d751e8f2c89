import fs from 'node:fs';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SenderClosedError, type SenderOptions } from '../src/index.js';
import { ManualClock } from './helpers/clock.js';
import { harness } from './helpers/harness.js';
import { tempDir } from './helpers/tmp.js';

// Retention: sender.prune() deletes finished deliveries past their age, with
// their attempts, and events left with no delivery; never a pending one.

const h = harness();
const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

/** Rows in each of hookline's tables. */
function counts(db: Database.Database) {
  const n = (table: string) =>
    (db.prepare(`SELECT count(*) AS n FROM hookline_${table}`).get() as { n: number }).n;
  return { events: n('events'), deliveries: n('deliveries'), attempts: n('attempts') };
}

/**
 * A sender on the application's in-memory handle (so the test can count rows),
 * with a receiver that answers by event type: `ok.*` 200, `fail.*` 500 (given
 * up at once), `later.*` 500 retried in a week (pending all along), `mixed.*`
 * 200 to endpoint a and 500 to b.
 */
async function setup(options: SenderOptions = {}) {
  const receiver = await h.receiver((request, res) => {
    const type = (JSON.parse(request.body) as { type: string }).type;
    const ok = type.startsWith('ok.') || (type.startsWith('mixed.') && !request.url.includes('?b'));
    res.writeHead(ok ? 200 : 500).end();
  });
  const db = new Database(':memory:');
  h.defer(() => db.close());
  const clock = new ManualClock();
  const sender = h.sender({
    database: db,
    clock,
    pollInterval: DAY,
    retry: (ctx) => (ctx.event.type.startsWith('later.') ? 7 * DAY : null),
    retention: { succeeded: '1m', failed: '1h' },
    ...options,
  });
  const a = sender.endpoints.add({ url: receiver.url, tenant: 't' });
  const b = sender.endpoints.add({ url: `${receiver.url}?b`, tenant: 't' });
  return { db, clock, sender, a, b };
}

describe('sender.prune()', () => {
  it('drops the per-minute activity older than two days, and keeps the rest', async () => {
    const { db, clock, sender: s } = await setup();
    const minutes = () =>
      (db.prepare('SELECT minute FROM hookline_activity ORDER BY minute').all() as { minute: number }[]).map(
        (r) => r.minute,
      );
    s.emit('ok.one', {}, { tenant: 't' });
    await s.drain();
    const first = Math.floor(clock.now() / MIN);
    clock.advance(DAY);
    s.emit('ok.two', {}, { tenant: 't' });
    await s.drain();
    const second = Math.floor(clock.now() / MIN);
    expect(minutes()).toEqual([first, second]);
    clock.advance(DAY + HOUR);
    await s.prune();
    expect(minutes()).toEqual([second]);
    expect(s.activity({ since: 0 }).filter((m) => m.succeeded > 0)).toEqual([
      expect.objectContaining({ minute: new Date(second * MIN).toISOString(), succeeded: 2 }),
    ]);
  });

  it('deletes succeeded after 1 min, failed after 1 h, never pending; events go with their last delivery', async () => {
    const { db, clock, sender: s, a, b } = await setup();
    const t = { tenant: 't' };
    const ok = s.emit('ok.one', {}, t); // 2 deliveries, both succeed
    const okA = s.emit('ok.two', {}, { ...t, endpointIds: [a.id] }); // 1 delivery, succeeds
    const fail = s.emit('fail.one', {}, { ...t, endpointIds: [b.id] }); // 1 delivery, fails for good
    const later = s.emit('later.one', {}, { ...t, endpointIds: [a.id] }); // 1 delivery, pending for a week
    const nobody = s.emit('ok.three', {}, { tenant: 'nobody' }); // no delivery at all
    await s.drain();
    expect(s.stats()).toMatchObject({ succeeded: 3, failed: 1, pending: 1 });
    expect(counts(db)).toEqual({ events: 5, deliveries: 5, attempts: 5 });

    clock.advance(59 * SEC);
    expect(await s.prune()).toEqual({ deliveries: 0, events: 0 });
    expect(counts(db)).toEqual({ events: 5, deliveries: 5, attempts: 5 });

    clock.advance(2 * SEC);
    // The 3 succeeded deliveries and their attempts; their 2 events had no other delivery.
    expect(await s.prune()).toEqual({ deliveries: 3, events: 2 });
    expect(counts(db)).toEqual({ events: 3, deliveries: 2, attempts: 2 });
    expect(() => s.events.get(ok.id)).toThrow(expect.objectContaining({ code: 'ERR_NOT_FOUND' }));
    expect(() => s.events.get(okA.id)).toThrow(expect.objectContaining({ code: 'ERR_NOT_FOUND' }));
    expect(s.events.get(fail.id).type).toBe('fail.one');
    expect(s.events.get(nobody.id).type).toBe('ok.three');
    expect(s.stats()).toMatchObject({ succeeded: 0, failed: 1, pending: 1 });

    clock.advance(HOUR - 61 * SEC);
    expect(await s.prune()).toEqual({ deliveries: 0, events: 0 });
    clock.advance(2 * SEC);
    // The failed delivery and its event; the event nobody received is past the longest retention too.
    expect(await s.prune()).toEqual({ deliveries: 1, events: 2 });
    expect(counts(db)).toEqual({ events: 1, deliveries: 1, attempts: 1 });
    expect(() => s.events.get(nobody.id)).toThrow(expect.objectContaining({ code: 'ERR_NOT_FOUND' }));

    // The pending delivery stays, however old, and so does its event.
    clock.advance(6 * DAY);
    expect(await s.prune()).toEqual({ deliveries: 0, events: 0 });
    expect(s.events.get(later.id).type).toBe('later.one');
    expect(s.deliveries.list().items).toMatchObject([{ status: 'pending', attemptCount: 1 }]);
  });

  it('an event stays while one of its deliveries does', async () => {
    const { db, clock, sender: s, a, b } = await setup();
    // To a it succeeds, to b it fails (b answers 500 to `mixed.*`).
    const ev = s.emit('mixed.one', {}, { tenant: 't' });
    await s.drain();
    expect(s.deliveries.list({ endpointId: a.id }).items[0]!.status).toBe('succeeded');
    expect(s.deliveries.list({ endpointId: b.id }).items[0]!.status).toBe('failed');

    clock.advance(2 * MIN);
    expect(await s.prune()).toEqual({ deliveries: 1, events: 0 });
    expect(counts(db)).toEqual({ events: 1, deliveries: 1, attempts: 1 });
    expect(s.events.get(ev.id).type).toBe('mixed.one');

    clock.advance(HOUR);
    expect(await s.prune()).toEqual({ deliveries: 1, events: 1 });
    expect(counts(db)).toEqual({ events: 0, deliveries: 0, attempts: 0 });
  });

  it('ages finished deliveries from when they finished, not from when they were emitted', async () => {
    const { clock, sender: s } = await setup({ retry: (ctx) => (ctx.attempt < 2 ? 10 * MIN : null) });
    s.emit('fail.one', {}, { tenant: 't' });
    await s.drain();
    clock.advance(10 * MIN);
    await s.drain();
    expect(s.stats()).toMatchObject({ failed: 2 });
    // Failed at +10 min: kept until +70 min.
    clock.advance(HOUR - 1);
    expect(await s.prune()).toEqual({ deliveries: 0, events: 0 });
    clock.advance(2);
    expect(await s.prune()).toEqual({ deliveries: 2, events: 1 });
  });

  it('retention: false keeps everything', async () => {
    const { db, clock, sender: s } = await setup({ retention: false });
    s.emit('ok.one', {}, { tenant: 't' });
    s.emit('fail.one', {}, { tenant: 't' });
    s.emit('ok.two', {}, { tenant: 'nobody' });
    await s.drain();
    clock.advance(365 * DAY);
    expect(await s.prune()).toEqual({ deliveries: 0, events: 0 });
    expect(counts(db)).toEqual({ events: 3, deliveries: 4, attempts: 4 });
  });

  it('a status left out of retention is kept for ever, and so are events nobody received', async () => {
    const { db, clock, sender: s } = await setup({ retention: { succeeded: '1m' } });
    s.emit('ok.one', {}, { tenant: 't' });
    s.emit('fail.one', {}, { tenant: 't' });
    s.emit('ok.two', {}, { tenant: 'nobody' });
    await s.drain();
    clock.advance(365 * DAY);
    expect(await s.prune()).toEqual({ deliveries: 2, events: 1 });
    expect(counts(db)).toEqual({ events: 2, deliveries: 2, attempts: 2 });
    expect(s.stats()).toMatchObject({ succeeded: 0, failed: 2 });
  });

  it('prunes many rows in batches, and concurrent calls share one pass', async () => {
    const { db, clock, sender: s, a } = await setup({ endpointConcurrency: 32 });
    s.emitMany(
      Array.from({ length: 1200 }, (_, i) => ({
        type: 'ok.bulk',
        payload: { i },
        tenant: 't',
        endpointIds: [a.id],
      })),
    );
    await s.drain();
    expect(s.stats().succeeded).toBe(1200);
    clock.advance(2 * MIN);
    const [one, two] = await Promise.all([s.prune(), s.prune()]);
    expect(one).toEqual({ deliveries: 1200, events: 1200 });
    expect(two).toBe(one);
    expect(counts(db)).toEqual({ events: 0, deliveries: 0, attempts: 0 });
  });

  it('rejects after close()', async () => {
    const s = h.sender({ autoStart: false });
    await s.close();
    await expect(s.prune()).rejects.toBeInstanceOf(SenderClosedError);
  });

  it('a dispatcher that is never idle still keeps the WAL bounded', async () => {
    const tmp = tempDir();
    h.defer(tmp.cleanup);
    const file = tmp.file();
    const stuck = await h.holding();
    const fine = await h.receiver();
    const s = h.sender({ database: file, retention: false });
    // The stuck endpoint keeps attempts in flight all along: the idle-time checkpoint never runs.
    s.endpoints.add({ url: stuck.url, events: ['stuck.*'] });
    s.endpoints.add({ url: fine.url, events: ['ok.*'] });
    s.emit('stuck.one', {});
    await stuck.receiver.waitFor(1);
    const payload = { pad: 'x'.repeat(1000) };
    for (let i = 0; i < 10; i++) {
      s.emitMany(Array.from({ length: 300 }, () => ({ type: 'ok.one', payload })));
      await fine.waitFor((i + 1) * 300);
    }
    expect(stuck.held).toHaveLength(1);
    // Without a checkpoint this would be tens of MB; it is checkpointed past 4 MiB.
    expect(fs.statSync(`${file}-wal`).size).toBeLessThan(12 * 1024 * 1024);
  });

  it('gives the pages back on a file the sender created (auto_vacuum INCREMENTAL)', async () => {
    const tmp = tempDir();
    h.defer(tmp.cleanup);
    const file = tmp.file();
    const receiver = await h.receiver();
    const clock = new ManualClock();
    const s = h.sender({ database: file, clock, pollInterval: DAY, retention: { succeeded: '1m' } });
    s.endpoints.add({ url: receiver.url });
    const payload = { pad: 'x'.repeat(4000) };
    s.emitMany(Array.from({ length: 1000 }, () => ({ type: 'ok.big', payload })));
    await s.drain();
    // Checkpointed into the main file, so that its size is what it holds.
    const size = () => {
      const db = new Database(file);
      try {
        db.pragma('wal_checkpoint(TRUNCATE)');
      } finally {
        db.close();
      }
      return fs.statSync(file).size;
    };
    const full = size();
    expect(full).toBeGreaterThan(4_000_000);
    clock.advance(2 * MIN);
    expect(await s.prune()).toEqual({ deliveries: 1000, events: 1000 });
    expect(size()).toBeLessThan(full / 4);
  });
});
