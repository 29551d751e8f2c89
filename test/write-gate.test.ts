import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Maintenance } from '../src/api/sqlite/maintenance.js';
import { newLeaseOwner } from '../src/engine/lease-owner.js';
import { WebhookSender } from '../src/index.js';
import { systemClock } from '../src/shared/clock.js';
import { GATE_WAIT_MS, WriteGate } from '../src/shared/write-gate.js';
import { SqliteDispatchStore } from '../src/store/sqlite/dispatch.js';
import { EndpointCache } from '../src/store/sqlite/endpoint-cache.js';
import { CHECKPOINT_WAIT_MS, SqliteStore, WAL_URGENT_BYTES } from '../src/store/sqlite/store.js';
import { ensureBuilt } from './helpers/build.js';
import { type Receiver, startReceiver } from './helpers/receiver.js';
import { tempDir } from './helpers/tmp.js';

// The write gate: the engine's worker shuts it around its write transactions and its catch-up
// checkpoint, the application's emits wait at it (src/shared/write-gate.ts).

const tmp = tempDir();
let senders: WebhookSender[] = [];
let receivers: Receiver[] = [];
beforeAll(() => ensureBuilt());
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(senders.map((s) => s.close({ timeout: 0 })));
  await Promise.all(receivers.map((r) => r.close()));
  senders = [];
  receivers = [];
});
afterAll(() => tmp.cleanup());

const cellsOf = (gate: WriteGate) => new Int32Array(gate.buffer);
const isShut = (gate: WriteGate) => Atomics.load(cellsOf(gate), 0) !== 0;

/**
 * A thread that shuts the gate's memory (for up to `waitMs`), says so, and opens it (as WriteGate.open)
 * when told, or by itself `openAfterMs` later.
 */
function otherHolder(
  buffer: SharedArrayBuffer,
  waitMs: number,
  openAfterMs: number | null = null,
): Promise<{ worker: Worker; open: () => void }> {
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const cell = new Int32Array(workerData.buffer);
     const open = () => { Atomics.store(cell, 0, 0); Atomics.notify(cell, 0); };
     Atomics.store(cell, 0, workerData.waitMs);
     parentPort.postMessage('shut');
     if (workerData.openAfterMs !== null) {
       Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, workerData.openAfterMs);
       open();
     }
     parentPort.once('message', open);`,
    { eval: true, workerData: { buffer, waitMs, openAfterMs } },
  );
  return new Promise((resolve) =>
    worker.once('message', () => resolve({ worker, open: () => worker.postMessage('open') })),
  );
}

/**
 * A thread that acts as an emit on the gate's memory: announces itself, says so, and after `writeAfterMs`
 * writes 1 into `log` and withdraws (as WriteGate.through); with `writeAfterMs` null it never withdraws.
 */
function announcedEmit(
  buffer: SharedArrayBuffer,
  log: SharedArrayBuffer,
  writeAfterMs: number | null,
): Promise<Worker> {
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const cells = new Int32Array(workerData.buffer);
     Atomics.add(cells, 1, 1);
     parentPort.postMessage('announced');
     if (workerData.writeAfterMs !== null) {
       Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, workerData.writeAfterMs);
       Atomics.store(new Int32Array(workerData.log), 0, 1);
       Atomics.sub(cells, 1, 1);
       Atomics.notify(cells, 1);
     }`,
    { eval: true, workerData: { buffer, log, writeAfterMs } },
  );
  return new Promise((resolve) => worker.once('message', () => resolve(worker)));
}

