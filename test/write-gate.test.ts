import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebhookSender } from '../src/index.js';
import { GATE_WAIT_MS, WriteGate } from '../src/shared/write-gate.js';
import { SqliteStore } from '../src/store/sqlite/store.js';
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

const isShut = (gate: WriteGate) => Atomics.load(new Int32Array(gate.buffer), 0) === 1;

/** A thread that shuts the gate's memory, says so, and opens it (as WriteGate.open) when told. */
function otherHolder(buffer: SharedArrayBuffer): Promise<{ worker: Worker; open: () => void }> {
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const cell = new Int32Array(workerData);
     Atomics.store(cell, 0, 1);
     parentPort.postMessage('shut');
     parentPort.once('message', () => { Atomics.store(cell, 0, 0); Atomics.notify(cell, 0); });`,
    { eval: true, workerData: buffer },
  );
  return new Promise((resolve) =>
    worker.once('message', () => resolve({ worker, open: () => worker.postMessage('open') })),
  );
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

  it('stays shut until the outermost of nested writes ends', () => {
    const gate = new WriteGate();
    const inside = gate.hold(() => {
      gate.hold(() => {});
      return isShut(gate);
    });
    expect(inside).toBe(true);
    expect(isShut(gate)).toBe(false);
  });

  it('pass() returns at once when open, without waiting', () => {
    const wait = vi.spyOn(Atomics, 'wait');
    new WriteGate().pass();
    expect(wait).not.toHaveBeenCalled();
  });

  it('pass() waits while another thread holds it and returns once that thread opens it', async () => {
    const gate = new WriteGate();
    const holder = await otherHolder(gate.buffer);
    expect(isShut(gate)).toBe(true);
    // The holder opens only once told, and this thread is blocked in pass() until then: the message
    // is posted first, and its delivery does not need this thread.
    holder.open();
    gate.pass(10_000);
    expect(isShut(gate)).toBe(false);
    await holder.worker.terminate();
  });

  it('pass() gives up after its limit when the gate is never opened', async () => {
    const gate = new WriteGate();
    const holder = await otherHolder(gate.buffer);
    gate.pass(20);
    expect(isShut(gate)).toBe(true);
    gate.open();
    expect(isShut(gate)).toBe(false);
    await holder.worker.terminate();
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
    const s = new WebhookSender({ database: db, engine: 'worker', allowPrivateNetworks: true });
    senders.push(s);
    const gate = gateOf(s);
    expect(gate).toBeInstanceOf(SharedArrayBuffer);
    s.endpoints.add({ url: 'https://hooks.example.com/a' });
    const cell = new Int32Array(gate);
    Atomics.store(cell, 0, 1);
    const wait = vi.spyOn(Atomics, 'wait');
    // Nothing opens it here: the emit waits its limit, then writes (SQLite's lock is free).
    const first = s.emit('order.created', { n: 1 });
    expect(wait).toHaveBeenCalledWith(cell, 0, 1, GATE_WAIT_MS);
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
