// Delivery throughput and latency against a receiver in its own process:
// hookline vs a bare got loop making the same call (stream form, same agent
// settings), alternating A B A B, medians of the rounds.
import http from 'node:http';
import path from 'node:path';
import { got } from 'got';
import { WebhookSender } from 'hookline';
import { fmt, median, payloadOfKb, percentile, quick, startReceiver, tempDir } from './lib.mjs';

const N = quick ? 500 : 20_000;
const ROUNDS = quick ? 1 : 3;
const payload = payloadOfKb(1);
const body = JSON.stringify({
  id: 'evt_x',
  type: 'order.created',
  timestamp: new Date().toISOString(),
  data: payload,
});

async function bareGot(url, concurrency) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency, scheduling: 'lifo' });
  const client = got.extend({
    method: 'POST',
    retry: { limit: 0 },
    throwHttpErrors: false,
    followRedirect: false,
    decompress: false,
    agent: { http: agent },
    timeout: { request: 15_000 },
  });
  const one = () =>
    new Promise((resolve, reject) => {
      const stream = client.stream(url, { body, headers: { 'content-type': 'application/json' } });
      stream.on('data', () => {});
      stream.on('end', resolve);
      stream.on('error', reject);
    });
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < N) await one();
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  agent.destroy();
  return N / seconds;
}

async function hookline(url, concurrency, dir, round) {
  const sender = new WebhookSender({
    database: path.join(dir, `deliver-${concurrency}-${round}.db`),
    allowPrivateNetworks: true,
    autoStart: false,
    concurrency,
  });
  sender.endpoints.add({ url });
  for (let i = 0; i < N; i += 1000) {
    sender.emitMany(
      Array.from({ length: Math.min(1000, N - i) }, () => ({ type: 'order.created', payload })),
    );
  }
  let delivered = 0;
  const done = new Promise((resolve) => {
    sender.on('delivered', () => {
      if (++delivered === N) resolve();
    });
  });
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  sender.start();
  await done;
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await sender.close();
  return { rate: N / seconds, cpuPerK: (cpu.user + cpu.system) / 1e6 / (N / 1000) };
}

async function idleLatency(url, dir) {
  const sender = new WebhookSender({ database: path.join(dir, 'latency.db'), allowPrivateNetworks: true });
  sender.endpoints.add({ url });
  const samples = [];
  const count = quick ? 50 : 500;
  for (let i = 0; i < count; i++) {
    const delivered = new Promise((resolve) => sender.once('delivered', resolve));
    const t0 = performance.now();
    sender.emit('order.created', payload);
    await delivered;
    samples.push(performance.now() - t0);
  }
  await sender.close();
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

const dir = tempDir();
const receiver = await startReceiver();
console.log(`\ndelivery (${N} events of 1 KB per round, ${ROUNDS} rounds, receiver in its own process)`);
console.log(
  '| concurrency | bare got deliveries/s | hookline deliveries/s | ratio | hookline CPU s per 1,000 |',
);
console.log('|---:|---:|---:|---:|---:|');
for (const concurrency of [16, 64]) {
  const bare = [];
  const ours = [];
  const cpu = [];
  await bareGot(receiver.url, concurrency); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    bare.push(await bareGot(receiver.url, concurrency));
    const r = await hookline(receiver.url, concurrency, dir, round);
    ours.push(r.rate);
    cpu.push(r.cpuPerK);
  }
  const b = median(bare);
  const h = median(ours);
  console.log(`| ${concurrency} | ${fmt(b, 0)} | ${fmt(h, 0)} | ${fmt(h / b, 2)} | ${fmt(median(cpu), 3)} |`);
}
const latency = await idleLatency(receiver.url, dir);
console.log(`\nidle emit-to-delivered latency: p50 ${fmt(latency.p50, 2)} ms, p99 ${fmt(latency.p99, 2)} ms`);
await receiver.stop();
