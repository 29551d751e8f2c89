import type { Dispatcher } from './dispatcher.js';
import type { Agents } from './http/agents.js';

/**
 * What a sender asks of its delivery engine, wherever it runs: on the
 * application's thread (`inlineEngine`) or in a worker thread (`WorkerEngine`).
 */
export interface EngineControl {
  readonly started: boolean;
  /** Attempts in flight now (in a worker: as it last said). */
  readonly inFlightCount: number;
  /** The engine runs the background retention sweep itself (in its worker): the sender does not. */
  readonly sweeps: boolean;
  start(): void;
  /** The endpoint (every endpoint: `undefined`) has rows due at `at`: look now, not at the next poll. */
  scheduled(endpointId: string | undefined, at: number): void;
  /** Events wait for fan-out: create their deliveries now, not at the next poll. */
  queued(): void;
  /** The endpoint was enabled again or given a new URL. */
  resetHealth(endpointId: string): void;
  /** Someone started or stopped listening to an event: the engine builds only what is heard. */
  listenersChanged(): void;
  drain(): Promise<void>;
  /** Stops claiming, waits up to `timeout` ms for attempts in flight, aborts the rest, releases every lease. */
  close(timeout: number): Promise<void>;
}

/** The engine on the application's thread. */
export function inlineEngine(dispatcher: Dispatcher, agents: Agents): EngineControl {
  return {
    get started() {
      return dispatcher.started;
    },
    get inFlightCount() {
      return dispatcher.inFlightCount;
    },
    sweeps: false,
    start: () => dispatcher.start(),
    scheduled(endpointId, at) {
      if (endpointId === undefined) dispatcher.dueEverywhere(at);
      else dispatcher.due(endpointId, at);
      dispatcher.wake();
    },
    queued: () => dispatcher.queued(),
    resetHealth: (endpointId) => dispatcher.resetHealth(endpointId),
    listenersChanged: () => {},
    drain: () => dispatcher.drain(),
    async close(timeout) {
      await dispatcher.close(timeout);
      agents.destroy();
    },
  };
}
