// `npm run bench` runs every benchmark and writes bench/results/latest.json, latest.md and chart.svg;
// `npm run bench -- --quick` runs them on a tiny N (CI: it checks they run, not their numbers) and writes
// bench/results/quick.* instead. `--only compare,emit` runs a subset.
// The bench's own dependencies (BullMQ, pg-boss, ...) live in bench/package.json: installed here from
// bench/package-lock.json when bench/node_modules is missing.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const here = import.meta.dirname;
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyArg = args.find((a) => a.startsWith('--only'));
const only = onlyArg
  ? (onlyArg.includes('=') ? onlyArg.split('=')[1] : args[args.indexOf(onlyArg) + 1]).split(',')
  : null;
const SCRIPTS = ['emit', 'compare', 'backlog', 'eventloop'];
// Benchmarks that print their own tables (their figures are copied into BENCHMARKS.md by hand).
const STANDALONE = ['fairness', 'retention', 'signing', 'postgres', 'lock', 'engines', 'fanout', 'dashboard'];

if (!fs.existsSync(path.join(here, 'node_modules', 'hookline'))) {
  console.log('bench/node_modules is missing: npm --prefix bench ci');
  const npm = process.env.npm_execpath;
  const ci = ['--prefix', here, 'ci', '--no-audit', '--no-fund'];
  const result = npm?.endsWith('.js')
    ? spawnSync(process.execPath, [npm, ...ci], { stdio: 'inherit' })
    : spawnSync('npm', ci, { stdio: 'inherit', shell: process.platform === 'win32' });
  if (result.status !== 0) {
    console.error('npm --prefix bench ci failed');
    process.exit(result.status ?? 1);
  }
}
if (!fs.existsSync(path.join(here, '..', 'dist', 'index.js'))) {
  console.error('dist/ is missing: run `npm run build` first (`npm run bench` does).');
  process.exit(1);
}

// Imported after the install: lib.mjs reads versions from bench/node_modules.
const { resultsDir, versions, checkPostgres, checkRedis } = await import('./lib.mjs');
const { renderAll, renderTargets } = await import('./report.mjs');
const { chartSvg } = await import('./chart.mjs');

const cpuModel = (() => {
  try {
    return (
      /model name\s*:\s*(.+)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1].trim() ??
      os.cpus()[0]?.model
    );
  } catch {
    return os.cpus()[0]?.model ?? 'unknown';
  }
})();
async function sqliteVersion() {
  try {
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(':memory:');
    const version = db.prepare('select sqlite_version()').pluck().get();
    db.close();
    return version;
  } catch {
    return null;
  }
}
const [redis, postgres] = await Promise.all([checkRedis(), checkPostgres()]);
const latest = {
  date: new Date().toISOString(),
  command: `npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}`,
  quick,
  machine: {
    cpus: os.availableParallelism?.() ?? os.cpus().length,
    cpuModel,
    memoryGb: os.totalmem() / 1024 ** 3,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    loadAverage: os.loadavg(),
  },
  versions: { ...versions(), sqlite: await sqliteVersion() },
  services: {
    redis: redis.ok ? redis.version : `down (${redis.reason})`,
    postgres: postgres.ok ? postgres.version : `down (${postgres.reason})`,
  },
};

// Pin the build: every script and child process of this run imports a copy of dist/ taken now (see
// pin-hookline.mjs), so a rebuild by someone else during the run cannot mix two builds in the results.
const distDir = path.join(here, '..', 'dist');
const distBuiltAt = fs.statSync(path.join(distDir, 'index.js')).mtimeMs;
const pinned = path.join(here, '.hookline-dist');
fs.rmSync(pinned, { recursive: true, force: true });
fs.cpSync(distDir, pinned, { recursive: true });
process.on('exit', () => fs.rmSync(pinned, { recursive: true, force: true }));
process.env.HOOKLINE_BENCH_DIST = pathToFileURL(path.join(pinned, 'index.js')).href;
process.env.NODE_OPTIONS =
  `${process.env.NODE_OPTIONS ?? ''} --import=${pathToFileURL(path.join(here, 'pin-hookline.mjs')).href}`.trim();
latest.hooklineBuiltAt = new Date(distBuiltAt).toISOString();
const started = performance.now();
const failed = [];
fs.mkdirSync(resultsDir, { recursive: true });
/** Runs bench/<name>.mjs in a child process; false (and `failed` gets its name) when it failed. */
function runScript(name) {
  const t0 = performance.now();
  const result = spawnSync(
    process.execPath,
    [path.join(here, `${name}.mjs`), ...(quick ? ['--quick'] : [])],
    {
      stdio: 'inherit',
    },
  );
  console.log(`(${name}: ${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  if (result.status === 0) return true;
  console.error(`bench/${name}.mjs failed (exit ${result.status ?? result.signal})`);
  failed.push(name);
  return false;
}

for (const name of SCRIPTS) {
  if (only && !only.includes(name)) continue;
  const tmp = path.join(resultsDir, `${name}.tmp`);
  fs.rmSync(tmp, { force: true });
  if (!runScript(name)) continue;
  if (!fs.existsSync(tmp)) {
    console.error(`bench/${name}.mjs wrote no results`);
    failed.push(name);
    continue;
  }
  latest[name] = JSON.parse(fs.readFileSync(tmp, 'utf8'));
  fs.rmSync(tmp);
}
for (const name of STANDALONE) {
  if (only && !only.includes(name)) continue;
  runScript(name);
}
latest.seconds = (performance.now() - started) / 1000;
latest.machine.loadAverageAtEnd = os.loadavg();

const base = quick ? 'quick' : only ? 'partial' : 'latest';
fs.writeFileSync(path.join(resultsDir, `${base}.json`), `${JSON.stringify(latest, null, 2)}\n`);
fs.writeFileSync(path.join(resultsDir, `${base}.md`), renderAll(latest));
if (latest.compare) {
  fs.writeFileSync(
    path.join(resultsDir, quick ? 'quick-chart.svg' : `${only ? 'partial-' : ''}chart.svg`),
    chartSvg(latest),
  );
}
console.log(`\n${renderTargets(latest)}`);
console.log(`\nwrote bench/results/${base}.json and ${base}.md in ${latest.seconds.toFixed(0)} s`);
if (failed.length > 0) {
  console.error(`failed: ${failed.join(', ')}`);
  process.exit(1);
}
