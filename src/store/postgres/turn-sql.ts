import type pg from 'pg';
import type { AttemptResult, ClaimedDelivery, ClaimRequest, Lease } from '../../engine/claims.js';
import type { DeliveredEndpoint, OutcomeTally } from '../../engine/fold-outcomes.js';
import { HEALTHY, type HealthState } from '../../shared/circuit.js';
import { type Queryable, run } from './db.js';
import { activityParams, minuteOf } from './health-sql.js';
import { recordParams } from './outbox-sql.js';

interface ClaimDueRow {
  o_seq: number | null;
  o_endpoint: string;
  o_attempts: number;
  o_series: number;
  o_event_id: string;
  o_type: string;
  o_tenant: string | null;
  o_payload: string;
  o_created: number;
  o_trace: string | null;
  o_allowed: number;
  o_sending: number;
  o_next: number | null;
}

/** One endpoint's claim by `claim_due`: the rows it leased, and what the limits let it take. */
export interface DueClaim {
  claimed: ClaimedDelivery[];
  allowed: number;
  sending: number;
  /** When the endpoint's next pending row is due; read only when fewer rows than asked were taken. */
  next: number | null;
}

/** The `claim_due` function's refusal outside READ COMMITTED (see turn-functions.ts). */
const NOT_READ_COMMITTED = 'HL001';

/**
 * Calls the turn functions of migration 6 (turn-functions.ts): an endpoint's usual claim and a
 * batch of results that ended in success, each one round trip.
 */
export class PgTurnSql {
  private readonly sql: { claimDue: string; recordDelivered: string };
  /** False once the server's isolation level made `claim_due` refuse: claims go back to the statements. */
  claimsInOneCall = true;

  constructor(
    private readonly pool: pg.Pool,
    s: string,
  ) {
    const params = (n: number) => Array.from({ length: n }, (_, i) => `$${i + 1}`).join(', ');
    this.sql = {
      claimDue: `SELECT * FROM ${s}.claim_due(${params(8)})`,
      recordDelivered: `SELECT * FROM ${s}.record_delivered(${params(28)})`,
    };
  }

  /**
   * Leases up to `asked` of the endpoint's due rows (no rate limit, no ordering), as
   * `PgClaimSql.claimEndpoint` does; `undefined` when the server refused (not READ COMMITTED).
   */
  async claimDue(
    request: ClaimRequest,
    asked: number,
    lease: Lease,
    lockKey: string,
    oddToRetry: boolean,
  ): Promise<DueClaim | undefined> {
    let rows: ClaimDueRow[];
    try {
      rows = await run<ClaimDueRow>(this.pool, this.sql.claimDue, [
        lockKey,
        request.endpointId,
        asked,
        request.cap,
        oddToRetry,
        lease.until,
        lease.owner,
        lease.now,
      ]);
    } catch (error) {
      if ((error as { code?: unknown }).code !== NOT_READ_COMMITTED) throw error;
      this.claimsInOneCall = false;
      return undefined;
    }
    const last = rows.at(-1)!;
    const claimed = rows.flatMap((row) => (row.o_seq === null ? [] : [toClaimed(row, row.o_seq)]));
    return { claimed, allowed: last.o_allowed, sending: last.o_sending, next: last.o_next };
  }

  /**
   * Records a batch in which every endpoint's last attempt succeeded, in one statement, and
   * returns each endpoint's health as written (see `record_delivered`).
   */
  async recordDelivered(
    db: Queryable,
    results: readonly AttemptResult[],
    owner: string,
    endpoints: readonly DeliveredEndpoint[],
    at: number,
    tally: OutcomeTally,
  ): Promise<Map<string, HealthState>> {
    const sorted = [...endpoints].sort((a, b) => (a.endpointId < b.endpointId ? -1 : 1));
    const rows = await run<{ o_endpoint: string; o_last_failure: number | null }>(
      db,
      this.sql.recordDelivered,
      [
        ...recordParams(results, owner),
        sorted.map((e) => e.endpointId),
        sorted.map((e) => e.lastSuccessAt),
        sorted.map((e) => e.lastFailureAt),
        sorted.map((e) => e.ok),
        sorted.map((e) => e.failed),
        minuteOf(at),
        ...activityParams(tally),
      ],
    );
    const success = new Map(sorted.map((e) => [e.endpointId, e.lastSuccessAt]));
    return new Map(
      rows.map((row) => [
        row.o_endpoint,
        // Object.assign, not a spread followed by more keys (V8's slow path on Node 20, see announce.ts).
        Object.assign({}, HEALTHY, {
          lastSuccessAt: success.get(row.o_endpoint)!,
          lastFailureAt: row.o_last_failure,
        }),
      ]),
    );
  }
}

const toClaimed = (row: ClaimDueRow, seq: number): ClaimedDelivery => ({
  seq,
  endpointId: row.o_endpoint,
  attemptCount: row.o_attempts,
  seriesStart: row.o_series,
  eventId: row.o_event_id,
  eventType: row.o_type,
  tenant: row.o_tenant,
  payload: row.o_payload,
  eventCreatedAt: row.o_created,
  traceContext: row.o_trace,
});
