// Emit cost: single emits (p50/p99 latency and rate) with 1, 10, 100 and 1,000 endpoints, one
// tenant's event among 10,000 endpoints over 2,000 tenants, batched emitMany, and, in the same run,
// a bare better-sqlite3 insert of an event row and one delivery row (one transaction each, and 1,000
// to a transaction), the floor any outbox pays; the single emits and the bare insert take turns in
// blocks, so that the machine's noise hits them alike. Then emit while the
// engine's worker thread delivers 2,000/s to a receiver in another process: the two
// connections share the file, so this is the emit tail the worker's write transactions cause.
import path from 'node:path';
import Database from 'better-sqlite3';
import { WebhookSender } from 'hookline';
import {
  emitAtRate,
  payloadOfKb,
  percentile,
  quick,
  startReceiver,
  summarize,
  tempDir,
  writeResult,
} from './lib.mjs';
import { renderEmit } from './report.mjs';

const N = quick ? 1_000 : 10_000;
const BATCH = 1_000;
// The same 1 KB JSON payload as the other benchmarks.
const payload = payloadOfKb(1);

/** Bare better-sqlite3 inserts of an event row and one delivery row: the floor any outbox pays. */
function bareTable(file) {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('wal_autocheckpoint = 0');
  db.exec(`CREATE TABLE events (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, type TEXT, payload TEXT, created_at INTEGER);
           CREATE TABLE deliveries (seq INTEGER PRIMARY KEY, event_seq INTEGER, endpoint_id TEXT, status TEXT, next_attempt_at INTEGER);`);
  const ins = db.prepare('INSERT INTO events (id, type, payload, created_at) VALUES (?, ?, ?, ?)');
  const insD = db.prepare(
    `INSERT INTO deliveries (event_seq, endpoint_id, status, next_attempt_at) VALUES (?, 'ep_1', 'pending', ?)`,
  );
  const tx = db.transaction((i) => {
    const { lastInsertRowid } = ins.run(
      `evt_${i}_${Math.random()}`,
      'order.created',
      JSON.stringify(payload),
      Date.now(),
    );
    insD.run(lastInsertRowid, Date.now());
  });
  return { db, tx };
}

/**
 * Times `n` calls of each case, the cases taking turns in ROUNDS blocks: a noisy moment of this
 * shared machine hits every case alike, so their ratios hold better than those of runs in a row.
 */
function interleaved(cases, n) {
  const rounds = quick ? 4 : 20;
  const per = Math.ceil(n / rounds);
  const state = cases.map(() => ({ samples: new Float64Array(per * rounds), taken: 0, ns: 0n }));
  for (let r = 0; r < rounds; r++) {
    cases.forEach(([, fn], c) => {
      const s = state[c];
      const start = process.hrtime.bigint();
      for (let i = 0; i < per; i++) {
        const t0 = process.hrtime.bigint();
        fn(s.taken);
        s.samples[s.taken++] = Number(process.hrtime.bigint() - t0) / 1000;
      }
      s.ns += process.hrtime.bigint() - start;
    });
  }
  return cases.map(([name, , meta], c) => {
    const { samples, taken, ns } = state[c];
    const { p50, p99, max } = summarize(samples);
    return [name, { p50, p99, max, rate: taken / (Number(ns) / 1e9), events: taken, ...meta }];
  });
}

function senderWith(file, endpoints, tenants = 0) {
  const sender = new WebhookSender({ database: file, autoStart: false });
  for (let i = 0; i < endpoints; i++)
    sender.endpoints.add({
      url: `https://receiver${i}.example.com/hook`,
      events: ['order.*'],
      tenant: tenants > 0 ? `t_${i % tenants}` : undefined,
    });
  return sender;
}

