import { Worker } from 'node:worker_threads';
import { WebhookError } from '../../shared/errors/base.js';
import type { ErrorCode } from '../../shared/errors/codes.js';
import { holdOpen } from '../../shared/hold-open.js';
import type { LookupFunction } from '../../shared/lookup.js';
import type { RetryFunction } from '../../shared/retry.js';
import { isRetryDelay } from '../../shared/retry.js';
import { describe } from '../../shared/validate.js';
import { WriteGate } from '../../shared/write-gate.js';
import type { SenderBus } from '../bus.js';
import type { EngineControl } from '../control.js';
import type { SenderEvents } from '../notices.js';
import type { AttemptTracer } from '../trace-port.js';
import { answerLookup } from './hooks.js';
import { HostSpans } from './host-spans.js';
import {
  type FromWorker,
  RETRY_SLOT_BYTES,
  RetryAnswer,
  retrySlot,
  type ToWorker,
  type WireError,
  type WorkerConfig,
} from './protocol.js';

/** The longest wait between restarts of a worker that keeps crashing, in ms. */
const MAX_RESTART_DELAY_MS = 30_000;

export interface WorkerEngineOptions {
  /** The worker's entry script (`dist/worker.js`). */
  script: URL;
  config: Omit<WorkerConfig, 'heard' | 'takeOver' | 'retrySlot'>;
  /** The application's retry function, when `config.retry` is `'host'`. */
  retry: RetryFunction | null;
  lookup: LookupFunction | undefined;
  /** The application's tracing, when `config.hostTrace`. */
  tracer: AttemptTracer | null;
  bus: SenderBus;
}

/**
 * The engine in a worker thread, seen from the application's thread: wakes,
 * drains and closes go over as messages, events come back batched per turn,
 * and the application's hooks are answered here. A worker that crashes is
 * reported as an `'error'` and restarted; the rows it held are handed back at once.
 */
export class WorkerEngine implements EngineControl {
  #worker: Worker | null = null;
  #started = false;
  #closing = false;
  #inFlight = 0;
  #owner: string | null = null;
  #crashes = 0;
  #lastError: Error | null = null;
  #due = new Map<string | null, number>();
  /** Events wait for fan-out since the last message. */
  #queued = false;
  #dueQueued = false;
  /** The last batch of due hints sent; the worker says when it is idle as of one. */
  #seq = 0;
  #nextId = 1;
  readonly #drains = new Map<number, () => void>();
  #closed: (() => void) | null = null;
  readonly #slot = new SharedArrayBuffer(RETRY_SLOT_BYTES);
  /** The SQLite store's write gate: opened whenever the worker stops, which may have died with it shut. */
  readonly #gate: WriteGate | null;

  readonly #spans: HostSpans | null; // attempt spans, recorded here for the worker
  /** Retention sweeps run in the worker, on its connection. */
  readonly sweeps = true;

  constructor(private readonly options: WorkerEngineOptions) {
    this.#spans = options.tracer === null ? null : new HostSpans(options.tracer, (m) => this.#post(m));
    const { store } = options.config;
    this.#gate = store.kind === 'sqlite' ? new WriteGate(store.gate) : null;
  }

  get started(): boolean {
    return this.#started;
  }

  get inFlightCount(): number {
    return this.#inFlight;
  }

  /** The worker thread now (`null` before start, after close, or while restarting). */
  get thread(): Worker | null {
    return this.#worker;
  }

