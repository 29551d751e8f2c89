// A/B of `hookline/postgres` builds: one sender process (engine in its worker thread, 16 in flight) delivers
// EVENTS pre-written events to the bench receiver; builds take turns, each run a fresh child process with its own
// schema. `--latency ms` puts a TCP proxy on loopback in front of PostgreSQL that holds every chunk that long each
// way, as a database across a network would (a round trip then costs at least twice that):
//   node bench/pg-ab.mjs [--rounds 3] [--events 4000] [--latency 0] [name=path/to/dist ...]
// Without `name=dir` the current dist/ is measured. Prints each build's median deliveries/s, and the CPU time
// per delivery of the sender's process (all its threads) and of the PostgreSQL server (Linux: every `postgres`
// process, read from /proc), both taken over the delivery alone.
// Not part of `npm run bench` (bench/postgres.mjs is the full measurement, against pg-boss).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  benchDir,
  buildArgs,
  checkPostgres,
  median,
  numberArg,
  POSTGRES,
  payloadOfKb,
  processCpuSeconds,
  startReceiver,
} from './lib.mjs';

const rounds = numberArg('rounds', 3);
const events = numberArg('events', 4_000);
const latency = numberArg('latency', 0);
const [mode, connectionString, url] = process.argv.slice(2);

/** CPU seconds used so far by every `postgres` process, by pid (Linux; empty elsewhere). */
function postgresCpu() {
  const cpu = new Map();
  let pids = [];
  try {
    pids = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return cpu;
  }
  for (const pid of pids) {
    try {
      if (fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'postgres') continue;
    } catch {
      continue; // Gone since the listing.
    }
    const seconds = processCpuSeconds(pid);
    if (seconds !== null) cpu.set(pid, seconds);
  }
  return cpu;
}

/** CPU seconds the `postgres` processes used between two readings (a backend started since counts from 0). */
function postgresCpuSince(before) {
  let seconds = 0;
  for (const [pid, now] of postgresCpu()) seconds += now - (before.get(pid) ?? 0);
  return seconds;
}

async function child() {
  const { PgWebhookSender } = await import('hookline/postgres');
  const pg = (await import('pg')).default;
  const schema = `hookline_bench_ab_${process.pid}`;
  const sender = new PgWebhookSender({
    connectionString,
    schema,
    concurrency: 16,
    endpointConcurrency: 16,
    allowPrivateNetworks: true,
    pollInterval: 200,
    autoStart: false,
  });
  await sender.ready;
  await sender.endpoints.add({ url });
  const payload = payloadOfKb(1);
  for (let i = 0; i < events; i += 1_000)
    await sender.emitMany(
      Array.from({ length: Math.min(1_000, events - i) }, () => ({ type: 'order.created', payload })),
    );
  let delivered = 0;
  const done = new Promise((resolve) => sender.on('delivered', () => ++delivered === events && resolve()));
  const pg0 = postgresCpu();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await sender.start();
  await done;
  const rate = events / ((performance.now() - t0) / 1_000);
  const cpu = process.cpuUsage(cpu0);
  const senderUs = (cpu.user + cpu.system) / events;
  const serverUs = (postgresCpuSince(pg0) * 1e6) / events;
  await sender.close();
  const admin = new pg.Client({ connectionString });
  await admin.connect();
  await admin.query(`DROP SCHEMA ${schema} CASCADE`);
  await admin.end();
  console.log(
    JSON.stringify({
      rate: Math.round(rate),
      senderUs: Math.round(senderUs),
      serverUs: Math.round(serverUs),
    }),
  );
}

/** Forwards to PostgreSQL, holding each chunk `latency` ms in each direction. */
function delayingProxy() {
  const server = net.createServer((client) => {
    const upstream = net.connect(POSTGRES.port, POSTGRES.host);
    const forward = (from, to) => from.on('data', (chunk) => setTimeout(() => to.write(chunk), latency));
    forward(client, upstream);
    forward(upstream, client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.setNoDelay(true);
      socket.on('error', end);
      socket.on('close', end);
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function main() {
  const service = await checkPostgres();
  if (!service.ok) {
    console.log(`SKIPPING bench/pg-ab.mjs: PostgreSQL is not reachable (${service.reason})`);
    return;
  }
  const builds = buildArgs();
  if (builds.length === 0) builds.push({ name: 'hookline', dir: path.join(benchDir, '..', 'dist') });
  const proxy = latency > 0 ? await delayingProxy() : null;
  const port = proxy?.address().port ?? POSTGRES.port;
  const target = `postgres://${service.user}@${POSTGRES.host}:${port}/${POSTGRES.database}`;
  const receiver = await startReceiver();
  const rates = new Map(builds.map((b) => [b.name, []]));
  const cpus = new Map(builds.map((b) => [b.name, { sender: [], server: [] }]));
  for (let round = 0; round < rounds; round++) {
    for (const build of builds) {
      const env = {
        ...process.env,
        HOOKLINE_BENCH_DIST: pathToFileURL(path.join(build.dir, 'index.js')).href,
      };
      const pin = `--import=${path.join(benchDir, 'pin-hookline.mjs')}`;
      const args = [pin, import.meta.filename, 'child', target, receiver.url, '--events', String(events)];
      const out = await new Promise((resolve, reject) =>
        execFile(process.execPath, args, { env }, (error, stdout) =>
          error ? reject(error) : resolve(stdout),
        ),
      );
      const { rate, senderUs, serverUs } = JSON.parse(out.trim().split('\n').at(-1));
      rates.get(build.name).push(rate);
      cpus.get(build.name).sender.push(senderUs);
      cpus.get(build.name).server.push(serverUs);
      console.log(
        `round ${round + 1} ${build.name}: ${rate}/s, CPU per delivery ${senderUs} µs sender, ${serverUs} µs PostgreSQL`,
      );
    }
  }
  await receiver.stop();
  proxy?.close();
  console.log(`\n${events} events, 16 in flight, ${latency} ms added each way, ${rounds} rounds (medians)`);
  for (const [name, list] of rates) {
    const { sender, server } = cpus.get(name);
    console.log(
      `${name.padEnd(12)} ${median(list).toFixed(0)}/s  (${list.join(', ')}); CPU per delivery: sender ${median(sender).toFixed(0)} µs, PostgreSQL ${median(server).toFixed(0)} µs`,
    );
  }
}

if (mode === 'child') await child();
else await main();
