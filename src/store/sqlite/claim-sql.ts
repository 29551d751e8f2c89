import type { Database, Statement } from 'better-sqlite3';
import type { ClaimBatch, ClaimedDelivery, ClaimOutcome, Lease } from '../../engine/claims.js';
import { bucketTokens, fairOrder, heldUntil, type StoredBucket, sharedAllowance } from '../fair-claim.js';
import { type FifoWindowRow, fifoHeads } from '../fifo-heads.js';

/** What a claim leased, before its events are read. */
export interface LeasedRows {
  rows: ClaimRow[];
  nextDue: ClaimOutcome['nextDue'];
  held: ClaimOutcome['held'];
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
  payload: Buffer;
  created_at: number;
  trace_context: string | null;
}

/** How many active rows of a FIFO endpoint one claim looks at. */
const FIFO_WINDOW = 512;

/** Claiming: the statements that lease due deliveries. */
export class ClaimSql {
  private readonly dueRowsStmt: Statement<[string, number, number, number], { seq: number }>;
  private readonly claimOneStmt: Statement<[number, string, number, number], ClaimRow>;
  private readonly dueStmt: Statement<[string, number], { t: number | null }>;
  private readonly eventsStmt: Statement<[string], EventRow & { seq: number }>;
  private readonly fifoWindowStmt: Statement<[string, number, number], FifoWindowRow>;
  private readonly sendingStmt: Statement<[string], { n: number }>;
  private readonly bucketStmt: Statement<[string], StoredBucket>;
  private readonly putBucketStmt: Statement<[string, number, number]>;
  /** Per FIFO endpoint, a seq below which it has no active row: the window scan starts there. */
  private readonly fifoLow = new Map<string, number>();
  /** Endpoints whose next odd slot goes to a retry rather than a first attempt. */
  private readonly retryTakesOdd = new Set<string>();

