import { EventEmitter } from 'node:events';
import { Deliveries } from './deliveries-api.js';
import { Dispatcher } from './dispatch/dispatcher.js';
import { newLeaseOwner } from './dispatch/lease-owner.js';
import type { Notify, SenderEvents } from './dispatch/notices.js';
import { type EmitItem, type EmitOptions, Emitter } from './emit.js';
import { EndpointCache } from './endpoint-cache.js';
import { Endpoints } from './endpoints.js';
import { WebhookError } from './errors/base.js';
import { InvalidArgumentError, SenderClosedError } from './errors/input.js';
import { NotStartedError } from './errors/state.js';
import { Events } from './events-api.js';
import { createAddressPolicy, literalHostAddress } from './http/address-policy.js';
import { type Agents, createAgents } from './http/agents.js';
import { Transport } from './http/attempt.js';
import { BlockedAddressError, guardedLookup } from './http/guarded-lookup.js';
import { Maintenance, type PruneResult } from './maintenance.js';
import { type ResolvedOptions, resolveOptions, type SenderOptions } from './options.js';
import { SqliteStore } from './store/sqlite.js';
import { SqliteDispatchStore } from './store/sqlite-dispatch.js';
import type { EmittedEvent, SenderStats } from './types.js';
import { describe, isNonNegativeInteger, isPlainObject, unknownKey } from './validate.js';

const CLOSE_KEYS = new Set(['timeout']);
// A record, not a list: adding an event to SenderEvents does not compile until it is listed here.
const EVENT_NAMES: Record<keyof SenderEvents, true> = {
  attempt: true,
  delivered: true,
  retrying: true,
  failed: true,
  'endpoint.disabled': true,
  error: true,
};
const SENDER_EVENTS = new Set<string>(Object.keys(EVENT_NAMES));

/** A misspelt event name would never fire: refuse it, and a listener that is not a function. */
function checkListener(name: unknown, listener: unknown): string {
  if (typeof name !== 'string' || !SENDER_EVENTS.has(name)) {
    throw new InvalidArgumentError(
      'name',
      `Expected an event name (${[...SENDER_EVENTS].join(', ')}), got ${describe(name)}`,
    );
  }
  if (typeof listener !== 'function') {
    throw new InvalidArgumentError(
      'listener',
      `Expected \`listener\` to be a function, got ${describe(listener)}`,
    );
  }
  return name;
}

/** Event types mapped to their payload types; the default accepts any type and any JSON value. */
export type EventMap = Record<string, unknown>;

