// Fan-out: how fast the engine turns queued events into deliveries, and how soon a broadcast to
// 1,000 endpoints reaches the last of them, against the transport alone (a got loop sending the
// same 1,000 requests at the same concurrency) in the same run.
//
//   expand     50 broadcasts to 1,000 endpoints emitted with the engine stopped (50,000 deliveries
//              to create), then the engine started: deliveries created per second until the queue
//              is empty (read from a second connection every 2 ms), while it also delivers; and the
//              same with a receiver that never answers, every slot busy: the fan-out alone.
//   broadcast  one event to 1,000 endpoints on an idle engine, emit to the last 'delivered', then
//              a warm got loop's time for the same 1,000 requests; 9 rounds, the median of the
//              per-round ratios.
import path from 'node:path';
import Database from 'better-sqlite3';
import { WebhookSender } from 'hookline';
import { fmt, gotPoster, int, median, payloadOfKb, quick, startReceiver, table, tempDir } from './lib.mjs';

const ENDPOINTS = quick ? 100 : 1_000;
const BROADCASTS = quick ? 5 : 50;
const ROUNDS = quick ? 2 : 9;
const CONCURRENCY = 32;
const payload = payloadOfKb(1);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const dir = tempDir();
const receiver = await startReceiver();
const rows = BROADCASTS * ENDPOINTS;

/** A file with BROADCASTS events queued for ENDPOINTS endpoints at `url`, nothing fanned out yet. */
async function queuedFile(name, url) {
  const file = path.join(dir, name);
  const setup = new WebhookSender({ database: file, autoStart: false, allowPrivateNetworks: true });
  for (let i = 0; i < ENDPOINTS; i++) setup.endpoints.add({ url: `${url}/${i}` });
  setup.emitMany(
    Array.from({ length: BROADCASTS }, (_, n) => ({ type: 'broadcast', payload: { ...payload, n } })),
  );
  await setup.close();
  return file;
}

/** Starts `sender` on `file` and resolves with the seconds until its fan-out queue is empty. */
async function expand(file, sender) {
  const watch = new Database(file, { readonly: true });
  const queued = watch.prepare('SELECT count(*) AS n FROM hookline_fanout WHERE done = 0');
  const started = performance.now();
  sender.start();
  while (queued.get().n > 0) {
    if (performance.now() - started > 120_000) throw new Error('the fan-out queue did not empty in 120 s');
    await sleep(2);
  }
  watch.close();
  return (performance.now() - started) / 1000;
}

const open = (file) =>
  new WebhookSender({
    database: file,
    allowPrivateNetworks: true,
    concurrency: CONCURRENCY,
    autoStart: false,
  });

// The fan-out alone: every slot held by a receiver that never answers.
const hang = await startReceiver('./hang-receiver.mjs');
const held = await queuedFile('held.db', hang.url);
const stuck = open(held);
const aloneSeconds = await expand(held, stuck);
await stuck.close({ timeout: 0 });
await hang.stop();

// While delivering: the engine starts with BROADCASTS x ENDPOINTS deliveries to create.
const file = await queuedFile('fanout.db', receiver.url);
const sender = open(file);
const expandSeconds = await expand(file, sender);
await sender.drain();

// broadcast: one event at a time on an idle engine; the transport alone, 1,000 requests of the same
// body at the same concurrency on a got client kept warm, right after each, so that every round
// gives a ratio measured seconds apart (this machine's speed moves more than that between rounds).
const body = JSON.stringify({
  id: 'evt_x',
  type: 'broadcast',
  timestamp: new Date().toISOString(),
  data: payload,
});
const poster = await gotPoster(receiver.url, CONCURRENCY);
async function gotLoop() {
  await sleep(200);
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < ENDPOINTS) {
        next++;
        await poster.post(body);
      }
    }),
  );
  return performance.now() - t0;
}
// Warms the got loop up, as the expand runs warmed hookline up; not counted.
await gotLoop();
const broadcasts = [];
const loops = [];
const ratios = [];
for (let round = 0; round < ROUNDS; round++) {
  let delivered = 0;
  const done = new Promise((resolve) => {
    const on = () => {
      if (++delivered === ENDPOINTS) {
        sender.off('delivered', on);
        resolve(performance.now());
      }
    };
    sender.on('delivered', on);
  });
  await sleep(200);
  const t0 = performance.now();
  sender.emit('broadcast', { ...payload, round });
  broadcasts.push((await done) - t0);
  loops.push(await gotLoop());
  ratios.push(broadcasts[round] / loops[round]);
}
await sender.close();
poster.close();
await receiver.stop();

const broadcastMs = median(broadcasts);
const loopMs = median(loops);
console.log(`\n### fan-out (file database, engine: 'worker', concurrency ${CONCURRENCY}; 1 KB payload)\n`);
console.log(
  table(
    ['case', 'figure'],
    [
      [
        `expand: ${int(rows)} deliveries (${BROADCASTS} broadcasts to ${int(ENDPOINTS)} endpoints), every slot held`,
        `${int(rows / aloneSeconds)} rows/s (${fmt(aloneSeconds, 2)} s; target ≥ 50,000)`,
      ],
      [
        'expand: the same, while delivering them',
        `${int(rows / expandSeconds)} rows/s (${fmt(expandSeconds, 2)} s)`,
      ],
      [
        `broadcast to ${int(ENDPOINTS)} endpoints, emit to the last delivered (median of ${ROUNDS})`,
        `${fmt(broadcastMs)} ms (${broadcasts.map((t) => fmt(t)).join(', ')})`,
      ],
      [
        `got loop, ${int(ENDPOINTS)} requests at concurrency ${CONCURRENCY} (median of ${ROUNDS})`,
        `${fmt(loopMs)} ms (${loops.map((t) => fmt(t)).join(', ')})`,
      ],
      [
        'broadcast ÷ got loop, the median of the rounds’ ratios',
        `${fmt(median(ratios), 2)} (${ratios.map((r) => fmt(r, 2)).join(', ')}; target ≤ 1.2)`,
      ],
    ],
  ),
);
