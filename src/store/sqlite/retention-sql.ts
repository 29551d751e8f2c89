import type { Database, Statement } from 'better-sqlite3';
import type { RetentionCutoffs } from '../queries.js';

interface ScanRow {
  seq: number;
  event_seq: number;
  status: string;
  created_at: number;
  updated_at: number;
}

/**
 * Deleting old history in small batches, oldest first. Pending and in-flight
 * deliveries are never deleted; an event goes with its last delivery, never
 * while it waits for fan-out: no event from the oldest one waiting on (they are queued in seq order,
 * so this needs no index on the queue).
 */
export class RetentionSql {
  private readonly scanStmt: Statement<[number, number], ScanRow>;
  private readonly deleteAttemptsStmt: Statement<[string]>;
  private readonly deleteDeliveriesStmt: Statement<[string]>;
  private readonly deleteOrphanEventsStmt: Statement<[string]>;
  private readonly oldEventsStmt: Statement<[number, number, number], { seq: number }>;

  constructor(
    private readonly db: Database,
    p: string,
  ) {
    this.scanStmt = db.prepare(
      `SELECT seq, event_seq, status, created_at, updated_at FROM ${p}deliveries WHERE seq > ? ORDER BY seq LIMIT CAST(? AS INTEGER)`,
    );
    this.deleteAttemptsStmt = db.prepare(
      `DELETE FROM ${p}attempts WHERE delivery_seq IN (SELECT value FROM json_each(?))`,
    );
    this.deleteDeliveriesStmt = db.prepare(
      `DELETE FROM ${p}deliveries WHERE seq IN (SELECT value FROM json_each(?))`,
    );
    this.deleteOrphanEventsStmt = db.prepare(
      `DELETE FROM ${p}events WHERE seq IN (SELECT value FROM json_each(?))
         AND NOT EXISTS (SELECT 1 FROM ${p}deliveries d WHERE d.event_seq = ${p}events.seq)
         AND seq < ifnull((SELECT event_seq FROM ${p}fanout WHERE done = 0 ORDER BY ticket LIMIT 1), 9e18)`,
    );
    this.oldEventsStmt = db.prepare(
      `SELECT seq FROM ${p}events WHERE seq > ? AND created_at < ? ORDER BY seq LIMIT CAST(? AS INTEGER)`,
    );
  }

  /**
   * One batch: looks at up to `limit` deliveries after `after` and deletes
   * those past their cutoff. `done` once it reaches rows too young to delete.
   */
  sweepDeliveries(
    cutoffs: RetentionCutoffs,
    after: number,
    limit: number,
  ): { last: number; deliveries: number; events: number; done: boolean } {
    return this.db
      .transaction(() => {
        const rows = this.scanStmt.all(after, limit);
        const oldest = Math.max(cutoffs.succeeded ?? 0, cutoffs.failed ?? 0);
        const doomed: number[] = [];
        const events = new Set<number>();
        let done = rows.length < limit;
        for (const row of rows) {
          // updated_at >= created_at: past a row created after every cutoff, nothing can qualify.
          if (row.created_at >= oldest) {
            done = true;
            break;
          }
          const cutoff =
            row.status === 'succeeded' ? cutoffs.succeeded : row.status === 'failed' ? cutoffs.failed : null;
          if (cutoff !== null && row.updated_at < cutoff) {
            doomed.push(row.seq);
            events.add(row.event_seq);
          }
        }
        if (doomed.length > 0) {
          const list = JSON.stringify(doomed);
          this.deleteAttemptsStmt.run(list);
          this.deleteDeliveriesStmt.run(list);
        }
        const removedEvents =
          events.size > 0 ? this.deleteOrphanEventsStmt.run(JSON.stringify([...events])).changes : 0;
        return {
          last: rows[rows.length - 1]?.seq ?? after,
          deliveries: doomed.length,
          events: removedEvents,
          done,
        };
      })
      .immediate();
  }

  /**
   * One batch of events created before `cutoff` that have no delivery at all
   * (nobody was subscribed): they had no delivery to go with. `last` is
   * `null` when there are no more.
   */
  sweepEmptyEvents(cutoff: number, after: number, limit: number): { last: number | null; events: number } {
    return this.db
      .transaction(() => {
        const seqs = this.oldEventsStmt.all(after, cutoff, limit).map((row) => row.seq);
        if (seqs.length === 0) return { last: null, events: 0 };
        const events = this.deleteOrphanEventsStmt.run(JSON.stringify(seqs)).changes;
        return { last: seqs[seqs.length - 1]!, events };
      })
      .immediate();
  }
}
