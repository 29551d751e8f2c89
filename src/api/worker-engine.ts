import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SenderBus } from '../engine/bus.js';
import type { AttemptTracer } from '../engine/trace-port.js';
import { WorkerEngine } from '../engine/worker/host.js';
import type { WorkerStore } from '../engine/worker/protocol.js';
import { InvalidOptionError } from '../shared/errors/input.js';
import type { ResolvedOptions } from '../shared/options.js';

/**
 * The delivery engine in a worker thread (`engine: 'worker'`), for either store: the options that
 * are data go over, the application's retry function and lookup are answered on this thread.
 */
export function startWorkerEngine(
  o: ResolvedOptions,
  store: WorkerStore,
  bus: SenderBus,
  tracer: AttemptTracer | null,
): WorkerEngine {
  // Built next to this module: dist/worker.js beside the chunk this code is bundled in. Run from
  // its TypeScript source (this repository's tests), the sender starts the built worker.
  const here = import.meta.url;
  const script = new URL(here.endsWith('.ts') ? '../../dist/worker.js' : './worker.js', here);
  if (!existsSync(fileURLToPath(script))) {
    throw new InvalidOptionError(
      'engine',
      `\`engine: 'worker'\` runs the built package: ${script.pathname} is missing`,
    );
  }
  const engine = new WorkerEngine({
    script,
    config: {
      store,
      options: {
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
        retention: o.retention,
      },
      retry: typeof o.retry === 'function' ? 'host' : o.retry,
      hostLookup: o.lookup !== undefined,
      hostTrace: tracer !== null,
    },
    tracer,
    retry: typeof o.retry === 'function' ? o.retry : null,
    lookup: o.lookup,
    bus,
  });
  bus.listenersChanged = () => engine.listenersChanged();
  return engine;
}
