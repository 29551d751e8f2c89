/**
 * The import rules of src/, checked by `npm run lint` (so by `npm test`).
 *
 *   src/shared/    options, errors, types, ids, clock, retry and circuit rules, the signature scheme
 *   src/receiver/  verifyWebhook and signWebhook: what a receiver imports, without the sender
 *   src/engine/    the delivery engine (planner, dispatcher, request building); engine/http/ is the network
 *   src/store/     all SQL: store/sqlite/ and store/postgres/, each implementing the engine's store port
 *   src/api/       the public facade and its input parsing: api/sqlite/ and api/postgres/ are the two shells
 *   src/worker/    the engine's worker thread put together on its own connection (entry: src/worker.ts)
 *   src/operator/  what the operator tools share: opening an outbox, the API they use of a sender
 *   src/cli/       `npx hookline …` (entry: src/cli/main.ts)
 *
 * The data flows one way: api -> store -> engine -> shared. The engine talks to a store only through
 * the port it defines (engine/store-port.ts, engine/claims.ts).
 */
const ENTRY = '^src/(index|postgres|worker)\\.ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No file reaches itself through its imports.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-circular-folders',
      severity: 'error',
      comment: 'No folder imports a folder that imports it back.',
      scope: 'folder',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'shared-imports-only-shared',
      severity: 'error',
      comment: 'src/shared/ is the floor: it imports nothing else of hookline.',
      from: { path: '^src/shared/' },
      to: { path: '^src/', pathNot: '^src/shared/' },
    },
    {
      name: 'receiver-stands-alone',
      severity: 'error',
      comment: 'A receiver imports verifyWebhook without loading any of the sender.',
      from: { path: '^src/receiver/' },
      to: { path: '^src/', pathNot: '^src/(shared|receiver)/' },
    },
    {
      name: 'engine-imports-only-shared',
      severity: 'error',
      comment: 'The engine sees the store port it defines, never the SQL behind it, nor the facade.',
      from: { path: '^src/engine/' },
      to: { path: '^src/', pathNot: '^src/(shared|engine)/' },
    },
    {
      name: 'store-not-to-facade',
      severity: 'error',
      comment: 'The store is below the API: it never imports the facade.',
      from: { path: '^src/store/' },
      to: { path: `^src/api/|${ENTRY}` },
    },
    {
      name: 'stores-do-not-import-each-other',
      severity: 'error',
      comment: 'What both stores share lives in src/store/ itself, not in one of them.',
      from: { path: '^src/store/(sqlite|postgres)/' },
      to: { path: '^src/store/(sqlite|postgres)/', pathNot: '^src/store/$1/' },
    },
    {
      name: 'store-root-is-store-neutral',
      severity: 'error',
      comment: 'src/store/ itself holds what both stores share: it never reaches into one of them.',
      from: { path: '^src/store/[^/]+$' },
      to: { path: '^src/store/(sqlite|postgres)/' },
    },
    {
      name: 'facades-do-not-import-each-other',
      severity: 'error',
      comment: 'What both facades share lives in src/api/ itself, not in one of the shells.',
      from: { path: '^src/api/(sqlite|postgres)/' },
      to: { path: '^src/api/(sqlite|postgres)/', pathNot: '^src/api/$1/' },
    },
    {
      name: 'shared-api-is-store-neutral',
      severity: 'error',
      comment: 'src/api/ itself is the logic both shells run: it knows no database.',
      from: { path: '^src/api/[^/]+$' },
      to: { path: '^src/(store|api)/(sqlite|postgres)/' },
    },
    {
      name: 'worker-thread-is-an-entry',
      severity: 'error',
      comment: 'src/worker/ builds the worker thread: only its entry (src/worker.ts) loads it.',
      from: { path: '^src/', pathNot: '^src/(worker/|worker\\.ts$)' },
      to: { path: '^src/worker/' },
    },
    {
      name: 'only-engine-http-touches-the-network',
      severity: 'error',
      comment:
        'Only src/engine/http/ makes requests or resolves names; src/cli/serve.ts serves the dashboard on loopback for `hookline dashboard`.',
      from: { path: '^src/', pathNot: '^src/engine/http/|^src/cli/serve\\.ts$' },
      to: {
        path: '^((node:)?(http|https|http2|net|tls|dns|dgram)|got)$|node_modules/got/',
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'only-store-loads-a-database',
      severity: 'error',
      comment: 'Only src/store/ opens a database connection (better-sqlite3, pg).',
      from: { path: '^src/', pathNot: '^src/store/' },
      to: { path: 'node_modules/(better-sqlite3|pg)/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'operator-tools-use-the-public-api',
      severity: 'error',
      comment:
        'The CLI and the dashboard see a sender through its public API: never the engine, the SQL or a shell.',
      from: { path: '^src/(cli|operator|dashboard)/' },
      to: { path: '^src/(engine|store|worker)/|^src/api/(sqlite|postgres)/|^src/worker\\.ts$' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
    builtInModules: { add: [] },
    // Folder-level rules (no-circular-folders) are evaluated only with metrics on.
    metrics: true,
  },
};