  constructor(db: Database, p: string) {
    // `min(attempt_count, 1)` matches the due index: 0 for first attempts, 1 for retries. A read, then
    // an update per row found (claimOneStmt): SQLite runs `UPDATE ... WHERE seq IN (SELECT ...)`
    // through a temporary table, about 30 µs even when it finds nothing, and a claim asks this of
    // every endpoint it plans for. `LIMIT CAST(? AS INTEGER)` everywhere in this store: with a plain
    // `LIMIT ?` the read took 7 µs instead of 1.3 µs (measured on this project's machine, SQLite 3.53).
    this.dueRowsStmt = db.prepare(
      `SELECT seq FROM ${p}deliveries
       WHERE endpoint_id = ? AND status = 'pending' AND min(attempt_count, 1) = ? AND next_attempt_at <= ?
       ORDER BY next_attempt_at LIMIT CAST(? AS INTEGER)`,
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
    // One read for the events of a whole claim. The payload comes as bytes: it goes into the
    // request body as they are, and a buffer costs the garbage collector nothing to move.
    this.eventsStmt = db.prepare(
      `SELECT seq, id, type, tenant, CAST(payload AS BLOB) AS payload, created_at, trace_context FROM ${p}events
       WHERE seq IN (SELECT value FROM json_each(?))`,
    );
    this.fifoWindowStmt = db.prepare(
      `SELECT seq, status, next_attempt_at, ordering_key FROM ${p}deliveries
       WHERE endpoint_id = ? AND seq >= ? AND status IN ('pending', 'sending') ORDER BY seq LIMIT CAST(? AS INTEGER)`,
    );
    // Leases held by every process, counted on the index of leased rows alone.
    this.sendingStmt = db.prepare(
      `SELECT count(*) AS n FROM ${p}deliveries INDEXED BY ${p}deliveries_sending
       WHERE endpoint_id = ? AND status = 'sending'`,
    );
    this.bucketStmt = db.prepare(`SELECT tokens, at FROM ${p}rate_buckets WHERE endpoint_id = ?`);
    this.putBucketStmt = db.prepare(
      `INSERT INTO ${p}rate_buckets (endpoint_id, tokens, at) VALUES (?, ?, ?)
       ON CONFLICT (endpoint_id) DO UPDATE SET tokens = excluded.tokens, at = excluded.at`,
    );
  }

  /**
   * Leases due deliveries, endpoint by endpoint in the order given, each up to
   * its `max`, all together up to `budget`; call inside a write transaction
   * (SqliteStore.write). It holds the file's write lock, so every process sharing
   * the file claims in turn: each endpoint's `cap` counts every process's leases,
   * and its rate-limit bucket is one row that every process spends. The events
   * are read after the commit (`withEvents`), outside the write lock.
   */
  leaseIn({ requests, budget, lease }: ClaimBatch): LeasedRows {
    const { now } = lease;
    const taken: ClaimRow[] = [];
    const nextDue = new Map<string, number | null>();
    const held = new Map<string, number>();
    let left = budget;
    for (const request of requests) {
      if (left <= 0) break;
      const { endpointId, ratePerSecond } = request;
      const asked = Math.min(request.max, left);
      const sending = this.sendingStmt.get(endpointId)!.n;
      const bucket = ratePerSecond === null ? undefined : this.bucketStmt.get(endpointId);
      const tokens = ratePerSecond === null ? null : bucketTokens(bucket, ratePerSecond, now);
      const allowed = sharedAllowance(request, asked, sending, tokens);
      const { rows, due } = request.fifo
        ? this.claimFifo(endpointId, allowed, lease)
        : this.claimFair(endpointId, allowed, lease);
      if (tokens !== null && rows.length > 0) {
        this.putBucketStmt.run(endpointId, tokens - rows.length, Math.max(now, bucket?.at ?? now));
      }
      rows.sort((a, b) => a.seq - b.seq);
      for (const row of rows) taken.push(row);
      left -= rows.length;
      if (rows.length < asked) {
        let at = due();
        // Rows due now that only the shared limits kept back.
        if (rows.length === allowed && at !== null && at <= now) {
          at = heldUntil(request, sending, tokens, rows.length, now);
          held.set(endpointId, at);
        }
        nextDue.set(endpointId, at);
      }
    }
    return { rows: taken, nextDue, held };
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
   * Half the slots go to first attempts, half to retries, and either takes what
   * the other leaves (see `fairOrder`): neither starves the other. An odd slot goes to
   * each in turn, so that one slot at a time (concurrency 1, a rate limit) is
   * shared too.
   */
  private claimFair(endpointId: string, asked: number, lease: Lease) {
    const { now, owner, until: leaseUntil } = lease;
    // Nothing to take (the shared limits allow none): only when the next row is due.
    if (asked <= 0) return { rows: [] as ClaimRow[], due: () => this.nextDueFor(endpointId) };
    const take = (fresh: 0 | 1, limit: number) => {
      const rows: ClaimRow[] = [];
      if (limit <= 0) return rows;
      for (const { seq } of this.dueRowsStmt.all(endpointId, fresh, now, limit)) {
        const row = this.claimOneStmt.get(leaseUntil, owner, now, seq);
        if (row !== undefined) rows.push(row);
      }
      return rows;
    };
    const { retries, fresh, more } = fairOrder(asked, endpointId, this.retryTakesOdd);
    const a = take(1, retries);
    const b = take(0, fresh(a.length));
    const c = take(1, more(a.length, b.length));
    return { rows: [...a, ...b, ...c], due: () => this.nextDueFor(endpointId) };
  }

  /**
   * Claims the due heads of the endpoint's ordering keys (see `fifoHeads`).
   * Due heads left untried (`asked` reached) make the endpoint due now.
   */
  private claimFifo(endpointId: string, asked: number, lease: Lease) {
    const { now, owner, until: leaseUntil } = lease;
    const window = this.fifoWindowStmt.all(endpointId, this.fifoLow.get(endpointId) ?? 0, FIFO_WINDOW);
    if (window.length > 0) this.fifoLow.set(endpointId, window[0]!.seq);
    const { ready, due } = fifoHeads(window, now);
    const rows: ClaimRow[] = [];
    let tried = 0;
    for (const seq of ready) {
      if (rows.length >= asked) break;
      tried++;
      const claimed = this.claimOneStmt.get(leaseUntil, owner, now, seq);
      if (claimed) rows.push(claimed);
    }
    return { rows, due: () => (tried < ready.length ? now : due) };
  }

  /**
   * The claim's deliveries with their events, read in one statement. A leased row's event is only
   * deleted with the row (retention keeps events that deliveries still name): a row whose event is
   * gone was removed since the commit (its endpoint, say), and is not sent.
   */
  withEvents({ rows, nextDue, held }: LeasedRows): ClaimOutcome {
    if (rows.length === 0) return { claimed: [], nextDue, held };
    const events = new Map<number, EventRow>();
    for (const event of this.eventsStmt.all(JSON.stringify(rows.map((row) => row.event_seq)))) {
      events.set(event.seq, event);
    }
    const claimed: ClaimedDelivery[] = [];
    for (const row of rows) {
      const event = events.get(row.event_seq);
      if (event === undefined) continue;
      claimed.push({
        seq: row.seq,
        endpointId: row.endpoint_id,
        attemptCount: row.attempt_count,
        seriesStart: row.series_start,
        eventId: event.id,
        eventType: event.type,
        tenant: event.tenant,
        payload: event.payload,
        eventCreatedAt: event.created_at,
        traceContext: event.trace_context,
      });
    }
    return { claimed, nextDue, held };
  }
}
