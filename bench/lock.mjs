// How long the engine's worker thread holds the database file's write lock, seen from another
// writer: while the worker delivers a backlog (nothing else writes), a probe process tries
// `BEGIN IMMEDIATE` with no busy timeout every ~1 ms and times each run of SQLITE_BUSY answers.
// A span is how long an `emit` arriving at that moment would have waited for the lock.
import { fork } from 'node:child_process';
import path from 'node:path';
import Database from 'better-sqlite3';
import { WebhookSender } from 'hookline';
import { payloadOfKb, percentile, quick, startReceiver, tempDir, writeResult } from './lib.mjs';

const [mode, file, seconds] = process.argv.slice(2).filter((a) => a !== '--quick');

function probe() {
  const db = new Database(file, { timeout: 0 });
  const begin = db.prepare('BEGIN IMMEDIATE');
  const rollback = db.prepare('ROLLBACK');
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const spans = [];
  let busySince = null;
  const end = performance.now() + Number(seconds) * 1_000;
  let tries = 0;
  while (performance.now() < end) {
    tries++;
    try {
      begin.run();
      rollback.run();
      if (busySince !== null) spans.push(performance.now() - busySince);
      busySince = null;
    } catch (error) {
      if (error.code !== 'SQLITE_BUSY') throw error;
      busySince ??= performance.now();
    }
    Atomics.wait(pause, 0, 0, 1);
  }
  db.close();
  process.send({ spans, tries });
}

async function main() {
  const N = quick ? 2_000 : 20_000;
  const receiver = await startReceiver();
  const dir = tempDir();
  const db = path.join(dir, 'lock.db');
  const engine = process.env.HOOKLINE_BENCH_ENGINE ?? 'worker';
  const sender = new WebhookSender({
    database: db,
    engine,
    allowPrivateNetworks: true,
    autoStart: false,
    concurrency: 64,
  });
  sender.endpoints.add({ url: receiver.url });
  const payload = payloadOfKb(1);
  for (let i = 0; i < N; i += 1_000)
    sender.emitMany(
      Array.from({ length: Math.min(1_000, N - i) }, () => ({ type: 'order.created', payload })),
    );
  const window = quick ? 2 : 8;
  const child = fork(import.meta.filename, ['probe', db, String(window)], { stdio: 'inherit' });
  const measured = new Promise((resolve) => child.once('message', resolve));
  const t0 = performance.now();
  sender.start();
  const { spans, tries } = await measured;
  const elapsed = (performance.now() - t0) / 1_000;
  const delivered = sender.stats().succeeded;
  await sender.close({ timeout: 5_000 });
  await receiver.stop();
  const sorted = Float64Array.from(spans).sort();
  const result = {
    seconds: elapsed,
    delivered,
    tries,
    spans: spans.length,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.length === 0 ? 0 : sorted[sorted.length - 1],
    busyShare: spans.reduce((a, b) => a + b, 0) / (elapsed * 1_000),
  };
  writeResult('lock', result);
  console.log(
    `\n${engine} engine: write lock while delivering ${Math.round(delivered / elapsed)}/s: ${result.spans} busy spans seen, ` +
      `p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, max ${result.maxMs.toFixed(2)} ms, ` +
      `held ${(result.busyShare * 100).toFixed(1)}% of the time`,
  );
}

if (mode === 'probe') probe();
else await main();
