import type pg from 'pg';
import { SenderBus } from '../../engine/bus.js';
import type { EngineControl } from '../../engine/control.js';
import { createUrlPolicy } from '../../engine/engine.js';
import type { SenderEvents } from '../../engine/notices.js';
import { WebhookError } from '../../shared/errors/base.js';
import { SenderClosedError } from '../../shared/errors/input.js';
import { NotStartedError } from '../../shared/errors/state.js';
import { StoreError } from '../../shared/errors/store.js';
import { holdOpen } from '../../shared/hold-open.js';
import type { ResolvedOptions } from '../../shared/options.js';
import type { EmittedEvent, SenderStats } from '../../shared/types.js';
import { openPool } from '../../store/postgres/db.js';
import { PgEndpointCache } from '../../store/postgres/endpoint-cache.js';
import { PgListener } from '../../store/postgres/listener.js';
import { checkSchemaPg, migratePg } from '../../store/postgres/migrate.js';
import { PgStore } from '../../store/postgres/store.js';
import type { Telemetry } from '../../telemetry/telemetry.js';
import { type ActivityMinute, type ActivityOptions, activityMinutes, activityRange } from '../activity.js';
import { closeTimeout } from '../close-options.js';
import type { EmitItem } from '../emit-input.js';
import type { PruneResult } from '../retention.js';
import { senderTelemetry } from '../telemetry-wiring.js';
import type { PgContext } from './context.js';
import { PgDeliveries } from './deliveries.js';
import { PgEmitter } from './emit.js';
import { PgEndpoints } from './endpoints.js';
import { createPgEngine } from './engine.js';
import { PgEvents } from './events.js';
import { PgMaintenance } from './maintenance.js';
import {
  type PgCloseOptions,
  type PgEmitManyOptions,
  type PgEmitOptions,
  type PgEventMap,
  type PgSenderOptions,
  resolvePgOptions,
} from './options.js';
import { pgGauges, pgStats } from './stats.js';
/**
 * Sends webhooks from any number of processes on any number of machines that
 * share one PostgreSQL schema. The same API as `WebhookSender`, but every
 * method returns a Promise, and `emit` can join the application's transaction
 * through `{ client }`.
 */
export class PgWebhookSender<TEvents extends PgEventMap = PgEventMap> {
  readonly endpoints: PgEndpoints;
  readonly events: PgEvents;
  readonly deliveries: PgDeliveries;
  /** Resolves once the schema is migrated (rejects with `SchemaVersionError` when it is newer than this code). */
  readonly ready: Promise<void>;

  readonly #options: ResolvedOptions;
  readonly #pool: pg.Pool;
  readonly #ownsPool: boolean;
  readonly #store: PgStore;
  readonly #emitter: PgEmitter;
  readonly #engine: EngineControl;
  readonly #listener: PgListener;
  readonly #maintenance: PgMaintenance;
  readonly #telemetry: Telemetry | null;
  readonly #bus = new SenderBus(() => this.#closedDone);
  #autoStarted: Promise<void>;
  #closed = false;
  #closing: Promise<void> | null = null;
  #closedDone = false;

