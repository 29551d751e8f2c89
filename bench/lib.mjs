// Small helpers shared by the benchmarks.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function tempDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'hookline-bench-'));
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

export const quick = process.argv.includes('--quick');

export function fmt(n, digits = 1) {
  return Number.isFinite(n) ? n.toFixed(digits) : String(n);
}

import { fork } from 'node:child_process';

/** Starts bench/receiver.mjs in its own process; resolves with its URL and a stop function. */
export async function startReceiver() {
  const child = fork(new URL('./receiver.mjs', import.meta.url), [], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const port = await new Promise((resolve, reject) => {
    child.stdout.once('data', (d) => resolve(Number(String(d).trim())));
    child.once('error', reject);
  });
  return {
    url: `http://127.0.0.1:${port}/hook`,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.kill('SIGTERM');
      }),
  };
}

/** A 1 KB JSON payload. */
export function payloadOfKb(kb = 1) {
  const base = { id: 0, type: 'order', customer: 'cus_123', currency: 'EUR', note: '' };
  base.note = 'x'.repeat(kb * 1024 - JSON.stringify(base).length);
  return base;
}
