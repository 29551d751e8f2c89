// Cost does not grow with history: a sender that emits and delivers N events (1 KB payloads) with
// retention { succeeded: '1m' } keeps a small file, and its sweeps do not stall the event loop.
//
// Time: an injected clock that runs SPEED times faster than the wall clock (its timers are scaled the
// same way), so one real second is SPEED simulated seconds and the 1-minute retention is 60/SPEED real
// seconds. Everything else is real: HTTP to a receiver in its own process, the file on disk. The attempt
// timeout is raised to 5 min (simulated) so that the lease (timeout + 10 s) stays about 5 real seconds.
// `sender.prune()` is called every PRUNE_EVERY_MS of real time while events flow (the background sweep
// also runs, every 60 real seconds); emitting pauses while more than MAX_BACKLOG deliveries are undelivered.
//
// What the file holds is what the retention window holds, (events per simulated minute) x 1 minute plus
// what waits between sweeps: it depends on the rate and SPEED, not on N. The size (main file + WAL) is
// sampled at each quarter of the run to show that it does not grow with N.
// Event-loop delay: perf_hooks.monitorEventLoopDelay at 1 ms resolution, a fresh histogram for each
// sweep (target: never above 50 ms), and one over the whole run for comparison.
// `node bench/retention.mjs [--quick]` after `npm run build`.
import fs from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { WebhookSender } from 'hookline';
import { int, ms, payloadOfKb, quick, startReceiver, table, tempDir } from './lib.mjs';

const EVENTS = quick ? 5_000 : 200_000;
const SPEED = 60;
const BATCH = 200;
const MAX_BACKLOG = 2_000;
const PRUNE_EVERY_MS = 250;
const TARGET_MB = 20;
const TARGET_DELAY_MS = 50;

const sleep = (msec) => new Promise((resolve) => setTimeout(resolve, msec));
const mb = (bytes) => (bytes / 1024 / 1024).toFixed(1);
const bytes = (file) => fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0;

/** Simulated time: starts now, runs SPEED times faster; timers wait 1/SPEED of what they ask. */
function fastClock() {
  const start = Date.now();
  const origin = performance.now();
  return {
    now: () => Math.floor(start + (performance.now() - origin) * SPEED),
    setTimeout: (fn, msec) => {
      const timer = setTimeout(fn, msec / SPEED);
      timer.unref();
      return timer;
    },
    clearTimeout: (timer) => clearTimeout(timer),
  };
}

const dir = tempDir();
const file = path.join(dir, 'retention.db');
/** The file's size on disk now: the main file and the WAL. */
const onDisk = () => ({ db: bytes(file), wal: bytes(`${file}-wal`) });
const receiver = await startReceiver();
const sender = new WebhookSender({
  database: file,
  allowPrivateNetworks: true,
  clock: fastClock(),
  timeout: 300_000,
  pollInterval: SPEED * 1_000,
  retention: { succeeded: '1m' },
});
sender.endpoints.add({ url: receiver.url });
let delivered = 0;
sender.on('delivered', () => delivered++);
sender.on('error', (error) => console.error(`${error.code}: ${error.message}`));

const sweeps = { count: 0, deliveries: 0, events: 0, longestMs: 0, totalMs: 0, delayMax: 0, delayP99: 0 };
let peak = 0;
const notePeak = () => {
  const now = onDisk();
  peak = Math.max(peak, now.db + now.wal);
};

/**
 * One prune, with its own event-loop delay histogram: a histogram enabled again after a pause
 * would count the pause as one long delay.
 */
async function sweep() {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  const t0 = performance.now();
  const result = await sender.prune();
  const took = performance.now() - t0;
  histogram.disable();
  sweeps.count++;
  sweeps.deliveries += result.deliveries;
  sweeps.events += result.events;
  sweeps.totalMs += took;
  sweeps.longestMs = Math.max(sweeps.longestMs, took);
  sweeps.delayMax = Math.max(sweeps.delayMax, histogram.max / 1e6);
  sweeps.delayP99 = Math.max(sweeps.delayP99, histogram.percentile(99) / 1e6);
  notePeak();
}

let running = true;
async function pruneLoop() {
  while (running) {
    await sleep(PRUNE_EVERY_MS);
    if (running) await sweep();
  }
}

