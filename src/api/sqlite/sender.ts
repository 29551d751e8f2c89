import { SenderBus } from '../../engine/bus.js';
import type { EngineControl } from '../../engine/control.js';
import { createUrlPolicy } from '../../engine/engine.js';
import type { SenderEvents } from '../../engine/notices.js';
import { earliest } from '../../shared/clock.js';
import { SenderClosedError } from '../../shared/errors/input.js';
import { NotStartedError } from '../../shared/errors/state.js';
import { holdOpen } from '../../shared/hold-open.js';
import { type ResolvedOptions, resolveOptions, type SenderOptions } from '../../shared/options.js';
import type { EmittedEvent, SenderStats } from '../../shared/types.js';
import { WriteGate } from '../../shared/write-gate.js';
import { EndpointCache } from '../../store/sqlite/endpoint-cache.js';
import { SqliteStore } from '../../store/sqlite/store.js';
import type { GaugeValues, Telemetry } from '../../telemetry/telemetry.js';
import { type ActivityMinute, type ActivityOptions, activityMinutes, activityRange } from '../activity.js';
import { type CloseOptions, closeTimeout } from '../close-options.js';
import type { EmitItem, EmitOptions } from '../emit-input.js';
import type { PruneResult } from '../retention.js';
import { senderTelemetry } from '../telemetry-wiring.js';
import type { SqliteContext } from './context.js';
import { Deliveries } from './deliveries.js';
import { Emitter } from './emit.js';
import { Endpoints } from './endpoints.js';
import { createSqliteEngine } from './engine.js';
import { Events } from './events.js';
import { Maintenance } from './maintenance.js';
/** Event types mapped to their payload types; the default accepts any type and any JSON value. */
export type EventMap = Record<string, unknown>;

/**
 * Sends webhooks from this process. `emit` writes to the SQLite outbox
 * synchronously; a background dispatcher delivers, retries and logs.
 */
export class WebhookSender<TEvents extends EventMap = EventMap> {
  /** Receivers: add, get, list, update, remove, enable, disable, rotateSecret. */
  readonly endpoints: Endpoints;
  /** Stored events: get, list, replay. */
  readonly events: Events;
  /** The delivery log: get (with attempts), list, retry. */
  readonly deliveries: Deliveries;

  readonly #options: ResolvedOptions;
  readonly #store: SqliteStore;
  readonly #emitter: Emitter;
  readonly #engine: EngineControl;
  readonly #bus = new SenderBus();
  readonly #maintenance: Maintenance;
  readonly #telemetry: Telemetry | null;
  #closed = false;
  #closing: Promise<void> | null = null;

