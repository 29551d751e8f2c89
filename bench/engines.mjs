// The two engines side by side, alternating, in one run: `engine: 'worker'` (the default on a file)
// and `engine: 'inline'`. (1) Delivery of a prefilled backlog of N 1 KB events at concurrency C to the
// receiver in its own process: deliveries/s between the 10% and 100% marks, CPU of the whole process per
// 1,000. (2) Idle latency: one emit at a time, 5 ms apart, emit -> the `delivered` event on this thread.
//   node bench/engines.mjs [--rounds 3] [--events 5000] [--concurrency 64]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WebhookSender } from 'hookline';
import { median, numberArg, payloadOfKb, quick, startReceiver } from './lib.mjs';

const ROUNDS = numberArg('rounds', quick ? 1 : 3);
const N = numberArg('events', quick ? 1_000 : 5_000);
const C = numberArg('concurrency', 64);
const LATENCY_SAMPLES = quick ? 20 : 200;
const payload = payloadOfKb(1);
const receiver = await startReceiver();

function sender(engine, dir, options = {}) {
  const s = new WebhookSender({
    database: path.join(dir, 'engines.db'),
    engine,
    concurrency: C,
    endpointConcurrency: C,
    allowPrivateNetworks: true,
    ...options,
  });
  s.endpoints.add({ url: receiver.url });
  return s;
}

async function delivery(engine) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hookline-engines-'));
  const s = sender(engine, dir, { autoStart: false });
  for (let i = 0; i < N; i += 1_000)
    s.emitMany(Array.from({ length: Math.min(1_000, N - i) }, () => ({ type: 'order.created', payload })));
  let done = 0;
  let mark = 0;
  let cpuMark;
  const finished = new Promise((resolve) =>
    s.on('delivered', () => {
      done++;
      if (done === N / 10) {
        mark = performance.now();
        cpuMark = process.cpuUsage();
      }
      if (done === N) resolve();
    }),
  );
  s.start();
  await finished;
  const seconds = (performance.now() - mark) / 1_000;
  const cpu = process.cpuUsage(cpuMark);
  await s.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return { rate: (N * 0.9) / seconds, cpuPerK: (cpu.user + cpu.system) / 1e6 / ((N * 0.9) / 1_000) };
}

async function latency(engine) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hookline-engines-'));
  const s = sender(engine, dir);
  let resolveDone = () => {};
  s.on('delivered', () => resolveDone(performance.now()));
  await new Promise((resolve) => setTimeout(resolve, 300)); // the engine is up
  const samples = [];
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    const done = new Promise((resolve) => {
      resolveDone = resolve;
    });
    const t0 = performance.now();
    s.emit('order.created', payload);
    samples.push((await done) - t0);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await s.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return median(samples);
}

const runs = { worker: [], inline: [] };
for (let round = 0; round < ROUNDS; round++) {
  for (const engine of round % 2 === 0 ? ['worker', 'inline'] : ['inline', 'worker']) {
    const d = await delivery(engine);
    const l = await latency(engine);
    runs[engine].push({ ...d, latencyMs: l });
    console.log(
      `  round ${round + 1} ${engine}: ${Math.round(d.rate)}/s, ${d.cpuPerK.toFixed(3)} CPU-s / 1,000, idle emit→delivered p50 ${l.toFixed(2)} ms`,
    );
  }
}
await receiver.stop();
console.log(`\n| engine | deliveries/s (C=${C}) | process CPU s / 1,000 | idle emit→delivered p50 ms |`);
console.log('|---|---:|---:|---:|');
for (const [engine, r] of Object.entries(runs)) {
  const m = (key) => median(r.map((x) => x[key]));
  console.log(
    `| ${engine} | ${Math.round(m('rate'))} | ${m('cpuPerK').toFixed(3)} | ${m('latencyMs').toFixed(2)} |`,
  );
}
