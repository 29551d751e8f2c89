import type pg from 'pg';
import type { Clock } from '../../shared/clock.js';
import { iso } from '../../shared/clock.js';
import { InvalidArgumentError, NotFoundError } from '../../shared/errors/input.js';
import { newEventId } from '../../shared/ids.js';
import type { EmittedEvent } from '../../shared/types.js';
import { describe, isPlainObject, unknownKey } from '../../shared/validate.js';
import { type Queryable, transaction } from '../../store/postgres/db.js';
import type { PgEndpointCache } from '../../store/postgres/endpoint-cache.js';
import type { PgStore } from '../../store/postgres/store.js';
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
import { tracedAsync } from '../traced-emit.js';
import { takeClient } from './options.js';
export interface PgEmitterContext {
  pool: pg.Pool;
  store: PgStore;
  cache: PgEndpointCache;
  clock: Clock;
  maxPayloadBytes: number;
  /** Refuses after close, waits for the migrations, and turns driver errors into `StoreError`. */
  call<T>(method: string, fn: () => Promise<T>): Promise<T>;
  /** The endpoint has a row due at `at`: the engine looks now. */
  scheduled(endpointId: string, at: number): void;
  /** Events wait for fan-out: the engine looks now. */
  queued(): void;
  /** OpenTelemetry, when the application records: a producer span per emit. */
  telemetry: Telemetry | null;
}

const EMIT_MANY_KEYS = new Set(['client']);

/**
 * `emit` and `emitMany` on PostgreSQL: validated as on SQLite, written through
 * the application's client when it passes one, else through the pool.
 */
export class PgEmitter {
  /** The events this emitter queued for fan-out (an inline emit's deliveries need no fan-out pass). */
  private readonly queuedEvents = new WeakSet<EmittedEvent>();

  constructor(private readonly ctx: PgEmitterContext) {}

  /**
   * Creates the deliveries of every event still queued for fan-out, waiting for a pass another
   * sender has in progress: what a read of the delivery log calls first, so that it shows every
   * delivery of every emit made before it (as `Emitter.settle` on SQLite). Usually one query
   * finds nothing queued.
   */
  async settle(): Promise<void> {
    const { store, cache, clock } = this.ctx;
    for (let more = true; more; ) {
      const now = clock.now();
      const expansion = await store.fanout.expand(cache, now, true);
      for (const endpointId of expansion.endpoints) this.ctx.scheduled(endpointId, now);
      more = expansion.more;
    }
  }

  emit(type: unknown, payload: unknown, options: unknown): Promise<EmittedEvent> {
    const { client, rest } = takeClient(options, '');
    const prepared = prepare(type, payload, rest, this.ctx.maxPayloadBytes, '');
    return this.ctx.call('emit', async () => {
      const now = this.ctx.clock.now();
      const db = client ?? this.ctx.pool;
      const one = async (trace: string | null) => [await this.write(db, prepared, now, INLINE_FANOUT, trace)];
      const { telemetry } = this.ctx;
      const [emitted] =
        telemetry === null ? await one(null) : await tracedAsync(telemetry, [prepared.type], one);
      this.schedule([emitted!]);
      return emitted!;
    });
  }

  emitMany(events: unknown, options: unknown): Promise<EmittedEvent[]> {
    checkEventArray(events);
    if (
      options !== undefined &&
      (!isPlainObject(options) || unknownKey(options, EMIT_MANY_KEYS) !== undefined)
    ) {
      throw new InvalidArgumentError('options', `Expected \`{ client? }\`, got ${describe(options)}`);
    }
    const { client } = takeClient(options, '');
    const prepared = prepareMany(events, this.ctx.maxPayloadBytes);
    if (prepared.length === 0) return Promise.resolve([]);
    return this.ctx.call('emitMany', async () => {
      const now = this.ctx.clock.now();
      const all = async (trace: string | null) => {
        const writeAll = async (db: Queryable) => {
          const out: EmittedEvent[] = [];
          // A batch queues every event, as on SQLite.
          for (const event of prepared) out.push(await this.write(db, event, now, 0, trace));
          return out;
        };
        return client === undefined ? await transaction(this.ctx.pool, writeAll) : await writeAll(client);
      };
      const { telemetry } = this.ctx;
      const types = prepared.map((event) => event.type);
      const out = telemetry === null ? await all(null) : await tracedAsync(telemetry, types, all);
      // After the commit of its own transaction: a fan-out before it would find nothing.
      this.schedule(out);
      return out;
    });
  }

  /**
   * Tells the engine events wait for fan-out. Inside the application's transaction they are not
   * visible yet: the engine then finds nothing, and the NOTIFY at commit wakes it again.
   */
  private schedule(emitted: readonly EmittedEvent[]): void {
    if (emitted.some((event) => this.queuedEvents.has(event))) this.ctx.queued();
  }

  /** Writes one event: with its deliveries when they are `inlineUpTo` or fewer (and nothing older waits), else queued for fan-out. */
  private async write(
    db: Queryable,
    event: PreparedEvent,
    now: number,
    inlineUpTo: number,
    trace: string | null,
  ): Promise<EmittedEvent> {
    const { cache, store } = this.ctx;
    await cache.refresh();
    let targets = cache.matching(event.type, event.tenant);
    if (event.endpointIds !== null) {
      const wanted = new Set(event.endpointIds);
      for (const id of wanted) {
        if (cache.get(id) === undefined && (await store.endpoints.get(id)) === undefined)
          throw new NotFoundError('endpoint', id);
      }
      targets = targets.filter((endpoint) => wanted.has(endpoint.id));
    }
    const id = newEventId();
    // A few deliveries are written now; more are the engine's to create (PgFanoutSql), so the emit
    // costs the same for any number.
    const ids = targets.map((endpoint) => endpoint.id);
    const row = newEventRow(id, event, now, ids.length, trace);
    const inline = ids.length > 0 && ids.length <= inlineUpTo;
    const seq = await store.outbox.insertEvent(db, row, inline ? ids : null);
    if (seq === null) {
      // An event with this idempotency key exists: return it, store nothing.
      const existing = (await store.outbox.findIdempotent(db, event.tenant, event.idempotencyKey!))!;
      return emittedAgain(existing);
    }
    for (const endpointId of inline ? ids : []) this.ctx.scheduled(endpointId, now);
    const emitted = { id, type: event.type, createdAt: iso(now), deliveries: ids.length };
    if (!inline && ids.length > 0) this.queuedEvents.add(emitted);
    return emitted;
  }
}
