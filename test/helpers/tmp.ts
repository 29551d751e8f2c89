import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A fresh directory for one test's database files, removed by `cleanup`. */
export function tempDir(): { dir: string; file: (name?: string) => string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hookline-test-'));
  return {
    dir,
    file: (name = 'webhooks.db') => path.join(dir, name),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
