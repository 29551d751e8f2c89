import type pg from 'pg';
import type { FailedFilter } from '../queries.js';
import { run } from './db.js';
/** Bulk changes, one bounded batch per call, so a caller can yield between batches. */
export class PgBulkSql {
  constructor(
    private readonly pool: pg.Pool,
    private readonly s: string,
  ) {}

  /**
   * Puts back up to `limit` failed deliveries matching `filter` with a seq
   * above `after`, oldest first, due now and with a fresh retry schedule.
   * Returns the last seq looked at (`null`: no more) and how many went back.
   */
  async requeueFailed(
    filter: FailedFilter,
    after: number,
    limit: number,
    now: number,
  ): Promise<{ last: number | null; count: number }> {
    const where = [`d.status = 'failed'`, 'd.seq > $1'];
    const params: unknown[] = [after, now];
    const add = (condition: (n: string) => string, value: unknown) => {
      params.push(value);
      where.push(condition(`$${params.length}`));
    };
    if (filter.endpointId !== undefined) add((n) => `d.endpoint_id = ${n}`, filter.endpointId);
    if (filter.eventType !== undefined)
      add((n) => `d.event_seq IN (SELECT seq FROM ${this.s}.events WHERE type = ${n})`, filter.eventType);
    if (filter.since !== undefined) add((n) => `d.created_at >= ${n}`, filter.since);
    if (filter.until !== undefined) add((n) => `d.created_at < ${n}`, filter.until);
    params.push(limit);
    const sql = `WITH picked AS (
        SELECT d.seq FROM ${this.s}.deliveries d WHERE ${where.join(' AND ')} ORDER BY d.seq LIMIT $${params.length}
        FOR UPDATE SKIP LOCKED),
      changed AS (
        UPDATE ${this.s}.deliveries SET status = 'pending', next_attempt_at = $2, updated_at = $2,
          series_start = attempt_count
        WHERE seq IN (SELECT seq FROM picked) AND status = 'failed' RETURNING 1)
      SELECT (SELECT max(seq) FROM picked) AS last, (SELECT count(*) FROM changed) AS count`;
    const row = (await run<{ last: number | null; count: number }>(this.pool, sql, params))[0]!;
    return { last: row.last, count: row.count };
  }
}
