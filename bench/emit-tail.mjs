// A/B of what the engine's write transactions cost the application's thread: each build emits RATE events/s
// while its engine (in its worker thread) delivers them to a receiver in another process, and the run times every
// emit and watches the host's event loop. Builds take turns, each round a fresh child process:
//   node bench/emit-tail.mjs [--rounds 3] [--rate 2000] [--seconds 8] [name=path/to/dist ...]
// Without `name=dir` the current dist/ is measured. Prints medians over rounds of: emit p50/p99/max (µs), the
// share of emits slower than 1 ms, the host's event-loop delay p99/max (ms), stalls over 20 ms, deliveries/s; and,
// in the same child, the bare better-sqlite3 insert of the same two rows (p50), for the ratio. Not part of
// `npm run bench` (bench/emit.mjs and bench/eventloop.mjs are the full measurements).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import {
  benchDir,
  buildArgs,
  emitAtRate,
  fmt,
  median,
  numberArg,
  payloadOfKb,
  percentile,
  startReceiver,
  tempDir,
} from './lib.mjs';

if (process.argv[2] === 'child') {
  const { rate, seconds, url } = JSON.parse(process.argv[3]);
  const { WebhookSender } = await import('hookline');
  const Database = (await import('better-sqlite3')).default;
  const payload = payloadOfKb(1);
  const dir = tempDir();

  // The floor: the same two rows written bare, in one transaction each.
  const bare = new Database(path.join(dir, 'bare.db'));
  bare.pragma('journal_mode = WAL');
  bare.pragma('synchronous = NORMAL');
  bare.exec('CREATE TABLE e (id TEXT PRIMARY KEY, type TEXT, payload BLOB, at INTEGER)');
  bare.exec('CREATE TABLE d (id TEXT PRIMARY KEY, event TEXT, at INTEGER)');
  const ie = bare.prepare('INSERT INTO e VALUES (?, ?, ?, ?)');
  const id = bare.prepare('INSERT INTO d VALUES (?, ?, ?)');
  const json = JSON.stringify(payload);
  const insert = bare.transaction((i) => {
    ie.run(`e${i}`, 'order.created', json, Date.now());
    id.run(`d${i}`, `e${i}`, Date.now());
  });
  const bareSamples = new Float64Array(5_000);
  for (let i = 0; i < bareSamples.length; i++) {
    const t0 = process.hrtime.bigint();
    insert.immediate(i);
    bareSamples[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  bareSamples.sort();
  bare.close();

  const sender = new WebhookSender({ database: path.join(dir, 'busy.db'), allowPrivateNetworks: true });
  sender.endpoints.add({ url, concurrency: 64 });
  let delivered = 0;
  sender.on('delivered', () => delivered++);
  await new Promise((resolve) => setTimeout(resolve, 300)); // the worker is up
  const n = Math.round(rate * seconds);
  const loop = monitorEventLoopDelay({ resolution: 1 });
  const stalls = { count: 0, last: performance.now() };
  const watch = setInterval(() => {
    const now = performance.now();
    if (now - stalls.last > 21) stalls.count++;
    stalls.last = now;
  }, 1);
  loop.enable();
  const { samples, seconds: elapsed } = await emitAtRate(sender, payload, n, rate);
  loop.disable();
  clearInterval(watch);
  const deliveredInWindow = delivered;
  await sender.drain();
  await sender.close();
  samples.sort();
  const slow = samples.filter((s) => s > 1_000).length / n;
  console.log(
    JSON.stringify({
      p50: percentile(samples, 50),
      p99: percentile(samples, 99),
      max: samples[n - 1],
      slow,
      bare: percentile(bareSamples, 50),
      eldP99: loop.percentile(99) / 1e6,
      eldMax: loop.max / 1e6,
      stallsPerMin: (stalls.count / elapsed) * 60,
      deliveredPerS: deliveredInWindow / elapsed,
    }),
  );
  fs.rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

const rounds = numberArg('rounds', 3);
const cfg = { rate: numberArg('rate', 2_000), seconds: numberArg('seconds', 8) };
const builds = buildArgs();
if (builds.length === 0) builds.push({ name: 'hookline', dir: path.join(benchDir, '..', 'dist') });

function run(build, url) {
  const env = { ...process.env, HOOKLINE_BENCH_DIST: pathToFileURL(path.join(build.dir, 'index.js')).href };
  env.NODE_OPTIONS =
    `${env.NODE_OPTIONS ?? ''} --import=${pathToFileURL(path.join(benchDir, 'pin-hookline.mjs')).href}`.trim();
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [import.meta.filename, 'child', JSON.stringify({ ...cfg, url })],
      { env, encoding: 'utf8', timeout: 240_000 },
      (error, stdout, stderr) => {
        try {
          resolve(JSON.parse(stdout.trim().split('\n').pop()));
        } catch {
          reject(new Error(`${build.name}: ${error?.message ?? 'no result'}\n${stderr.slice(-2_000)}`));
        }
      },
    );
  });
}

const receiver = await startReceiver();
const results = new Map(builds.map((b) => [b.name, []]));
for (let round = 0; round < rounds; round++) {
  for (let i = 0; i < builds.length; i++) {
    const build = builds[(i + round) % builds.length];
    const r = await run(build, receiver.url);
    results.get(build.name).push(r);
    console.error(`round ${round + 1} ${build.name}: ${JSON.stringify(r)}`);
  }
}
await receiver.stop();
console.log(`\nemit ${cfg.rate}/s for ${cfg.seconds} s while the worker delivers, ${rounds} rounds, medians`);
for (const [name, list] of results) {
  const m = (key) => median(list.map((r) => r[key]));
  const ratio = median(list.map((r) => r.p50 / r.bare));
  console.log(
    `${name.padEnd(10)} emit p50 ${fmt(m('p50'))} µs (${fmt(ratio, 2)}x bare) p99 ${fmt(m('p99'))} µs max ${fmt(m('max') / 1000)} ms, ` +
      `>1 ms ${fmt(m('slow') * 100, 2)}% | loop p99 ${fmt(m('eldP99'), 2)} ms max ${fmt(m('eldMax'))} ms, ` +
      `stalls ${fmt(m('stallsPerMin'))}/min | ${Math.round(m('deliveredPerS'))} delivered/s`,
  );
}
