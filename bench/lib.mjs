// Small helpers shared by the benchmarks.
import { fork } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

export const benchDir = import.meta.dirname;
export const resultsDir = path.join(benchDir, 'results');
export const quick = process.argv.includes('--quick');

/** A fresh directory under the OS temp dir; removed when the process exits. */
export function tempDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hookline-bench-'));
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The p-th percentile of an ascending array (nearest rank). */
export function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** The median of the finite values, or NaN when there is none. */
export function median(values) {
  const sorted = values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function fmt(n, digits = 1) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '–';
  return n.toFixed(digits);
}

/** A number with thousands separators, no decimals. */
export function int(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '–';
  return Math.round(n).toLocaleString('en-US');
}

/** Milliseconds: 3 significant digits, at most 2 decimals. */
export function ms(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '–';
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

/** Sorts samples and returns the usual summary. */
export function summarize(samples) {
  const sorted = Float64Array.from(samples).sort();
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1],
  };
}

/** Prints a markdown table. */
export function table(headers, rows, align) {
  const lines = [`| ${headers.join(' | ')} |`];
  lines.push(
    `|${headers.map((_, i) => ((align?.[i] ?? (i === 0 ? 'l' : 'r')) === 'r' ? '---:' : '---')).join('|')}|`,
  );
  for (const row of rows) lines.push(`| ${row.join(' | ')} |`);
  return lines.join('\n');
}

/** Writes one benchmark's results where run.mjs collects them. */
export function writeResult(name, data) {
  fs.mkdirSync(resultsDir, { recursive: true });
  fs.writeFileSync(path.join(resultsDir, `${name}.tmp`), `${JSON.stringify(data, null, 2)}\n`);
}

/**
 * Starts a receiver script (bench/receiver.mjs by default) in its own process; resolves with its URL,
 * port, a request count and a stop function.
 */
export async function startReceiver(script = './receiver.mjs') {
  const child = fork(new URL(script, import.meta.url), [], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const port = await new Promise((resolve, reject) => {
    child.stdout.once('data', (d) => resolve(Number(String(d).trim())));
    child.once('error', reject);
  });
  return {
    url: `http://127.0.0.1:${port}/hook`,
    port,
    pid: child.pid,
    count: () =>
      new Promise((resolve) => {
        child.once('message', resolve);
        child.send('count');
      }),
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.kill('SIGTERM');
      }),
  };
}

/**
 * A WebhookSender whose one endpoint may use every slot: `endpointConcurrency` (the per-endpoint cap,
 * 8 by default) is raised to `concurrency`, so that hookline has as many requests in flight to the one
 * receiver as every other contender. Builds without that option are given the same options without it.
 */
export function senderWithConcurrency(WebhookSender, options) {
  const concurrency = options.concurrency ?? 32;
  try {
    return new WebhookSender({ ...options, endpointConcurrency: concurrency });
  } catch (error) {
    if (error?.code === 'ERR_INVALID_OPTION' && String(error.message).includes('endpointConcurrency')) {
      return new WebhookSender(options);
    }
    throw error;
  }
}

/** A 1 KB JSON payload (1,024 bytes of JSON). */
export function payloadOfKb(kb = 1) {
  const base = { id: 0, type: 'order', customer: 'cus_123', currency: 'EUR', note: '' };
  base.note = 'x'.repeat(kb * 1024 - JSON.stringify(base).length);
  return base;
}

/**
 * The webhook body the queue-based contenders build from a job, the same shape as hookline's:
 * `{"id","type","timestamp","data"}`.
 */
export function webhookBody(id, type, data) {
  return JSON.stringify({ id, type, timestamp: new Date().toISOString(), data });
}

/**
 * A got client configured like hookline's transport (src/engine/http/attempt.ts): no retries, no redirects, no
 * decompression, no cache, a keep-alive agent with `concurrency` sockets, LIFO scheduling, and a post()
 * that uses the stream form, as hookline does. Peers and the bare loop all use this one.
 */
export async function gotPoster(url, concurrency, { tuned = false } = {}) {
  const { got } = await import('got');
  const agent = new http.Agent({
    keepAlive: true,
    maxSockets: concurrency,
    maxFreeSockets: Math.min(concurrency, 256),
    scheduling: 'lifo',
  });
  const client = got.extend({
    method: 'POST',
    retry: { limit: 0 },
    throwHttpErrors: false,
    followRedirect: false,
    decompress: false,
    http2: false,
    cache: false,
    agent: { http: agent },
    timeout: { lookup: 5_000, connect: 5_000, request: 15_000 },
    // `tuned`: the two settings hookline gives its own got (src/engine/http/got-client.ts), so that an
    // A/B can tell what hookline's engine costs beside the same request.
    ...(tuned ? { hooks: { init: [emptyCacheOptions] }, request: plainRequest } : {}),
  });
  const post = (body) =>
    new Promise((resolve, reject) => {
      let status = 0;
      const stream = client.stream(url, { body, headers: { 'content-type': 'application/json' } });
      stream.on('response', (response) => {
        status = response.statusCode;
      });
      stream.on('data', () => {});
      stream.on('end', () =>
        status >= 200 && status < 300 ? resolve(status) : reject(new Error(`HTTP ${status}`)),
      );
      stream.on('error', reject);
    });
  return { post, close: () => agent.destroy() };
}

const emptyCacheOptions = (_raw, options) => {
  options.cacheOptions = {};
};

