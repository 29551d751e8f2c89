/**
 * The import rules of src/, checked by `npm run lint` (so by `npm test`).
 * The data flows one way: emit -> store -> dispatch -> http -> retry -> store;
 * the engine (src/dispatch/, src/http/) talks to a store only through the port
 * it defines (src/dispatch/store-port.ts, src/dispatch/claims.ts).
 */
const FACADE =
  '^src/(sender|endpoints|events-api|deliveries-api|emit|bulk-retry|maintenance)\\.ts$|^src/postgres/';

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
      name: 'engine-not-to-store',
      severity: 'error',
      comment: 'The engine sees the store port it defines, never the SQL behind it.',
      from: { path: '^src/(dispatch|http)/' },
      to: { path: '^src/store/' },
    },
    {
      name: 'engine-not-to-facade',
      severity: 'error',
      comment: 'Nothing in the engine imports the public API built on top of it.',
      from: { path: '^src/(dispatch|http)/' },
      to: { path: FACADE },
    },
    {
      name: 'store-not-to-facade',
      severity: 'error',
      comment: 'The store is below the API: it never imports the facade.',
      from: { path: '^src/store/' },
      to: { path: FACADE },
    },
    {
      name: 'only-http-touches-the-network',
      severity: 'error',
      comment: 'Only src/http/ makes requests or resolves names.',
      from: { path: '^src/', pathNot: '^src/http/' },
      to: {
        path: '^((node:)?(http|https|http2|net|tls|dns|dgram)|got)$|node_modules/got/',
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'receiver-stands-alone',
      severity: 'error',
      comment: 'verifyWebhook is for receivers: signing imports nothing of the sender.',
      from: { path: '^src/signing\\.ts$' },
      to: { path: '^src/', pathNot: '^src/(errors/|validate\\.ts$)' },
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
  },
};
