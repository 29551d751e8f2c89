import type { Database, Statement } from 'better-sqlite3';
import type { LiveEndpoints } from '../../engine/live-endpoints.js';
import type { EndpointRow } from '../../shared/rows.js';
import type { Expansion } from '../fanout.js';
import { fanoutTargets, type QueuedEvent, takenBy } from '../fanout.js';

interface QueuedRow {
  ticket: number;
  event_seq: number;
  endpoint_ids: string | null;
  after_endpoint: string | null;
  /** `null` only if the event is gone (it cannot be while queued: retention keeps it). */
  type: string | null;
  tenant: string | null;
  ordering_key: string | null;
  created_at: number;
}

/**
 * Deliveries one fan-out transaction creates, at most (a broadcast to more takes several): about
 * 4 ms, short enough that an emit waiting for the lock hardly notices, and the first endpoints of a
 * broadcast are sent to while the rest is fanned out.
 */
export const FANOUT_ROWS = 500;

/** Queued events read per statement. */
const READ_BATCH = 256;

/**
 * Fan-out: emit queues an event (one row, whatever the number of endpoints); the engine later
 * creates its deliveries here, in queue order, in short transactions. Which endpoints an event goes
 * to is decided at emit: the enabled endpoints that match it then. Every change to an endpoint first
 * fans the queued events out to that endpoint as it was (`settle`), and the endpoint as changed
 * only takes events queued after them (`match_from`, a queue ticket), so the engine's later
 * fan-out, made with the endpoints as they are then, gives each event the endpoints it had at emit.
 * A unique index on (event, endpoint, replay) makes a second delivery of one emit to one endpoint
 * impossible.
 */
export class FanoutSql {
  private readonly queueStmt: Statement<[number, number, string | null]>;
  private readonly waitingStmt: Statement<[], { one: number }>;
  private readonly queuedStmt: Statement<[number, number], QueuedRow>;
  private readonly insertStmt: Statement<[number, string | null, number, number, number, string]>;
  private readonly doneStmt: Statement<[number]>;
  private readonly sweepStmt: Statement<[]>;
  private readonly lessStmt: Statement<[number, number]>;
  private readonly progressStmt: Statement<[string, number, number]>;
  private readonly topStmt: Statement<[], { top: number }>;
  private readonly totalsStmt: Statement<[], { n: number; t: number | null }>;

  constructor(db: Database, p: string) {
    this.queueStmt = db.prepare(`INSERT INTO ${p}fanout (event_seq, targets, endpoint_ids) VALUES (?, ?, ?)`);
    this.waitingStmt = db.prepare(`SELECT 1 AS one FROM ${p}fanout WHERE done = 0 LIMIT 1`);
    this.queuedStmt = db.prepare(
      `SELECT f.ticket, f.event_seq, f.endpoint_ids, f.after_endpoint, e.type, e.tenant, e.ordering_key,
         ifnull(e.created_at, 0) AS created_at
       FROM ${p}fanout f LEFT JOIN ${p}events e ON e.seq = f.event_seq
       WHERE f.ticket > ? AND f.done = 0 ORDER BY f.ticket LIMIT CAST(? AS INTEGER)`,
    );
    // One statement per event, whatever its number of endpoints. `WHERE true` lets SQLite read the
    // ON CONFLICT as the upsert clause; a row already there (made by `settle`) stays as it is.
    this.insertStmt = db.prepare(
      `INSERT INTO ${p}deliveries (event_seq, endpoint_id, ordering_key, status, next_attempt_at, created_at,
         updated_at)
       SELECT ?, value, ?, 'pending', ?, ?, ? FROM json_each(?) WHERE true
       ON CONFLICT DO NOTHING`,
    );
    // The row with the highest ticket is kept, marked done, until a later one exists (see schema.ts).
    this.doneStmt = db.prepare(`UPDATE ${p}fanout SET done = 1 WHERE ticket = ?`);
    this.sweepStmt = db.prepare(
      `DELETE FROM ${p}fanout WHERE done = 1 AND ticket < (SELECT max(ticket) FROM ${p}fanout)`,
    );
    this.lessStmt = db.prepare(`UPDATE ${p}fanout SET targets = targets - ? WHERE ticket = ?`);
    this.progressStmt = db.prepare(
      `UPDATE ${p}fanout SET after_endpoint = ?, targets = targets - ? WHERE ticket = ?`,
    );
    this.topStmt = db.prepare(`SELECT ifnull(max(ticket), 0) AS top FROM ${p}fanout`);
    this.totalsStmt = db.prepare(
      `SELECT ifnull(sum(f.targets), 0) AS n, min(e.created_at) AS t
       FROM ${p}fanout f JOIN ${p}events e ON e.seq = f.event_seq WHERE f.done = 0`,
    );
  }