describe('WriteGate', () => {
  it('is shut while a write runs and open after, also when the write throws', () => {
    const gate = new WriteGate();
    expect(isShut(gate)).toBe(false);
    expect(gate.hold(() => isShut(gate))).toBe(true);
    expect(isShut(gate)).toBe(false);
    expect(() =>
      gate.hold(() => {
        throw new Error('rolled back');
      }),
    ).toThrow('rolled back');
    expect(isShut(gate)).toBe(false);
  });

  it('stays shut until the outermost of nested writes ends, with the outermost hold’s wait', () => {
    const gate = new WriteGate();
    const inside = gate.hold(() => {
      gate.hold(() => {}, 3);
      return Atomics.load(cellsOf(gate), 0);
    });
    expect(inside).toBe(GATE_WAIT_MS);
    expect(gate.hold(() => Atomics.load(cellsOf(gate), 0), 5)).toBe(5);
    expect(isShut(gate)).toBe(false);
  });

  it('through() runs the write at once when open, without waiting, and withdraws its announcement', () => {
    const gate = new WriteGate();
    const wait = vi.spyOn(Atomics, 'wait');
    const announced = gate.through(() => Atomics.load(cellsOf(gate), 1));
    expect(announced).toBe(1);
    expect(wait).not.toHaveBeenCalled();
    expect(Atomics.load(cellsOf(gate), 1)).toBe(0);
    expect(() =>
      gate.through(() => {
        throw new Error('constraint');
      }),
    ).toThrow('constraint');
    expect(Atomics.load(cellsOf(gate), 1)).toBe(0);
  });

  it('through() waits while another thread holds it and writes once that thread opens it', async () => {
    const gate = new WriteGate();
    // Shut for up to 10 s, opened by the holder itself 50 ms after it said so.
    const holder = await otherHolder(gate.buffer, 10_000, 50);
    const started = performance.now();
    const shutWhenWriting = gate.through(() => isShut(gate));
    expect(shutWhenWriting).toBe(false);
    expect(performance.now() - started).toBeGreaterThanOrEqual(20);
    await holder.worker.terminate();
  });

  it('through() waits no longer than its holder allows (a catch-up checkpoint: a few ms), then writes', async () => {
    const gate = new WriteGate();
    const holder = await otherHolder(gate.buffer, 20);
    const wait = vi.spyOn(Atomics, 'wait');
    expect(gate.through(() => isShut(gate))).toBe(true);
    expect(wait).toHaveBeenCalledWith(cellsOf(gate), 0, 20, 20);
    gate.open();
    await holder.worker.terminate();
  });

  it('hold() lets an announced emit write first, then shuts the gate for its own write', async () => {
    const gate = new WriteGate(undefined, 10_000);
    const log = new SharedArrayBuffer(4);
    const emit = await announcedEmit(gate.buffer, log, 50);
    // The emit writes 50 ms after announcing itself; the hold waits for it rather than writing first.
    const seen = gate.hold(() => ({ emitWrote: Atomics.load(new Int32Array(log), 0), shut: isShut(gate) }));
    expect(seen).toEqual({ emitWrote: 1, shut: true });
    await emit.terminate();
  });

  it('hold() writes anyway once an announced emit has taken longer than its yield', async () => {
    const gate = new WriteGate(undefined, 20);
    const log = new SharedArrayBuffer(4);
    const emit = await announcedEmit(gate.buffer, log, null);
    const started = performance.now();
    const seen = gate.hold(() => ({ emitWrote: Atomics.load(new Int32Array(log), 0), shut: isShut(gate) }));
    expect(seen).toEqual({ emitWrote: 0, shut: true });
    expect(performance.now() - started).toBeGreaterThanOrEqual(15);
    await emit.terminate();
  });

  it('hold() does not wait when no emit is announced', () => {
    const wait = vi.spyOn(Atomics, 'wait');
    new WriteGate(undefined, 10_000).hold(() => {});
    expect(wait).not.toHaveBeenCalled();
  });
});

describe('every write of the worker’s connection goes through the gate', () => {
  let opened = 0;
  /** A store on a fresh file with the gate, holding one event and its delivery (written by an inline sender). */
  function gatedStoreWithADelivery(gate: WriteGate): SqliteStore {
    const store = new SqliteStore(tmp.file(`gated-${++opened}.db`), 'hookline_', false, gate);
    const sender = new WebhookSender({ database: store.db, autoStart: false, engine: 'inline' });
    senders.push(sender);
    const endpoint = sender.endpoints.add({ url: 'https://hooks.example.com/a' });
    sender.emit('order.created', {});
    // The read creates the delivery.
    expect(sender.deliveries.list({ endpointId: endpoint.id }).items).toHaveLength(1);
    return store;
  }
  /** Wraps `target[method]` to note whether the gate was shut each time it ran. */
  function noteGate<T extends object>(target: T, method: keyof T & string, gate: WriteGate): boolean[] {
    const seen: boolean[] = [];
    const original = (target[method] as (...args: unknown[]) => unknown).bind(target);
    vi.spyOn(target, method as never).mockImplementation(((...args: unknown[]) => {
      seen.push(isShut(gate));
      return original(...args);
    }) as never);
    return seen;
  }

  it('the lease sweep, the release of a dead process’s rows and of a sender’s own', async () => {
    const gate = new WriteGate();
    const store = gatedStoreWithADelivery(gate);
    try {
      // Leased by a process of this machine that does not exist: the sweep gives the row back at once.
      const dead = newLeaseOwner(2 ** 22 + 7);
      store.db
        .prepare(`UPDATE hookline_deliveries SET status = 'sending', lease_owner = ?, lease_until = ?`)
        .run(dead, Date.now() + 60_000);
      const dispatch = new SqliteDispatchStore(store, new EndpointCache(store.endpoints), 'me', {
        threshold: 0,
        cooloff: 1_000,
        maxCooloff: 1_000,
        disableAfter: 0,
      });
      const expired = noteGate(store.outbox, 'expireLeases', gate);
      const released = noteGate(store.outbox, 'release', gate);
      expect(dispatch.expireLeases(Date.now())).toBe(1);
      dispatch.release('me', Date.now());
      expect(expired).toEqual([true]);
      expect(released).toEqual([true, true]);
      expect(isShut(gate)).toBe(false);
    } finally {
      await store.close();
    }
  });

  it('the retention sweep, its vacuum, the empty events and the pruning of counts', async () => {
    const gate = new WriteGate();
    const store = gatedStoreWithADelivery(gate);
    try {
      // The delivery ended long ago: old enough to go.
      store.db
        .prepare(`UPDATE hookline_deliveries SET status = 'succeeded', updated_at = 0, created_at = 0`)
        .run();
      const swept = noteGate(store.retention, 'sweepDeliveries', gate);
      const vacuumed = noteGate(store, 'vacuumStep', gate);
      const emptied = noteGate(store.retention, 'sweepEmptyEvents', gate);
      const pruned = noteGate(store.health, 'pruneMinutes', gate);
      const prunedActivity = noteGate(store.health, 'pruneActivity', gate);
      const result = await new Maintenance(store, { succeeded: 1_000, failed: 1_000 }, systemClock).prune();
      expect(result.deliveries).toBe(1);
      expect(swept.length).toBeGreaterThan(0);
      expect(emptied.length).toBeGreaterThan(0);
      expect([...swept, ...emptied].every(Boolean)).toBe(true);
      expect(vacuumed).toEqual([true]);
      expect(pruned).toEqual([true]);
      expect(prunedActivity).toEqual([true]);
    } finally {
      await store.close();
    }
  });
});

