import type pg from 'pg';
import type { ClaimedDelivery, ClaimOutcome, ClaimRequest } from '../claim-sql.js';
import { type FifoWindowRow, fifoHeads } from '../fifo-heads.js';
import { run } from './db.js';

interface ClaimRow {
  seq: number;
  endpoint_id: string;
  attempt_count: number;
  series_start: number;
  event_id: string;
  event_type: string;
  tenant: string | null;
  payload: string;
  event_created_at: number;
}

/** How many active rows of a FIFO endpoint one claim looks at. */
const FIFO_WINDOW = 512;

const toClaimed = (row: ClaimRow): ClaimedDelivery => ({
  seq: row.seq,
  endpointId: row.endpoint_id,
  attemptCount: row.attempt_count,
  seriesStart: row.series_start,
  eventId: row.event_id,
  eventType: row.event_type,
  tenant: row.tenant,
  payload: row.payload,
  eventCreatedAt: row.event_created_at,
});

const CLAIM_RETURNING = `RETURNING seq, event_seq, endpoint_id, attempt_count, series_start`;
const WITH_EVENT = (s: string) =>
  `SELECT c.seq, c.endpoint_id, c.attempt_count, c.series_start, e.id AS event_id, e.type AS event_type,
     e.tenant, e.payload, e.created_at AS event_created_at
   FROM c JOIN ${s}.events e ON e.seq = c.event_seq`;

function statements(s: string) {
  return {
    claim: `WITH c AS (
        UPDATE ${s}.deliveries SET status = 'sending', lease_until = $1, lease_owner = $2, updated_at = $3
        WHERE seq IN (
          SELECT seq FROM ${s}.deliveries
          WHERE endpoint_id = $4 AND status = 'pending' AND least(attempt_count, 1) = $5 AND next_attempt_at <= $3
          ORDER BY next_attempt_at LIMIT $6
          FOR UPDATE SKIP LOCKED)
        ${CLAIM_RETURNING})
      ${WITH_EVENT(s)}`,
    claimOne: `WITH c AS (
        UPDATE ${s}.deliveries SET status = 'sending', lease_until = $1, lease_owner = $2, updated_at = $3
        WHERE seq = $4 AND status = 'pending'
        ${CLAIM_RETURNING})
      ${WITH_EVENT(s)}`,
    fifoWindow: `SELECT seq, status, next_attempt_at, ordering_key FROM ${s}.deliveries
      WHERE endpoint_id = $1 AND status IN ('pending', 'sending') ORDER BY seq LIMIT $2`,
    // Per endpoint and kind, so each min() is one step down the due index.
    dueTimes: `SELECT t.id, least(
        (SELECT min(next_attempt_at) FROM ${s}.deliveries d
          WHERE d.endpoint_id = t.id AND d.status = 'pending' AND least(d.attempt_count, 1) = 0),
        (SELECT min(next_attempt_at) FROM ${s}.deliveries d
          WHERE d.endpoint_id = t.id AND d.status = 'pending' AND least(d.attempt_count, 1) = 1)) AS t
      FROM unnest($1::text[]) AS t(id)`,
  };
}

/**
 * Claiming due deliveries under a lease. Each statement locks its rows with
 * `FOR UPDATE SKIP LOCKED`: senders claiming at once take different rows,
 * never wait on each other, and a row goes to exactly one of them.
 */
export class PgClaimSql {
  private readonly sql: ReturnType<typeof statements>;

  constructor(
    private readonly pool: pg.Pool,
    s: string,
  ) {
    this.sql = statements(s);
  }

  /** Leases due rows endpoint by endpoint, each up to its `max`, all together up to `budget`. */
  async claim(
    plan: readonly ClaimRequest[],
    budget: number,
    now: number,
    owner: string,
    leaseUntil: number,
  ): Promise<ClaimOutcome> {
    const claimed: ClaimedDelivery[] = [];
    const nextDue = new Map<string, number | null>();
    let left = budget;
    for (const request of plan) {
      if (left <= 0) break;
      const asked = Math.min(request.max, left);
      const { rows, due } = request.fifo
        ? await this.claimFifo(request.endpointId, asked, now, owner, leaseUntil)
        : await this.claimFair(request.endpointId, asked, now, owner, leaseUntil);
      rows.sort((a, b) => a.seq - b.seq);
      for (const row of rows) claimed.push(toClaimed(row));
      left -= rows.length;
      if (rows.length < asked) nextDue.set(request.endpointId, await due());
    }
    return { claimed, nextDue, held: new Map() };
  }

  /** Half the slots to first attempts, then retries, then first attempts the rest (as on SQLite). */
  private async claimFair(endpointId: string, asked: number, now: number, owner: string, leaseUntil: number) {
    const take = (kind: 0 | 1, limit: number) =>
      limit <= 0
        ? Promise.resolve([] as ClaimRow[])
        : run<ClaimRow>(this.pool, this.sql.claim, [leaseUntil, owner, now, endpointId, kind, limit]);
    const half = Math.ceil(asked / 2);
    const first = await take(0, half);
    const retries = await take(1, asked - first.length);
    const more = first.length === half ? await take(0, asked - first.length - retries.length) : [];
    return { rows: [...first, ...retries, ...more], due: () => this.nextDueFor(endpointId) };
  }

  /**
   * Claims the due heads of the endpoint's ordering keys (see `fifoHeads`),
   * each by seq and only while still pending, so two senders never both take it.
   */
  private async claimFifo(endpointId: string, asked: number, now: number, owner: string, leaseUntil: number) {
    const window = await run<FifoWindowRow>(this.pool, this.sql.fifoWindow, [endpointId, FIFO_WINDOW]);
    const { ready, due } = fifoHeads(window, now);
    const rows: ClaimRow[] = [];
    for (const seq of ready) {
      if (rows.length >= asked) break;
      const one = await run<ClaimRow>(this.pool, this.sql.claimOne, [leaseUntil, owner, now, seq]);
      if (one[0] !== undefined) rows.push(one[0]);
    }
    return { rows, due: async () => due };
  }

  async nextDueFor(endpointId: string): Promise<number | null> {
    return (await this.dueTimes([endpointId])).get(endpointId) ?? null;
  }

  /** When each endpoint's earliest pending row is due (`null`: none). */
  async dueTimes(endpointIds: readonly string[]): Promise<Map<string, number | null>> {
    const rows = await run<{ id: string; t: number | null }>(this.pool, this.sql.dueTimes, [endpointIds]);
    return new Map(rows.map((row) => [row.id, row.t]));
  }
}
