import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SenderBus } from '../../engine/bus.js';
import { type EngineControl, inlineEngine } from '../../engine/control.js';
import { createDeliveryEngine } from '../../engine/engine.js';
import type { AddressPolicy } from '../../engine/http/address-policy.js';
import { WorkerEngine } from '../../engine/worker/host.js';
import { databaseFile } from '../../shared/engine-option.js';
import { InvalidOptionError } from '../../shared/errors/input.js';
import type { ResolvedOptions } from '../../shared/options.js';
import { SqliteDispatchStore } from '../../store/sqlite/dispatch.js';
import type { EndpointCache } from '../../store/sqlite/endpoint-cache.js';
import type { SqliteStore } from '../../store/sqlite/store.js';

/** The SQLite sender's delivery engine: on this thread, or in a worker thread on its own connection. */
export function createSqliteEngine(
  o: ResolvedOptions,
  policy: AddressPolicy,
  store: SqliteStore,
  cache: EndpointCache,
  bus: SenderBus,
): EngineControl {
  if (o.engine === 'inline') {
    const built = createDeliveryEngine(
      o,
      policy,
      (owner) => new SqliteDispatchStore(store, cache, owner, o.resolved.circuit),
      bus,
    );
    return inlineEngine(built.dispatcher, built.agents);
  }
  // Built next to this module: dist/worker.js beside the chunk this code is bundled in. Run from
  // its TypeScript source (this repository's tests), the sender starts the built worker.
  const here = import.meta.url;
  const script = new URL(here.endsWith('.ts') ? '../../../dist/worker.js' : './worker.js', here);
  if (!existsSync(fileURLToPath(script))) {
    throw new InvalidOptionError(
      'engine',
      `\`engine: 'worker'\` runs the built package: ${script.pathname} is missing`,
    );
  }
  const engine = new WorkerEngine({
    script,
    config: {
      file: databaseFile(o.database)!,
      tablePrefix: o.tablePrefix,
      concurrency: o.concurrency,
      timeout: o.timeout,
      connectTimeout: o.connectTimeout,
      responseBodyLimit: o.responseBodyLimit,
      pollInterval: o.pollInterval,
      endpointConcurrency: o.endpointConcurrency,
      allowPrivateNetworks: o.allowPrivateNetworks,
      allowedNetworks: o.allowedNetworks,
      circuitBreaker: o.circuitBreaker,
      disableAfter: o.disableAfter,
      retry: typeof o.retry === 'function' ? 'host' : o.retry,
      hostLookup: o.lookup !== undefined,
    },
    retry: typeof o.retry === 'function' ? o.retry : null,
    lookup: o.lookup,
    bus,
  });
  bus.listenersChanged = () => engine.listenersChanged();
  return engine;
}