/** node:http given a plain object of the options got set, as hookline's request function does (http only, no credentials: the bench receiver's URL). */
function plainRequest(url, options, callback) {
  const native = {
    protocol: url.protocol,
    hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
    path: url.pathname + url.search,
  };
  if (url.port !== '') native.port = Number(url.port);
  for (const key in options) if (options[key] !== undefined) native[key] = options[key];
  return http.request(native, callback);
}

/** The same request with node:http alone: the most any Node.js sender can do on this machine. */
export function httpPoster(url, concurrency) {
  const target = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency, scheduling: 'lifo' });
  const post = (body) =>
    new Promise((resolve, reject) => {
      const request = http.request(
        {
          agent,
          method: 'POST',
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (response) => {
          response.on('data', () => {});
          response.on('end', () =>
            response.statusCode >= 200 && response.statusCode < 300
              ? resolve(response.statusCode)
              : reject(new Error(`HTTP ${response.statusCode}`)),
          );
          response.on('error', reject);
        },
      );
      request.on('error', reject);
      request.end(body);
    });
  return { post, close: () => agent.destroy() };
}

/** Versions of what is measured, read from the installed packages. */
export function versions() {
  const read = (file) => {
    try {
      return JSON.parse(fs.readFileSync(file, 'utf8')).version;
    } catch {
      return null;
    }
  };
  const root = path.join(benchDir, '..');
  return {
    node: process.versions.node,
    hookline: read(path.join(root, 'package.json')),
    got: read(path.join(root, 'node_modules/got/package.json')),
    'better-sqlite3': read(path.join(root, 'node_modules/better-sqlite3/package.json')),
    bullmq: read(path.join(benchDir, 'node_modules/bullmq/package.json')),
    ioredis: read(path.join(benchDir, 'node_modules/ioredis/package.json')),
    'pg-boss': read(path.join(benchDir, 'node_modules/pg-boss/package.json')),
    pg: read(path.join(benchDir, 'node_modules/pg/package.json')),
  };
}

/** CPU seconds used by another process so far (Linux /proc), or null where that cannot be read. */
export function processCpuSeconds(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at index 2 (state).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
    return ticks / 100; // USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}

export const REDIS = { host: '127.0.0.1', port: 6379 };
export const POSTGRES = { host: '127.0.0.1', port: 5432, database: 'test' };
export const PGBOSS_SCHEMA = 'hookline_bench_pgboss';
export const BULLMQ_QUEUE = 'hookline-bench';

/** Is Redis up? Resolves { ok, version } or { ok: false, reason }. Never throws. */
export async function checkRedis() {
  let Redis;
  try {
    ({ Redis } = await import('ioredis'));
  } catch (error) {
    return { ok: false, reason: `ioredis is not installed (npm --prefix bench ci): ${error.message}` };
  }
  const redis = new Redis({
    ...REDIS,
    lazyConnect: true,
    connectTimeout: 1_500,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  let cause = null;
  redis.on('error', (error) => {
    cause ??= error;
  });
  try {
    await redis.connect();
    await redis.ping();
    const info = await redis.info('server');
    return { ok: true, version: /redis_version:(\S+)/.exec(info)?.[1] ?? null };
  } catch (error) {
    const why = cause ?? error;
    return { ok: false, reason: why.code ?? why.message ?? String(why) };
  } finally {
    redis.disconnect();
  }
}

/** Is PostgreSQL up? Tries $PGUSER, postgres and root. Resolves { ok, user, version } or { ok: false, reason }. */
export async function checkPostgres() {
  let pg;
  try {
    pg = (await import('pg')).default;
  } catch (error) {
    return { ok: false, reason: `pg is not installed (npm --prefix bench ci): ${error.message}` };
  }
  const users = [...new Set([process.env.PGUSER, 'postgres', 'root'].filter(Boolean))];
  let reason = '';
  for (const user of users) {
    const client = new pg.Client({ ...POSTGRES, user, connectionTimeoutMillis: 2_000 });
    client.on('error', () => {});
    try {
      await client.connect();
      const { rows } = await client.query('show server_version');
      return { ok: true, user, version: rows[0].server_version };
    } catch (error) {
      reason = `${user}: ${error.message || error.code || String(error)}`;
    } finally {
      await client.end().catch(() => {});
    }
  }
  return { ok: false, reason };
}

/** `--name N` from the command line, as a number, or `fallback`. */
export function numberArg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}

/** The `name=path/to/dist` arguments: builds of hookline to measure, each with an absolute directory. */
export function buildArgs() {
  return process.argv
    .slice(2)
    .filter((a) => a.includes('='))
    .map((a) => {
      const [name, dir] = a.split('=');
      return { name, dir: path.resolve(dir) };
    });
}

/**
 * Emits `n` events at `rate` a second, in steps every 10 ms, timing each emit (µs, unsorted).
 * Resolves with the samples and the seconds it took.
 */
export async function emitAtRate(sender, payload, n, rate) {
  const samples = new Float64Array(n);
  let i = 0;
  const start = performance.now();
  await new Promise((resolve) => {
    const tick = setInterval(() => {
      const due = Math.min(n, Math.floor(((performance.now() - start) / 1_000) * rate));
      for (; i < due; i++) {
        const t0 = process.hrtime.bigint();
        sender.emit('order.created', payload);
        samples[i] = Number(process.hrtime.bigint() - t0) / 1000;
      }
      if (i >= n) {
        clearInterval(tick);
        resolve();
      }
    }, 10);
  });
  return { samples, seconds: (performance.now() - start) / 1_000 };
}
