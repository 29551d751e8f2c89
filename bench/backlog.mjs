// Delivery rate, CPU and peak RSS against an outbox holding 10k, 100k and 1M pending rows (all due now):
// each round delivers DELIVER of them, at concurrency 64, in a fresh process so that RSS is the sender's
// alone; the rows are written beforehand by another process. A bare got loop (the same call, no outbox)
// runs in the same rounds as the reference.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { WebhookSender } from 'hookline';
import {
  gotPoster,
  payloadOfKb,
  quick,
  senderWithConcurrency,
  startReceiver,
  tempDir,
  webhookBody,
  writeResult,
} from './lib.mjs';
import { renderBacklog } from './report.mjs';

const SIZES = quick ? [1_000, 2_000, 5_000] : [10_000, 100_000, 1_000_000];
const DELIVER = quick ? 500 : 6_000;
const ROUNDS = quick ? 1 : 3;
const CONCURRENCY = 64;
const WARM = Math.floor(DELIVER / 10);
const [mode, file, url, countArg] = process.argv.slice(2).filter((a) => a !== '--quick');

/** Samples what a delivery run needs: the rate and CPU between the 10% mark and the end, and peak RSS. */
function meter() {
  let mark = null;
  return {
    tick(done) {
      if (done === WARM) mark = { at: performance.now(), cpu: process.cpuUsage() };
    },
    result() {
      const seconds = (performance.now() - mark.at) / 1_000;
      const cpu = process.cpuUsage(mark.cpu);
      return {
        rate: (DELIVER - WARM) / seconds,
        cpuPerK: (cpu.user + cpu.system) / 1e6 / ((DELIVER - WARM) / 1_000),
        rssMb: process.resourceUsage().maxRSS / 1024,
      };
    },
  };
}

if (mode === 'fill') {
  const sender = new WebhookSender({ database: file, autoStart: false, allowPrivateNetworks: true });
  sender.endpoints.add({ url });
  const payload = payloadOfKb(1);
  const count = Number(countArg);
  // The emitting connection never checkpoints (hookline leaves that to the dispatcher's idle moments, and
  // this sender is not started): the write-ahead log grows with every row until close().
  let walBytes = 0;
  for (let i = 0; i < count; i += 5_000) {
    sender.emitMany(
      Array.from({ length: Math.min(5_000, count - i) }, () => ({ type: 'order.created', payload })),
    );
    try {
      walBytes = Math.max(walBytes, fs.statSync(`${file}-wal`).size);
    } catch {}
  }
  await sender.close();
  console.log(JSON.stringify({ walMb: walBytes / 1024 / 1024, dbMb: fs.statSync(file).size / 1024 / 1024 }));
} else if (mode === 'bare') {
  // The transport alone: the same got call, the same concurrency, no outbox.
  const poster = await gotPoster(file, CONCURRENCY);
  const payload = payloadOfKb(1);
  const m = meter();
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < DELIVER) {
        await poster.post(webhookBody(`evt_${next}`, 'order.created', payload));
        m.tick(++done);
      }
    }),
  );
  poster.close();
  console.log(JSON.stringify(m.result()));
} else if (mode === 'deliver') {
  const sender = senderWithConcurrency(WebhookSender, {
    database: file,
    allowPrivateNetworks: true,
    concurrency: CONCURRENCY,
  });
  const m = meter();
  let delivered = 0;
  await new Promise((resolve) => {
    sender.on('delivered', () => {
      m.tick(++delivered);
      if (delivered === DELIVER) resolve();
    });
  });
  const result = m.result();
  await sender.close({ timeout: 5_000 });
  result.rssMb = process.resourceUsage().maxRSS / 1024;
  console.log(JSON.stringify(result));
} else {
  const dir = tempDir();
  const receiver = await startReceiver();
  const self = import.meta.filename;
  const run = (...args) =>
    new Promise((resolve, reject) => {
      execFile(
        process.execPath,
        [self, ...args, ...(quick ? ['--quick'] : [])],
        { encoding: 'utf8', timeout: 300_000, maxBuffer: 1024 * 1024 },
        (error, stdout) => (error ? reject(error) : resolve(stdout)),
      );
    });
  const fillSeconds = {};
  const files = {};
  const fill = async (size, target, rows) => {
    const t0 = performance.now();
    const out = JSON.parse(await run('fill', target, receiver.url, String(rows)));
    fillSeconds[size] = (performance.now() - t0) / 1_000;
    files[size] = { rows, walPeakMb: out.walMb, dbMb: out.dbMb };
  };
  // The largest outbox is written once, with enough rows for every round; the smaller ones are written
  // afresh each round with `size + DELIVER` rows, so `size` rows stay pending to the end of the run.
  const largest = SIZES[SIZES.length - 1];
  const bigFile = path.join(dir, `pending-${largest}.db`);
  await fill(largest, bigFile, largest + DELIVER * ROUNDS);
  const results = Object.fromEntries([...SIZES.map((s) => [s, []]), ['bare', []]]);
  for (let round = 0; round < ROUNDS; round++) {
    for (const size of SIZES) {
      let target = bigFile;
      if (size !== largest) {
        target = path.join(dir, `pending-${size}-${round}.db`);
        await fill(size, target, size + DELIVER);
      }
      results[size].push(JSON.parse(await run('deliver', target)));
    }
    results.bare.push(JSON.parse(await run('bare', receiver.url)));
  }
  await receiver.stop();
  const result = {
    sizes: SIZES,
    deliver: DELIVER,
    rounds: ROUNDS,
    concurrency: CONCURRENCY,
    fillSeconds,
    files,
    runs: results,
  };
  writeResult('backlog', result);
  console.log(`\n${renderBacklog(result)}`);
}