  constructor(options: PgSenderOptions) {
    const { options: o, schema, pool, connectionString, connection } = resolvePgOptions(options);
    this.#options = o;
    if (pool !== undefined) {
      this.#pool = pool;
      this.#ownsPool = false;
    } else {
      this.#pool = openPool({ connectionString });
      this.#ownsPool = true;
      // An idle client losing its connection must not crash the process.
      this.#pool.on('error', (error) => this.#report(error, 'A pooled PostgreSQL connection failed'));
    }
    const { policy, checkUrl } = createUrlPolicy(o);
    const store = new PgStore(this.#pool, schema);
    this.#store = store;
    const cache = new PgEndpointCache(store.endpoints);
    const telemetry = senderTelemetry(o, this.#bus, () =>
      this.#call('telemetry', () => pgGauges(store, this.#engine.inFlightCount, o.clock.now())),
    );
    this.#telemetry = telemetry;
    const worker = connection === null ? null : { connection, schema };
    const engine = createPgEngine(o, policy, store, cache, this.#bus, worker, telemetry);
    this.#engine = engine;
    // Not part of the API: lets this repository's tests reach the engine (a worker to crash).
    Object.defineProperty(this, Symbol.for('hookline.engine'), { value: engine });
    const call = <T>(method: string, fn: () => Promise<T>) => this.#call(method, fn);
    const isClosed = () => this.#closed;
    const ctx: PgContext = {
      store,
      cache,
      clock: o.clock,
      call,
      checkUrl,
      scheduled: (endpointId, at) => engine.scheduled(endpointId, at),
      settle: () => this.#emitter.settle(),
      healthReset: (endpointId) => engine.resetHealth(endpointId),
    };
    this.endpoints = new PgEndpoints(ctx);
    this.events = new PgEvents(ctx);
    this.deliveries = new PgDeliveries(ctx);
    this.#emitter = new PgEmitter({
      pool: this.#pool,
      store,
      cache,
      clock: o.clock,
      maxPayloadBytes: o.maxPayloadBytes,
      telemetry,
      call,
      scheduled: (endpointId, at) => engine.scheduled(endpointId, at),
      queued: () => engine.queued(),
    });
    this.#listener = new PgListener({
      pool: this.#pool,
      outbox: store.outbox,
      retryInterval: o.pollInterval,
      isClosed,
      // Another sender emitted (events to fan out) or fanned out (rows due).
      onDue: () => {
        engine.queued();
        engine.scheduled(undefined, o.clock.now());
      },
      report: (error, message) => this.#report(error, message),
    });
    this.#maintenance = new PgMaintenance({
      store,
      retention: o.resolved.retention,
      clock: o.clock,
      isClosed,
      call,
    });

    this.ready = (o.migrate ? migratePg(this.#pool, schema) : checkSchemaPg(this.#pool, schema)).catch(
      (error: unknown) => {
        throw error instanceof WebhookError
          ? error
          : new StoreError(`Cannot prepare the PostgreSQL schema: ${(error as Error).message}`, error);
      },
    );
    // Marked handled: a sender nobody awaits must not crash the process; every method still rejects with it.
    this.ready.catch(() => undefined);
    this.#autoStarted = o.autoStart
      ? this.ready.then(
          () => this.#startNow(),
          (error: unknown) => this.#report(error, 'Cannot start'),
        )
      : Promise.resolve();
  }

  /**
   * Records an event for every subscribed endpoint and resolves to it. With
   * `{ client }` (a pg client inside the application's `BEGIN`), it commits or
   * rolls back with the application's transaction; senders are woken on commit.
   */
  async emit<K extends keyof TEvents & string>(
    type: K,
    payload: TEvents[K],
    options?: PgEmitOptions,
  ): Promise<EmittedEvent> {
    if (this.#closed) throw new SenderClosedError('emit');
    return this.#emitter.emit(type, payload, options);
  }

  /** Records several events: in one transaction of its own, or in the application's with `{ client }`. */
  async emitMany(
    events: ReadonlyArray<
      { [K in keyof TEvents & string]: EmitItem<TEvents[K]> & { type: K } }[keyof TEvents & string]
    >,
    options?: PgEmitManyOptions,
  ): Promise<EmittedEvent[]> {
    if (this.#closed) throw new SenderClosedError('emitMany');
    return this.#emitter.emitMany(events, options);
  }

  /** Starts delivering (only needed with `autoStart: false`). */
  async start(): Promise<void> {
    if (this.#closed) throw new SenderClosedError('start');
    await this.ready;
    if (this.#closed) throw new SenderClosedError('start');
    this.#startNow();
  }

  #startNow(): void {
    if (this.#closed || this.#engine.started) return;
    this.#engine.start();
    void this.#listener.listen();
    if (!this.#engine.sweeps) this.#maintenance.start();
  }

  /** Resolves when nothing is due now and nothing is in flight here. */
  async drain(): Promise<void> {
    if (this.#closed) throw new SenderClosedError('drain');
    await this.ready;
    await this.#autoStarted;
    // Closed while this drain waited for the schema: nothing is left to wait for.
    if (this.#closed) return;
    if (!this.#engine.started) throw new NotStartedError();
    return this.#engine.drain();
  }

  /** Counts by status (every sender's rows), attempts in flight here, and how late the most overdue delivery is. */
  stats(): Promise<SenderStats> {
    return this.#call('stats', () =>
      pgStats(this.#store, this.#engine.inFlightCount, this.#options.clock.now()),
    );
  }

  /** Attempts per minute by outcome, every sender together: the last hour, or `since` to `until` (kept two days). */
  activity(options?: ActivityOptions): Promise<ActivityMinute[]> {
    return this.#call('activity', async () => {
      const { from, to } = activityRange(options, this.#options.clock.now());
      return activityMinutes(await this.#store.health.activity(from, to), from, to);
    });
  }

  /** Deletes finished deliveries older than `retention` (with their attempts, and events left without deliveries). */
  prune(): Promise<PruneResult> {
    if (this.#closed) return Promise.reject(new SenderClosedError('prune'));
    return this.#maintenance.prune();
  }

  /**
   * Stops claiming, lets attempts in flight finish within `timeout`, hands
   * back what it holds, stops listening and ends the pool if it owns it. Safe to call twice.
   */
  close(options: PgCloseOptions = {}): Promise<void> {
    if (this.#closing) return this.#closing;
    let timeout: number | undefined;
    try {
      timeout = closeTimeout(options);
    } catch (error) {
      return Promise.reject(error);
    }
    this.#closed = true;
    // Awaited work: the process stays up for it, though idle pooled connections do not hold it.
    this.#closing = holdOpen(
      (async () => {
        await this.ready.catch(() => undefined);
        await this.#autoStarted;
        this.#listener.stopRetrying();
        this.#telemetry?.close();
        await this.#maintenance.stop();
        await this.#engine.close(timeout ?? this.#options.timeout);
        this.#listener.stop();
        this.#closedDone = true;
        if (this.#ownsPool) await this.#pool.end();
      })(),
    );
    return this.#closing;
  }

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

  async #call<T>(method: string, fn: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new SenderClosedError(method);
    await this.ready;
    try {
      return await fn();
    } catch (error) {
      if (error instanceof WebhookError) throw error;
      throw new StoreError(
        `\`${method}\` failed on PostgreSQL: ${(error as Error)?.message ?? String(error)}`,
        error,
      );
    }
  }

  #report(error: unknown, message: string): void {
    const wrapped =
      error instanceof WebhookError
        ? error
        : new StoreError(`${message}: ${(error as Error)?.message ?? String(error)}`, error);
    this.#bus.notify('error', wrapped);
  }
}
