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
