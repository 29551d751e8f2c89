import type { Database, Statement } from 'better-sqlite3';
import type { AttemptResult } from '../../engine/claims.js';
import type { NewEvent } from '../queries.js';
import type { FanoutSql } from './fanout-sql.js';
/** The hot path: inserting events, claiming due deliveries, recording attempts. */
export class OutboxSql {
  private readonly insertEventStmt: Statement;
  private readonly insertReplayStmt: Statement;
  private readonly findIdempotentStmt: Statement<
    [string, string],
    { seq: number; id: string; type: string; created_at: number; targets: number | null }
  >;
  private readonly countDeliveriesStmt: Statement<[number], { n: number }>;
  private readonly insertAttemptStmt: Statement;
  private readonly finishStmt: Statement;
  private readonly expireLeasesStmt: Statement;
  private readonly releaseStmt: Statement;
  private readonly leaseOwnersStmt: Statement<[], { owner: string }>;
  private readonly retryStmt: Statement;
  private readonly eventSeqStmt: Statement<[string], { seq: number }>;

  constructor(
    db: Database,
    p: string,
    private readonly fanout: FanoutSql,
  ) {
    this.insertEventStmt = db.prepare(
      `INSERT INTO ${p}events (id, type, tenant, idempotency_key, ordering_key, payload, created_at, targets,
         trace_context)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    // A replay is numbered after every earlier delivery of the event to the endpoint (the emit's is 0).
    this.insertReplayStmt = db.prepare(
      `INSERT INTO ${p}deliveries (event_seq, endpoint_id, ordering_key, status, next_attempt_at, created_at,
         updated_at, replay)
       VALUES (@seq, @endpoint, @key, 'pending', @now, @now, @now,
         (SELECT ifnull(max(replay), 0) + 1 FROM ${p}deliveries WHERE event_seq = @seq AND endpoint_id = @endpoint))`,
    );
    this.findIdempotentStmt = db.prepare(
      `SELECT seq, id, type, created_at, targets FROM ${p}events WHERE ifnull(tenant, '') = ? AND idempotency_key = ?`,
    );
    this.countDeliveriesStmt = db.prepare(
      `SELECT count(*) AS n FROM ${p}deliveries WHERE event_seq = ? AND replay = 0`,
    );
    this.insertAttemptStmt = db.prepare(
      `INSERT INTO ${p}attempts (delivery_seq, number, started_at, duration_ms, status_code, response_headers,
         response_body, error_code, error_message)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    // The owner check keeps a process whose lease was taken over from overwriting the new holder's state.
    this.finishStmt = db.prepare(
      `UPDATE ${p}deliveries SET status = ?, attempt_count = ?, next_attempt_at = ?,
         lease_until = NULL, lease_owner = NULL, last_status_code = ?, last_error = ?, updated_at = ?
       WHERE seq = ? AND status = 'sending' AND lease_owner = ?`,
    );
    this.expireLeasesStmt = db.prepare(
      `UPDATE ${p}deliveries SET status = 'pending', lease_until = NULL, lease_owner = NULL, updated_at = ?
       WHERE status = 'sending' AND lease_until <= ?`,
    );
    this.releaseStmt = db.prepare(
      `UPDATE ${p}deliveries SET status = 'pending', lease_until = NULL, lease_owner = NULL, updated_at = ?
       WHERE status = 'sending' AND lease_owner = ?`,
    );
    this.leaseOwnersStmt = db.prepare(
      `SELECT DISTINCT lease_owner AS owner FROM ${p}deliveries WHERE status = 'sending' AND lease_owner IS NOT NULL`,
    );
    this.retryStmt = db.prepare(
      `UPDATE ${p}deliveries SET status = 'pending', next_attempt_at = ?, updated_at = ?,
         series_start = CASE WHEN status = 'failed' THEN attempt_count ELSE series_start END
       WHERE seq = ? AND status IN ('pending', 'failed')`,
    );
    this.eventSeqStmt = db.prepare(`SELECT seq FROM ${p}events WHERE id = ?`);
  }

  /**
   * Inserts an event and, when it matched endpoints, queues it for fan-out: two rows whatever the
   * number of endpoints. Call inside a transaction.
   */
  insertEvent(event: NewEvent): void {
    const { lastInsertRowid } = this.insertEventStmt.run(
      event.id,
      event.type,
      event.tenant,
      event.idempotencyKey,
      event.orderingKey,
      event.payload,
      event.createdAt,
      event.targets,
      event.traceContext,
    );
    if (event.targets > 0) this.fanout.queue(Number(lastInsertRowid), event.targets, event.endpointIds);
  }

  /** New deliveries of a stored event (a replay). Call inside a transaction. */
  insertReplays(
    eventSeq: number,
    endpointIds: readonly string[],
    orderingKey: string | null,
    now: number,
  ): void {
    for (const endpoint of endpointIds)
      this.insertReplayStmt.run({ seq: eventSeq, endpoint, key: orderingKey, now });
  }

  findIdempotent(
    tenant: string | null,
    key: string,
  ): { seq: number; id: string; type: string; createdAt: number; deliveries: number } | undefined {
    const row = this.findIdempotentStmt.get(tenant ?? '', key);
    if (row === undefined) return undefined;
    // Events emitted before fan-out was queued have no count: theirs are the deliveries made at emit.
    const n = row.targets ?? this.countDeliveriesStmt.get(row.seq)!.n;
    return { seq: row.seq, id: row.id, type: row.type, createdAt: row.created_at, deliveries: n };
  }

  eventSeq(id: string): number | undefined {
    return this.eventSeqStmt.get(id)?.seq;
  }

  /** Writes a batch of attempt results. Call inside a transaction. */
  record(results: readonly AttemptResult[], owner: string): void {
    // Positional values: no parameter object per row on the hot path.
    for (const r of results) {
      if (r.logged) {
        this.insertAttemptStmt.run(
          r.seq,
          r.number,
          r.startedAt,
          r.durationMs,
          r.statusCode,
          r.responseHeaders,
          r.responseBody,
          r.errorCode,
          r.errorMessage,
        );
      }
      this.finishStmt.run(
        r.status,
        r.number,
        r.nextAttemptAt,
        r.statusCode,
        r.lastError,
        r.updatedAt,
        r.seq,
        owner,
      );
    }
  }

  /** Returns deliveries whose lease ran out (their holder died) to pending. */
  expireLeases(now: number): number {
    return this.expireLeasesStmt.run(now, now).changes;
  }

  /** Every owner holding a lease now. */
  leaseOwners(): string[] {
    return this.leaseOwnersStmt.all().map((row) => row.owner);
  }

  /** Returns this owner's claimed deliveries to pending, due when they were. */
  release(owner: string, now: number): number {
    return this.releaseStmt.run(now, owner).changes;
  }

  retry(seq: number, now: number): boolean {
    return this.retryStmt.run(now, now, seq).changes > 0;
  }
}