export interface CloseOptions {
  /** How long in-flight attempts may take to finish before they are aborted, in ms. @default the attempt `timeout` */
  timeout?: number;
}

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
  readonly #dispatcher: Dispatcher;
  readonly #agents: Agents;
  readonly #bus = new EventEmitter();
  readonly #maintenance: Maintenance;
  #closed = false;
  #closing: Promise<void> | null = null;

  constructor(options?: SenderOptions) {
    const o = resolveOptions(options);
    this.#options = o;
    const policy = createAddressPolicy({
      allowPrivateNetworks: o.allowPrivateNetworks,
      allowedNetworks: o.allowedNetworks,
    });
    this.#store = new SqliteStore(o.database, o.tablePrefix);
    const store = this.#store;
    const cache = new EndpointCache(store.endpoints);
    // Reads call it too: after close an owned connection is gone, and the driver's
    // TypeError would be the one error the library throws that is not a WebhookError.
    const guard = (method: string) => {
      if (this.#closed) throw new SenderClosedError(method);
    };
    // Tells the dispatcher an endpoint has a row due, so it need not wait for the poll.
    const scheduled = (endpointId: string, at: number) => {
      this.#dispatcher.due(endpointId, at);
      this.#dispatcher.wake();
    };
    const checkUrl = (url: string) => {
      const host = new URL(url).hostname;
      const literal = literalHostAddress(host);
      const rule = literal === null ? null : policy.check(literal);
      if (rule !== null) {
        throw new InvalidArgumentError(
          'url',
          `${new BlockedAddressError(host, literal!, rule).message}; set \`allowPrivateNetworks\` or \`allowedNetworks\` to allow it`,
          'ERR_SSRF_BLOCKED',
        );
      }
    };
    // Bulk retries may touch every endpoint: then every endpoint is looked at again.
    const scheduledMany = (endpointId: string | undefined, at: number) => {
      if (endpointId === undefined) this.#dispatcher.dueEverywhere(at);
      else this.#dispatcher.due(endpointId, at);
      this.#dispatcher.wake();
    };
    this.endpoints = new Endpoints(store.endpoints, o.clock, checkUrl, guard, store, scheduledMany, (id) =>
      this.#dispatcher.resetHealth(id),
    );
    this.events = new Events(store.db, store.log, store.outbox, cache, o.clock, guard, scheduled);
    this.deliveries = new Deliveries(
      store.log,
      store.outbox,
      o.clock,
      guard,
      scheduled,
      store,
      scheduledMany,
    );
    this.#maintenance = new Maintenance(store, o.resolved.retention, o.clock);
    this.#emitter = new Emitter(store.db, store.outbox, store.endpoints, cache, o.maxPayloadBytes, scheduled);

    this.#agents = createAgents(guardedLookup(policy, o.lookup), o.concurrency);
    const transport = new Transport({
      timeout: o.timeout,
      connectTimeout: o.connectTimeout,
      responseBodyLimit: o.responseBodyLimit,
      agents: this.#agents,
      policy,
      now: () => o.clock.now(),
    });
    const owner = newLeaseOwner();
    const port = new SqliteDispatchStore(store, cache, owner, o.resolved.circuit);
    this.#dispatcher = new Dispatcher(
      port,
      transport,
      {
        concurrency: o.concurrency,
        timeout: o.timeout,
        pollInterval: o.pollInterval,
        retry: o.retry,
        clock: o.clock,
        owner,
        endpointConcurrency: o.endpointConcurrency,
        listening: (name) => this.#bus.listenerCount(name) > 0,
      },
      this.#notify,
    );
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
    this.#dispatcher.start();
    this.#maintenance.start();
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
    if (this.#closed) return Promise.resolve();
    if (!this.#dispatcher.started) return Promise.reject(new NotStartedError());
    return this.#dispatcher.drain();
  }

  /** Counts by status, attempts in flight here, and how late the most overdue delivery is. */
  stats(): SenderStats {
    if (this.#closed) throw new SenderClosedError('stats');
    const log = this.#store.log;
    const due = log.earliestPendingDueAt();
    return {
      pending: log.countByStatus('pending'),
      sending: log.countByStatus('sending'),
      succeeded: log.countByStatus('succeeded'),
      failed: log.countByStatus('failed'),
      inFlight: this.#dispatcher.inFlightCount,
      oldestPendingAgeMs: due === null ? 0 : Math.max(0, this.#options.clock.now() - due),
    };
  }

  /**
   * Stops claiming, lets attempts in flight finish within `timeout`, hands
   * back what it holds and closes the connection it owns. Safe to call twice.
   */
  close(options: CloseOptions = {}): Promise<void> {
    if (this.#closing) return this.#closing;
    const timeout: unknown = isPlainObject(options) ? options.timeout : undefined;
    if (
      !isPlainObject(options) ||
      unknownKey(options, CLOSE_KEYS) !== undefined ||
      (timeout !== undefined && !isNonNegativeInteger(timeout))
    ) {
      throw new InvalidArgumentError('options', `Expected \`{ timeout?: ms }\`, got ${describe(options)}`);
    }
    this.#closed = true;
    this.#closing = (async () => {
      await this.#maintenance.stop();
      await this.#dispatcher.close((timeout as number | undefined) ?? this.#options.timeout);
      this.#agents.destroy();
      await this.#store.close();
    })();
    return this.#closing;
  }

  /** Listens to `'attempt'`, `'delivered'`, `'retrying'`, `'failed'`, `'endpoint.disabled'` or `'error'`. */
  on<K extends keyof SenderEvents>(name: K, listener: (...args: SenderEvents[K]) => void): this {
    this.#bus.on(checkListener(name, listener), listener as (...args: unknown[]) => void);
    return this;
  }

  once<K extends keyof SenderEvents>(name: K, listener: (...args: SenderEvents[K]) => void): this {
    this.#bus.once(checkListener(name, listener), listener as (...args: unknown[]) => void);
    return this;
  }

  off<K extends keyof SenderEvents>(name: K, listener: (...args: SenderEvents[K]) => void): this {
    this.#bus.off(checkListener(name, listener), listener as (...args: unknown[]) => void);
    return this;
  }

  // A listener that throws must not break the dispatcher: its error becomes an 'error' event.
  #notify: Notify = (name, ...args) => {
    const bus = this.#bus;
    if (name === 'error') {
      if (bus.listenerCount('error') === 0) {
        process.emitWarning(args[0] as WebhookError);
        return;
      }
      try {
        bus.emit('error', ...args);
      } catch (error) {
        process.emitWarning(error as Error);
      }
      return;
    }
    if (bus.listenerCount(name) === 0) return;
    try {
      bus.emit(name, ...args);
    } catch (error) {
      const wrapped = new WebhookError(
        'ERR_LISTENER',
        `A '${name}' listener threw: ${(error as Error)?.message ?? String(error)}`,
        { cause: error },
      );
      this.#notify('error', wrapped);
    }
  };
}
