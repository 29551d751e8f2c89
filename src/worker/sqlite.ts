import { Maintenance } from '../api/sqlite/maintenance.js';
import { createDeliveryEngine, createUrlPolicy } from '../engine/engine.js';
import { WriteGate } from '../shared/write-gate.js';
import { SqliteDispatchStore } from '../store/sqlite/dispatch.js';
import { EndpointCache } from '../store/sqlite/endpoint-cache.js';
import { SqliteStore } from '../store/sqlite/store.js';
import { type BuildContext, type WorkerEngine, workerEngine } from './build.js';

/** The engine on the worker's own better-sqlite3 connection to the file (which checkpoints it). */
export function sqliteWorkerEngine(
  file: string,
  tablePrefix: string,
  gate: SharedArrayBuffer,
  { options: o, bus, tracer }: BuildContext,
): WorkerEngine {
  const { policy } = createUrlPolicy(o);
  const store = new SqliteStore(file, tablePrefix, true, new WriteGate(gate));
  const cache = new EndpointCache(store.endpoints);
  const built = createDeliveryEngine(
    o,
    policy,
    (owner) => new SqliteDispatchStore(store, cache, owner, o.resolved.circuit),
    bus,
    tracer,
  );
  // The background retention sweep runs here too, off the application's thread and its connection.
  const maintenance = new Maintenance(store, o.resolved.retention, o.clock);
  return workerEngine(
    built,
    maintenance,
    () => o.clock.now(),
    () => store.close(),
  );
}
