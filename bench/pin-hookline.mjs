// Loaded with `--import` by run.mjs (through NODE_OPTIONS, so every child process has it): `import 'hookline'`
// resolves to the copy of dist/ that run.mjs took when the run started, not to dist/ itself, which a
// rebuild on a shared work tree could replace halfway through the run. The scripts' imports are unchanged.
import { register } from 'node:module';

if (process.env.HOOKLINE_BENCH_DIST) {
  register('./pin-hookline-hooks.mjs', import.meta.url, {
    data: { target: process.env.HOOKLINE_BENCH_DIST },
  });
}
