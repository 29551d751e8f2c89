import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgWebhookSender } from '../src/postgres.js';
import { ensureBuilt } from './helpers/build.js';
import { dropSchema, PG_URL, probePostgres, uniqueSchema } from './helpers/postgres.js';
import { type Receiver, startReceiver } from './helpers/receiver.js';

// Four sender processes share one PostgreSQL schema; one is SIGKILLed half-way.
// Every event is delivered; the only duplicates are requests the killed process
// had in flight (sent, not yet recorded), which the others send again once its
// leases are taken back.

const probe = await probePostgres();
const EVENTS = 5_000;
const PROCESSES = 4;
const CONCURRENCY = 8;
const fixture = fileURLToPath(new URL('./fixtures/pg-sender-child.mjs', import.meta.url));

interface Proc {
  proc: ChildProcessWithoutNullStreams;
  lines: string[];
  stderr: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitFor(line: string, timeoutMs: number): Promise<void>;
}

function startProc(config: object): Proc {
  const proc = spawn(process.execPath, [fixture, JSON.stringify(config)], { stdio: 'pipe' });
  const p: Proc = {
    proc,
    lines: [],
    stderr: '',
    exited: new Promise((resolve) => proc.on('close', (code, signal) => resolve({ code, signal }))),
    async waitFor(line, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!p.lines.includes(line)) {
        if (Date.now() > deadline || proc.exitCode !== null)
          throw new Error(`No \`${line}\` from pid ${proc.pid}; stderr: ${p.stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  };
  let partial = '';
  proc.stdout.setEncoding('utf8');
  proc.stdout.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    p.lines.push(...parts);
  });
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (chunk: string) => {
    p.stderr += chunk;
  });
  proc.stdin.on('error', () => {});
  return p;
}

describe.skipIf(!probe.available)(`PgWebhookSender in several processes (${probe.reason})`, () => {
  const schema = uniqueSchema('procs');
  const procs: Proc[] = [];
  let receiver: Receiver;

  beforeAll(() => ensureBuilt(), 180_000);
  afterAll(async () => {
    for (const p of procs) p.proc.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    await receiver?.close();
    await dropSchema(schema);
  });

  it(`delivers ${EVENTS} events with ${PROCESSES} processes, one killed half-way`, async () => {
    receiver = await startReceiver((_req, res) => {
      setTimeout(() => res.writeHead(200).end(), 2);
    });
    const pool = new pg.Pool({ connectionString: PG_URL });
    const setup = new PgWebhookSender({ pool, schema, allowPrivateNetworks: true, autoStart: false });
    await setup.endpoints.add({ url: receiver.url, concurrency: PROCESSES * CONCURRENCY });
    const emitted = new Set<string>();
    for (let batch = 0; batch < EVENTS / 500; batch++) {
      const items = Array.from({ length: 500 }, (_, i) => ({
        type: 'many.processes',
        payload: { batch, i },
      }));
      for (const event of await setup.emitMany(items)) emitted.add(event.id);
    }
    await setup.close();
    await pool.end();
    expect(emitted.size).toBe(EVENTS);

    for (let i = 0; i < PROCESSES; i++) {
      procs.push(startProc({ url: PG_URL, schema, concurrency: CONCURRENCY }));
    }
    await Promise.all(procs.map((p) => p.waitFor('ready', 30_000)));
    for (const p of procs) p.proc.stdin.write('start\n');

    while (receiver.requests.length < EVENTS / 2) await new Promise((resolve) => setTimeout(resolve, 5));
    const victim = procs[0]!;
    victim.proc.kill('SIGKILL');
    expect(await victim.exited).toEqual({ code: null, signal: 'SIGKILL' });
    const survivors = procs.slice(1);
    await Promise.all(survivors.map((p) => p.waitFor('done', 90_000)));
    for (const p of survivors) expect(await p.exited).toEqual({ code: 0, signal: null });

    const counts = new Map<string, number>();
    for (const request of receiver.requests) {
      const id = request.headers['webhook-id'] as string;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    // Every event arrived.
    expect(new Set(counts.keys())).toEqual(emitted);
    // Each delivery was recorded by exactly one process.
    const recorded = new Map<string, number>();
    for (const p of procs) {
      for (const line of p.lines) {
        if (!line.startsWith('delivered ')) continue;
        const id = line.slice('delivered '.length);
        recorded.set(id, (recorded.get(id) ?? 0) + 1);
      }
    }
    const victimRecorded = new Set(
      victim.lines.filter((l) => l.startsWith('delivered ')).map((l) => l.slice('delivered '.length)),
    );
    expect([...recorded.values()].every((n) => n === 1)).toBe(true);
    for (const p of survivors) expect(p.lines.some((l) => l.startsWith('delivered '))).toBe(true);
    // Duplicates: only what the killed process had sent but not recorded: its requests in flight,
    // plus those finished and waiting for the batch being written (the dispatcher claims anew while
    // a batch is recorded), so at most twice its slots.
    const twice = [...counts].filter(([, n]) => n > 1);
    expect(twice.length).toBeLessThanOrEqual(2 * CONCURRENCY);
    for (const [id, n] of twice) {
      expect(n).toBe(2);
      expect(victimRecorded.has(id)).toBe(false);
    }
    expect(receiver.requests.length).toBe(EVENTS + twice.length);
  }, 150_000);

  it('kill -9 mid-fan-out: every (event, endpoint) pair is delivered and has one delivery row', async () => {
    const ENDPOINTS = 8;
    const FANNED = 1_000;
    const fanSchema = uniqueSchema('fanout');
    const r = await startReceiver((_req, res) => {
      setTimeout(() => res.writeHead(200).end(), 1);
    });
    const pool = new pg.Pool({ connectionString: PG_URL });
    try {
      const setup = new PgWebhookSender({
        pool,
        schema: fanSchema,
        allowPrivateNetworks: true,
        autoStart: false,
      });
      for (let i = 0; i < ENDPOINTS; i++) await setup.endpoints.add({ url: `${r.url}/ep${i}` });
      const emitted = new Set<string>();
      for (let batch = 0; batch < FANNED / 250; batch++) {
        const items = Array.from({ length: 250 }, (_, i) => ({ type: 'fan.out', payload: { batch, i } }));
        for (const event of await setup.emitMany(items)) emitted.add(event.id);
      }
      await setup.close();
      const fans = Array.from({ length: 3 }, () =>
        startProc({ url: PG_URL, schema: fanSchema, concurrency: 8 }),
      );
      procs.push(...fans);
      await Promise.all(fans.map((p) => p.waitFor('ready', 30_000)));
      for (const p of fans) p.proc.stdin.write('start\n');
      // Early: 8,000 deliveries to create, 2,000 per fan-out pass, most of them still queued.
      while (r.requests.length < 200) await new Promise((resolve) => setTimeout(resolve, 2));
      fans[0]!.proc.kill('SIGKILL');
      await fans[0]!.exited;
      await Promise.all(fans.slice(1).map((p) => p.waitFor('done', 90_000)));

      const seen = new Set(r.requests.map((q) => `${q.headers['webhook-id']} ${q.url.slice(-4)}`));
      const missing = [...emitted].flatMap((id) =>
        Array.from({ length: ENDPOINTS }, (_, i) => `${id} /ep${i}`).filter((pair) => !seen.has(pair)),
      );
      expect(missing).toEqual([]);
      const { rows } = await pool.query(
        `SELECT count(*)::int AS rows, count(DISTINCT (event_seq, endpoint_id))::int AS pairs,
           (SELECT count(*)::int FROM "${fanSchema}".fanout) AS queued
         FROM "${fanSchema}".deliveries WHERE replay = 0`,
      );
      expect(rows[0]).toEqual({ rows: FANNED * ENDPOINTS, pairs: FANNED * ENDPOINTS, queued: 0 });
    } finally {
      await pool.end();
      await r.close();
      await dropSchema(fanSchema);
    }
  }, 150_000);
});
