import { defineConfig } from 'tsup';

export default defineConfig({
  // `hookline/postgres` is its own entry: SQLite users never load `pg` (an optional peer dependency).
  entry: {
    index: 'src/index.ts',
    postgres: 'src/postgres.ts',
    worker: 'src/worker.ts',
    cli: 'src/cli/main.ts',
    dashboard: 'src/dashboard/index.ts',
  },
  format: ['esm', 'cjs'],
  // Both entries share chunks in CJS too (experimental in tsup 8), so `hookline/postgres` throws the
  // very `WebhookError` classes that `require('hookline')` exports, and `instanceof` holds.
  splitting: true,
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  // `import.meta.url` in the CommonJS build too (the checkpoint worker resolves better-sqlite3 with it).
  shims: true,
  // Class names survive minification-free bundling too: the CJS chunks go through sucrase, which
  // rewrites classes with fields as `_class2 = class …`; keepNames pins each `name` back.
  keepNames: true,
  external: ['pg'],
});
