import type pg from 'pg';
import type { AttemptResult, ClaimedDelivery, ClaimRequest, Lease } from '../../engine/claims.js';
import type { DeliveredEndpoint, OutcomeTally } from '../../engine/fold-outcomes.js';
import { HEALTHY, type HealthState } from '../../shared/circuit.js';
import { heldUntil } from '../fair-claim.js';
import { run } from './db.js';
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

/** What one endpoint's claim took, and when to look at it again. */
export interface EndpointClaim {
  claimed: ClaimedDelivery[];
  /** Set when it took fewer rows than asked: when its next row is due (see `ClaimOutcome.nextDue`). */
  nextDue?: number | null;
  /** Set when the shared limits kept back rows due now: when to look again. */
  held?: number;
}

/** The `claim_due` function's refusal outside READ COMMITTED (see turn-functions.ts). */
const NOT_READ_COMMITTED = 'HL001';

/**
 * Calls the turn functions of migration 6 (turn-functions.ts): an endpoint's usual claim and a
 * batch of results that ended in success, each one round trip.
 */
export class PgTurnSql {
  private readonly sql: { claimDue: string; recordDelivered: string; recordThenClaim: string };
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
      recordThenClaim: `SELECT * FROM ${s}.record_then_claim(${params(37)})`,
    };
  }

  /**
   * Leases up to `asked` of the endpoint's due rows by `claim_due`, as `PgClaimSql.claimEndpoint`
   * does with its statements (the same lock, shared limits and fair split; `retryTakesOdd` is
   * theirs). `undefined`: the endpoint needs the statements (a rate limit, ordering), or the
   * server refused the function (not READ COMMITTED), from then on.
   */
  async claimEndpoint(
    request: ClaimRequest,
    asked: number,
    lease: Lease,
    lockKey: string,
    retryTakesOdd: Set<string>,
  ): Promise<EndpointClaim | undefined> {
    if (!this.canClaim(request)) return undefined;
    let rows: ClaimDueRow[];
    try {
      rows = await run<ClaimDueRow>(
        this.pool,
        this.sql.claimDue,
        claimParams({ request, asked, lease, lockKey, retryTakesOdd }),
      );
    } catch (error) {
      if ((error as { code?: unknown }).code !== NOT_READ_COMMITTED) throw error;
      this.claimsInOneCall = false;
      return undefined;
    }
    return settleClaim(rows, { request, asked, lease, lockKey, retryTakesOdd });
  }

  /**
   * Records a batch in which every endpoint's last attempt succeeded, in one statement, and
   * returns each endpoint's health as written and `endpoints_version` as of the record (see `record_delivered`).
   */
  async recordDelivered(
    record: DeliveredBatch,
  ): Promise<{ health: Map<string, HealthState>; endpointsVersion: number }> {
    const rows = await run<HealthOut>(this.pool, this.sql.recordDelivered, recordArgs(record));
    return { health: healthOf(rows, record.endpoints), endpointsVersion: rows.at(-1)!.o_version! };
  }

  /** Whether `claim_due` can claim for this request (no rate limit, no ordering, a server that lets it). */
  canClaim(request: ClaimRequest): boolean {
    return !request.fifo && request.ratePerSecond === null && this.claimsInOneCall;
  }

  /**
   * `record_delivered`, then, in the same transaction and when the endpoints are still at
   * `version` (the one the claim was planned with), `claim_due` for one request: a turn in one
   * round trip. `claim` is `undefined` when the endpoints moved (or the server is not in READ
   * COMMITTED); `endpointsVersion` is then the version it read, after the record.
   */
  async recordThenClaim(
    record: DeliveredBatch,
    version: number,
    claim: DueClaim,
  ): Promise<{
    health: Map<string, HealthState>;
    endpointsVersion: number;
    claim: EndpointClaim | undefined;
  }> {
    const rows = await run<HealthOut & ClaimDueRow>(this.pool, this.sql.recordThenClaim, [
      ...recordArgs(record),
      version,
      ...claimParams(claim),
    ]);
    const claimRows = rows.filter((row) => row.o_allowed !== null);
    return {
      health: healthOf(rows, record.endpoints),
      endpointsVersion: rows.find((row) => row.o_version !== null)!.o_version!,
      claim: claimRows.length === 0 ? undefined : settleClaim(claimRows, claim),
    };
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

/** A batch for `record_delivered`: every endpoint's last attempt a success (see `endedInSuccess`). */
export interface DeliveredBatch {
  results: readonly AttemptResult[];
  owner: string;
  endpoints: readonly DeliveredEndpoint[];
  at: number;
  tally: OutcomeTally;
}

/** One request for `claim_due`, and the odd-slot turns it shares with the statements (see `fairOrder`). */
export interface DueClaim {
  request: ClaimRequest;
  asked: number;
  lease: Lease;
  lockKey: string;
  retryTakesOdd: Set<string>;
}

/** A row of `record_delivered`: an endpoint's health, or (endpoint NULL) `endpoints_version`. */
interface HealthOut {
  o_health: string | null;
  o_last_failure: number | null;
  o_version: number | null;
}

/** `record_delivered`'s 28 values: `record`'s 17, then the endpoints' (in id order: the lock order), then the activity. */
function recordArgs({ results, owner, endpoints, at, tally }: DeliveredBatch): unknown[] {
  const sorted = [...endpoints].sort((a, b) => (a.endpointId < b.endpointId ? -1 : 1));
  return [
    ...recordParams(results, owner),
    sorted.map((e) => e.endpointId),
    sorted.map((e) => e.lastSuccessAt),
    sorted.map((e) => e.lastFailureAt),
    sorted.map((e) => e.ok),
    sorted.map((e) => e.failed),
    minuteOf(at),
    ...activityParams(tally),
  ];
}

/** Each recorded endpoint's health as written: healthy, with its last success and its last failure as stored. */
function healthOf(
  rows: readonly HealthOut[],
  endpoints: readonly DeliveredEndpoint[],
): Map<string, HealthState> {
  const success = new Map(endpoints.map((e) => [e.endpointId, e.lastSuccessAt]));
  const health = new Map<string, HealthState>();
  for (const { o_health: endpointId, o_last_failure: lastFailureAt } of rows) {
    if (endpointId === null) continue;
    // Object.assign, not a spread followed by more keys (V8's slow path on Node 20, see announce.ts).
    health.set(
      endpointId,
      Object.assign({}, HEALTHY, { lastSuccessAt: success.get(endpointId)!, lastFailureAt }),
    );
  }
  return health;
}

/** `claim_due`'s 8 values. */
function claimParams({ request, asked, lease, lockKey, retryTakesOdd }: DueClaim): unknown[] {
  const odd = retryTakesOdd.has(request.endpointId);
  return [lockKey, request.endpointId, asked, request.cap, odd, lease.until, lease.owner, lease.now];
}

/** What `claim_due`'s rows say: the rows leased, and when to look at the endpoint again (as `claimEndpoint`). */
function settleClaim(
  rows: readonly ClaimDueRow[],
  { request, asked, lease, retryTakesOdd }: DueClaim,
): EndpointClaim {
  const { endpointId } = request;
  const { o_allowed: allowed, o_sending: sending, o_next: next } = rows.at(-1)!;
  const claimed = rows.flatMap((row) => (row.o_seq === null ? [] : [toClaimed(row, row.o_seq)]));
  // As fairOrder does: each odd split gives the odd slot to the other kind next time.
  if (allowed % 2 === 1) {
    if (retryTakesOdd.has(endpointId)) retryTakesOdd.delete(endpointId);
    else retryTakesOdd.add(endpointId);
  }
  if (claimed.length >= asked) return { claimed };
  // Rows due now that only the shared limits kept back.
  if (claimed.length === allowed && next !== null && next <= lease.now) {
    const until = heldUntil(request, sending, null, claimed.length, lease.now);
    return { claimed, nextDue: until, held: until };
  }
  return { claimed, nextDue: next };
}
