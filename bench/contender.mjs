// One run of one contender, in a fresh process so that its CPU time and peak RSS are its own:
//   node bench/contender.mjs '{"name":"bullmq","concurrency":16,"events":10000,...}'
// Prints one JSON line with the measurements on stdout; everything else goes to stderr.
//
// Phases, the same for every contender:
//   1. enqueue: `timed` events enqueued one at a time, each call timed (sequential, awaited when async);
//      for the inline contenders (bare got, bare node:http) the "enqueue" is the HTTP request itself;
//   2. prefill: the rest of the `events` put in the queue in bulk (emitMany / addBulk / insert);
//   3. deliver: the consumer starts with `concurrency` requests in flight and drains the `events`; the
//      rate and the process's CPU time are taken between the 10% and the 100% mark (warm-up excluded);
//   4. latency: events enqueued at `latencyRate` per second for `latencySeconds` while the consumer runs;
//      for each, the time from the enqueue call to its completion event.
import path from 'node:path';
import {
  BULLMQ_QUEUE,
  gotPoster,
  httpPoster,
  PGBOSS_SCHEMA,
  POSTGRES,
  payloadOfKb,
  processCpuSeconds,
  REDIS,
  senderWithConcurrency,
  summarize,
  tempDir,
  webhookBody,
} from './lib.mjs';

const cfg = JSON.parse(process.argv[2]);
const C = cfg.concurrency;
const N = cfg.events;
const TYPE = 'order.created';
const payload = payloadOfKb(1);
const log = (...args) => console.error(`[${cfg.name} C=${C}]`, ...args);

/**
 * An in-memory queue drained by `concurrency` loops: what an inline sender does when it caps the number of
 * requests in flight (a p-limit around got.post). No persistence, no retries.
 */
function inlineAdapter(poster) {
  const items = [];
  let head = 0;
  let active = 0;
  let running = false;
  let done = () => {};
  let fail = () => {};
  const next = () => {
    while (running && active < C && head < items.length) {
      const data = items[head];
      items[head++] = undefined;
      if (head === items.length) {
        items.length = 0;
        head = 0;
      }
      active++;
      poster.post(webhookBody(`evt_${head}`, TYPE, data)).then(
        () => {
          active--;
          done(data.t0);
          next();
        },
        (error) => {
          active--;
          fail(error);
          next();
        },
      );
    }
  };
  return {
    inline: true,
    // The inline "enqueue": the caller waits for the whole request.
    enqueue: (data) => poster.post(webhookBody('evt_inline', TYPE, data)),
    prefill(count) {
      for (let i = 0; i < count; i++) items.push(payload);
    },
    push(data) {
      items.push(data);
      next();
    },
    start(onDone, onFail) {
      done = onDone;
      fail = onFail;
      running = true;
      next();
    },
    close: async () => poster.close(),
  };
}

/**
 * With HOOKLINE_BENCH_OTEL=1 (bench/ab.mjs, a build named `…+otel`): the OpenTelemetry SDK registered
 * globally, as an application would, its spans batched to an exporter that drops them and its
 * metrics aggregated in memory: what recording costs, without the cost of shipping it anywhere.
 */
async function registerOtel() {
  const { context, metrics, trace } = await import('@opentelemetry/api');
  const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks');
  const { BasicTracerProvider, BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
  const { MeterProvider } = await import('@opentelemetry/sdk-metrics');
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const drop = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} };
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(drop)] }));
  metrics.setGlobalMeterProvider(new MeterProvider());
}

