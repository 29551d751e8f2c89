import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
/** The built entry point child processes import. */
export const distEntry = path.join(root, 'dist', 'index.js');
const lockDir = path.join(root, 'node_modules', '.cache', 'hookline-test-build.lock');

function newestSourceMtime(): number {
  let newest = 0;
  const visit = (p: string) => {
    const stat = fs.statSync(p);
    if (stat.isDirectory()) for (const name of fs.readdirSync(p)) visit(path.join(p, name));
    else newest = Math.max(newest, stat.mtimeMs);
  };
  visit(path.join(root, 'src'));
  for (const file of ['package.json', 'tsup.config.ts']) visit(path.join(root, file));
  return newest;
}

function isFresh(): boolean {
  try {
    return fs.statSync(distEntry).mtimeMs >= newestSourceMtime();
  } catch {
    return false;
  }
}

const pause = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * Runs `npm run build` when dist is missing or older than src. Test files run
 * in parallel workers: a lock directory keeps two of them from building (and
 * tsup from cleaning dist under the other) at once.
 */
export function ensureBuilt(): void {
  if (isFresh()) return;
  fs.mkdirSync(path.dirname(lockDir), { recursive: true });
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      fs.mkdirSync(lockDir);
      break;
    } catch {
      // A lock older than any build is left over from a killed run.
      const age = Date.now() - (fs.statSync(lockDir, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 120_000) fs.rmSync(lockDir, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error('Timed out waiting for another worker to build dist');
      pause(200);
    }
  }
  try {
    if (!isFresh()) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'pipe', timeout: 170_000 });
  } finally {
    fs.rmSync(lockDir, { recursive: true, force: true });
  }
}