describe('the catch-up checkpoint', () => {
  /** A store whose WAL holds `rows` KiB-rows, looked at once: the wait its checkpoint left in the gate. */
  async function checkpointWait(rows: number): Promise<number[]> {
    const gate = new WriteGate();
    const store = new SqliteStore(tmp.file(`checkpoint-${rows}.db`), 'hookline_', false, gate);
    try {
      store.db.exec('CREATE TABLE filler (b BLOB)');
      store.db
        .prepare(
          `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
           INSERT INTO filler SELECT randomblob(1024) FROM n`,
        )
        .run(rows);
      const waits: number[] = [];
      const pragma = store.db.pragma.bind(store.db);
      const spy = vi.spyOn(store.db, 'pragma').mockImplementation(((source: string, options?: object) => {
        if (source.startsWith('wal_checkpoint')) waits.push(Atomics.load(cellsOf(gate), 0));
        return pragma(source, options);
      }) as never);
      store.checkpointIfLarge();
      spy.mockRestore();
      expect(isShut(gate)).toBe(false);
      return waits;
    } finally {
      await store.close();
    }
  }

  it('past the hard limit, holds emits for a few ms only: a checkpoint holds no write lock', async () => {
    // About 3 rows a page: some 12 MB of WAL, between the hard limit and the urgent one.
    expect(await checkpointWait(9_000)).toEqual([CHECKPOINT_WAIT_MS]);
  });

  it('past the urgent limit, holds emits as long as a write would', async () => {
    expect(WAL_URGENT_BYTES).toBeLessThan(40 * 1024 * 1024);
    expect(await checkpointWait(30_000)).toEqual([GATE_WAIT_MS]);
  });
});