async function hooklineAdapter() {
  if (process.env.HOOKLINE_BENCH_OTEL === '1') await registerOtel();
  const { WebhookSender } = await import('hookline');
  const sender = senderWithConcurrency(WebhookSender, {
    database: path.join(tempDir(), 'hookline.db'),
    allowPrivateNetworks: true,
    autoStart: false,
    concurrency: C,
  });
  sender.endpoints.add({ url: cfg.url });
  const t0s = new Map();
  const emit = (data) => {
    const event = sender.emit(TYPE, data);
    if (data.t0 !== undefined) t0s.set(event.id, data.t0);
  };
  return {
    enqueue: emit,
    push: emit,
    prefill(count) {
      for (let i = 0; i < count; i += 1_000) {
        sender.emitMany(Array.from({ length: Math.min(1_000, count - i) }, () => ({ type: TYPE, payload })));
      }
    },
    start(onDone, onFail) {
      sender.on('delivered', (notice) => {
        const t0 = t0s.get(notice.eventId);
        if (t0 !== undefined) t0s.delete(notice.eventId);
        onDone(t0);
      });
      sender.on('retrying', (notice) =>
        onFail(new Error(`retrying: ${notice.errorCode ?? notice.statusCode}`)),
      );
      sender.on('failed', (notice) => onFail(new Error(`failed: ${notice.errorCode ?? notice.statusCode}`)));
      sender.on('error', onFail);
      sender.start();
    },
    close: () => sender.close({ timeout: 5_000 }),
  };
}

async function bullmqAdapter() {
  const { Queue, Worker } = await import('bullmq');
  const { Redis } = await import('ioredis');
  const connection = { ...REDIS, maxRetriesPerRequest: null };
  const jobOptions = {
    // What a webhook sender would ask for: retries with backoff. Completed jobs are removed at once,
    // the cheapest setting (hookline keeps a log of every attempt).
    attempts: 8,
    backoff: { type: 'exponential', delay: 5_000 },
    removeOnComplete: true,
    removeOnFail: false,
  };
  const queue = new Queue(BULLMQ_QUEUE, { connection, defaultJobOptions: jobOptions });
  await queue.obliterate({ force: true });
  const monitor = new Redis({ ...REDIS, maxRetriesPerRequest: 1 });
  const poster = await gotPoster(cfg.url, C);
  const worker = new Worker(
    BULLMQ_QUEUE,
    async (job) => {
      await poster.post(webhookBody(job.id, job.name, job.data));
    },
    { connection, concurrency: C, autorun: false },
  );
  const add = (data) => queue.add(TYPE, data);
  return {
    enqueue: add,
    push: add,
    async prefill(count) {
      for (let i = 0; i < count; i += 1_000) {
        await queue.addBulk(
          Array.from({ length: Math.min(1_000, count - i) }, () => ({ name: TYPE, data: payload })),
        );
      }
    },
    start(onDone, onFail) {
      worker.on('completed', (job) => onDone(job.data.t0));
      worker.on('failed', (_job, error) => onFail(error));
      worker.on('error', onFail);
      void worker.run();
    },
    /** Redis's own CPU seconds (the whole server: INFO cpu). */
    async serverCpu() {
      const info = await monitor.info('cpu');
      const user = Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1]);
      const sys = Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1]);
      return Number.isFinite(user + sys) ? user + sys : null;
    },
    async close() {
      await worker.close();
      await queue.obliterate({ force: true });
      await queue.close();
      monitor.disconnect();
      poster.close();
    },
  };
}

