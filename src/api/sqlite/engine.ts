import type { SenderBus } from '../../engine/bus.js';
import type { EngineControl } from '../../engine/control.js';
import { createInlineEngine } from '../../engine/engine.js';
import type { AddressPolicy } from '../../engine/http/address-policy.js';
import type { AttemptTracer } from '../../engine/trace-port.js';
import { databaseFile } from '../../shared/engine-option.js';
import type { ResolvedOptions } from '../../shared/options.js';
import type { WriteGate } from '../../shared/write-gate.js';
import { SqliteDispatchStore } from '../../store/sqlite/dispatch.js';
import type { EndpointCache } from '../../store/sqlite/endpoint-cache.js';
import type { SqliteStore } from '../../store/sqlite/store.js';
import { startWorkerEngine } from '../worker-engine.js';

/** The SQLite sender's delivery engine: on this thread, or in a worker thread on its own connection. */
export function createSqliteEngine(
  o: ResolvedOptions,
  policy: AddressPolicy,
  store: SqliteStore,
  cache: EndpointCache,
  bus: SenderBus,
  gate: WriteGate | null,
  tracer: AttemptTracer | null,
): EngineControl {
  if (o.engine === 'worker') {
    return startWorkerEngine(
      o,
      { kind: 'sqlite', file: databaseFile(o.database)!, tablePrefix: o.tablePrefix, gate: gate!.buffer },
      bus,
      tracer,
    );
  }
  return createInlineEngine(
    o,
    policy,
    (owner) => new SqliteDispatchStore(store, cache, owner, o.resolved.circuit),
    bus,
    tracer ?? undefined,
  );
}
