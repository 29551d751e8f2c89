// The dashboard on a big outbox: every page it serves, timed over HTTP on loopback, with 1,000,000
// deliveries (and as many events and attempts) spread over the last day in one SQLite file.
//
// The file is made with hookline's own schema (a sender creates it), then filled with plain inserts
// (fast: one transaction per 100,000 rows): 100 endpoints over 10 tenants, 20 event types and one rare
// one, deliveries 90% succeeded, 7% failed, 3% pending, an attempt each, the activity of every minute.
// The dashboard is mounted in a node:http server of this process on a sender opened as an operator
// tool would (`migrate: false`, `autoStart: false`); each page is fetched REPEAT times after one
// warm-up, and the median and the slowest are reported. Target: every page <= 100 ms.
//
// `node bench/dashboard.mjs [--quick]` after `npm run build` (npm run bench runs it).
import http from 'node:http';
import path from 'node:path';
import Database from 'better-sqlite3';
import { WebhookSender } from 'hookline';
import { dashboard } from 'hookline/dashboard';
import { int, median, ms, quick, table, tempDir } from './lib.mjs';

const ROWS = quick ? 20_000 : 1_000_000;
const REPEAT = quick ? 3 : 15;
const TARGET_MS = 100;
const DAY = 86_400_000;

const file = path.join(tempDir(), 'dashboard.db');
const setup = new WebhookSender({ database: file, autoStart: false });
const endpoints = [];
for (let i = 0; i < 100; i++) {
  endpoints.push(
    setup.endpoints.add({ url: `https://example.com/hooks/${i}`, tenant: `tenant-${i % 10}` }).id,
  );
}
await setup.close();

const t0 = performance.now();
const db = new Database(file);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = OFF');
const now = Date.now();
const start = now - DAY;
const event = db.prepare(
  `INSERT INTO hookline_events (seq, id, type, tenant, payload, created_at, targets) VALUES (?, ?, ?, ?, ?, ?, 1)`,
);
const delivery = db.prepare(
  `INSERT INTO hookline_deliveries (seq, event_seq, endpoint_id, status, attempt_count, next_attempt_at,
     last_status_code, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
);
const attempt = db.prepare(
  `INSERT INTO hookline_attempts (seq, delivery_seq, number, started_at, duration_ms, status_code, response_headers,
     response_body) VALUES (?, ?, 1, ?, 40, ?, '{}', ?)`,
);
const payload = JSON.stringify({ order: { id: 42, total: 1999, items: [{ sku: 'A-1', qty: 2 }] } });
for (let from = 1; from <= ROWS; from += 100_000) {
  db.transaction(() => {
    for (let seq = from; seq < Math.min(from + 100_000, ROWS + 1); seq++) {
      const at = start + Math.floor(((seq - 1) * DAY) / ROWS);
      const endpointIndex = seq % 100;
      const type = seq % 100_003 === 0 ? 'rare.thing' : `type.${seq % 20}`;
      const roll = seq % 100;
      const status = roll < 90 ? 'succeeded' : roll < 97 ? 'failed' : 'pending';
      event.run(seq, `evt_bench${seq}`, type, `tenant-${endpointIndex % 10}`, payload, at);
      const code = status === 'succeeded' ? 200 : 500;
      delivery.run(
        seq,
        seq,
        endpoints[endpointIndex],
        status,
        status === 'pending' ? 0 : 1,
        status === 'pending' ? at : null,
        status === 'pending' ? null : code,
        at,
        at,
      );
      if (status !== 'pending') attempt.run(seq, seq, at, code, status === 'succeeded' ? 'ok' : 'down');
    }
  })();
}
const activity = db.prepare(
  'INSERT INTO hookline_activity (minute, succeeded, retrying, failed) VALUES (?, ?, ?, ?)',
);
db.transaction(() => {
  const perMinute = Math.round(ROWS / 1440);
  for (let m = Math.floor(start / 60_000); m <= Math.floor(now / 60_000); m++) {
    activity.run(m, Math.round(perMinute * 0.9), Math.round(perMinute * 0.03), Math.round(perMinute * 0.07));
  }
})();
db.pragma('wal_checkpoint(TRUNCATE)');
db.close();
const filled = (performance.now() - t0) / 1000;

const sender = new WebhookSender({ database: file, autoStart: false, migrate: false, retention: false });
const handler = dashboard({ sender, authorize: () => true });
const server = http.createServer(handler);
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${server.address().port}`;

const mid = new Date(start + DAY / 2).toISOString().slice(0, 16);
const midEnd = new Date(start + DAY / 2 + 3_600_000).toISOString().slice(0, 16);
const lastSeq = ROWS - (ROWS % 100) - 1;
const pages = [
  ['overview', '/'],
  ['endpoints', '/endpoints'],
  ['an endpoint and its deliveries', `/endpoints/${endpoints[7]}`],
  ["an endpoint's failed deliveries", `/endpoints/${endpoints[7]}?status=failed`],
  ['events, newest', '/events'],
  ['events of a rare type', '/events?type=rare.thing'],
  ['events of a tenant', '/events?tenant=tenant-3'],
  ['events of an hour, a day ago', `/events?since=${mid}&until=${midEnd}`],
  ['event by id', `/events?id=evt_bench${lastSeq}`],
  ['an event', `/events/evt_bench${Math.floor(ROWS / 2)}`],
  ['failed deliveries', '/deliveries?status=failed'],
  ['pending deliveries', '/deliveries?status=pending'],
  ['a delivery and its attempts', `/deliveries/dlv_${Math.floor(ROWS / 2)}`],
];

const results = [];
for (const [name, url] of pages) {
  const times = [];
  let status = 0;
  for (let i = 0; i <= REPEAT; i++) {
    const t = performance.now();
    const res = await fetch(`${base}${url}`, { redirect: 'manual' });
    await res.arrayBuffer();
    status = res.status;
    if (i > 0) times.push(performance.now() - t);
  }
  results.push({ name, url, status, p50: median(times), max: Math.max(...times) });
}
server.close();
await sender.close();

console.log(`\n## Dashboard pages with ${int(ROWS)} deliveries (file filled in ${filled.toFixed(0)} s)\n`);
console.log(
  table(
    ['page', 'HTTP', 'median ms', 'slowest ms', `<= ${TARGET_MS} ms`],
    results.map((r) => [
      r.name,
      String(r.status),
      ms(r.p50),
      ms(r.max),
      r.p50 <= TARGET_MS ? 'yes' : '**no**',
    ]),
  ),
);
const bad = results.filter((r) => r.status >= 400);
if (bad.length > 0) {
  console.error(`pages that failed: ${bad.map((r) => `${r.name} (${r.status})`).join(', ')}`);
  process.exit(1);
}
