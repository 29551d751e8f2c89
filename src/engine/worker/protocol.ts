import type { LookupAddress } from 'node:dns';
import type { RetryContext } from '../../shared/retry.js';
import type { SenderEvents } from '../notices.js';

// The messages between a sender and its engine's worker thread. Only data crosses: the
// application's functions (a retry function, a lookup) stay on its thread and are called
// over this channel.

/** What the worker needs to build the engine: the options that are data, and which hooks the host answers. */
/** Which database the worker opens its own connection to. */
export type WorkerStore =
  | { kind: 'sqlite'; file: string; tablePrefix: string }
  | { kind: 'postgres'; connection: Record<string, unknown>; schema: string };

export interface WorkerConfig {
  store: WorkerStore;
  concurrency: number;
  timeout: number;
  connectTimeout: number;
  responseBodyLimit: number;
  pollInterval: number;
  endpointConcurrency: number;
  allowPrivateNetworks: boolean;
  allowedNetworks: readonly string[];
  circuitBreaker: unknown;
  disableAfter: unknown;
  /** As given (durations or `false`): the worker runs the background sweep. */
  retention: unknown;
  /** A schedule, or `'host'`: the application's retry function, called on its thread. */
  retry: readonly number[] | 'host';
  /** The application's `lookup`, called on its thread. */
  hostLookup: boolean;
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
  | { t: 'due'; due: [string | null, number][]; seq: number }
  | { t: 'reset'; endpointId: string }
  | { t: 'heard'; heard: (keyof SenderEvents)[] }
  | { t: 'drain'; id: number }
  | { t: 'close'; timeout: number }
  | { t: 'lookup'; id: number; error: { code?: string; message: string } | null; address: LookupAddress[] };

export type FromWorker =
  | { t: 'ready'; owner: string }
  | { t: 'events'; events: [keyof SenderEvents, unknown][]; inFlight: number }
  | { t: 'drained'; id: number }
  /** Nothing due now and nothing in flight, as of the due hints up to `seq`. */
  | { t: 'idle'; seq: number }
  | { t: 'closed' }
  | { t: 'retry'; context: RetryContext }
  | { t: 'lookup'; id: number; hostname: string; family: number };

/**
 * A retry function's answer, written by the host into shared memory while the
 * worker waits on it (Atomics): [0] the state (0 waiting, 1 answered), [1] the
 * kind (0 null, 1 a delay, 2 it threw), then the delay, then the message.
 */
export const RETRY_SLOT_BYTES = 16 + 2048;