  /** Queues an event for fan-out to `targets` endpoints. Call inside the emit's transaction. */
  queue(eventSeq: number, targets: number, endpointIds: readonly string[] | null): void {
    this.queueStmt.run(eventSeq, targets, endpointIds === null ? null : JSON.stringify(endpointIds));
  }

  /** Whether any event waits for fan-out (a read: no lock taken). */
  waiting(): boolean {
    return this.waitingStmt.get() !== undefined;
  }

  /**
   * Creates the deliveries of queued events, oldest first, with `live` (the enabled endpoints as
   * of this transaction), `maxRows` at most: an event to more endpoints is cut over several passes.
   * Call inside a write transaction.
   */
  expand(live: LiveEndpoints, now: number, maxRows: number): Expansion {
    const endpoints = new Set<string>();
    let rows = 0;
    const batch = this.queuedStmt.all(0, READ_BATCH);
    let done = 0;
    for (const row of batch) {
      if (rows >= maxRows) break;
      const { ids, last, finished } =
        row.type === null
          ? { ids: [], last: null, finished: true }
          : fanoutTargets(live.matching(row.type, row.tenant), queued(row), maxRows - rows);
      if (ids.length > 0) {
        this.insert(row, now, ids);
        for (const id of ids) endpoints.add(id);
        rows += ids.length;
      }
      if (!finished) {
        // A broadcast larger than a pass: the next pass goes on after the last endpoint.
        this.progressStmt.run(last!, ids.length, row.ticket);
        break;
      }
      this.doneStmt.run(row.ticket);
      done++;
    }
    if (done > 0) this.sweepStmt.run();
    return { endpoints, more: done < batch.length || batch.length === READ_BATCH };
  }

  /**
   * Before an endpoint changes (or is added: `old` undefined): fans every queued event out to the
   * endpoint as it is now, and returns the `match_from` of its new row: the last ticket handed out
   * that is still queued (later tickets are larger; earlier ones are fanned out already). Call
   * inside the change's transaction.
   */
  settle(old: EndpointRow | undefined, now: number): number {
    const top = this.topStmt.get()!.top;
    if (old === undefined || old.enabled !== 1) return top;
    const takes = takenBy(old);
    const only = [old.id];
    for (let after = Number(old.match_from ?? 0); ; ) {
      const batch = this.queuedStmt.all(after, READ_BATCH);
      for (const row of batch) {
        after = row.ticket;
        if (row.type === null || !takes(row.type, row.tenant, queued(row))) continue;
        const made = this.insert(row, now, only);
        if (made > 0) this.lessStmt.run(made, row.ticket);
      }
      if (batch.length < READ_BATCH) return top;
    }
  }

  /** Creates the event's deliveries to `ids`; returns how many were new. */
  private insert(row: QueuedRow, now: number, ids: readonly string[]): number {
    return this.insertStmt.run(
      row.event_seq,
      row.ordering_key,
      row.created_at,
      row.created_at,
      now,
      JSON.stringify(ids),
    ).changes;
  }

  /** Deliveries still to be created, and when the oldest queued event was emitted. */
  totals(): { deliveries: number; oldestAt: number | null } {
    const { n, t } = this.totalsStmt.get()!;
    return { deliveries: n, oldestAt: t };
  }
}

function queued(row: QueuedRow): QueuedEvent {
  return {
    ticket: row.ticket,
    endpointIds: row.endpoint_ids === null ? null : (JSON.parse(row.endpoint_ids) as string[]),
    after: row.after_endpoint,
  };
}
