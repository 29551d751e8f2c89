// Event-loop delay of the host process (perf_hooks.monitorEventLoopDelay, 1 ms resolution) while hookline
// delivers about 1,000 webhooks/s: the process emits 1,000 events/s for SECONDS seconds (paced by a 10 ms
// timer) with the default concurrency (32), with the engine in its worker thread (the default on a file)
// and inline on the application's thread, against the same process doing nothing (sender started, no
// emit), and against an inline got loop posting 1,000/s (the HTTP cost alone). Each in a fresh process.
// CPU: the whole process (every thread), and the application's thread alone (Linux: /proc/self/task).
// Beside each run, a second process that does nothing but watch its own event loop (`floor`): what the
// machine's load alone does to a loop that has no work, the floor under any number measured here.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { WebhookSender } from 'hookline';
import { gotPoster, payloadOfKb, quick, startReceiver, tempDir, webhookBody, writeResult } from './lib.mjs';
import { renderEventLoop } from './report.mjs';

const SECONDS = quick ? 1 : 10;
/** The idle baseline needs less time to show its (flat) distribution. */
const IDLE_SECONDS = quick ? 1 : 5;
const RATE = 1_000;
const ROUNDS = quick ? 1 : 2;
const SCENARIOS = ['idle', 'hookline', 'hookline-inline', 'got'];
const [mode, scenario, url] = process.argv.slice(2).filter((a) => a !== '--quick');

async function child() {
  const payload = payloadOfKb(1);
  let send = null;
  let delivered = 0;
  let close = async () => {};
  if (scenario.startsWith('hookline') || scenario === 'idle') {
    const sender = new WebhookSender({
      database: path.join(tempDir(), 'eld.db'),
      allowPrivateNetworks: true,
      ...(scenario === 'hookline-inline' ? { engine: 'inline' } : {}),
    });
    sender.endpoints.add({ url });
    sender.on('delivered', () => delivered++);
    if (scenario !== 'idle') send = () => sender.emit('order.created', payload);
    close = () => sender.close({ timeout: 5_000 });
  } else {
    // Fire and forget with at most 32 in flight, like the sender's default concurrency.
    const poster = await gotPoster(url, 32);
    const waiting = [];
    let active = 0;
    const pump = () => {
      while (active < 32 && waiting.length > 0) {
        active++;
        // A keep-alive socket the receiver closes as a request goes out fails that request
        // (ECONNRESET): an inline sender loses it; here it is counted as not delivered.
        poster.post(webhookBody('evt_x', 'order.created', waiting.pop())).then(
          () => {
            active--;
            delivered++;
            pump();
          },
          () => {
            active--;
            pump();
          },
        );
      }
    };
    send = () => {
      waiting.push(payload);
      pump();
    };
    close = async () => poster.close();
  }
  await new Promise((resolve) => setTimeout(resolve, 200)); // settle after start-up
  const window = scenario === 'idle' ? IDLE_SECONDS : SECONDS;
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  // Stalls: gaps of more than 20 ms between two turns of a 1 ms timer.
  const stalls = [];
  let last = performance.now();
  const probe = setInterval(() => {
    const now = performance.now();
    if (now - last > 20) stalls.push(now - last);
    last = now;
  }, 1);
  const cpu0 = process.cpuUsage();
  const host0 = hostThreadCpuMs();
  const start = performance.now();
  histogram.enable();
  let emitted = 0;
  await new Promise((resolve) => {
    const tick = setInterval(() => {
      const elapsed = (performance.now() - start) / 1_000;
      const due = send === null ? 0 : Math.floor(Math.min(elapsed, window) * RATE);
      while (emitted < due) {
        send();
        emitted++;
      }
      if (elapsed >= window) {
        clearInterval(tick);
        resolve();
      }
    }, 10);
  });
  histogram.disable();
  clearInterval(probe);
  const seconds = (performance.now() - start) / 1_000;
  const cpu = process.cpuUsage(cpu0);
  const hostMs = hostThreadCpuMs() - host0;
  const deliveredInWindow = delivered;
  await close();
  const msOf = (ns) => ns / 1e6;
  console.log(
    JSON.stringify({
      scenario,
      seconds,
      emitted,
      delivered: deliveredInWindow,
      cpuPercent: ((cpu.user + cpu.system) / 1e4 / seconds) | 0,
      hostCpuPercent: Number.isFinite(hostMs) ? Math.round(hostMs / 10 / seconds) : null,
      p50Ms: msOf(histogram.percentile(50)),
      p99Ms: msOf(histogram.percentile(99)),
      maxMs: msOf(histogram.max),
      meanMs: msOf(histogram.mean),
      stalls: stalls.length,
      worstStallsMs: stalls.sort((a, b) => b - a).slice(0, 5),
    }),
  );
}

/** CPU time of this process's main thread, in ms (utime + stime of /proc/self/task/<pid>/stat); NaN elsewhere. */
function hostThreadCpuMs() {
  try {
    const stat = fs.readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of stat(5), counted from the state (field 3); clock ticks of 1/100 s on Linux.
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

/** A process with no work: its own event-loop delay over `seconds`, after the same 200 ms settle. */
async function floor(seconds) {
  await new Promise((resolve) => setTimeout(resolve, 200));
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  let stalls = 0;
  let last = performance.now();
  const probe = setInterval(() => {
    const now = performance.now();
    if (now - last > 20) stalls++;
    last = now;
  }, 1);
  histogram.enable();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1_000));
  histogram.disable();
  clearInterval(probe);
  console.log(
    JSON.stringify({ p99Ms: histogram.percentile(99) / 1e6, maxMs: histogram.max / 1e6, stalls, seconds }),
  );
}

function node(args) {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [import.meta.filename, ...args],
      { encoding: 'utf8', timeout: 120_000 },
      (error, out) => (error ? reject(error) : resolve(JSON.parse(out.trim().split('\n').pop()))),
    );
  });
}

async function main() {
  const receiver = await startReceiver();
  const runs = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of SCENARIOS) {
      const window = name === 'idle' ? IDLE_SECONDS : SECONDS;
      const [run, idleProcess] = await Promise.all([
        node(['child', name, receiver.url, ...(quick ? ['--quick'] : [])]),
        node(['floor', String(window)]),
      ]);
      runs.push({ round, ...run, floor: idleProcess });
    }
  }
  await receiver.stop();
  const result = {
    seconds: SECONDS,
    idleSeconds: IDLE_SECONDS,
    rate: RATE,
    rounds: ROUNDS,
    resolutionMs: 1,
    runs,
  };
  writeResult('eventloop', result);
  console.log(`\n${renderEventLoop(result)}`);
}

if (mode === 'child') await child();
else if (mode === 'floor') await floor(Number(scenario));
else await main();