async function pgbossAdapter() {
  const PgBoss = (await import('pg-boss')).default;
  const pg = (await import('pg')).default;
  const workers = cfg.pgbossWorkers ?? 4;
  const batchSize = Math.max(1, Math.round(C / workers));
  const admin = new pg.Client({ ...POSTGRES, user: cfg.pgUser, application_name: 'hookline-bench-monitor' });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${PGBOSS_SCHEMA} CASCADE`);
  const boss = new PgBoss({
    ...POSTGRES,
    user: cfg.pgUser,
    schema: PGBOSS_SCHEMA,
    application_name: 'hookline-bench',
    max: workers + 6,
  });
  boss.on('error', (error) => log('pg-boss error', error.message));
  await boss.start();
  await boss.createQueue(BULLMQ_QUEUE);
  const poster = await gotPoster(cfg.url, C);
  const sendOptions = { retryLimit: 7, retryDelay: 5, retryBackoff: true };
  const send = (data) => boss.send(BULLMQ_QUEUE, data, sendOptions);
  return {
    enqueue: send,
    push: send,
    async prefill(count) {
      for (let i = 0; i < count; i += 1_000) {
        await boss.insert(
          Array.from({ length: Math.min(1_000, count - i) }, () => ({
            name: BULLMQ_QUEUE,
            data: payload,
            ...sendOptions,
          })),
        );
      }
    },
    async start(onDone, onFail) {
      // `workers` polling loops, each fetching `batchSize` jobs and posting them concurrently, so that
      // `concurrency` requests are in flight. pg-boss 10 sleeps out the polling interval (0.5 s at least)
      // after every fetch; after a full batch the handler calls notifyWorker() so the loop fetches again
      // at once (the documented way to bypass the interval).
      for (let w = 0; w < workers; w++) {
        const slot = { id: null };
        slot.id = await boss.work(
          BULLMQ_QUEUE,
          { batchSize, pollingIntervalSeconds: cfg.pgbossPollSeconds ?? 0.5 },
          async (jobs) => {
            try {
              await Promise.all(jobs.map((job) => poster.post(webhookBody(job.id, job.name, job.data))));
            } catch (error) {
              onFail(error);
              throw error;
            }
            for (const job of jobs) onDone(job.data.t0);
            if (jobs.length === batchSize && slot.id !== null) boss.notifyWorker(slot.id);
          },
        );
      }
    },
    /** pg-boss completes a batch after its handler resolves, without awaiting: wait until it has. */
    async settled(count) {
      for (;;) {
        const { rows } = await admin.query(
          `SELECT count(*)::int AS n FROM ${PGBOSS_SCHEMA}.job WHERE name = $1 AND state = 'completed'`,
          [BULLMQ_QUEUE],
        );
        if (rows[0].n >= count) return;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    /** CPU seconds of the server processes working for us: our backends and the background writers. */
    async serverCpu() {
      const { rows } = await admin.query(
        `SELECT pid FROM pg_stat_activity WHERE application_name = 'hookline-bench' OR backend_type <> 'client backend'`,
      );
      const byPid = new Map();
      for (const { pid } of rows) {
        const cpu = processCpuSeconds(pid);
        if (cpu === null) return null;
        byPid.set(pid, cpu);
      }
      return byPid;
    },
    async close() {
      await boss.stop({ graceful: true, timeout: 5_000, wait: true });
      await admin.query(`DROP SCHEMA IF EXISTS ${PGBOSS_SCHEMA} CASCADE`);
      await admin.end();
      poster.close();
    },
  };
}

/** Server CPU used between two samples (a number for Redis, a pid map for PostgreSQL). */
function serverCpuDelta(before, after) {
  if (before == null || after == null) return null;
  if (typeof before === 'number') return after - before;
  let sum = 0;
  for (const [pid, cpu] of after) sum += cpu - (before.get(pid) ?? 0);
  return sum;
}

async function makeAdapter() {
  switch (cfg.name) {
    case 'hookline':
      return hooklineAdapter();
    case 'got':
      return inlineAdapter(await gotPoster(cfg.url, C));
    case 'got-tuned':
      return inlineAdapter(await gotPoster(cfg.url, C, { tuned: true }));
    case 'http':
      return inlineAdapter(httpPoster(cfg.url, C));
    case 'bullmq':
      return bullmqAdapter();
    case 'pgboss':
      return pgbossAdapter();
    default:
      throw new Error(`unknown contender ${cfg.name}`);
  }
}

const adapter = await makeAdapter();
let failures = 0;
let firstFailure = null;
const onFail = (error) => {
  failures++;
  firstFailure ??= String(error?.message ?? error);
};

// 1. enqueue cost, sequential.
const timed = Math.min(cfg.timed, N);
const enqueueUs = new Float64Array(timed);
for (let i = 0; i < timed; i++) {
  const t0 = process.hrtime.bigint();
  const pending = adapter.enqueue(payload);
  if (pending !== undefined) await pending;
  enqueueUs[i] = Number(process.hrtime.bigint() - t0) / 1_000;
}
const enqueue = summarize(enqueueUs);

// 2. prefill.
await adapter.prefill(adapter.inline ? N : N - timed);

// 3. deliver.
const warm = Math.floor(N / 10);
let delivered = 0;
let phase = 'deliver';
let mark = null;
let serverBefore = null;
let resolveDelivered;
const allDelivered = new Promise((resolve) => {
  resolveDelivered = resolve;
});
const latencies = [];
let latencyExpected = Number.POSITIVE_INFINITY;
let resolveLatency;
const allLatency = new Promise((resolve) => {
  resolveLatency = resolve;
});
const onDone = (t0) => {
  const now = performance.now();
  if (phase === 'deliver') {
    delivered++;
    if (delivered === warm) {
      mark = { at: now, cpu: process.cpuUsage() };
      serverBefore = adapter.serverCpu?.() ?? null;
    }
    if (delivered === N) resolveDelivered(now);
  } else if (t0 !== undefined) {
    latencies.push(now - t0);
    if (latencies.length >= latencyExpected) resolveLatency();
  }
};
const started = performance.now();
await adapter.start(onDone, onFail);
const deliverTimeout = setTimeout(() => resolveDelivered(Number.NaN), cfg.deliverTimeoutMs ?? 300_000);
let end = await allDelivered;
clearTimeout(deliverTimeout);
if (adapter.settled && Number.isFinite(end)) {
  await adapter.settled(N);
  end = performance.now();
}
const cpu = process.cpuUsage(mark?.cpu);
const serverAfter = adapter.serverCpu?.() ?? null;
const windowCount = N - warm;
const seconds = (end - (mark?.at ?? started)) / 1_000;
const serverSeconds = serverCpuDelta(await serverBefore, await serverAfter);
const deliver = {
  rate: windowCount / seconds,
  totalSeconds: (end - started) / 1_000,
  cpuPerK: (cpu.user + cpu.system) / 1e6 / (windowCount / 1_000),
  serverCpuPerK: serverSeconds === null ? null : serverSeconds / (windowCount / 1_000),
  rssAfterMb: process.memoryUsage().rss / 1024 / 1024,
};

// 4. latency under a light, steady load.
phase = 'latency';
const total = Math.round(cfg.latencyRate * cfg.latencySeconds);
latencyExpected = total;
const latencyStart = performance.now();
let sent = 0;
await new Promise((resolve) => {
  const tick = setInterval(() => {
    const due = Math.min(total, Math.floor(((performance.now() - latencyStart) / 1_000) * cfg.latencyRate));
    while (sent < due) {
      const data = { ...payload, t0: performance.now() };
      sent++;
      const pending = adapter.push(data);
      pending?.catch?.(onFail);
    }
    if (sent >= total) {
      clearInterval(tick);
      resolve();
    }
  }, 2);
});
const latencyTimer = setTimeout(resolveLatency, 30_000);
await allLatency;
clearTimeout(latencyTimer);
const latency = summarize(latencies);

await adapter.close();
const result = {
  name: cfg.name,
  concurrency: C,
  events: N,
  enqueue: { count: enqueue.count, p50Us: enqueue.p50, p99Us: enqueue.p99, maxUs: enqueue.max },
  deliver,
  latency: {
    count: latency.count,
    expected: total,
    p50Ms: latency.p50,
    p99Ms: latency.p99,
    maxMs: latency.max,
  },
  peakRssMb: process.resourceUsage().maxRSS / 1024,
  failures,
  firstFailure,
};
if (!Number.isFinite(end)) result.error = `only ${delivered} of ${N} delivered before the timeout`;
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
