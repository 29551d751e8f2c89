// hookline against what a Node.js developer would pick instead: an inline got.post (bare loop), the same
// with node:http alone (the machine's limit), BullMQ over Redis with a worker, pg-boss over PostgreSQL with
// a worker. One receiver in its own process; every run in a fresh child process (bench/contender.mjs);
// contenders alternate within each round (A B C D E, then B C D E A, ...); medians over the rounds.
import { execFile } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import {
  BULLMQ_QUEUE,
  benchDir,
  checkPostgres,
  checkRedis,
  fmt,
  int,
  median,
  PGBOSS_SCHEMA,
  POSTGRES,
  quick,
  REDIS,
  startReceiver,
  writeResult,
} from './lib.mjs';
import { renderCompare } from './report.mjs';

const CONTENDERS = {
  hookline: 'hookline',
  got: 'inline got (bare loop)',
  http: 'inline node:http (bare loop)',
  bullmq: 'BullMQ + worker',
  pgboss: 'pg-boss + worker',
};

const config = {
  events: quick ? 300 : 5_000,
  rounds: quick ? 1 : 5,
  concurrencies: [16, 64],
  timed: quick ? 100 : 500,
  latencyRate: quick ? 100 : 200,
  latencySeconds: quick ? 0.5 : 1.5,
  pgbossWorkers: 1,
  pgbossPollSeconds: 0.5,
};

function runContender(cfg) {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(benchDir, 'contender.mjs'), JSON.stringify(cfg)],
      { encoding: 'utf8', timeout: quick ? 60_000 : 240_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const line = stdout.trim().split('\n').pop();
        try {
          if (line) return resolve(JSON.parse(line));
        } catch {}
        const why = error?.killed ? 'timed out' : (error?.message ?? 'no result');
        resolve({ name: cfg.name, concurrency: cfg.concurrency, error: `${why}\n${stderr.slice(-2_000)}` });
      },
    );
  });
}

async function cleanUp(services) {
  if (services.redis.ok) {
    try {
      const { Queue } = await import('bullmq');
      const queue = new Queue(BULLMQ_QUEUE, { connection: { ...REDIS, maxRetriesPerRequest: 1 } });
      await queue.obliterate({ force: true });
      await queue.close();
    } catch (error) {
      console.error(`could not obliterate the BullMQ queue ${BULLMQ_QUEUE}: ${error.message}`);
    }
  }
  if (services.postgres.ok) {
    try {
      const pg = (await import('pg')).default;
      const client = new pg.Client({ ...POSTGRES, user: services.postgres.user });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${PGBOSS_SCHEMA} CASCADE`);
      await client.end();
    } catch (error) {
      console.error(`could not drop the schema ${PGBOSS_SCHEMA}: ${error.message}`);
    }
  }
}

const services = { redis: await checkRedis(), postgres: await checkPostgres() };
const names = ['hookline', 'got', 'got-tuned', 'http'];
const skipped = {};
if (services.redis.ok) names.push('bullmq');
else {
  skipped.bullmq = `Redis at ${REDIS.host}:${REDIS.port} is not reachable (${services.redis.reason})`;
  console.log(`\nSKIPPING BullMQ: ${skipped.bullmq}. Start it with: bash .ci/services.sh`);
}
if (services.postgres.ok) names.push('pgboss');
else {
  skipped.pgboss = `PostgreSQL at ${POSTGRES.host}:${POSTGRES.port}/${POSTGRES.database} is not reachable (${services.postgres.reason})`;
  console.log(`\nSKIPPING pg-boss: ${skipped.pgboss}. Start it with: bash .ci/services.sh`);
}
await cleanUp(services);

const receiver = await startReceiver();
const runs = [];
const started = performance.now();
for (let round = 0; round < config.rounds; round++) {
  for (const concurrency of config.concurrencies) {
    const order = names.map((_, i) => names[(i + round) % names.length]);
    for (const name of order) {
      const t0 = performance.now();
      const load = os.loadavg()[0];
      const result = await runContender({
        ...config,
        name,
        concurrency,
        url: receiver.url,
        pgUser: services.postgres.user,
      });
      result.round = round;
      result.loadAverage = load;
      runs.push(result);
      const took = ((performance.now() - t0) / 1_000).toFixed(1);
      if (result.error)
        console.error(`  round ${round + 1} C=${concurrency} ${name}: FAILED (${result.error})`);
      else
        console.error(
          `  round ${round + 1} C=${concurrency} ${name}: ${int(result.deliver.rate)}/s, enqueue p50 ${fmt(result.enqueue.p50Us)} µs (${took} s)`,
        );
    }
  }
}
await receiver.stop();
await cleanUp(services);

// Medians per contender and concurrency.
const summary = {};
for (const concurrency of config.concurrencies) {
  summary[concurrency] = {};
  for (const name of names) {
    const mine = runs.filter((r) => r.name === name && r.concurrency === concurrency && !r.error);
    if (mine.length === 0) continue;
    const m = (pick) => median(mine.map(pick));
    summary[concurrency][name] = {
      runs: mine.length,
      rate: m((r) => r.deliver.rate),
      rateMin: Math.min(...mine.map((r) => r.deliver.rate)),
      rateMax: Math.max(...mine.map((r) => r.deliver.rate)),
      cpuPerK: m((r) => r.deliver.cpuPerK),
      serverCpuPerK: m((r) => r.deliver.serverCpuPerK),
      latencyP50Ms: m((r) => r.latency.p50Ms),
      latencyP99Ms: m((r) => r.latency.p99Ms),
      peakRssMb: m((r) => r.peakRssMb),
      failures: mine.reduce((sum, r) => sum + r.failures, 0),
    };
    // hookline against this contender, round by round (runs close in time share the machine's load):
    // the median of the per-round ratios.
    const paired = (pick) =>
      median(
        mine.map((r) => {
          const ours = runs.find(
            (h) => h.name === 'hookline' && h.concurrency === concurrency && h.round === r.round && !h.error,
          );
          return ours ? pick(ours) / pick(r) : Number.NaN;
        }),
      );
    summary[concurrency][name].hooklineRateRatio = paired((r) => r.deliver.rate);
    summary[concurrency][name].hooklineCpuRatio = paired((r) => r.deliver.cpuPerK);
  }
}
const enqueue = {};
for (const name of names) {
  const mine = runs.filter((r) => r.name === name && !r.error);
  if (mine.length === 0) continue;
  enqueue[name] = {
    p50Us: median(mine.map((r) => r.enqueue.p50Us)),
    p99Us: median(mine.map((r) => r.enqueue.p99Us)),
  };
}

const result = {
  config,
  services,
  skipped,
  contenders: names,
  labels: CONTENDERS,
  summary,
  enqueue,
  runs,
  seconds: (performance.now() - started) / 1_000,
};
writeResult('compare', result);
console.log(`\n${renderCompare(result)}`);
