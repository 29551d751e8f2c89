import type { Transaction } from 'better-sqlite3';
import type { EngineControl } from '../../engine/control.js';
import { iso } from '../../shared/clock.js';
import { NotFoundError } from '../../shared/errors/input.js';
import { newEventId } from '../../shared/ids.js';
import type { EmittedEvent } from '../../shared/types.js';
import type { WriteGate } from '../../shared/write-gate.js';
import type { EndpointCache } from '../../store/sqlite/endpoint-cache.js';
import type { SqliteStore } from '../../store/sqlite/store.js';
import type { Telemetry } from '../../telemetry/telemetry.js';
import {
  checkEventArray,
  emittedAgain,
  INLINE_FANOUT,
  newEventRow,
  type PreparedEvent,
  prepare,
  prepareMany,
} from '../emit-input.js';
import { traced } from '../traced-emit.js';
/** Validates, serializes and writes events: the synchronous half of the sender. */
export class Emitter {
  private readonly insertOne: Transaction<
    (event: PreparedEvent, now: number, trace: string | null) => EmittedEvent
  >;
  private readonly insertMany: Transaction<
    (events: PreparedEvent[], now: number, trace: string | null) => EmittedEvent[]
  >;

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
    this.insertOne = db.transaction((event, now, trace) => {
      this.cache.refresh();
      return this.write(event, now, INLINE_FANOUT, trace);
    });
    // A batch queues every event: one row each, at the speed of a bare insert.
    this.insertMany = db.transaction((events, now, trace) => {
      this.cache.refresh();
      return events.map((event) => this.write(event, now, 0, trace));
    });
  }

  // IMMEDIATE: the transaction reads (endpoints version, idempotency key) before
  // it writes, and SQLite refuses to upgrade a read transaction to a write one
  // while another process writes (SQLITE_BUSY at once, busy_timeout not
  // consulted). Taking the write lock first waits instead. Inside the app's
  // transaction better-sqlite3 uses a savepoint, so this changes nothing there.
  emit(type: unknown, payload: unknown, options: unknown, now: number): EmittedEvent {
    const event = prepare(type, payload, options, this.maxPayloadBytes, '');
    this.waitForWorker();
    if (this.telemetry === null) return this.insertOne.immediate(event, now, null);
    return traced(this.telemetry, [event.type], (trace) => [this.insertOne.immediate(event, now, trace)])[0]!;
  }

  emitMany(items: unknown, now: number): EmittedEvent[] {
    checkEventArray(items);
    const prepared = prepareMany(items, this.maxPayloadBytes);
    if (prepared.length === 0) return [];
    this.waitForWorker();
    if (this.telemetry === null) return this.insertMany.immediate(prepared, now, null);
    const types = prepared.map((event) => event.type);
    return traced(this.telemetry, types, (trace) => this.insertMany.immediate(prepared, now, trace));
  }

  /**
   * Waits while the engine's worker writes, unless this connection is in a transaction
   * already: it may hold the write lock the worker waits for.
   */
  private waitForWorker(): void {
    if (this.gate !== null && !this.store.db.inTransaction) this.gate.pass();
  }

  /** Writes one event, with its deliveries when they are `inlineUpTo` or fewer and nothing older waits. */
  private write(event: PreparedEvent, now: number, inlineUpTo: number, trace: string | null): EmittedEvent {
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
    const ids = targets.map((endpoint) => endpoint.id);
    // A few deliveries are written now, unless older events still wait for fan-out (they must get
    // theirs first); more are the engine's to create (FanoutSql), so the emit costs the same for any number.
    const inline = ids.length > 0 && ids.length <= inlineUpTo && !this.store.fanout.waiting();
    this.store.outbox.insertEvent(newEventRow(id, event, now, ids.length, trace), inline ? ids : null);
    // Hints, as the emit's own: the engine looks once this synchronous run is over, after the commit.
    if (inline) for (const endpointId of ids) this.engine.scheduled(endpointId, now);
    else if (ids.length > 0) this.engine.queued();
    return { id, type: event.type, createdAt: iso(now), deliveries: targets.length };
  }
}
