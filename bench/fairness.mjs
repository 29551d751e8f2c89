// One bad endpoint cannot hurt the others. Nine healthy endpoints receive EVENTS events emitted at a
// steady RATE per second; we measure each healthy delivery's emit-to-delivered latency (from just before
// emit() to the 'delivered' notice, i.e. after the result is written), in three scenarios run one after
// the other in this process, each on its own database file:
//
//   baseline         the nine healthy endpoints alone;
//   bad, no breaker  plus a tenth endpoint that never answers (bench/hang-receiver.mjs: every attempt
//                    runs into the 2 s deadline) with BACKLOG retries due now, `circuitBreaker: false`:
//                    only per-endpoint concurrency (8 of the 32 slots) protects the others;
//   bad, defaults    the same, with the default circuit breaker (open after 5 failures, 30 s cool-off).
//
// The three take turns for ROUNDS rounds, each on a fresh file, and the table shows the median of the
// rounds' p99: the latency of one run on a busy machine is noisy, and the ratio is what matters.
//
// How the backlog is made (honestly): emit() writes BACKLOG events targeted at the bad endpoint
// only (endpointIds), with the sender stopped; then one UPDATE, through a separate connection before
// the measuring sender opens the file, puts those deliveries in the state the outbox would be in after
// each had a first attempt that failed: attempt_count = 1, due now. No attempt rows are written (they
// play no part in claiming); everything else (indexes, claims, retries) is the library's own code path.
// Making them fail for real would take BACKLOG x 2 s / 8 slots, about 7 hours.
// The bad endpoint also subscribes to every measured event, as a dead customer endpoint would.
// An unmeasured warm-up run comes first. Receivers run in their own processes.
// `node bench/fairness.mjs [--quick]` after `npm run build`.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { WebhookSender } from 'hookline';
import { int, median, ms, payloadOfKb, quick, startReceiver, summarize, table, tempDir } from './lib.mjs';

const EVENTS = quick ? 200 : 2_000;
const RATE = 100;
const BACKLOG = quick ? 2_000 : 100_000;
const HEALTHY = 9;
const TIMEOUT = 2_000;
/** Time for the bad endpoint to fill its slots before measuring starts. */
const WARMUP_MS = 1_000;
const TARGET_RATIO = 2;
const ROUNDS = quick ? 1 : 3;

const sleep = (msec) => new Promise((resolve) => setTimeout(resolve, msec));

/** Writes the endpoints (and the bad endpoint's backlog of due retries) into a new file. */
async function prepare(file, healthyUrl, badUrl) {
  const sender = new WebhookSender({ database: file, autoStart: false, allowPrivateNetworks: true });
  const healthy = Array.from(
    { length: HEALTHY },
    (_, i) => sender.endpoints.add({ url: `${healthyUrl}?ep=${i}` }).id,
  );
  let bad = null;
  let seconds = 0;
  if (badUrl !== null) {
    bad = sender.endpoints.add({ url: badUrl }).id;
    const t0 = performance.now();
    const payload = payloadOfKb(1);
    const batch = 1_000;
    for (let i = 0; i < BACKLOG; i += batch) {
      const events = Array.from({ length: Math.min(batch, BACKLOG - i) }, () => ({
        type: 'order.backlog',
        payload,
        endpointIds: [bad],
      }));
      sender.emitMany(events);
    }
    // Emits queue their events for fan-out; a read of the delivery log first creates their
    // deliveries (with the engine stopped), which the UPDATE below needs.
    sender.deliveries.list({ limit: 1 });
    seconds = (performance.now() - t0) / 1000;
  }
  await sender.close();
  if (bad !== null) {
    const db = new Database(file);
    const changed = db
      .prepare(
        `UPDATE hookline_deliveries SET attempt_count = 1, next_attempt_at = ?, last_status_code = NULL,
           last_error = 'ETIMEDOUT: set up by bench/fairness.mjs'
         WHERE endpoint_id = ? AND status = 'pending'`,
      )
      .run(Date.now(), bad).changes;
    db.close();
    if (changed !== BACKLOG) throw new Error(`expected ${BACKLOG} backlog rows, updated ${changed}`);
  }
  return { healthy, bad, seconds };
}

async function scenario(name, file, ids, options, hang, events = EVENTS) {
  const sender = new WebhookSender({
    database: file,
    allowPrivateNetworks: true,
    timeout: TIMEOUT,
    ...options,
  });
  const healthy = new Set(ids.healthy);
  const emittedAt = new Map();
  const latencies = [];
  const expected = events * HEALTHY;
  let done;
  const allDelivered = new Promise((resolve) => {
    done = resolve;
  });
  sender.on('delivered', (n) => {
    if (!healthy.has(n.endpointId)) return;
    latencies.push(performance.now() - emittedAt.get(n.eventId));
    if (latencies.length === expected) done();
  });
  sender.on('error', (error) => console.error(`[${name}] ${error.code}: ${error.message}`));
  await sleep(WARMUP_MS);
  const before = hang ? await hang.count() : null;
  const payload = payloadOfKb(1);
  const t0 = performance.now();
  for (let i = 0; i < events; i++) {
    const wait = t0 + (i * 1000) / RATE - performance.now();
    if (wait > 1) await sleep(wait);
    const at = performance.now();
    emittedAt.set(sender.emit('order.created', payload).id, at);
  }
  let timer;
  const timedOut = await Promise.race([
    allDelivered.then(() => false),
    new Promise((resolve) => {
      timer = setTimeout(() => resolve(true), 120_000);
    }),
  ]);
  clearTimeout(timer);
  const seconds = (performance.now() - t0) / 1000;
  const after = hang ? await hang.count() : null;
  const stats = sender.stats();
  await sender.close({ timeout: 0 });
  if (timedOut)
    console.error(`[${name}] only ${latencies.length} of ${expected} healthy deliveries within 120 s`);
  return {
    name,
    ...summarize(latencies),
    seconds,
    badAttempts: hang ? after.requests - before.requests : null,
    badHeldAtEnd: hang ? after.open : null,
    badPendingAtEnd: ids.bad === null ? null : stats.pending,
  };
}

