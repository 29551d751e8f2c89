import { PgMaintenance } from '../api/postgres/maintenance.js';
import { createDeliveryEngine, createUrlPolicy } from '../engine/engine.js';
import { StoreError } from '../shared/errors/store.js';
import { openPool } from '../store/postgres/db.js';
import { PgDispatchStore } from '../store/postgres/dispatch.js';
import { PgEndpointCache } from '../store/postgres/endpoint-cache.js';
import { PgStore } from '../store/postgres/store.js';
import { type BuildContext, type WorkerEngine, workerEngine } from './build.js';

/** The engine on the worker's own pool, opened with the application's pool's connection settings. */
export function postgresWorkerEngine(
  connection: Record<string, unknown>,
  schema: string,
  { options: o, bus, tracer }: BuildContext,
): WorkerEngine {
  const { policy } = createUrlPolicy(o);
  const pool = openPool(connection);
  // An idle client losing its connection must not crash the thread.
  pool.on('error', (error) =>
    bus.notify('error', new StoreError(`A pooled PostgreSQL connection failed: ${error.message}`, error)),
  );
  const store = new PgStore(pool, schema);
  const cache = new PgEndpointCache(store.endpoints);
  const built = createDeliveryEngine(
    o,
    policy,
    (owner) => new PgDispatchStore(store, cache, owner, o.resolved.circuit),
    bus,
    tracer,
  );
  // The background retention sweep runs here too, on this thread's pool.
  let closed = false;
  const maintenance = new PgMaintenance({
    store,
    retention: o.resolved.retention,
    clock: o.clock,
    isClosed: () => closed,
    call: (_method, fn) => fn(),
  });
  return workerEngine(
    built,
    maintenance,
    () => o.clock.now(),
    () => pool.end(),
    () => {
      closed = true;
    },
  );
}
