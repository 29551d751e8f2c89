// `npm run bench` runs every benchmark; `npm run bench -- --quick` runs them on a tiny N (CI).
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const here = import.meta.dirname;
const args = process.argv.slice(2);
for (const script of ['emit.mjs', 'delivery.mjs', 'backlog.mjs']) {
  const result = spawnSync(process.execPath, [path.join(here, script), ...args], { stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
