// The dashboard on a big outbox: every page it serves, timed over HTTP on loopback, with 1,000,000
// deliveries (and as many events and attempts) spread over the last day, in a SQLite file and in a
// PostgreSQL schema (when PostgreSQL answers).
//
// The file is made with hookline's own schema (a sender creates it), then filled with plain inserts
// (SQLite: one transaction per 100,000 rows; PostgreSQL: generate_series): 100 endpoints over 10 tenants, 20 event types and one rare
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
import pg from 'pg';
import { checkPostgres, int, median, ms, POSTGRES, quick, table, tempDir } from './lib.mjs';

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

/** The same rows in a PostgreSQL schema, and its pages timed; `null` when PostgreSQL does not answer. */
async function postgresPages() {
  const check = await checkPostgres();
  if (!check.ok) return null;
  const { PgWebhookSender } = await import('hookline/postgres');
  const connectionString = `postgres://${check.user}@${POSTGRES.host}:${POSTGRES.port}/${POSTGRES.database}`;
  const schema = 'hookline_bench_dashboard';
  const pool = new pg.Pool({ connectionString });
  await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  const setup = new PgWebhookSender({ pool, schema, autoStart: false });
  const ids = [];
  for (let i = 0; i < 100; i++) {
    ids.push(
      (await setup.endpoints.add({ url: `https://example.com/hooks/${i}`, tenant: `tenant-${i % 10}` })).id,
    );
  }
  await setup.close();
  const t = performance.now();
  const s = schema;
  const at = `(${start}::bigint + ((g - 1) * ${DAY}::bigint) / ${ROWS})`;
  await pool.query(
    `INSERT INTO ${s}.events (id, type, tenant, payload, created_at, targets)
     SELECT 'evt_pg' || g, CASE WHEN g % 100003 = 0 THEN 'rare.thing' ELSE 'type.' || (g % 20) END,
       'tenant-' || ((g % 100) % 10), $1, ${at}, 1 FROM generate_series(1, ${ROWS}) g`,
    [payload],
  );
  await pool.query(
    `INSERT INTO ${s}.deliveries (event_seq, endpoint_id, status, attempt_count, next_attempt_at, last_status_code,
       created_at, updated_at)
     SELECT g, ($1::text[])[(g % 100) + 1],
       CASE WHEN g % 100 < 90 THEN 'succeeded' WHEN g % 100 < 97 THEN 'failed' ELSE 'pending' END,
       CASE WHEN g % 100 < 97 THEN 1 ELSE 0 END, CASE WHEN g % 100 < 97 THEN NULL ELSE ${at} END,
       CASE WHEN g % 100 < 90 THEN 200 WHEN g % 100 < 97 THEN 500 END, ${at}, ${at}
     FROM generate_series(1, ${ROWS}) g`,
    [ids],
  );
  await pool.query(
    `INSERT INTO ${s}.attempts (delivery_seq, number, started_at, duration_ms, status_code, response_headers, response_body)
     SELECT g, 1, ${at}, 40, CASE WHEN g % 100 < 90 THEN 200 ELSE 500 END, '{}',
       CASE WHEN g % 100 < 90 THEN 'ok' ELSE 'down' END
     FROM generate_series(1, ${ROWS}) g WHERE g % 100 < 97`,
  );
  const perMinute = Math.round(ROWS / 1440);
  await pool.query(
    `INSERT INTO ${s}.activity (minute, shard, succeeded, retrying, failed)
     SELECT m, 0, ${Math.round(perMinute * 0.9)}, ${Math.round(perMinute * 0.03)}, ${Math.round(perMinute * 0.07)}
     FROM generate_series(${Math.floor(start / 60_000)}, ${Math.floor(now / 60_000)}) m`,
  );
  await pool.query(`ANALYZE ${s}.events, ${s}.deliveries, ${s}.attempts, ${s}.activity`);
  const filled = (performance.now() - t) / 1000;
  const sender = new PgWebhookSender({ pool, schema, autoStart: false, migrate: false, retention: false });
  await sender.ready;
  const results = await timePages(sender, 'evt_pg', ids);
  await sender.close();
  await pool.query(`DROP SCHEMA ${schema} CASCADE`);
  await pool.end();
  return { results, filled };
}

/** Serves the dashboard on `sender` and times every page; resolves to one row per page. */
async function timePages(sender, eventPrefix, endpointIds) {
  const handler = dashboard({ sender, authorize: () => true });
  const server = http.createServer(handler);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  const mid = new Date(start + DAY / 2).toISOString().slice(0, 16);
  const midEnd = new Date(start + DAY / 2 + 3_600_000).toISOString().slice(0, 16);
  const pages = [
    ['overview', '/'],
    ['endpoints', '/endpoints'],
    ['an endpoint and its deliveries', `/endpoints/${endpointIds[7]}`],
    ["an endpoint's failed deliveries", `/endpoints/${endpointIds[7]}?status=failed`],
    ['events, newest', '/events'],
    ['events of a rare type', '/events?type=rare.thing'],
    ['events of a tenant', '/events?tenant=tenant-3'],
    ['events of an hour, a day ago', `/events?since=${mid}&until=${midEnd}`],
    ['event by id', `/events?id=${eventPrefix}${ROWS - 1}`],
    ['an event', `/events/${eventPrefix}${Math.floor(ROWS / 2)}`],
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
    results.push({ name, status, p50: median(times), max: Math.max(...times) });
  }
  server.close();
  return results;
}

const sqliteSender = new WebhookSender({
  database: file,
  autoStart: false,
  migrate: false,
  retention: false,
});
const sqlite = await timePages(sqliteSender, 'evt_bench', endpoints);
await sqliteSender.close();
const postgres = await postgresPages();

console.log(
  `\n## Dashboard pages with ${int(ROWS)} deliveries (SQLite file filled in ${filled.toFixed(0)} s)\n`,
);
const byName = new Map(postgres?.results.map((r) => [r.name, r]) ?? []);
console.log(
  table(
    [
      'page',
      'SQLite median ms',
      'SQLite slowest ms',
      'PostgreSQL median ms',
      'PostgreSQL slowest ms',
      `<= ${TARGET_MS} ms`,
    ],
    sqlite.map((r) => {
      const p = byName.get(r.name);
      const ok = r.p50 <= TARGET_MS && (p === undefined || p.p50 <= TARGET_MS);
      return [r.name, ms(r.p50), ms(r.max), p ? ms(p.p50) : '–', p ? ms(p.max) : '–', ok ? 'yes' : '**no**'];
    }),
  ),
);
if (postgres === null) console.log('\nPostgreSQL: not measured (it did not answer).');
else console.log(`\nPostgreSQL schema filled in ${postgres.filled.toFixed(0)} s.`);
const bad = [...sqlite, ...(postgres?.results ?? [])].filter((r) => r.status >= 400);
if (bad.length > 0) {
  console.error(`pages that failed: ${bad.map((r) => `${r.name} (${r.status})`).join(', ')}`);
  process.exit(1);
}
