import type { Database, Statement } from 'better-sqlite3';
import type { FailedFilter } from '../queries.js';
/** Bulk changes, one bounded batch per call, so a caller can yield between batches. */
export class BulkSql {
  private readonly cache = new Map<string, Statement>();
  private readonly requeueStmt: Statement<[number, number, string]>;

  constructor(
    private readonly db: Database,
    private readonly p: string,
  ) {
    this.requeueStmt = db.prepare(
      `UPDATE ${p}deliveries SET status = 'pending', next_attempt_at = ?, updated_at = ?, series_start = attempt_count
       WHERE seq IN (SELECT value FROM json_each(?)) AND status = 'failed'`,
    );
  }

  /**
   * Puts back up to `limit` failed deliveries matching `filter` with a seq
   * above `after`, oldest first, due now and with a fresh retry schedule.
   * Returns the last seq looked at (`null`: no more) and how many went back.
   */
  requeueFailed(
    filter: FailedFilter,
    after: number,
    limit: number,
    now: number,
  ): { last: number | null; count: number } {
    const where = [`d.status = 'failed'`, 'd.seq > ?'];
    const params: unknown[] = [after];
    if (filter.endpointId !== undefined) {
      where.push('d.endpoint_id = ?');
      params.push(filter.endpointId);
    }
    if (filter.eventType !== undefined) {
      where.push(`d.event_seq IN (SELECT seq FROM ${this.p}events WHERE type = ?)`);
      params.push(filter.eventType);
    }
    if (filter.since !== undefined) {
      where.push('d.created_at >= ?');
      params.push(filter.since);
    }
    if (filter.until !== undefined) {
      where.push('d.created_at < ?');
      params.push(filter.until);
    }
    const sql = `SELECT d.seq FROM ${this.p}deliveries d WHERE ${where.join(' AND ')} ORDER BY d.seq LIMIT CAST(? AS INTEGER)`;
    let stmt = this.cache.get(sql);
    if (stmt === undefined) {
      stmt = this.db.prepare(sql);
      this.cache.set(sql, stmt);
    }
    const seqs = (stmt.all(...params, limit) as { seq: number }[]).map((row) => row.seq);
    if (seqs.length === 0) return { last: null, count: 0 };
    const count = this.db
      .transaction(() => this.requeueStmt.run(now, now, JSON.stringify(seqs)).changes)
      .immediate();
    return { last: seqs[seqs.length - 1]!, count };
  }
}