  constructor(options?: SenderOptions) {
    const o = resolveOptions(options);
    this.#options = o;
    // Checked before the store opens the file: a malformed `allowedNetworks` creates nothing.
    const { policy, checkUrl } = createUrlPolicy(o);
    // A worker engine checkpoints on its own connection, the one that writes the results.
    this.#store = new SqliteStore(o.database, o.tablePrefix, o.engine === 'inline', null, o.migrate);
    const store = this.#store;
    const cache = new EndpointCache(store.endpoints);
    // Emits wait at it for the worker's write transactions (see WriteGate).
    const gate = o.engine === 'worker' ? new WriteGate() : null;
    this.#telemetry = senderTelemetry(o, this.#bus, () => this.#gauges());
    const engine = createSqliteEngine(o, policy, store, cache, this.#bus, gate, this.#telemetry);
    this.#engine = engine;
    // Not part of the API: lets this repository's tests reach the engine (a worker to crash).
    Object.defineProperty(this, Symbol.for('hookline.engine'), { value: engine });
    // Reads call it too: after close an owned connection is gone, and the driver's
    // TypeError would be the one error the library throws that is not a WebhookError.
    const guard = (method: string) => {
      if (this.#closed) throw new SenderClosedError(method);
    };
    // Tells the dispatcher an endpoint has a row due, so it need not wait for the poll; bulk
    // retries may touch every endpoint: then every endpoint is looked at again.
    const scheduled = (endpointId: string | undefined, at: number) => engine.scheduled(endpointId, at);
    const ctx: SqliteContext = {
      store,
      cache,
      clock: o.clock,
      guard,
      checkUrl,
      scheduled,
      settle: () => this.#emitter.settle(o.clock.now()),
      healthReset: (id) => engine.resetHealth(id),
    };
    this.endpoints = new Endpoints(ctx);
    this.events = new Events(ctx);
    this.deliveries = new Deliveries(ctx);
    this.#maintenance = new Maintenance(store, o.resolved.retention, o.clock);
    this.#emitter = new Emitter(store, cache, o.maxPayloadBytes, engine, gate, this.#telemetry);

    if (o.autoStart) this.start();
  }

  /**
   * Records an event for every subscribed endpoint, synchronously, and returns
   * it. Inside the application's better-sqlite3 transaction, it commits or
   * rolls back with it.
   */
  emit<K extends keyof TEvents & string>(type: K, payload: TEvents[K], options?: EmitOptions): EmittedEvent {
    if (this.#closed) throw new SenderClosedError('emit');
    return this.#emitter.emit(type, payload, options, this.#options.clock.now());
  }

  /** Records several events in one transaction. */
  emitMany(
    events: ReadonlyArray<
      { [K in keyof TEvents & string]: EmitItem<TEvents[K]> & { type: K } }[keyof TEvents & string]
    >,
  ): EmittedEvent[] {
    if (this.#closed) throw new SenderClosedError('emitMany');
    return this.#emitter.emitMany(events, this.#options.clock.now());
  }

  /** Starts delivering (only needed with `autoStart: false`). */
  start(): void {
    if (this.#closed) throw new SenderClosedError('start');
    this.#engine.start();
    if (!this.#engine.sweeps) this.#maintenance.start();
  }

  /**
   * Deletes finished deliveries older than `retention` (with their attempts,
   * and events left without deliveries) now, in small batches that yield to
   * the event loop. The background sweep does the same every minute.
   */
  prune(): Promise<PruneResult> {
    if (this.#closed) return Promise.reject(new SenderClosedError('prune'));
    return this.#maintenance.prune();
  }

  /** Resolves when nothing is due now and nothing is in flight. */
  drain(): Promise<void> {
    if (this.#closed) return Promise.reject(new SenderClosedError('drain'));
    if (!this.#engine.started) return Promise.reject(new NotStartedError());
    return this.#engine.drain();
  }

  /** Counts by status, attempts in flight here, and how late the most overdue delivery is. */
  stats(): SenderStats {
    if (this.#closed) throw new SenderClosedError('stats');
    const log = this.#store.log;
    return {
      ...this.#backlog(),
      sending: log.countByStatus('sending'),
      succeeded: log.countByStatus('succeeded'),
      failed: log.countByStatus('failed'),
      inFlight: this.#engine.inFlightCount,
      openCircuits: this.#store.health.openCircuits(),
    };
  }

  /** What the OpenTelemetry gauges read: cheap counts only (pending through its index, not every status). */
  #gauges(): GaugeValues {
    if (this.#closed) throw new SenderClosedError('telemetry');
    const openCircuits = this.#store.health.openCircuits().length;
    return { ...this.#backlog(), openCircuits, inFlight: this.#engine.inFlightCount };
  }

  /** The pending deliveries and how late the most overdue is; events waiting for fan-out count as theirs. */
  #backlog(): { pending: number; oldestPendingAgeMs: number } {
    const log = this.#store.log;
    const queued = this.#store.fanout.totals();
    const due = earliest(log.earliestPendingDueAt(), queued.oldestAt);
    return {
      pending: log.countByStatus('pending') + queued.deliveries,
      oldestPendingAgeMs: due === null ? 0 : Math.max(0, this.#options.clock.now() - due),
    };
  }

  /** Attempts per minute by outcome, every process together: the last hour, or `since` to `until` (kept two days). */
  activity(options?: ActivityOptions): ActivityMinute[] {
    if (this.#closed) throw new SenderClosedError('activity');
    const { from, to } = activityRange(options, this.#options.clock.now());
    return activityMinutes(this.#store.health.activity(from, to), from, to);
  }

  /**
   * Stops claiming, lets attempts in flight finish within `timeout`, hands
   * back what it holds and closes the connection it owns. Safe to call twice.
   */
  close(options: CloseOptions = {}): Promise<void> {
    if (this.#closing) return this.#closing;
    let timeout: number | undefined;
    try {
      timeout = closeTimeout(options);
    } catch (error) {
      // A Promise-returning method rejects; it does not throw.
      return Promise.reject(error);
    }
    this.#closed = true;
    // Awaited work: the unref'd checkpoint worker's last answer must not be cut off by the exit.
    this.#closing = holdOpen(
      (async () => {
        this.#telemetry?.close();
        await this.#maintenance.stop();
        await this.#engine.close(timeout ?? this.#options.timeout);
        await this.#store.close();
      })(),
    );
    return this.#closing;
  }

  /**
   * Listens to `'attempt'`, `'delivered'`, `'retrying'`, `'failed'`, `'endpoint.disabled'`,
   * `'endpoint.circuit'` or `'error'`.
   */
  on<K extends keyof SenderEvents>(name: K, listener: (...args: SenderEvents[K]) => void): this {
    this.#bus.on(name, listener);
    return this;
  }

  once<K extends keyof SenderEvents>(name: K, listener: (...args: SenderEvents[K]) => void): this {
    this.#bus.once(name, listener);
    return this;
  }

  off<K extends keyof SenderEvents>(name: K, listener: (...args: SenderEvents[K]) => void): this {
    this.#bus.off(name, listener);
    return this;
  }
}
