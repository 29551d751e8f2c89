import type { Transaction } from 'better-sqlite3';
import type { EngineControl } from '../../engine/control.js';
import { iso } from '../../shared/clock.js';
import { NotFoundError } from '../../shared/errors/input.js';
import { newEventId } from '../../shared/ids.js';
import type { EmittedEvent } from '../../shared/types.js';
import type { WriteGate } from '../../shared/write-gate.js';
import type { Expansion } from '../../store/fanout.js';
import type { EndpointCache } from '../../store/sqlite/endpoint-cache.js';
import { FANOUT_ROWS } from '../../store/sqlite/fanout-sql.js';
import type { SqliteStore } from '../../store/sqlite/store.js';
import type { Telemetry } from '../../telemetry/telemetry.js';
import {
  checkEventArray,
  emittedAgain,
  newEventRow,
  type PreparedEvent,
  prepare,
  prepareMany,
} from '../emit-input.js';
import { traced } from '../traced-emit.js';

/** Endpoints an emit names in its hint to the engine, at most (a broadcast is left to the fan-out's own). */
const HINTED_ENDPOINTS = 4;

/** Validates, serializes and writes events: the synchronous half of the sender. */
export class Emitter {
  private readonly insertOne: Transaction<
    (event: PreparedEvent, now: number, trace: string | null) => EmittedEvent
  >;
  private readonly insertMany: Transaction<
    (events: PreparedEvent[], now: number, trace: string | null) => EmittedEvent[]
  >;
  private readonly settleOne: Transaction<(now: number) => Expansion>;

  constructor(
    private readonly store: SqliteStore,
    private readonly cache: EndpointCache,
    private readonly maxPayloadBytes: number,
    /** Told of deliveries written and of events queued for fan-out, so it looks at once. */
    private readonly engine: Pick<EngineControl, 'scheduled' | 'queued'>,
    /** The engine worker's write gate: an emit waits there rather than in SQLite's busy handler. */
    private readonly gate: WriteGate | null,
    /** OpenTelemetry, when the application records: a producer span per emit. */
    private readonly telemetry: Telemetry | null,
  ) {
    const { db } = store;
    // Every event is queued (one row beside it, at about the speed of a bare insert); the engine
    // creates the deliveries, and a read that lists them creates those not made yet (`settle`).
    this.insertOne = db.transaction((event, now, trace) => {
      this.cache.refresh();
      return this.write(event, now, trace);
    });
    this.insertMany = db.transaction((events, now, trace) => {
      this.cache.refresh();
      return events.map((event) => this.write(event, now, trace));
    });
    this.settleOne = db.transaction((now) => {
      this.cache.refresh();
      return store.fanout.expand(this.cache, now, FANOUT_ROWS);
    });
  }

  /**
   * Creates, on this connection, the deliveries of every event still queued for fan-out, in passes
   * of FANOUT_ROWS: what a read of the delivery log calls first, so that it shows every delivery of
   * every emit made before it (the engine would have made them a moment later; the unique index on
   * (event, endpoint, replay) keeps the two from making one twice). Usually one read finds nothing.
   */
  settle(now: number): void {
    if (!this.store.fanout.waiting()) return;
    for (let more = true; more; ) {
      const expansion = this.throughGate(() => this.settleOne.immediate(now));
      for (const endpointId of expansion.endpoints) this.engine.scheduled(endpointId, now);
      more = expansion.more;
    }
  }

  // IMMEDIATE: the transaction reads (endpoints version, idempotency key) before
  // it writes, and SQLite refuses to upgrade a read transaction to a write one
  // while another process writes (SQLITE_BUSY at once, busy_timeout not
  // consulted). Taking the write lock first waits instead. Inside the app's
  // transaction better-sqlite3 uses a savepoint, so this changes nothing there.
  emit(type: unknown, payload: unknown, options: unknown, now: number): EmittedEvent {
    const event = prepare(type, payload, options, this.maxPayloadBytes, '');
    const { telemetry } = this;
    if (telemetry === null) return this.throughGate(() => this.insertOne.immediate(event, now, null));
    return this.throughGate(
      () => traced(telemetry, [event.type], (trace) => [this.insertOne.immediate(event, now, trace)])[0]!,
    );
  }

  emitMany(items: unknown, now: number): EmittedEvent[] {
    checkEventArray(items);
    const prepared = prepareMany(items, this.maxPayloadBytes);
    if (prepared.length === 0) return [];
    const { telemetry } = this;
    if (telemetry === null) return this.throughGate(() => this.insertMany.immediate(prepared, now, null));
    const types = prepared.map((event) => event.type);
    return this.throughGate(() =>
      traced(telemetry, types, (trace) => this.insertMany.immediate(prepared, now, trace)),
    );
  }

  /**
   * Runs `write` through the engine worker's write gate (see WriteGate), unless this connection is
   * in a transaction already: it may hold the write lock the worker waits for.
   */
  private throughGate<T>(write: () => T): T {
    return this.gate === null || this.store.db.inTransaction ? write() : this.gate.through(write);
  }

  /** Writes one event, and queues it for fan-out when it matched an endpoint. */
  private write(event: PreparedEvent, now: number, trace: string | null): EmittedEvent {
    if (event.idempotencyKey !== null) {
      const existing = this.store.outbox.findIdempotent(event.tenant, event.idempotencyKey);
      if (existing) return emittedAgain(existing);
    }
    let targets = this.cache.matching(event.type, event.tenant);
    if (event.endpointIds !== null) {
      const wanted = new Set(event.endpointIds);
      for (const id of wanted) {
        if (this.cache.get(id) === undefined && this.store.endpoints.get(id) === undefined)
          throw new NotFoundError('endpoint', id);
      }
      targets = targets.filter((endpoint) => wanted.has(endpoint.id));
    }
    const id = newEventId();
    this.store.outbox.insertEvent(newEventRow(id, event, now, targets.length, trace));
    // Hints, as the emit's own: the engine looks once this synchronous run is over, after the commit.
    // A few endpoints are named too, so that this sender's engine waits for their rows even when
    // another sender on the file fans the event out (its `drain()` then still covers them).
    if (targets.length > 0) this.engine.queued();
    if (targets.length <= HINTED_ENDPOINTS)
      for (const endpoint of targets) this.engine.scheduled(endpoint.id, now);
    return { id, type: event.type, createdAt: iso(now), deliveries: targets.length };
  }
}