const dir = tempDir();
const receiver = await startReceiver();
const hang = await startReceiver('./hang-receiver.mjs');
console.log(
  `fairness: ${EVENTS} events at ${RATE}/s to ${HEALTHY} healthy endpoints; bad endpoint: never answers, ` +
    `timeout ${TIMEOUT} ms, ${int(BACKLOG)} due retries; ${ROUNDS} round(s)${quick ? ' (--quick)' : ''}`,
);

/** Prepares a fresh file, runs one scenario on it, deletes it. */
async function round(kind, events = EVENTS) {
  const file = path.join(dir, `${kind.key}-${Date.now()}.db`);
  const ids = await prepare(file, receiver.url, kind.bad ? hang.url : null);
  if (kind.bad)
    console.log(`  backlog: ${int(BACKLOG)} rows written in ${ids.seconds.toFixed(1)} s + one UPDATE`);
  const result = await scenario(kind.name, file, ids, kind.options, kind.bad ? hang : null, events);
  for (const suffix of ['', '-wal', '-shm']) fs.rmSync(file + suffix, { force: true });
  console.log(`  ${kind.name}: p50 ${ms(result.p50)} ms, p99 ${ms(result.p99)} ms, max ${ms(result.max)} ms`);
  return result;
}

const KINDS = [
  { key: 'baseline', name: 'baseline: 9 healthy endpoints alone', bad: false, options: {} },
  {
    key: 'no-breaker',
    name: 'bad endpoint, `circuitBreaker: false`',
    bad: true,
    options: { circuitBreaker: false },
  },
  { key: 'defaults', name: 'bad endpoint, default circuit breaker', bad: true, options: {} },
];

// Unmeasured: warms up the JIT, so that the first measured scenario is not the slowest for that alone.
await round({ ...KINDS[0], key: 'warm-up', name: 'warm-up (not counted)' }, Math.min(EVENTS, 500));
// The scenarios take turns, round after round: a noisy moment on the machine hits all of them alike.
const runs = KINDS.map(() => []);
for (let r = 0; r < ROUNDS; r++) {
  console.log(`round ${r + 1} of ${ROUNDS}`);
  for (let k = 0; k < KINDS.length; k++) runs[k].push(await round(KINDS[k]));
}
await receiver.stop();
await hang.stop();

const summary = KINDS.map((kind, k) => ({
  name: kind.name,
  count: runs[k].reduce((n, r) => n + r.count, 0),
  p50: median(runs[k].map((r) => r.p50)),
  p99: median(runs[k].map((r) => r.p99)),
  p99s: runs[k].map((r) => ms(r.p99)).join(', '),
  max: Math.max(...runs[k].map((r) => r.max)),
  badAttempts: kind.bad ? runs[k].reduce((n, r) => n + r.badAttempts, 0) : null,
  badHeldAtEnd: kind.bad ? Math.max(...runs[k].map((r) => r.badHeldAtEnd)) : null,
  badPendingAtEnd: kind.bad ? Math.min(...runs[k].map((r) => r.badPendingAtEnd)) : null,
}));
const baseline = summary[0].p99;
const dash = (v) => (v === null ? '–' : int(v));
console.log(
  `\n${table(
    [
      'scenario',
      'healthy deliveries',
      'p50 ms (median)',
      'p99 ms (median)',
      'p99 ms per round',
      'max ms',
      'p99 / baseline',
      'attempts to bad endpoint',
      'bad requests held at end',
      'pending at end (min)',
    ],
    summary.map((r) => [
      r.name,
      int(r.count),
      ms(r.p50),
      ms(r.p99),
      r.p99s,
      ms(r.max),
      `${(r.p99 / baseline).toFixed(2)}x`,
      dash(r.badAttempts),
      dash(r.badHeldAtEnd),
      dash(r.badPendingAtEnd),
    ]),
  )}`,
);
const worst = Math.max(summary[1].p99, summary[2].p99) / baseline;
console.log(
  `\nworst healthy p99 (median of ${ROUNDS}) with the bad endpoint / without: ${worst.toFixed(2)}x ` +
    `(target: within ${TARGET_RATIO}x) ${worst <= TARGET_RATIO ? 'PASS' : 'FAIL'}`,
);
