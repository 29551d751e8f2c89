// A/B: one or more builds of hookline against the bare got loop, in the same run, for working on the hot path:
//   node bench/ab.mjs [--concurrency 16] [--events 5000] [--rounds 5] [--tuned] [name=path/to/dist ...]
// `--tuned` adds `got-tuned`: the same loop with the two got settings hookline gives its own got.
// Each `name=dir` is a build directory inside the repository (`name+otel=dir`: with the OpenTelemetry SDK registered), so that its imports resolve (a copy of dist/
// taken before a change, say: `cp -r dist bench/.ab/base`); without any, the current dist/ is copied and measured. Every run is a fresh child process (bench/contender.mjs); the contenders take
// turns within each round; prints medians of deliveries/s and CPU per 1,000, and each build's median
// per-round ratio to the bare got loop. Not part of `npm run bench` (bench/compare.mjs is the full comparison).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { benchDir, buildArgs, fmt, int, median, numberArg, startReceiver } from './lib.mjs';

const concurrency = numberArg('concurrency', 16);
const events = numberArg('events', 5_000);
const rounds = numberArg('rounds', 5);

const builds = buildArgs();
if (builds.length === 0) {
  const copy = path.join(benchDir, '.ab', `current-${process.pid}`);
  process.once('exit', () => fs.rmSync(copy, { recursive: true, force: true }));
  fs.cpSync(path.join(benchDir, '..', 'dist'), copy, { recursive: true });
  builds.push({ name: 'hookline', dir: copy });
}

function run(contender, build, url) {
  const env = { ...process.env };
  // A build named `…+otel` runs with the OpenTelemetry SDK registered (bench/contender.mjs).
  if (build?.name.endsWith('+otel')) env.HOOKLINE_BENCH_OTEL = '1';
  if (build) {
    env.HOOKLINE_BENCH_DIST = pathToFileURL(path.join(build.dir, 'index.js')).href;
    env.NODE_OPTIONS =
      `${env.NODE_OPTIONS ?? ''} --import=${pathToFileURL(path.join(benchDir, 'pin-hookline.mjs')).href}`.trim();
  }
  // The same phases as bench/compare.mjs, so that both warm up the same way before the timed window.
  const cfg = {
    name: contender,
    concurrency,
    events,
    timed: 500,
    latencyRate: 200,
    latencySeconds: 1.5,
    url,
  };
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(benchDir, 'contender.mjs'), JSON.stringify(cfg)],
      { env, encoding: 'utf8', timeout: 240_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        try {
          return resolve(JSON.parse(stdout.trim().split('\n').pop()));
        } catch {
          resolve({ error: `${error?.message ?? 'no result'}\n${stderr.slice(-2_000)}` });
        }
      },
    );
  });
}

const receiver = await startReceiver();
const names = [
  ...builds.map((b) => b.name),
  'got',
  ...(process.argv.includes('--tuned') ? ['got-tuned'] : []),
];
const results = new Map(names.map((n) => [n, []]));
for (let round = 0; round < rounds; round++) {
  for (let i = 0; i < names.length; i++) {
    const name = names[(i + round) % names.length];
    const build = builds.find((b) => b.name === name);
    const r = await run(build ? 'hookline' : name, build, receiver.url);
    if (r.error) throw new Error(`${name}: ${r.error}`);
    results.get(name)[round] = r.deliver;
    console.error(`round ${round + 1} ${name}: ${int(r.deliver.rate)}/s, ${fmt(r.deliver.cpuPerK, 3)} s/1k`);
  }
}
await receiver.stop();
const got = results.get('got');
console.log(
  `\nC=${concurrency}, ${events} events, ${rounds} rounds (medians; ratios per round, then median)`,
);
for (const name of names) {
  const mine = results.get(name);
  const rate = median(mine.map((d) => d.rate));
  const cpu = median(mine.map((d) => d.cpuPerK));
  const rateRatio = median(mine.map((d, r) => d.rate / got[r].rate));
  const cpuRatio = median(mine.map((d, r) => d.cpuPerK / got[r].cpuPerK));
  console.log(
    `${name.padEnd(12)} ${int(rate).padStart(6)}/s  cpu ${fmt(cpu, 3)} s/1k  vs got: rate ${fmt(rateRatio, 2)}x, cpu ${fmt(cpuRatio, 2)}x`,
  );
}
