// Emit cost: single emits (p50/p99 latency and rate) with 1 and 10 endpoints,
// batched emitMany, and, in the same run, a bare better-sqlite3 insert of an
// event row and one delivery row, the floor any outbox pays.
import path from 'node:path';
import Database from 'better-sqlite3';
import { WebhookSender } from 'hookline';
import { fmt, percentile, quick, tempDir } from './lib.mjs';

const N = quick ? 2_000 : 50_000;
const BATCH = 1_000;
const payload = {
  id: 42,
  customer: 'cus_123',
  total: 1999,
  currency: 'EUR',
  items: [{ sku: 'A-1', qty: 2 }],
};

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
rows.push(['bare insert (event + 1 delivery)', bare]);
for (const endpoints of [1, 10]) {
  const sender = senderWith(path.join(dir, `emit-${endpoints}.db`), endpoints);
  rows.push([`emit, ${endpoints} endpoint(s)`, timeEach(N, () => sender.emit('order.created', payload))]);
  await sender.close();
}
for (const endpoints of [1, 10]) {
  const sender = senderWith(path.join(dir, `many-${endpoints}.db`), endpoints);
  const batch = Array.from({ length: BATCH }, () => ({ type: 'order.created', payload }));
  const batches = Math.max(1, N / BATCH);
  const start = process.hrtime.bigint();
  for (let b = 0; b < batches; b++) sender.emitMany(batch);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  rows.push([`emitMany x${BATCH}, ${endpoints} endpoint(s)`, { rate: (batches * BATCH) / seconds }]);
  await sender.close();
}

console.log(`\nemit (${N} events per row, file database in WAL mode)`);
console.log('| case | events/s | p50 µs | p99 µs | max µs |');
console.log('|---|---:|---:|---:|---:|');
for (const [name, r] of rows) {
  console.log(
    `| ${name} | ${fmt(r.rate, 0)} | ${r.p50 === undefined ? '' : fmt(r.p50)} | ${r.p99 === undefined ? '' : fmt(r.p99)} | ${r.max === undefined ? '' : fmt(r.max, 0)} |`,
  );
}
console.log(`ratio emit(1 endpoint) p50 / bare p50: ${fmt(rows[1][1].p50 / bare.p50, 2)}`);
