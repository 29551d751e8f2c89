import type pg from 'pg';
import type { RetentionCutoffs } from '../queries.js';
import { change, run, transaction } from './db.js';

function statements(s: string) {
  return {
    sweepDeliveries: `WITH doomed AS (
        SELECT seq FROM ${s}.deliveries
        WHERE (status = 'succeeded' AND updated_at < $1) OR (status = 'failed' AND updated_at < $2)
        ORDER BY seq LIMIT $3 FOR UPDATE SKIP LOCKED),
      a AS (DELETE FROM ${s}.attempts WHERE delivery_seq IN (SELECT seq FROM doomed))
      DELETE FROM ${s}.deliveries WHERE seq IN (SELECT seq FROM doomed) RETURNING seq, event_seq`,
    deleteOrphanEvents: `DELETE FROM ${s}.events e WHERE e.seq = ANY($1::bigint[])
      AND NOT EXISTS (SELECT 1 FROM ${s}.deliveries d WHERE d.event_seq = e.seq)
      AND NOT EXISTS (SELECT 1 FROM ${s}.fanout f WHERE f.event_seq = e.seq)`,
    sweepEmptyEvents: `DELETE FROM ${s}.events WHERE seq IN (
        SELECT e.seq FROM ${s}.events e WHERE e.created_at < $1
          AND NOT EXISTS (SELECT 1 FROM ${s}.deliveries d WHERE d.event_seq = e.seq)
          AND NOT EXISTS (SELECT 1 FROM ${s}.fanout f WHERE f.event_seq = e.seq)
        ORDER BY e.seq LIMIT $2)`,
  };
}

/**
 * Deleting old history in small batches, oldest first. Pending and in-flight
 * deliveries are never deleted; an event goes with its last delivery, never
 * while it waits for fan-out.
 */
export class PgRetentionSql {
  private readonly sql: ReturnType<typeof statements>;

  constructor(
    private readonly pool: pg.Pool,
    s: string,
  ) {
    this.sql = statements(s);
  }

  /** One batch of finished deliveries past their cutoff, with their attempts and events left without any. */
  async sweep(cutoffs: RetentionCutoffs, limit: number): Promise<{ deliveries: number; events: number }> {
    return transaction(this.pool, async (client) => {
      const gone = await run<{ seq: number; event_seq: number }>(client, this.sql.sweepDeliveries, [
        cutoffs.succeeded,
        cutoffs.failed,
        limit,
      ]);
      if (gone.length === 0) return { deliveries: 0, events: 0 };
      const events = await change(client, this.sql.deleteOrphanEvents, [
        [...new Set(gone.map((row) => row.event_seq))],
      ]);
      return { deliveries: gone.length, events };
    });
  }

  /** One batch of events created before `cutoff` that never had a delivery. */
  sweepEmptyEvents(cutoff: number, limit: number): Promise<number> {
    return change(this.pool, this.sql.sweepEmptyEvents, [cutoff, limit]);
  }
}
