import { type EngineControl, inlineEngine } from '../engine/control.js';
import type { DeliveryEngine } from '../engine/engine.js';
import type { Notify, SenderEvents } from '../engine/notices.js';
import type { AttemptTracer } from '../engine/trace-port.js';
import type { ResolvedOptions } from '../shared/options.js';

/** What a store gives the worker thread: the engine on its own connection. */
export interface WorkerEngine {
  engine: EngineControl;
  /** This engine's lease owner. */
  owner: string;
  /** Hands back at once the rows `owner` (a crashed worker) holds. */
  release(owner: string): Promise<void>;
  /** After the engine closed: the connection goes. */
  close(): Promise<void>;
}

/** The options and the event side every store's builder gets. */
export interface BuildContext {
  options: ResolvedOptions;
  bus: { listening: (name: keyof SenderEvents) => boolean; notify: Notify };
  /** The application's tracing, answered on its thread (`hostTracer`). */
  tracer?: AttemptTracer;
}

/** How soon after the worker starts its first retention sweep runs, in ms (then every minute). */
export const FIRST_SWEEP_MS = 1_000;

/**
 * A process that restarts often (a deploy, a script) still sweeps: the first pass comes a second
 * after the worker starts, not a minute.
 */
export function firstSweepSoon(maintenance: { prune(): Promise<unknown> }): void {
  setTimeout(() => {
    void maintenance.prune().catch(() => {
      // Busy or closed: the next sweep tries again.
    });
  }, FIRST_SWEEP_MS).unref();
}

/**
 * The worker's engine around what a store built: the dispatcher on this thread, the background
 * retention sweep beside it (first pass soon), and the store's connection closed after both.
 */
export function workerEngine(
  built: DeliveryEngine,
  maintenance: { start(): void; stop(): Promise<void>; prune(): Promise<unknown> },
  now: () => number,
  closeStore: () => Promise<void>,
  /** Told first when closing (a sweep in progress stops at its next batch). */
  stopping: () => void = () => {},
): WorkerEngine {
  maintenance.start();
  firstSweepSoon(maintenance);
  return {
    engine: inlineEngine(built.dispatcher, built.agents),
    owner: built.owner,
    release: async (owner) => {
      await built.dispatchStore.release(owner, now());
    },
    close: async () => {
      stopping();
      await maintenance.stop();
      await closeStore();
    },
  };
}
