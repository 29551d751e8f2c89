import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SenderBus } from '../../engine/bus.js';
import { type EngineControl, inlineEngine } from '../../engine/control.js';
import { createDeliveryEngine, createUrlPolicy } from '../../engine/engine.js';
import { WorkerEngine } from '../../engine/worker/host.js';
import { InvalidOptionError } from '../../shared/errors/input.js';
import { databaseFile, type ResolvedOptions } from '../../shared/options.js';
import { SqliteDispatchStore } from '../../store/sqlite/dispatch.js';
import type { EndpointCache } from '../../store/sqlite/endpoint-cache.js';
import type { SqliteStore } from '../../store/sqlite/store.js';

/** The SQLite sender's delivery engine: on this thread, or in a worker thread on its own connection. */
export function createSqliteEngine(
  o: ResolvedOptions,
  store: SqliteStore,
  cache: EndpointCache,
  bus: SenderBus,
): { engine: EngineControl; checkUrl: (url: string) => void } {
  const { policy, checkUrl } = createUrlPolicy(o);
  if (o.engine === 'inline') {
    const built = createDeliveryEngine(
      o,
      policy,
      (owner) => new SqliteDispatchStore(store, cache, owner, o.resolved.circuit),
      bus,
    );
    return { engine: inlineEngine(built.dispatcher, built.agents), checkUrl };
  }
  // Built next to this module: dist/worker.js beside the chunk this code is bundled in.
  const script = new URL('./worker.js', import.meta.url);
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
  return { engine, checkUrl };
}
