import { spawnSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newLeaseOwner } from '../src/engine/lease-owner.js';
import { WebhookSender } from '../src/index.js';
import { ensureBuilt } from './helpers/build.js';
import { type Child, startChild } from './helpers/child.js';
import { type Receiver, startReceiver } from './helpers/receiver.js';
import { tempDir } from './helpers/tmp.js';

// Principle 2, "nothing emitted is lost", against kill -9: a sender process is
// killed at random moments while it emits and delivers, restarted, killed
// again; at the end every id any of them printed (printed only after emit()
// returned) has reached the receiver. Duplicates are allowed: at-least-once.

const ROUNDS = 5;
const tmp = tempDir();
const children: Child[] = [];
let receiver: Receiver | undefined;
const receivers: Receiver[] = [];

beforeAll(() => ensureBuilt(), 180_000);
afterAll(async () => {
  for (const child of children) child.proc.kill('SIGKILL');
  for (const r of receivers) await r.close();
  tmp.cleanup();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Each engine: the default on a file (the worker thread) and the one on the application's thread.
for (const engine of ['worker', 'inline'] as const)
  it(`every id printed by a killed sender is delivered after a restart (engine: '${engine}')`, async () => {
    // A little latency, so kills land while requests are in flight.
    receiver = await startReceiver((_req, res) => {
      setTimeout(() => res.writeHead(200).end(), Math.random() * 20);
    });
    receivers.push(receiver);
    const file = tmp.file(`crash-${engine}.db`);
    const setup = new WebhookSender({ database: file, allowPrivateNetworks: true, autoStart: false });
    setup.endpoints.add({ url: receiver.url });
    await setup.close();

    const printed = new Set<string>();
    const started = performance.now();
    for (let round = 0; round < ROUNDS; round++) {
      const child = startChild({ mode: 'emit', database: file, engine, timeout: 1000, pollInterval: 100 });
      children.push(child);
      await child.waitForLine((line) => line.startsWith('evt_'));
      await sleep(150 + Math.random() * 600);
      child.proc.kill('SIGKILL');
      const { signal } = await child.exited;
      expect(signal).toBe('SIGKILL');
      for (const line of child.lines) if (line.startsWith('evt_')) printed.add(line);
    }
    const killed = performance.now();

    const last = startChild({ mode: 'deliver', database: file, engine, timeout: 1000, pollInterval: 100 });
    children.push(last);
    const done = JSON.parse((await last.waitForLine((line) => line.startsWith('done '), 45_000)).slice(5));
    expect(await last.exited).toEqual({ code: 0, signal: null });
    const finished = performance.now();

    const received = new Set(receiver.requests.map((r) => r.headers['webhook-id'] as string));
    const missing = [...printed].filter((id) => !received.has(id));
    expect(printed.size).toBeGreaterThanOrEqual(ROUNDS);
    expect(missing).toEqual([]);
    expect(done).toMatchObject({ pending: 0, sending: 0, failed: 0 });

    const check = new WebhookSender({ database: file, autoStart: false });
    try {
      const stats = check.stats();
      expect(stats.succeeded).toBeGreaterThanOrEqual(printed.size);
      expect(stats).toMatchObject({ pending: 0, sending: 0, failed: 0 });
    } finally {
      await check.close();
    }
    console.info(
      `crash (${engine}): ${printed.size} ids printed, ${receiver.requests.length} requests ` +
        `(${receiver.requests.length - received.size} duplicates); kill rounds ${Math.round(killed - started)} ms, ` +
        `final delivery ${Math.round(finished - killed)} ms`,
    );
  }, 90_000);

it('a restarted process takes back at once the rows a killed one held, long before their leases run out', async () => {
  // The first requests never get an answer: they are in flight when the process dies.
  let answering = false;
  const r = await startReceiver((_req, res) => {
    if (answering) res.writeHead(200).end();
  });
  receivers.push(r);
  const file = tmp.file('takeover.db');
  const setup = new WebhookSender({ database: file, allowPrivateNetworks: true, autoStart: false });
  setup.endpoints.add({ url: r.url });
  await setup.close();

  // timeout 20 s: the dead process's leases would last 30 s.
  const doomed = startChild({ mode: 'emit', database: file, timeout: 20_000, pollInterval: 100 });
  children.push(doomed);
  await r.waitFor(5);
  doomed.proc.kill('SIGKILL');
  await doomed.exited;
  const printed = doomed.lines.filter((line) => line.startsWith('evt_'));
  const inspect = new WebhookSender({ database: file, autoStart: false });
  const sending = inspect.stats().sending;
  await inspect.close();
  expect(sending).toBeGreaterThanOrEqual(5);

  answering = true;
  const started = performance.now();
  const next = startChild({ mode: 'deliver', database: file, timeout: 20_000, pollInterval: 100 });
  children.push(next);
  await next.waitForLine((line) => line.startsWith('done '), 25_000);
  const took = performance.now() - started;
  expect(took).toBeLessThan(15_000);
  const received = new Set(r.requests.map((q) => q.headers['webhook-id']));
  expect(printed.filter((id) => !received.has(id))).toEqual([]);
  console.info(
    `takeover: ${sending} leased rows of a killed process delivered by its successor in ${Math.round(took)} ms`,
  );
}, 60_000);

it('only leases of a dead process on this machine are taken back early', async () => {
  const r = await startReceiver();
  receivers.push(r);
  const file = tmp.file('owners.db');
  const setup = new WebhookSender({ database: file, allowPrivateNetworks: true, autoStart: false });
  setup.endpoints.add({ url: r.url });
  const ids = [0, 1, 2, 3].map((i) => setup.emit('owner.test', { i }).id);
  // The read creates the queued events' deliveries, which the test then leases by hand.
  expect(setup.deliveries.list().items).toHaveLength(4);
  await setup.close();

  const gone = spawnSync(process.execPath, ['-e', '']).pid!;
  const owners = [
    newLeaseOwner(gone), // this machine, process gone: taken back
    newLeaseOwner(gone, 'AnotherHost0'), // another machine: cannot tell, wait
    'own_SomeOlderVersion0000', // an id without a pid: cannot tell, wait
    newLeaseOwner(process.ppid), // this machine, alive: wait
  ];
  const db = new Database(file);
  const lease = db.prepare(
    `UPDATE hookline_deliveries SET status = 'sending', lease_owner = ?, lease_until = ?
     WHERE event_seq = (SELECT seq FROM hookline_events WHERE id = ?)`,
  );
  for (const [i, owner] of owners.entries()) lease.run(owner, Date.now() + 3_600_000, ids[i]);
  db.close();

  const s = new WebhookSender({ database: file, allowPrivateNetworks: true, pollInterval: 50 });
  try {
    await r.waitFor(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await s.drain();
    expect(r.requests.map((q) => q.headers['webhook-id'])).toEqual([ids[0]]);
    expect(s.stats()).toMatchObject({ succeeded: 1, sending: 3 });
  } finally {
    await s.close();
  }
});

// kill -9 mid-fan-out: a sender process emits events to 8 endpoints each (the engine fans every one
// out, in passes) and is killed at random moments, several times, while
// it emits, fans out and delivers; then one more process delivers what is left. Every (event,
// endpoint) pair of every printed id must reach its endpoint, and must have exactly one delivery
// row: a fan-out lost or doubled by a kill fails the test.

const FAN_ROUNDS = 4;
const ENDPOINTS = 8;

for (const engine of ['worker', 'inline'] as const)
  it(`every (event, endpoint) pair is delivered and has one delivery row after kills mid-fan-out (engine: '${engine}')`, async () => {
    const receiver = await startReceiver((_req, res) => {
      setTimeout(() => res.writeHead(200).end(), Math.random() * 5);
    });
    receivers.push(receiver);
    const file = tmp.file(`fanout-crash-${engine}.db`);
    const setup = new WebhookSender({ database: file, allowPrivateNetworks: true, autoStart: false });
    for (let i = 0; i < ENDPOINTS; i++) setup.endpoints.add({ url: `${receiver.url}/ep${i}` });
    await setup.close();

    const printed = new Set<string>();
    for (let round = 0; round < FAN_ROUNDS; round++) {
      // Batches of 20 events: 160 deliveries to create per emitMany, so fan-out runs most of the time.
      const child = startChild({ mode: 'emit', database: file, engine, batch: 20, pollInterval: 100 });
      children.push(child);
      await child.waitForLine((line) => line.startsWith('evt_'));
      await sleep(100 + Math.random() * 500);
      child.proc.kill('SIGKILL');
      expect((await child.exited).signal).toBe('SIGKILL');
      for (const line of child.lines) if (line.startsWith('evt_')) printed.add(line);
    }
    const last = startChild({ mode: 'deliver', database: file, engine, pollInterval: 100 });
    children.push(last);
    await last.waitForLine((line) => line.startsWith('done '), 60_000);
    expect(await last.exited).toEqual({ code: 0, signal: null });

    const seen = new Set(receiver.requests.map((r) => `${r.headers['webhook-id']} ${r.url.slice(-4)}`));
    const missing: string[] = [];
    for (const id of printed)
      for (let i = 0; i < ENDPOINTS; i++) if (!seen.has(`${id} /ep${i}`)) missing.push(`${id} /ep${i}`);
    expect(printed.size).toBeGreaterThanOrEqual(FAN_ROUNDS * 20);
    expect(missing).toEqual([]);

    const db = new Database(file, { readonly: true });
    try {
      // Every committed event: one delivery per endpoint, none twice, nothing left queued.
      const events = (db.prepare('SELECT count(*) AS n FROM hookline_events').get() as { n: number }).n;
      const pairs = db
        .prepare(
          `SELECT count(*) AS rows, count(DISTINCT event_seq || ' ' || endpoint_id) AS pairs
           FROM hookline_deliveries WHERE replay = 0`,
        )
        .get() as { rows: number; pairs: number };
      expect(events).toBeGreaterThanOrEqual(printed.size);
      expect(pairs).toEqual({ rows: events * ENDPOINTS, pairs: events * ENDPOINTS });
      expect(db.prepare('SELECT count(*) AS n FROM hookline_fanout WHERE done = 0').get()).toEqual({ n: 0 });
    } finally {
      db.close();
    }
    console.info(
      `fan-out crash (${engine}): ${printed.size} ids printed, ${receiver.requests.length} requests for ` +
        `${printed.size * ENDPOINTS} pairs`,
    );
  }, 120_000);
