import type { Database, Statement } from 'better-sqlite3';
import { type FifoWindowRow, fifoHeads } from './fifo-heads.js';

/** A delivery claimed for an attempt, with what the attempt needs of its event. */
export interface ClaimedDelivery {
  seq: number;
  endpointId: string;
  /** Attempts made before this one. */
  attemptCount: number;
  /** `attemptCount` when the current series of attempts began (a manual retry starts a new one). */
  seriesStart: number;
  eventId: string;
  eventType: string;
  tenant: string | null;
  payload: string;
  eventCreatedAt: number;
}

export interface ClaimRequest {
  endpointId: string;
  /** At most this many of the endpoint's due rows. */
  max: number;
  /** One delivery at a time per ordering key, in emit order. */
  fifo: boolean;
  /**
   * The endpoint's concurrency: how many of its rows may be leased at once by
   * every sender sharing the database together, this one included.
   */
  cap: number;
  /** The endpoint's rate limit, shared by every sender (`null`: none). */
  ratePerSecond: number | null;
}

/** How soon an endpoint held back by other senders' leases is looked at again, in ms. */
export const HELD_RECHECK_MS = 50;

export interface ClaimOutcome {
  claimed: ClaimedDelivery[];
  /**
   * For every endpoint that had fewer due rows than it was offered: when its
   * next row is due (`null`: none it could take now or later without news).
   */
  nextDue: Map<string, number | null>;
  /**
   * Endpoints with rows due now that a limit shared across senders kept back
   * (their concurrency is taken by other senders' leases, or their shared rate
   * limit has no token): when to look again. Each is in `nextDue` too.
   */
  held: Map<string, number>;
}

interface ClaimRow {
  seq: number;
  event_seq: number;
  endpoint_id: string;
  attempt_count: number;
  series_start: number;
}

interface EventRow {
  id: string;
  type: string;
  tenant: string | null;
  payload: string;
  created_at: number;
}

/** How many active rows of a FIFO endpoint one claim looks at. */
const FIFO_WINDOW = 512;

/** Claiming: the statements that lease due deliveries. */
export class ClaimSql {
  private readonly claimStmt: Statement<[number, string, number, string, number, number, number], ClaimRow>;
  private readonly claimOneStmt: Statement<[number, string, number, number], ClaimRow>;
  private readonly dueStmt: Statement<[string, number], { t: number | null }>;
  private readonly eventsStmt: Statement<[string], EventRow & { seq: number }>;
  private readonly fifoWindowStmt: Statement<[string, number, number], FifoWindowRow>;
  /** Per FIFO endpoint, a seq below which it has no active row: the window scan starts there. */
  private readonly fifoLow = new Map<string, number>();
  /** Endpoints whose next odd slot goes to a retry rather than a first attempt. */
  private readonly retryTakesOdd = new Set<string>();

  constructor(
    private readonly db: Database,
    p: string,
  ) {
    // `min(attempt_count, 1)` matches the due index: 0 for first attempts, 1 for retries.
    this.claimStmt = db.prepare(
      `UPDATE ${p}deliveries SET status = 'sending', lease_until = ?, lease_owner = ?, updated_at = ?
       WHERE seq IN (
         SELECT seq FROM ${p}deliveries
         WHERE endpoint_id = ? AND status = 'pending' AND min(attempt_count, 1) = ? AND next_attempt_at <= ?
         ORDER BY next_attempt_at LIMIT ?)
       RETURNING seq, event_seq, endpoint_id, attempt_count, series_start`,
    );
    this.claimOneStmt = db.prepare(
      `UPDATE ${p}deliveries SET status = 'sending', lease_until = ?, lease_owner = ?, updated_at = ?
       WHERE seq = ? AND status = 'pending'
       RETURNING seq, event_seq, endpoint_id, attempt_count, series_start`,
    );
    this.dueStmt = db.prepare(
      `SELECT min(next_attempt_at) AS t FROM ${p}deliveries
       WHERE endpoint_id = ? AND status = 'pending' AND min(attempt_count, 1) = ?`,
    );
    // One read for the events of a whole claim.
    this.eventsStmt = db.prepare(
      `SELECT seq, id, type, tenant, payload, created_at FROM ${p}events WHERE seq IN (SELECT value FROM json_each(?))`,
    );
    this.fifoWindowStmt = db.prepare(
      `SELECT seq, status, next_attempt_at, ordering_key FROM ${p}deliveries
       WHERE endpoint_id = ? AND seq >= ? AND status IN ('pending', 'sending') ORDER BY seq LIMIT ?`,
    );
  }

