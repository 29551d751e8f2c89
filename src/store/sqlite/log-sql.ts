import type { Database, Statement } from 'better-sqlite3';
import type { AttemptFeedRow, AttemptRow, DeliveryRow, EventRow } from '../../shared/rows.js';
import type { DeliveryStatus } from '../../shared/types.js';
import type { AttemptFeedFilter, DeliveryFilter, EventFilter } from '../queries.js';

/** An attempt with the ids of its delivery, from `attempts a` joined to `deliveries d` and `events e`. */
const FEED_FROM = (p: string) => `SELECT a.*, e.id AS event_id, e.type AS event_type, e.tenant, d.endpoint_id
  FROM ${p}attempts a JOIN ${p}deliveries d ON d.seq = a.delivery_seq JOIN ${p}events e ON e.seq = d.event_seq`;

const DELIVERY_COLUMNS = `d.seq, e.id AS event_id, e.type AS event_type, e.tenant, d.endpoint_id, d.status,
  d.attempt_count, d.next_attempt_at, d.last_status_code, d.last_error, d.created_at, d.updated_at`;

/** Reads over the log: events, deliveries, attempts, counts. Filters build from a fixed set of bound conditions. */
export class LogSql {
  private readonly cache = new Map<string, Statement>();
  private readonly getEventStmt: Statement<[string], EventRow>;
  private readonly getDeliveryStmt: Statement<[number], DeliveryRow>;
  private readonly attemptsStmt: Statement<[number], AttemptRow>;
  private readonly countStmts: Record<DeliveryStatus, Statement<[], { n: number }>>;
  private readonly oldestDueStmt: Statement<[], { t: number | null }>;

  constructor(
    private readonly db: Database,
    private readonly p: string,
  ) {
    this.getEventStmt = db.prepare(`SELECT * FROM ${p}events WHERE id = ?`);
    this.getDeliveryStmt = db.prepare(
      `SELECT ${DELIVERY_COLUMNS} FROM ${p}deliveries d JOIN ${p}events e ON e.seq = d.event_seq WHERE d.seq = ?`,
    );
    this.attemptsStmt = db.prepare(`SELECT * FROM ${p}attempts WHERE delivery_seq = ? ORDER BY number, seq`);
    // Literal statuses, so that each count can use its partial index.
    const count = (status: DeliveryStatus) =>
      db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM ${p}deliveries WHERE status = '${status}'`);
    this.countStmts = {
      pending: count('pending'),
      sending: count('sending'),
      succeeded: count('succeeded'),
      failed: count('failed'),
    };
    // Per endpoint, through the due index: a global min() would scan every pending row.
    const due = (kind: 0 | 1) =>
      `(SELECT min(next_attempt_at) FROM ${p}deliveries d
        WHERE d.endpoint_id = e.id AND d.status = 'pending' AND min(d.attempt_count, 1) = ${kind})`;
    this.oldestDueStmt = db.prepare(
      `SELECT min(min(ifnull(${due(0)}, 9e15), ifnull(${due(1)}, 9e15))) AS t FROM ${p}endpoints e`,
    );
  }

  private prepared(sql: string): Statement {
    let stmt = this.cache.get(sql);
    if (stmt === undefined) {
      stmt = this.db.prepare(sql);
      this.cache.set(sql, stmt);
    }
    return stmt;
  }

  getEvent(id: string): EventRow | undefined {
    return this.getEventStmt.get(id);
  }

  listEvents(filter: EventFilter): EventRow[] {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (condition: string, value: unknown) => {
      where.push(condition);
      params.push(value);
    };
    if (filter.type !== undefined) add('type = ?', filter.type);
    if (filter.tenant !== undefined) add('tenant = ?', filter.tenant);
    if (filter.since !== undefined) add('created_at >= ?', filter.since);
    if (filter.until !== undefined) add('created_at < ?', filter.until);
    if (filter.before !== undefined) add('seq < ?', filter.before);
    const sql = `SELECT * FROM ${this.p}events ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY seq DESC LIMIT CAST(? AS INTEGER)`;
    return this.prepared(sql).all(...params, filter.limit) as EventRow[];
  }

  getDelivery(seq: number): DeliveryRow | undefined {
    return this.getDeliveryStmt.get(seq);
  }

  listDeliveries(filter: DeliveryFilter): DeliveryRow[] {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (condition: string, value: unknown) => {
      where.push(condition);
      params.push(value);
    };
    if (filter.status !== undefined) add('d.status = ?', filter.status);
    if (filter.endpointId !== undefined) add('d.endpoint_id = ?', filter.endpointId);
    if (filter.eventId !== undefined)
      add(`d.event_seq = (SELECT seq FROM ${this.p}events WHERE id = ?)`, filter.eventId);
    if (filter.eventType !== undefined) add('e.type = ?', filter.eventType);
    if (filter.tenant !== undefined) add('e.tenant = ?', filter.tenant);
    if (filter.since !== undefined) add('d.created_at >= ?', filter.since);
    if (filter.until !== undefined) add('d.created_at < ?', filter.until);
    if (filter.before !== undefined) add('d.seq < ?', filter.before);
    const sql = `SELECT ${DELIVERY_COLUMNS} FROM ${this.p}deliveries d JOIN ${this.p}events e ON e.seq = d.event_seq
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY d.seq DESC LIMIT CAST(? AS INTEGER)`;
    return this.prepared(sql).all(...params, filter.limit) as DeliveryRow[];
  }

  attempts(deliverySeq: number): AttemptRow[] {
    return this.attemptsStmt.all(deliverySeq);
  }

  /** Attempts after `after` oldest first, or the latest `limit` (still oldest first), through the primary key. */
  attemptFeed(filter: AttemptFeedFilter): AttemptFeedRow[] {
    if (filter.after !== undefined) {
      return this.prepared(
        `${FEED_FROM(this.p)} WHERE a.seq > ? ORDER BY a.seq LIMIT CAST(? AS INTEGER)`,
      ).all(filter.after, filter.limit) as AttemptFeedRow[];
    }
    const latest = this.prepared(`${FEED_FROM(this.p)} ORDER BY a.seq DESC LIMIT CAST(? AS INTEGER)`).all(
      filter.limit,
    ) as AttemptFeedRow[];
    return latest.reverse();
  }

  countByStatus(status: DeliveryStatus): number {
    return this.countStmts[status].get()!.n;
  }

  earliestPendingDueAt(): number | null {
    const t = this.oldestDueStmt.get()!.t;
    return t === null || t >= 9e15 ? null : t;
  }
}