  start(): void {
    if (this.#started || this.#closing) return;
    this.#started = true;
    this.#spawn(null);
  }

  scheduled(endpointId: string | undefined, at: number): void {
    if (this.#worker === null) return;
    const key = endpointId ?? null;
    const known = this.#due.get(key);
    if (known === undefined || at < known) this.#due.set(key, at);
    this.#hint();
  }

  queued(): void {
    if (this.#worker === null) return;
    this.#queued = true;
    this.#hint();
  }

  #hint(): void {
    // One message per burst of emits: the worker wakes once, at the end of this synchronous run.
    if (this.#dueQueued) return;
    this.#dueQueued = true;
    queueMicrotask(() => this.#flushDue());
  }

  /** Sends the due hints gathered so far; before a drain too, so the worker knows of every emit first. */
  #flushDue(): void {
    this.#dueQueued = false;
    if (this.#due.size === 0 && !this.#queued) return;
    const due = [...this.#due];
    const queued = this.#queued;
    this.#due.clear();
    this.#queued = false;
    this.#seq++;
    this.#post({ t: 'due', due, queued, seq: this.#seq });
    // Work due now keeps the process up, as an inline engine's requests do, until the worker is idle.
    this.#worker?.ref();
  }

  resetHealth(endpointId: string): void {
    this.#post({ t: 'reset', endpointId });
  }

  listenersChanged(): void {
    this.#post({ t: 'heard', heard: this.options.bus.heard() });
  }

  drain(): Promise<void> {
    const id = this.#nextId++;
    const drained = new Promise<void>((resolve) => this.#drains.set(id, resolve));
    this.#flushDue();
    this.#post({ t: 'drain', id });
    return holdOpen(drained);
  }

  async close(timeout: number): Promise<void> {
    if (!this.#started || this.#closing) return;
    this.#closing = true;
    const worker = this.#worker;
    if (worker !== null) {
      const closed = new Promise<void>((resolve) => {
        this.#closed = resolve;
      });
      this.#flushDue();
      this.#post({ t: 'close', timeout });
      await holdOpen(closed);
      await worker.terminate();
    }
    this.#worker = null;
    for (const resolve of this.#drains.values()) resolve();
    this.#drains.clear();
  }

  #spawn(takeOver: string | null): void {
    const { script, config, bus } = this.options;
    const workerData: WorkerConfig = { ...config, heard: bus.heard(), takeOver, retrySlot: this.#slot };
    const worker = new Worker(script, { workerData });
    this.#worker = worker;
    worker.on('message', (message: FromWorker) => this.#receive(message));
    worker.on('error', (error) => {
      this.#lastError = error;
    });
    worker.on('exit', (code) => this.#exited(worker, code));
    // Like the inline engine, the worker keeps the process alive while it has work due now (it
    // says `idle` when it has none); its timers and retries later on do not, a pending drain() or
    // close() does (holdOpen). Ref'd after the listeners: a 'message' listener refs it anyway.
    worker.ref();
    for (const id of this.#drains.keys()) this.#post({ t: 'drain', id });
  }

  #exited(worker: Worker, code: number): void {
    this.#gate?.open();
    this.#spans?.abandon();
    if (worker !== this.#worker) return;
    this.#worker = null;
    this.#inFlight = 0;
    if (this.#closing) {
      this.#closed?.();
      return;
    }
    const why = this.#lastError?.message ?? `exit code ${code}`;
    this.#lastError = null;
    this.options.bus.notify(
      'error',
      new WebhookError(
        'ERR_DISPATCH',
        `The delivery engine's worker thread stopped (${why}); it is restarted and the rows it held are sent again`,
      ),
    );
    const delay = Math.min(MAX_RESTART_DELAY_MS, 2 ** this.#crashes * 50);
    this.#crashes++;
    const owner = this.#owner;
    setTimeout(() => {
      if (!this.#closing) this.#spawn(owner);
    }, delay).unref();
  }

  #receive(message: FromWorker): void {
    switch (message.t) {
      case 'ready':
        this.#owner = message.owner;
        return;
      case 'events':
        this.#inFlight = message.inFlight;
        for (const [name, payload] of message.events) this.#announce(name, payload);
        return;
      case 'idle':
        // It built its engine and caught up: a later crash starts the backoff afresh.
        this.#crashes = 0;
        if (message.seq === this.#seq) this.#worker?.unref();
        return;
      case 'drained':
        this.#drains.get(message.id)?.();
        this.#drains.delete(message.id);
        return;
      case 'closed':
        this.#closed?.();
        return;
      case 'retry':
        this.#answerRetry(message.context);
        return;
      case 'lookup':
        answerLookup(this.options.lookup!, (m) => this.#post(m), message);
        return;
      case 'span':
        void this.#spans?.start(message.id, message.start);
        break;
      case 'span-end':
        this.#spans?.end(message.id, message.end);
    }
  }

  #announce(name: keyof SenderEvents, payload: unknown): void {
    const { bus } = this.options;
    if (name !== 'error') {
      (bus.notify as (name: string, payload: unknown) => void)(name, payload);
      return;
    }
    const wire = payload as WireError;
    const { code, message, ...ids } = wire;
    bus.notify('error', new WebhookError(code as ErrorCode, message, ids));
  }

  /** Calls the application's retry function and writes its answer where the waiting worker reads it. */
  #answerRetry(context: Parameters<RetryFunction>[0]): void {
    const { state, delay, text } = retrySlot(this.#slot);
    let kind: number = RetryAnswer.none;
    let message = '';
    try {
      const answer = this.options.retry!(context);
      if (!isRetryDelay(answer)) {
        kind = RetryAnswer.invalid;
        message = describe(answer);
      } else if (answer !== null) {
        kind = RetryAnswer.delay;
        delay[0] = answer;
      }
    } catch (error) {
      kind = RetryAnswer.threw;
      message = (error as Error)?.message ?? String(error);
    }
    const bytes = Buffer.from(message, 'utf8').subarray(0, text.length);
    text.set(bytes);
    state[1] = kind;
    state[2] = bytes.length;
    Atomics.store(state, 0, 1);
    Atomics.notify(state, 0);
  }

  #post(message: ToWorker): void {
    this.#worker?.postMessage(message);
  }
}
