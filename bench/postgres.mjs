// hookline on PostgreSQL: emit cost (sequential `await sender.emit()`), and deliveries/s with 1, 2 and 4
// sender processes sharing one schema, against a receiver in its own process; in the same run, pg-boss
// (bench/contender.mjs, the same worker setup as the comparison) at the same total concurrency.
//   node bench/postgres.mjs [--quick]
import { execFile, fork } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import {
  benchDir,
  checkPostgres,
  fmt,
  int,
  median,
  PGBOSS_SCHEMA,
  POSTGRES,
  payloadOfKb,
  percentile,
  quick,
  startReceiver,
  table,
} from './lib.mjs';

const SCHEMA = 'hookline_bench_pg';
const EVENTS = quick ? 300 : 6_000;
const ROUNDS = quick ? 1 : 3;
const CONCURRENCY = 16;
const TIMED = quick ? 100 : 1_000;
const [mode, ...rest] = process.argv.slice(2).filter((a) => a !== '--quick');

const { PgWebhookSender } = await import('hookline/postgres');
const payload = payloadOfKb(1);

if (mode === 'deliver') {
  // One sender process: delivers until told to stop.
  const [connectionString, concurrency] = rest;
  const sender = new PgWebhookSender({
    connectionString,
    schema: SCHEMA,
    concurrency: Number(concurrency),
    // An endpoint's concurrency is shared by every sender: room for all of them together.
    endpointConcurrency: CONCURRENCY,
    allowPrivateNetworks: true,
    pollInterval: 200,
    autoStart: false,
  });
  await sender.ready;
  process.send?.('ready');
  process.on('message', async (message) => {
    if (message === 'start') return sender.start();
    await sender.close({ timeout: 2_000 });
    process.exit(0);
  });
} else {
  const service = await checkPostgres();
  if (!service.ok) {
    console.log(`\nSKIPPING bench/postgres.mjs: PostgreSQL is not reachable (${service.reason})`);
    process.exit(0);
  }
  const connectionString = `postgres://${service.user}@${POSTGRES.host}:${POSTGRES.port}/${POSTGRES.database}`;
  const admin = new pg.Client({ connectionString });
  await admin.connect();
  const reset = () => admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await reset();
  const receiver = await startReceiver();

  // Emit cost.
  const sender = new PgWebhookSender({
    connectionString,
    schema: SCHEMA,
    autoStart: false,
    allowPrivateNetworks: true,
  });
  await sender.ready;
  await sender.endpoints.add({ url: receiver.url });
  for (let i = 0; i < 50; i++) await sender.emit('order.created', payload);
  const samples = [];
  for (let i = 0; i < TIMED; i++) {
    const t0 = performance.now();
    await sender.emit('order.created', payload);
    samples.push((performance.now() - t0) * 1000);
  }
  samples.sort((a, b) => a - b);
  const emit = { p50: percentile(samples, 50), p99: percentile(samples, 99) };

  // Deliveries/s with 1, 2 and 4 processes, each with CONCURRENCY / processes requests in flight.
  const delivered = async () =>
    Number(
      (await admin.query(`SELECT count(*) AS n FROM ${SCHEMA}.deliveries WHERE status = 'succeeded'`)).rows[0]
        .n,
    );
  const rates = { 1: [], 2: [], 4: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const processes of [1, 2, 4]) {
      await admin.query(`TRUNCATE ${SCHEMA}.attempts, ${SCHEMA}.deliveries, ${SCHEMA}.events`);
      for (let i = 0; i < EVENTS; i += 1_000) {
        await sender.emitMany(
          Array.from({ length: Math.min(1_000, EVENTS - i) }, () => ({ type: 'order.created', payload })),
        );
      }
      const children = [];
      for (let i = 0; i < processes; i++) {
        const child = fork(
          new URL(import.meta.url),
          ['deliver', connectionString, String(CONCURRENCY / processes)],
          {
            stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
          },
        );
        await new Promise((resolve) => child.once('message', resolve));
        children.push(child);
      }
      // Every process is ready before any starts: the clock runs from the start to the last delivery.
      const t0 = performance.now();
      for (const child of children) child.send('start');
      const deadline = t0 + (quick ? 60_000 : 240_000);
      while ((await delivered()) < EVENTS && performance.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      const seconds = (performance.now() - t0) / 1000;
      rates[processes].push(EVENTS / seconds);
      await Promise.all(
        children.map(
          (child) =>
            new Promise((resolve) => {
              child.once('exit', resolve);
              child.send('stop');
            }),
        ),
      );
    }
  }
  await sender.close();

  // pg-boss in the same run, through the comparison's own contender script.
  const pgboss = await new Promise((resolve) => {
    const cfg = {
      name: 'pgboss',
      concurrency: CONCURRENCY,
      events: EVENTS,
      timed: quick ? 100 : 500,
      latencyRate: quick ? 100 : 200,
      latencySeconds: quick ? 0.5 : 1.5,
      pgbossWorkers: 1,
      pgbossPollSeconds: 0.5,
      url: receiver.url,
      pgUser: service.user,
    };
    execFile(
      process.execPath,
      [path.join(benchDir, 'contender.mjs'), JSON.stringify(cfg)],
      { encoding: 'utf8', timeout: 300_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout) => {
        try {
          resolve(JSON.parse(stdout.trim().split('\n').pop()));
        } catch {
          resolve({ error: error?.message ?? 'no result' });
        }
      },
    );
  });
  await reset();
  await admin.query(`DROP SCHEMA IF EXISTS ${PGBOSS_SCHEMA} CASCADE`);
  await admin.end();
  await receiver.stop();

  console.log(
    `\nPostgreSQL (${EVENTS} events of 1 KB per run, ${ROUNDS} round(s), ${CONCURRENCY} requests in flight in all)`,
  );
  console.log(
    table(
      ['case', 'value'],
      [
        ['hookline `await sender.emit()` p50 / p99 µs', `${fmt(emit.p50)} / ${fmt(emit.p99)}`],
        [
          'pg-boss `await boss.send()` p50 / p99 µs',
          pgboss.enqueue ? `${fmt(pgboss.enqueue.p50Us)} / ${fmt(pgboss.enqueue.p99Us)}` : 'n/a',
        ],
        ['hookline deliveries/s, 1 process', int(median(rates[1]))],
        ['hookline deliveries/s, 2 processes', int(median(rates[2]))],
        ['hookline deliveries/s, 4 processes', int(median(rates[4]))],
        [
          'pg-boss deliveries/s, 1 process',
          pgboss.deliver ? int(pgboss.deliver.rate) : `n/a (${pgboss.error ?? ''})`,
        ],
      ],
    ),
  );
}