console.log(
  `retention: ${int(EVENTS)} events of 1 KB, retention { succeeded: '1m' }, clock x${SPEED} ` +
    `(1 simulated minute = ${ms(60_000 / SPEED)} ms of real time), prune every ${PRUNE_EVERY_MS} ms` +
    `${quick ? ' (--quick)' : ''}`,
);
const whole = monitorEventLoopDelay({ resolution: 1 });
whole.enable();
const pruning = pruneLoop();
const payload = payloadOfKb(1);
const quarters = [];
let emitted = 0;
const t0 = performance.now();
while (emitted < EVENTS) {
  if (emitted - delivered > MAX_BACKLOG) {
    await sleep(2);
    continue;
  }
  const n = Math.min(BATCH, EVENTS - emitted);
  sender.emitMany(Array.from({ length: n }, () => ({ type: 'order.created', payload })));
  emitted += n;
  if (emitted >= ((quarters.length + 1) * EVENTS) / 4) {
    const now = onDisk();
    quarters.push({ emitted, ...now });
    console.log(`  ${int(emitted)} emitted: file ${mb(now.db)} MB + WAL ${mb(now.wal)} MB`);
  }
  await new Promise((resolve) => setImmediate(resolve));
}
await sender.drain();
const seconds = (performance.now() - t0) / 1000;
running = false;
await pruning;
whole.disable();
const atEnd = onDisk();
notePeak();

// One more sweep once the last deliveries are a simulated minute old, as the background sweep would do.
await sleep(Math.ceil(61_000 / SPEED));
await sweep();
const afterLast = onDisk();
await sender.close();
await receiver.stop();
const closed = onDisk();
const db = new Database(file, { readonly: true });
const rows = Object.fromEntries(
  ['events', 'deliveries', 'attempts'].map((t) => [
    t,
    db.prepare(`SELECT count(*) AS n FROM hookline_${t}`).get().n,
  ]),
);
const autoVacuum = db.pragma('auto_vacuum', { simple: true });
db.close();

const sum = (s) => `${mb(s.db + s.wal)} MB (${mb(s.db)} + ${mb(s.wal)} WAL)`;
console.log(
  `\n${table(
    ['measure', 'value'],
    [
      ['events emitted / delivered', `${int(emitted)} / ${int(delivered)}`],
      ['run time (real)', `${seconds.toFixed(1)} s (${int(emitted / seconds)} events/s)`],
      ['simulated time', `${((seconds * SPEED) / 60).toFixed(1)} min`],
      [
        'sweeps',
        `${int(sweeps.count)}, longest ${ms(sweeps.longestMs)} ms, total ${ms(sweeps.totalMs)} ms (yielding between batches)`,
      ],
      [
        'deleted by the prune() calls / by the background sweep',
        `${int(sweeps.deliveries)} / ${int(emitted - rows.deliveries - sweeps.deliveries)} deliveries (with their events)`,
      ],
      ...quarters.map((q) => [`on disk after ${int(q.emitted)} events`, sum(q)]),
      ['on disk at the end of the run', sum(atEnd)],
      ['largest on disk during the run', `${mb(peak)} MB`],
      ['on disk after a last sweep a minute later', sum(afterLast)],
      ['on disk after close() (checkpointed)', sum(closed)],
      [
        'rows left (events / deliveries / attempts)',
        `${int(rows.events)} / ${int(rows.deliveries)} / ${int(rows.attempts)}`,
      ],
      ['auto_vacuum', autoVacuum === 2 ? 'INCREMENTAL' : String(autoVacuum)],
      [
        'event-loop delay during sweeps: max / worst p99',
        `${ms(sweeps.delayMax)} ms / ${ms(sweeps.delayP99)} ms`,
      ],
      [
        'event-loop delay over the run: max / p99',
        `${ms(whole.max / 1e6)} ms / ${ms(whole.percentile(99) / 1e6)} ms`,
      ],
    ],
  )}`,
);
const endMb = (atEnd.db + atEnd.wal) / 1024 / 1024;
console.log(
  `\non disk at the end ${endMb.toFixed(1)} MB (target < ${TARGET_MB} MB) ${endMb < TARGET_MB ? 'PASS' : 'FAIL'}; ` +
    `max event-loop delay during sweeps ${ms(sweeps.delayMax)} ms (target <= ${TARGET_DELAY_MS} ms) ` +
    `${sweeps.delayMax <= TARGET_DELAY_MS ? 'PASS' : 'FAIL'}`,
);
