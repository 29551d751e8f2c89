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
