import type { SenderOptions } from '../../shared/options.js';
import type { RetryContext } from '../../shared/retry.js';
import type { SenderEvents } from '../notices.js';
import type { AttemptSpanEnd, AttemptSpanStart } from '../trace-port.js';

// The messages between a sender and its engine's worker thread. Only data crosses: the
// application's functions (a retry function, a lookup) stay on its thread and are called
// over this channel.

/** Which database the worker opens its own connection to. */
export type WorkerStore =
  /** `gate`: the WriteGate's memory, which the worker shuts around its write transactions. */
  | { kind: 'sqlite'; file: string; tablePrefix: string; gate: SharedArrayBuffer }
  | { kind: 'postgres'; connection: Record<string, unknown>; schema: string };

/** The sender options the engine reads that are data, as the application gave them (checked already). */
export type WorkerOptions = Pick<
  Required<SenderOptions>,
  | 'concurrency'
  | 'timeout'
  | 'connectTimeout'
  | 'responseBodyLimit'
  | 'pollInterval'
  | 'endpointConcurrency'
  | 'allowPrivateNetworks'
  | 'allowedNetworks'
  | 'circuitBreaker'
  | 'disableAfter'
  | 'retention'
>;

/** What the worker needs to build the engine: the options that are data, and which hooks the host answers. */
export interface WorkerConfig {
  store: WorkerStore;
  options: WorkerOptions;
  /** A schedule, or `'host'`: the application's retry function, called on its thread. */
  retry: readonly number[] | 'host';
  /** The application's `lookup`, called on its thread. */
  hostLookup: boolean;
  /** The application's tracing: each attempt's span is started and ended on its thread. */
  hostTrace: boolean;
  heard: (keyof SenderEvents)[];
  /** The lease owner of a worker that crashed: its leases are handed back at once. */
  takeOver: string | null;
  /** Where the retry function's answers arrive (see `RetrySlot`). */
  retrySlot: SharedArrayBuffer;
}

/** A WebhookError as it crosses the channel. */
export interface WireError {
  code: string;
  message: string;
  endpointId?: string;
  deliveryId?: string;
  eventId?: string;
}

export type ToWorker =
  | { t: 'start' }
  /** Due hints (`null`: every endpoint), and whether events wait for fan-out. */
  | { t: 'due'; due: [string | null, number][]; queued: boolean; seq: number }
  | { t: 'reset'; endpointId: string }
  | { t: 'heard'; heard: (keyof SenderEvents)[] }
  | { t: 'drain'; id: number }
  | { t: 'close'; timeout: number }
  /** The application's lookup's answer as it gave it (the worker's SSRF guard reads any shape, as inline). */
  | {
      t: 'lookup';
      id: number;
      error: { code?: string; message: string } | null;
      address: unknown;
      family: unknown;
    }
  /** The started span's headers (empty: no span). */
  | { t: 'span'; id: number; headers: Record<string, string> };

export type FromWorker =
  | { t: 'ready'; owner: string }
  | { t: 'events'; events: [keyof SenderEvents, unknown][]; inFlight: number }
  | { t: 'drained'; id: number }
  /** Nothing due now and nothing in flight, as of the due hints up to `seq`. */
  | { t: 'idle'; seq: number }
  | { t: 'closed' }
  | { t: 'retry'; context: RetryContext }
  | { t: 'lookup'; id: number; hostname: string; family: number }
  | { t: 'span'; id: number; start: AttemptSpanStart }
  | { t: 'span-end'; id: number; end: AttemptSpanEnd };

/** What the application's retry function answered. */
export const RetryAnswer = { none: 0, delay: 1, threw: 2, invalid: 3 } as const;

/** Bytes of a retry slot: a 16-byte header, the delay, then the message. */
export const RETRY_SLOT_BYTES = 24 + 2048;

/**
 * A retry function's answer, written by the host into shared memory while the
 * worker waits on it (Atomics): `state[0]` 0 waiting, 1 answered; `state[1]` the
 * kind (`RetryAnswer`); `state[2]` the message's length in bytes. The one layout
 * both sides read and write.
 */
export function retrySlot(slot: SharedArrayBuffer) {
  return {
    state: new Int32Array(slot, 0, 4),
    delay: new Float64Array(slot, 16, 1),
    text: new Uint8Array(slot, 24),
  };
}
