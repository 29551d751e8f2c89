// Delivery rate and peak RSS with a large backlog: the same delivery run
// (first DELIVER rows) against an outbox holding DELIVER pending rows and one
// holding BACKLOG pending rows. Each measurement runs in a fresh process so
// that RSS is the sender's alone; the backlog is written by another process.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { WebhookSender } from 'hookline';
import { fmt, median, payloadOfKb, quick, startReceiver, tempDir } from './lib.mjs';

const BACKLOG = quick ? 5_000 : 1_000_000;
const DELIVER = quick ? 1_000 : 20_000;
const ROUNDS = quick ? 1 : 3;
const CONCURRENCY = 64;
const [mode, file, url, countArg] = process.argv.slice(2).filter((a) => a !== '--quick');

if (mode === 'fill') {
  const sender = new WebhookSender({ database: file, autoStart: false, allowPrivateNetworks: true });
  sender.endpoints.add({ url });
  const payload = payloadOfKb(1);
  const count = Number(countArg);
  for (let i = 0; i < count; i += 5_000) {
    sender.emitMany(
      Array.from({ length: Math.min(5_000, count - i) }, () => ({ type: 'order.created', payload })),
    );
  }
  await sender.close();
} else if (mode === 'bare') {
  // The transport alone: the same got call, the same concurrency, no outbox.
  const { got } = await import('got');
  const http = await import('node:http');
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY, scheduling: 'lifo' });
  const client = got.extend({
    method: 'POST',
    retry: { limit: 0 },
    throwHttpErrors: false,
    followRedirect: false,
    decompress: false,
    agent: { http: agent },
  });
  const body = JSON.stringify({ id: 'evt_x', type: 'order.created', data: payloadOfKb(1) });
  let peak = 0;
  const sample = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < DELIVER) {
        await new Promise((resolve, reject) => {
          const stream = client.stream(file, { body, headers: { 'content-type': 'application/json' } });
          stream.on('data', () => {});
          stream.on('end', resolve);
          stream.on('error', reject);
        });
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  clearInterval(sample);
  agent.destroy();
  console.log(
    JSON.stringify({
      rate: DELIVER / seconds,
      rssMb: Math.max(peak, process.memoryUsage().rss) / 1024 / 1024,
    }),
  );
} else if (mode === 'deliver') {
  const sender = new WebhookSender({ database: file, allowPrivateNetworks: true, concurrency: CONCURRENCY });
  let peak = 0;
  const sample = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  let delivered = 0;
  const start = performance.now();
  await new Promise((resolve) => {
    sender.on('delivered', () => {
      if (++delivered === DELIVER) resolve();
    });
  });
  const seconds = (performance.now() - start) / 1000;
  clearInterval(sample);
  await sender.close({ timeout: 5_000 });
  peak = Math.max(peak, process.memoryUsage().rss);
  console.log(JSON.stringify({ rate: DELIVER / seconds, rssMb: peak / 1024 / 1024 }));
} else {
  const dir = tempDir();
  const receiver = await startReceiver();
  const self = new URL(import.meta.url).pathname;
  const run = (...args) =>
    execFileSync(process.execPath, [self, ...args, ...(quick ? ['--quick'] : [])], { encoding: 'utf8' });
  const small = path.join(dir, 'small.db');
  const big = path.join(dir, 'big.db');
  const fillStart = performance.now();
  run('fill', big, receiver.url, String(BACKLOG));
  const fillSeconds = (performance.now() - fillStart) / 1000;
  const results = { small: [], big: [], bare: [] };
  for (let round = 0; round < ROUNDS; round++) {
    // The small outbox is refilled each round; the big one loses DELIVER rows a round.
    const roundFile = `${small}.${round}`;
    run('fill', roundFile, receiver.url, String(DELIVER));
    results.small.push(JSON.parse(run('deliver', roundFile)));
    results.big.push(JSON.parse(run('deliver', big)));
    results.bare.push(JSON.parse(run('bare', receiver.url)));
  }
  await receiver.stop();
  const row = (name, rows) =>
    `| ${name} | ${fmt(median(rows.map((r) => r.rate)), 0)} | ${fmt(Math.max(...rows.map((r) => r.rssMb)), 0)} |`;
  console.log(
    `\nbacklog (deliver ${DELIVER} rows at concurrency ${CONCURRENCY}, ${ROUNDS} rounds; writing ${BACKLOG} rows took ${fmt(fillSeconds, 1)} s)`,
  );
  console.log('| process | deliveries/s (median) | peak RSS MiB |');
  console.log('|---|---:|---:|');
  console.log(row(`hookline, ${DELIVER} pending rows`, results.small));
  console.log(row(`hookline, ${BACKLOG} pending rows`, results.big));
  console.log(row('bare got loop, no outbox', results.bare));
  const ratio = median(results.big.map((r) => r.rate)) / median(results.small.map((r) => r.rate));
  console.log(`rate with the backlog / rate without: ${fmt(ratio, 2)}`);
}