describe('the write gate in a sender', () => {
  function sender(): WebhookSender {
    const s = new WebhookSender({ database: tmp.file(), engine: 'worker', allowPrivateNetworks: true });
    senders.push(s);
    return s;
  }
  /** The memory the sender's emits and its worker share (the worker's SQLite store config carries it). */
  const gateOf = (s: WebhookSender) =>
    (s as unknown as Record<symbol, { options: { config: { store: { gate: SharedArrayBuffer } } } }>)[
      Symbol.for('hookline.engine')
    ]!.options.config.store.gate;

  it('emit waits at a shut gate, but not inside the application’s own transaction', () => {
    const db = new Database(tmp.file());
    db.pragma('journal_mode = WAL');
    // Not started: the worker's own holds would change what the test stores in the gate.
    const s = new WebhookSender({
      database: db,
      engine: 'worker',
      allowPrivateNetworks: true,
      autoStart: false,
    });
    senders.push(s);
    const gate = gateOf(s);
    expect(gate).toBeInstanceOf(SharedArrayBuffer);
    s.endpoints.add({ url: 'https://hooks.example.com/a' });
    const cell = new Int32Array(gate);
    Atomics.store(cell, 0, 30);
    const wait = vi.spyOn(Atomics, 'wait');
    // Nothing opens it here: the emit waits its holder's limit, then writes (SQLite's lock is free).
    const first = s.emit('order.created', { n: 1 });
    expect(wait).toHaveBeenCalledWith(cell, 0, 30, 30);
    wait.mockClear();
    // Within the application's transaction this connection may hold the lock the worker waits for.
    const second = db.transaction(() => s.emit('order.created', { n: 2 }))();
    expect(wait).not.toHaveBeenCalled();
    Atomics.store(cell, 0, 0);
    expect(s.events.get(first.id)).not.toBeNull();
    expect(s.events.get(second.id)).not.toBeNull();
  });

  it('is not there for the inline engine', () => {
    const s = new WebhookSender({ database: tmp.file(), engine: 'inline', autoStart: false });
    senders.push(s);
    const wait = vi.spyOn(Atomics, 'wait');
    s.emit('order.created', {});
    expect(wait).not.toHaveBeenCalled();
  });

  it('is opened when the worker dies, whatever it held', async () => {
    const s = sender();
    const seen: string[] = [];
    s.on('error', (e) => seen.push(e.code));
    s.emit('order.created', {});
    await s.drain();
    const gate = new WriteGate(gateOf(s));
    Atomics.store(new Int32Array(gate.buffer), 0, 1); // as if it died mid-write
    const engine = (s as unknown as Record<symbol, { thread: Worker | null }>)[
      Symbol.for('hookline.engine')
    ]!;
    await engine.thread!.terminate();
    await vi.waitFor(() => expect(seen).toContain('ERR_DISPATCH'));
    expect(isShut(gate)).toBe(false);
  });

  it('keeps the WAL bounded while the application emits and the worker delivers (two writers)', async () => {
    const r = await startReceiver();
    receivers.push(r);
    const file = tmp.file();
    const s = new WebhookSender({ database: file, engine: 'worker', allowPrivateNetworks: true });
    senders.push(s);
    s.endpoints.add({ url: r.url, concurrency: 32 });
    const payload = { blob: 'x'.repeat(1_000) };
    let largest = 0;
    // About 2,500 emits a second for 5 s, each its own transaction, while the worker writes results:
    // some 30 KB of WAL per emit, 375 MB in all if the WAL never started over.
    for (let tick = 0; tick < 500; tick++) {
      for (let i = 0; i < 25; i++) s.emit('order.created', payload);
      largest = Math.max(largest, fs.statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(s.stats().succeeded).toBeGreaterThan(0);
    // The catch-up checkpoint runs past 8 MiB, after two passes of the checkpoint thread; the WAL grows
    // by a few MB between two looks and during those passes.
    expect(largest).toBeGreaterThan(4 * 1024 * 1024);
    expect(largest).toBeLessThan(32 * 1024 * 1024);
  });
});

describe('a claim on the engine’s connection', () => {
  it('leases under the gate and reads the events after the commit, skipping a row removed since', async () => {
    const file = tmp.file();
    const s = new WebhookSender({ database: file, engine: 'inline', autoStart: false });
    senders.push(s);
    const endpoint = s.endpoints.add({ url: 'https://hooks.example.com/a' });
    const kept = s.emit('order.created', { n: 1 });
    const removed = s.emit('order.created', { n: 2 });
    // The read creates the queued events' deliveries.
    expect(s.deliveries.list({ endpointId: endpoint.id }).items).toHaveLength(2);
    const gate = new WriteGate();
    const store = new SqliteStore(file, 'hookline_', false, gate);
    try {
      const now = Date.now();
      const leased = store.write(() => {
        expect(isShut(gate)).toBe(true);
        return store.claims.leaseIn({
          requests: [{ endpointId: endpoint.id, max: 10, fifo: false, cap: 10, ratePerSecond: null }],
          budget: 10,
          lease: { owner: 'test', now, until: now + 60_000 },
        });
      });
      expect(isShut(gate)).toBe(false);
      expect(leased.rows).toHaveLength(2);
      // Between the commit and the read of the events: one row and its event are deleted.
      const seq = (
        store.db.prepare('SELECT seq FROM hookline_events WHERE id = ?').get(removed.id) as { seq: number }
      ).seq;
      store.db.prepare('DELETE FROM hookline_deliveries WHERE event_seq = ?').run(seq);
      store.db.prepare('DELETE FROM hookline_events WHERE seq = ?').run(seq);
      const outcome = store.claims.withEvents(leased);
      expect(outcome.claimed.map((d) => d.eventId)).toEqual([kept.id]);
      expect(JSON.parse(Buffer.from(outcome.claimed[0]!.payload).toString())).toEqual({ n: 1 });
    } finally {
      await store.close();
    }
  });
});
