import type pg from 'pg';
import type { AttemptFeedRow, AttemptRow, DeliveryRow, EventRow } from '../../shared/rows.js';
import type { DeliveryStatus } from '../../shared/types.js';
import type { AttemptFeedFilter, DeliveryFilter, EventFilter } from '../queries.js';
import { run } from './db.js';
/** A delivery as `DeliveryRow`, from `deliveries d` joined to `events e`. */
export const DELIVERY_COLUMNS = `d.seq, e.id AS event_id, e.type AS event_type, e.tenant, d.endpoint_id, d.status,
  d.attempt_count, d.next_attempt_at, d.last_status_code, d.last_error, d.created_at, d.updated_at`;

function statements(s: string) {
  return {
    getEvent: `SELECT * FROM ${s}.events WHERE id = $1`,
    getDelivery: `SELECT ${DELIVERY_COLUMNS} FROM ${s}.deliveries d JOIN ${s}.events e ON e.seq = d.event_seq
      WHERE d.seq = $1`,
    attempts: `SELECT * FROM ${s}.attempts WHERE delivery_seq = $1 ORDER BY number, seq`,
    feed: `SELECT a.*, e.id AS event_id, e.type AS event_type, e.tenant, d.endpoint_id
      FROM ${s}.attempts a JOIN ${s}.deliveries d ON d.seq = a.delivery_seq JOIN ${s}.events e ON e.seq = d.event_seq`,
    counts: `SELECT status, count(*) AS n FROM ${s}.deliveries GROUP BY status`,
    countPending: `SELECT count(*) AS n FROM ${s}.deliveries WHERE status = 'pending'`,
    oldestDue: `SELECT min(least(
        (SELECT min(next_attempt_at) FROM ${s}.deliveries d
          WHERE d.endpoint_id = e.id AND d.status = 'pending' AND least(d.attempt_count, 1) = 0),
        (SELECT min(next_attempt_at) FROM ${s}.deliveries d
          WHERE d.endpoint_id = e.id AND d.status = 'pending' AND least(d.attempt_count, 1) = 1))) AS t
      FROM ${s}.endpoints e`,
  };
}

/** Collects bound conditions: each value becomes the next `$n`. */
function conditions() {
  const where: string[] = [];
  const params: unknown[] = [];
  return {
    params,
    add(condition: (n: string) => string, value: unknown) {
      params.push(value);
      where.push(condition(`$${params.length}`));
    },
    clause: () => (where.length ? `WHERE ${where.join(' AND ')}` : ''),
  };
}

/** Reads over the log: events, deliveries, attempts, counts. Filters build from a fixed set of bound conditions. */
export class PgLogSql {
  private readonly sql: ReturnType<typeof statements>;

  constructor(
    private readonly pool: pg.Pool,
    private readonly s: string,
  ) {
    this.sql = statements(s);
  }

  async getEvent(id: string): Promise<EventRow | undefined> {
    return (await run<EventRow>(this.pool, this.sql.getEvent, [id]))[0];
  }

  /** Events matching `filter`, newest first. */
  listEvents(filter: EventFilter): Promise<EventRow[]> {
    const c = conditions();
    if (filter.type !== undefined) c.add((n) => `type = ${n}`, filter.type);
    if (filter.tenant !== undefined) c.add((n) => `tenant = ${n}`, filter.tenant);
    if (filter.since !== undefined) c.add((n) => `created_at >= ${n}`, filter.since);
    if (filter.until !== undefined) c.add((n) => `created_at < ${n}`, filter.until);
    if (filter.before !== undefined) c.add((n) => `seq < ${n}`, filter.before);
    const where = c.clause();
    c.params.push(filter.limit);
    const sql = `SELECT * FROM ${this.s}.events ${where}
      ORDER BY seq DESC LIMIT $${c.params.length}`;
    return run<EventRow>(this.pool, sql, c.params);
  }

  async getDelivery(seq: number): Promise<DeliveryRow | undefined> {
    return (await run<DeliveryRow>(this.pool, this.sql.getDelivery, [seq]))[0];
  }

  /** Deliveries matching `filter`, newest first. */
  listDeliveries(filter: DeliveryFilter): Promise<DeliveryRow[]> {
    const c = conditions();
    if (filter.status !== undefined) c.add((n) => `d.status = ${n}`, filter.status);
    if (filter.endpointId !== undefined) c.add((n) => `d.endpoint_id = ${n}`, filter.endpointId);
    if (filter.eventId !== undefined) c.add((n) => `e.id = ${n}`, filter.eventId);
    if (filter.eventType !== undefined) c.add((n) => `e.type = ${n}`, filter.eventType);
    if (filter.tenant !== undefined) c.add((n) => `e.tenant = ${n}`, filter.tenant);
    if (filter.since !== undefined) c.add((n) => `d.created_at >= ${n}`, filter.since);
    if (filter.until !== undefined) c.add((n) => `d.created_at < ${n}`, filter.until);
    if (filter.before !== undefined) c.add((n) => `d.seq < ${n}`, filter.before);
    const where = c.clause();
    c.params.push(filter.limit);
    const sql = `SELECT ${DELIVERY_COLUMNS} FROM ${this.s}.deliveries d JOIN ${this.s}.events e ON e.seq = d.event_seq
      ${where} ORDER BY d.seq DESC LIMIT $${c.params.length}`;
    return run<DeliveryRow>(this.pool, sql, c.params);
  }

  attempts(deliverySeq: number): Promise<AttemptRow[]> {
    return run<AttemptRow>(this.pool, this.sql.attempts, [deliverySeq]);
  }

  /** Attempts after `after` oldest first, or the latest `limit` (still oldest first). */
  async attemptFeed(filter: AttemptFeedFilter): Promise<AttemptFeedRow[]> {
    if (filter.after !== undefined) {
      return run<AttemptFeedRow>(this.pool, `${this.sql.feed} WHERE a.seq > $1 ORDER BY a.seq LIMIT $2`, [
        filter.after,
        filter.limit,
      ]);
    }
    const rows = await run<AttemptFeedRow>(this.pool, `${this.sql.feed} ORDER BY a.seq DESC LIMIT $1`, [
      filter.limit,
    ]);
    return rows.reverse();
  }

  /** The pending deliveries, counted on the due index. */
  async countPending(): Promise<number> {
    return (await run<{ n: number }>(this.pool, this.sql.countPending))[0]?.n ?? 0;
  }

  async counts(): Promise<Record<DeliveryStatus, number>> {
    const rows = await run<{ status: DeliveryStatus; n: number }>(this.pool, this.sql.counts);
    const counts = { pending: 0, sending: 0, succeeded: 0, failed: 0 };
    for (const row of rows) counts[row.status] = row.n;
    return counts;
  }

  /** When the most overdue pending delivery was due (`null`: none pending). */
  async earliestPendingDueAt(): Promise<number | null> {
    return (await run<{ t: number | null }>(this.pool, this.sql.oldestDue))[0]?.t ?? null;
  }
}
