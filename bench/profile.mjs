// Where a hookline delivery's CPU time goes: `node bench/profile.mjs [--concurrency 64] [--events 10000]`
// (after `npm run build`; not part of `npm run bench`). Delivers EVENTS pre-written rows to the bench
// receiver twice, each time in a fresh process:
//   1. under --cpu-prof: self time grouped by package (hookline's dist, got, better-sqlite3, node:...) and
//      the top functions, for each thread (the application's, and the engine's worker); the .cpuprofile
//      files are kept for Chrome DevTools;
//   2. with every better-sqlite3 statement timed: SQLite time per delivery, statement by statement. This
//      pass runs the engine inline (`engine: 'inline'`, the same statements), since the timing wraps
//      better-sqlite3 on the application's thread only.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { payloadOfKb, senderWithConcurrency, startReceiver, tempDir } from './lib.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
};
const CONCURRENCY = arg('concurrency', 64);
const EVENTS = arg('events', 10_000);
const [mode, file, url] = process.argv.slice(2);

async function deliver(timeStatements) {
  const { WebhookSender } = await import('hookline');
  const stats = new Map();
  if (timeStatements) {
    const Database = (await import('better-sqlite3')).default;
    const probe = new Database(':memory:');
    const proto = Object.getPrototypeOf(probe.prepare('select 1'));
    probe.close();
    for (const method of ['all', 'run', 'get']) {
      const original = proto[method];
      proto[method] = function timed(...args) {
        const t0 = process.hrtime.bigint();
        try {
          return original.apply(this, args);
        } finally {
          const key = this.source.replace(/\s+/g, ' ').trim().slice(0, 80);
          const s = stats.get(key) ?? { calls: 0, us: 0 };
          s.calls++;
          s.us += Number(process.hrtime.bigint() - t0) / 1_000;
          stats.set(key, s);
        }
      };
    }
  }
  const sender = senderWithConcurrency(WebhookSender, {
    database: file,
    allowPrivateNetworks: true,
    autoStart: false,
    concurrency: CONCURRENCY,
    ...(timeStatements ? { engine: 'inline' } : {}),
  });
  let delivered = 0;
  const done = new Promise((resolve) => {
    sender.on('delivered', () => {
      if (++delivered === EVENTS) resolve();
    });
  });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  sender.start();
  await done;
  const seconds = (performance.now() - t0) / 1_000;
  const cpu = process.cpuUsage(cpu0);
  await sender.close();
  console.log(
    JSON.stringify({
      rate: EVENTS / seconds,
      cpuUsPerDelivery: (cpu.user + cpu.system) / EVENTS,
      statements: [...stats].map(([sql, s]) => ({ sql, ...s })),
    }),
  );
}

async function fill() {
  const { WebhookSender } = await import('hookline');
  const sender = new WebhookSender({ database: file, autoStart: false, allowPrivateNetworks: true });
  sender.endpoints.add({ url });
  const payload = payloadOfKb(1);
  for (let i = 0; i < EVENTS; i += 1_000) {
    sender.emitMany(
      Array.from({ length: Math.min(1_000, EVENTS - i) }, () => ({ type: 'order.created', payload })),
    );
  }
  await sender.close();
}

/** Self time by package and by function, from a .cpuprofile. */
function summarizeProfile(profileFile) {
  const profile = JSON.parse(fs.readFileSync(profileFile, 'utf8'));
  const self = new Map();
  profile.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const where = (url) => {
    if (!url) return null;
    if (url.includes('node_modules/')) return url.split('node_modules/').pop().split('/')[0];
    if (url.includes('/dist/')) return 'hookline (dist)';
    if (url.startsWith('node:')) return url.split('/')[0];
    return path.basename(url);
  };
  const byPackage = new Map();
  const byFunction = new Map();
  for (const node of profile.nodes) {
    const t = self.get(node.id) ?? 0;
    if (t === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const pkg = where(url) ?? functionName;
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + t);
    const fn = `${functionName || '(anonymous)'} (${pkg}${url ? `:${lineNumber + 1}` : ''})`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + t);
  }
  const top = (map, n) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(
        ([k, t]) =>
          `  ${(t / 1_000).toFixed(0).padStart(6)} ms ${((100 * t) / total).toFixed(1).padStart(5)}%  ${k}`,
      )
      .join('\n');
  return `self time, ${(total / 1_000).toFixed(0)} ms in all:\n${top(byPackage, 14)}\n\ntop functions:\n${top(byFunction, 20)}`;
}

if (mode === 'fill') await fill();
else if (mode === 'deliver') await deliver(false);
else if (mode === 'deliver-timed') await deliver(true);
else {
  const dir = tempDir();
  const receiver = await startReceiver();
  const self = import.meta.filename;
  const node = (args, extra = []) =>
    execFileSync(
      process.execPath,
      [...extra, self, ...args, '--concurrency', String(CONCURRENCY), '--events', String(EVENTS)],
      {
        encoding: 'utf8',
      },
    );
  const profileDir = path.join(dir, 'profile');
  node(['fill', path.join(dir, 'a.db'), receiver.url]);
  const profiled = JSON.parse(
    node(['deliver', path.join(dir, 'a.db')], ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]),
  );
  node(['fill', path.join(dir, 'b.db'), receiver.url]);
  const timed = JSON.parse(node(['deliver-timed', path.join(dir, 'b.db')]));
  await receiver.stop();
  console.log(
    `${EVENTS} deliveries at concurrency ${CONCURRENCY}: ${profiled.rate.toFixed(0)}/s, ` +
      `${profiled.cpuUsPerDelivery.toFixed(0)} µs of process CPU per delivery (under the profiler)`,
  );
  // One profile per thread: Node names them CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile. Thread 0
  // is the application's, 1 the engine's worker (started first), the next the WAL checkpoint's worker.
  const threads = ['application thread', "engine's worker thread", "checkpoint's worker thread"];
  const kept = [];
  for (const name of fs.readdirSync(profileDir).sort()) {
    const id = Number(name.split('.').at(-3));
    const thread = threads[id] ?? `thread ${id}`;
    const file = path.join(process.cwd(), `hookline-deliver-${CONCURRENCY}-thread-${id}.cpuprofile`);
    fs.copyFileSync(path.join(profileDir, name), file);
    kept.push(file);
    console.log(`\n## ${thread}\n${summarizeProfile(file)}`);
  }
  const statements = timed.statements.sort((a, b) => b.us - a.us);
  const sqliteUs = statements.reduce((sum, s) => sum + s.us, 0) / EVENTS;
  console.log(
    `\nSQLite statements: ${sqliteUs.toFixed(0)} µs per delivery of ${timed.cpuUsPerDelivery.toFixed(0)} µs process CPU ` +
      `(${timed.rate.toFixed(0)}/s with the statements timed; PRAGMAs appear twice, as themselves and as the statement they run)`,
  );
  for (const s of statements.slice(0, 12)) {
    console.log(
      `  ${(s.us / EVENTS).toFixed(1).padStart(6)} µs/delivery ${(s.calls / EVENTS).toFixed(2).padStart(5)} calls/delivery ${(s.us / s.calls).toFixed(1).padStart(7)} µs/call  ${s.sql}`,
    );
  }
  console.log(`\nprofiles kept as ${kept.join(', ')} (open them in Chrome DevTools, Performance tab)`);
}
