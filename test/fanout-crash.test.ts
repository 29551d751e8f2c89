import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { WebhookSender } from '../src/index.js';
import { ensureBuilt } from './helpers/build.js';
import { type Child, startChild } from './helpers/child.js';
import { type Receiver, startReceiver } from './helpers/receiver.js';
import { tempDir } from './helpers/tmp.js';

// kill -9 mid-fan-out: a sender process emits events to 8 endpoints each (more than an emit writes
// itself, so the engine fans every one out) and is killed at random moments, several times, while
// it emits, fans out and delivers; then one more process delivers what is left. Every (event,
// endpoint) pair of every printed id must reach its endpoint, and must have exactly one delivery
// row: a fan-out lost or doubled by a kill fails the test.

const ROUNDS = 4;
const ENDPOINTS = 8;
const tmp = tempDir();
const children: Child[] = [];
const receivers: Receiver[] = [];

beforeAll(() => ensureBuilt(), 180_000);
afterAll(async () => {
  for (const child of children) child.proc.kill('SIGKILL');
  for (const r of receivers) await r.close();
  tmp.cleanup();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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
    for (let round = 0; round < ROUNDS; round++) {
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
    expect(printed.size).toBeGreaterThanOrEqual(ROUNDS * 20);
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
      expect(db.prepare('SELECT count(*) AS n FROM hookline_fanout').get()).toEqual({ n: 0 });
    } finally {
      db.close();
    }
    console.info(
      `fan-out crash (${engine}): ${printed.size} ids printed, ${receiver.requests.length} requests for ` +
        `${printed.size * ENDPOINTS} pairs`,
    );
  }, 120_000);
