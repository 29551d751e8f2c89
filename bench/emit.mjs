// Emit cost: single emits (p50/p99 latency and rate) with 1, 10 and 100 endpoints,
// batched emitMany, and, in the same run, a bare better-sqlite3 insert of an
// event row and one delivery row, the floor any outbox pays. Then emit while the
// engine's worker thread delivers 2,000/s to a receiver in another process: the two
// connections share the file, so this is the emit tail the worker's write transactions cause.
import path from 'node:path';
import Database from 'better-sqlite3';
import { WebhookSender } from 'hookline';
import { emitAtRate, payloadOfKb, percentile, quick, startReceiver, tempDir, writeResult } from './lib.mjs';
import { renderEmit } from './report.mjs';

const N = quick ? 1_000 : 10_000;
const BATCH = 1_000;
// The same 1 KB JSON payload as the other benchmarks.
const payload = payloadOfKb(1);

/** Fewer events where each emit writes a delivery row per endpoint, so every row takes similar time. */
const eventsFor = (endpoints) => Math.max(200, Math.round(N / Math.max(1, endpoints / 10)));

function timeEach(n, fn) {
  const samples = new Float64Array(n);
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    fn(i);
    samples[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  const totalS = Number(process.hrtime.bigint() - start) / 1e9;
  samples.sort();
  return {
    p50: percentile(samples, 50),
    p99: percentile(samples, 99),
    max: samples[n - 1],
    rate: n / totalS,
  };
}

function bareBaseline(file) {
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
  const result = timeEach(N, tx);
  db.close();
  return result;
}

function senderWith(file, endpoints) {
  const sender = new WebhookSender({ database: file, autoStart: false });
  for (let i = 0; i < endpoints; i++)
    sender.endpoints.add({ url: `https://receiver${i}.example.com/hook`, events: ['order.*'] });
  return sender;
}

const dir = tempDir();
const rows = [];
const bare = bareBaseline(path.join(dir, 'bare.db'));
rows.push(['bare insert (event + 1 delivery)', { ...bare, events: N }]);
for (const endpoints of [1, 10, 100]) {
  const sender = senderWith(path.join(dir, `emit-${endpoints}.db`), endpoints);
  const n = eventsFor(endpoints);
  rows.push([
    `emit, ${endpoints} endpoint(s)`,
    { ...timeEach(n, () => sender.emit('order.created', payload)), events: n, endpoints },
  ]);
  await sender.close();
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
  timed.sort();
  rows.push([
    'emit, 1 endpoint, each after another connection wrote',
    { p50: percentile(timed, 50), p99: percentile(timed, 99), max: timed[N - 1], events: N, endpoints: 1 },
  ]);
  other.close();
  await sender.close();
}
for (const endpoints of [1, 10, 100]) {
  const sender = senderWith(path.join(dir, `many-${endpoints}.db`), endpoints);
  const batch = Array.from({ length: BATCH }, () => ({ type: 'order.created', payload }));
  const batches = Math.max(1, Math.round(eventsFor(endpoints) / BATCH));
  const start = process.hrtime.bigint();
  for (let b = 0; b < batches; b++) sender.emitMany(batch);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  rows.push([
    `emitMany x${BATCH}, ${endpoints} endpoint(s)`,
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