  /**
   * Leases due deliveries in one transaction, endpoint by endpoint in the
   * order given, each up to its `max`, all together up to `budget`.
   */
  claim(
    plan: readonly ClaimRequest[],
    budget: number,
    now: number,
    owner: string,
    leaseUntil: number,
  ): ClaimOutcome {
    return this.db
      .transaction((): ClaimOutcome => {
        const taken: ClaimRow[] = [];
        const nextDue = new Map<string, number | null>();
        let left = budget;
        for (const request of plan) {
          if (left <= 0) break;
          const asked = Math.min(request.max, left);
          const { rows, due } = request.fifo
            ? this.claimFifo(request.endpointId, asked, now, owner, leaseUntil)
            : this.claimFair(request.endpointId, asked, now, owner, leaseUntil);
          rows.sort((a, b) => a.seq - b.seq);
          for (const row of rows) taken.push(row);
          left -= rows.length;
          if (rows.length < asked) nextDue.set(request.endpointId, due());
        }
        return { claimed: this.withEvents(taken), nextDue, held: new Map() };
      })
      .immediate();
  }

  /** When the endpoint's earliest pending delivery is due, or `null` when it has none. */
  nextDueFor(endpointId: string): number | null {
    const fresh = this.dueStmt.get(endpointId, 0)!.t;
    const retry = this.dueStmt.get(endpointId, 1)!.t;
    if (fresh === null) return retry;
    return retry === null ? fresh : Math.min(fresh, retry);
  }

  /** Forgets where a FIFO endpoint's active rows begin (a retry may have put an old row back). */
  resetFifo(endpointId?: string): void {
    if (endpointId === undefined) this.fifoLow.clear();
    else this.fifoLow.delete(endpointId);
  }

  /**
   * Half the slots go to first attempts, then retries take what they can, then
   * first attempts the rest: neither starves the other. An odd slot goes to
   * each in turn, so that one slot at a time (concurrency 1, a rate limit) is
   * shared too.
   */
  private claimFair(endpointId: string, asked: number, now: number, owner: string, leaseUntil: number) {
    const take = (fresh: 0 | 1, limit: number) =>
      limit <= 0 ? [] : this.claimStmt.all(leaseUntil, owner, now, endpointId, fresh, now, limit);
    let half = Math.ceil(asked / 2);
    if (asked % 2 === 1) {
      if (this.retryTakesOdd.delete(endpointId)) half--;
      else this.retryTakesOdd.add(endpointId);
    }
    const first = take(0, half);
    const retries = take(1, asked - first.length);
    const more = first.length === half ? take(0, asked - first.length - retries.length) : [];
    return { rows: [...first, ...retries, ...more], due: () => this.nextDueFor(endpointId) };
  }

  /** Claims the due heads of the endpoint's ordering keys (see `fifoHeads`). */
  private claimFifo(endpointId: string, asked: number, now: number, owner: string, leaseUntil: number) {
    const window = this.fifoWindowStmt.all(endpointId, this.fifoLow.get(endpointId) ?? 0, FIFO_WINDOW);
    if (window.length > 0) this.fifoLow.set(endpointId, window[0]!.seq);
    const { ready, due } = fifoHeads(window, now);
    const rows: ClaimRow[] = [];
    for (const seq of ready) {
      if (rows.length >= asked) break;
      const claimed = this.claimOneStmt.get(leaseUntil, owner, now, seq);
      if (claimed) rows.push(claimed);
    }
    return { rows, due: () => due };
  }

  private withEvents(rows: readonly ClaimRow[]): ClaimedDelivery[] {
    if (rows.length === 0) return [];
    const events = new Map<number, EventRow>();
    for (const event of this.eventsStmt.all(JSON.stringify(rows.map((row) => row.event_seq)))) {
      events.set(event.seq, event);
    }
    return rows.map((row) => {
      const event = events.get(row.event_seq)!;
      return {
        seq: row.seq,
        endpointId: row.endpoint_id,
        attemptCount: row.attempt_count,
        seriesStart: row.series_start,
        eventId: event.id,
        eventType: event.type,
        tenant: event.tenant,
        payload: event.payload,
        eventCreatedAt: event.created_at,
      };
    });
  }
}
