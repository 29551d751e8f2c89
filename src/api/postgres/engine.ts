import type { SenderBus } from '../../engine/bus.js';
import type { EngineControl } from '../../engine/control.js';
import { createInlineEngine } from '../../engine/engine.js';
import type { AddressPolicy } from '../../engine/http/address-policy.js';
import type { AttemptTracer } from '../../engine/trace-port.js';
import type { ResolvedOptions } from '../../shared/options.js';
import { PgDispatchStore } from '../../store/postgres/dispatch.js';
import type { PgEndpointCache } from '../../store/postgres/endpoint-cache.js';
import type { PgStore } from '../../store/postgres/store.js';
import { startWorkerEngine } from '../worker-engine.js';

/** The PostgreSQL sender's delivery engine: on this thread, or in a worker thread with a pool of its own. */
export function createPgEngine(
  o: ResolvedOptions,
  policy: AddressPolicy,
  store: PgStore,
  cache: PgEndpointCache,
  bus: SenderBus,
  worker: { connection: Record<string, unknown>; schema: string } | null,
  tracer: AttemptTracer | null,
): EngineControl {
  if (o.engine === 'worker' && worker !== null) {
    return startWorkerEngine(o, { kind: 'postgres', ...worker }, bus, tracer);
  }
  return createInlineEngine(
    o,
    policy,
    (owner) => new PgDispatchStore(store, cache, owner, o.resolved.circuit),
    bus,
    tracer ?? undefined,
  );
}