const dir = tempDir();
const rows = [];
// The single emits and the bare insert, taking turns (`interleaved`); 10,000 endpoints over 2,000
// tenants: each event goes to one tenant's 5 endpoints.
{
  const bare = bareTable(path.join(dir, 'bare.db'));
  const senders = [1, 10, 100, 1_000].map((endpoints) => [
    endpoints,
    senderWith(path.join(dir, `emit-${endpoints}.db`), endpoints),
  ]);
  const tenants = senderWith(path.join(dir, 'tenants.db'), 10_000, 2_000);
  let t = 0;
  rows.push(
    ...interleaved(
      [
        ['bare insert (event + 1 delivery)', (i) => bare.tx(i)],
        ...senders.map(([endpoints, sender]) => [
          `emit, ${endpoints.toLocaleString('en-US')} endpoint(s)`,
          () => sender.emit('order.created', payload),
          { endpoints },
        ]),
        [
          'emit, one tenant of 2,000 (10,000 endpoints)',
          () => tenants.emit('order.created', payload, { tenant: `t_${t++ % 2_000}` }),
          { endpoints: 5 },
        ],
      ],
      N,
    ),
  );
  // The same rows, 1,000 to a transaction: what emitMany is measured against.
  const many = bare.db.transaction((from) => {
    for (let i = from; i < from + BATCH; i++) bare.tx(i);
  });
  const batches = Math.max(1, Math.round(N / BATCH));
  const start = process.hrtime.bigint();
  for (let b = 0; b < batches; b++) many(10 * N + b * BATCH);
  const batchedRate = (batches * BATCH) / (Number(process.hrtime.bigint() - start) / 1e9);
  rows.splice(1, 0, [
    `bare insert x${BATCH} per transaction`,
    { rate: batchedRate, events: batches * BATCH },
  ]);
  bare.db.close();
  // The first emit after another sender changed an endpoint: the cache reads again the endpoints
  // that changed (the change log), not all 10,000.
  const other = new WebhookSender({ database: path.join(dir, 'tenants.db'), autoStart: false });
  const ids = other.endpoints.list().map((e) => e.id);
  const changes = quick ? 50 : 500;
  const timed = new Float64Array(changes);
  for (let i = 0; i < changes; i++) {
    other.endpoints.update(ids[i % ids.length], { headers: { 'x-change': String(i) } });
    const t0 = process.hrtime.bigint();
    tenants.emit('order.created', payload, { tenant: `t_${t++ % 2_000}` });
    timed[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  const { p50, p99, max } = summarize(timed);
  rows.push([
    'emit, one tenant of 2,000, each after another sender changed an endpoint',
    { p50, p99, max, events: changes, endpoints: 5 },
  ]);
  await other.close();
  await tenants.close();
  for (const [, sender] of senders) await sender.close();
}
// Each emit right after another connection to the file wrote (one tiny row): SQLite then drops this
// connection's page cache at the start of its next transaction and reads the pages it needs again,
// as an emit that follows one of the worker engine's transactions does.
{
  const file = path.join(dir, 'other-writer.db');
  const sender = senderWith(file, 1);
  const other = new Database(file);
  other.exec('CREATE TABLE IF NOT EXISTS other_writer (x)');
  const write = other.prepare('INSERT INTO other_writer VALUES (1)');
  const timed = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    write.run();
    const t0 = process.hrtime.bigint();
    sender.emit('order.created', payload);
    timed[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  const { p50, p99, max } = summarize(timed);
  rows.push([
    'emit, 1 endpoint, each after another connection wrote',
    { p50, p99, max, events: N, endpoints: 1 },
  ]);
  other.close();
  await sender.close();
}
for (const endpoints of [1, 10, 100, 1_000]) {
  const sender = senderWith(path.join(dir, `many-${endpoints}.db`), endpoints);
  const batch = Array.from({ length: BATCH }, () => ({ type: 'order.created', payload }));
  const batches = Math.max(1, Math.round(N / BATCH));
  const start = process.hrtime.bigint();
  for (let b = 0; b < batches; b++) sender.emitMany(batch);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  rows.push([
    `emitMany x${BATCH}, ${endpoints.toLocaleString('en-US')} endpoint(s)`,
    { rate: (batches * BATCH) / seconds, events: batches * BATCH, endpoints },
  ]);
  await sender.close();
}

// 2,000 emits/s in steps of 20 every 10 ms, each emit timed; the worker delivers them as they come.
{
  const RATE = 2_000;
  const receiver = await startReceiver();
  const sender = new WebhookSender({ database: path.join(dir, 'busy.db'), allowPrivateNetworks: true });
  sender.endpoints.add({ url: receiver.url });
  let delivered = 0;
  sender.on('delivered', () => delivered++);
  await new Promise((resolve) => setTimeout(resolve, 300)); // the worker is up
  const n = quick ? 1_000 : 20_000;
  const { samples, seconds } = await emitAtRate(sender, payload, n, RATE);
  await sender.drain();
  samples.sort();
  rows.push([
    `emit while the worker delivers ${RATE.toLocaleString('en-US')}/s`,
    {
      p50: percentile(samples, 50),
      p99: percentile(samples, 99),
      max: samples[n - 1],
      rate: n / seconds,
      events: n,
      delivered,
    },
  ]);
  await sender.close();
  await receiver.stop();
}

const result = { events: N, batch: BATCH, rows: rows.map(([name, r]) => ({ name, ...r })) };
writeResult('emit', result);
console.log(`\n${renderEmit(result)}`);
