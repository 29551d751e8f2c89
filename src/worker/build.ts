import type { EngineControl } from '../engine/control.js';
import type { Notify, SenderEvents } from '../engine/notices.js';
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
