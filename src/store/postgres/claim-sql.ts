import type pg from 'pg';
import type { ClaimBatch, ClaimedDelivery, ClaimOutcome, ClaimRequest, Lease } from '../../engine/claims.js';
import { bucketTokens, fairOrder, heldUntil, sharedAllowance } from '../fair-claim.js';
import { type FifoWindowRow, fifoHeads } from '../fifo-heads.js';
import { type Queryable, run, transaction } from './db.js';
import type { DeliveredBatch, EndpointClaim, PgTurnSql } from './turn-sql.js';

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
  trace_context: string | null;
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
  traceContext: row.trace_context,
});

const CLAIM_RETURNING = `RETURNING seq, event_seq, endpoint_id, attempt_count, series_start`;
const WITH_EVENT = (s: string) =>
  `SELECT c.seq, c.endpoint_id, c.attempt_count, c.series_start, e.id AS event_id, e.type AS event_type,
     e.tenant, e.payload, e.created_at AS event_created_at, e.trace_context
   FROM c JOIN ${s}.events e ON e.seq = c.event_seq`;

function statements(s: string) {
  return {
    // A statement of its own after the lock, so that its snapshot sees every claim committed before.
    limits: `SELECT
        (SELECT count(*) FROM ${s}.deliveries WHERE endpoint_id = $1 AND status = 'sending') AS sending,
        b.tokens, b.at
      FROM (SELECT 1) AS one LEFT JOIN ${s}.rate_buckets b ON b.endpoint_id = $1`,
    putBucket: `INSERT INTO ${s}.rate_buckets (endpoint_id, tokens, at) VALUES ($1, $2, $3)
      ON CONFLICT (endpoint_id) DO UPDATE SET tokens = excluded.tokens, at = excluded.at`,
    claim: `WITH c AS (
        UPDATE ${s}.deliveries SET status = 'sending', lease_until = $1, lease_owner = $2, updated_at = $3
        WHERE seq IN (
          SELECT seq FROM ${s}.deliveries
          WHERE endpoint_id = $4 AND status = 'pending' AND least(attempt_count, 1) = $5 AND next_attempt_at <= $3
          ORDER BY next_attempt_at LIMIT $6
          FOR UPDATE SKIP LOCKED)
        ${CLAIM_RETURNING})
      ${WITH_EVENT(s)}`,
    // Retries up to their share ($5), then first attempts up to the rest of $6, in one statement: one
    // round trip where two would do, and none more when no retry is due (see fairOrder).
    claimFair: `WITH r AS (
        SELECT seq FROM ${s}.deliveries
        WHERE endpoint_id = $4 AND status = 'pending' AND least(attempt_count, 1) = 1 AND next_attempt_at <= $3
        ORDER BY next_attempt_at LIMIT $5
        FOR UPDATE SKIP LOCKED),
      f AS (
        SELECT seq FROM ${s}.deliveries
        WHERE endpoint_id = $4 AND status = 'pending' AND least(attempt_count, 1) = 0 AND next_attempt_at <= $3
        ORDER BY next_attempt_at LIMIT ($6::int - (SELECT count(*) FROM r))
        FOR UPDATE SKIP LOCKED),
      c AS (
        UPDATE ${s}.deliveries SET status = 'sending', lease_until = $1, lease_owner = $2, updated_at = $3
        WHERE seq IN (SELECT seq FROM r UNION ALL SELECT seq FROM f)
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
 * never wait on each other, and a row goes to exactly one of them. The limits
 * every sender shares (an endpoint's concurrency and rate limit) are checked
 * and spent under a transaction-scoped advisory lock on the endpoint, so that
 * senders claiming for the same endpoint at once take their turns.
 */
export class PgClaimSql {
  private readonly sql: ReturnType<typeof statements>;
  /** The advisory lock's first key (hashed): hookline's claims in this schema. */
  private readonly lockKey: string;
  /** Endpoints whose next odd slot goes to a retry rather than a first attempt. */
  private readonly retryTakesOdd = new Set<string>();

  constructor(
    private readonly pool: pg.Pool,
    s: string,
    private readonly turn: PgTurnSql,
  ) {
    this.sql = statements(s);
    this.lockKey = `hookline:claim:${s}`;
  }

  /**
   * Leases due rows endpoint by endpoint, each up to its `max`, all together
   * up to `budget`. One transaction per endpoint: the plan's order rotates, so
   * one transaction holding several endpoints' locks could deadlock with another sender's.
   */
  async claim({ requests, budget, lease }: ClaimBatch): Promise<ClaimOutcome> {
    const outcome: ClaimOutcome = { claimed: [], nextDue: new Map(), held: new Map() };
    let left = budget;
    for (const request of requests) {
      if (left <= 0) break;
      const asked = Math.min(request.max, left);
      // No rate limit and no ordering: `claim_due`, one round trip (turn-sql.ts).
      const taken =
        (await this.turn.claimEndpoint(request, asked, lease, this.lockKey, this.retryTakesOdd)) ??
        (await transaction(
          this.pool,
          (client) => this.claimEndpoint(client, request, asked, lease),
          (client) => this.begin(client, request.endpointId),
        ));
      left -= addClaim(outcome, request.endpointId, taken);
    }
    return outcome;
  }

  /** `record_then_claim` (turn-sql.ts): the batch's record, then this request's claim, in one call. */
  async recordThenClaim(
    batch: DeliveredBatch,
    version: number,
    request: ClaimRequest,
    asked: number,
    lease: Lease,
  ) {
    const { lockKey, retryTakesOdd } = this;
    const written = await this.turn.recordThenClaim(batch, version, {
      request,
      asked,
      lease,
      lockKey,
      retryTakesOdd,
    });
    const { claim } = written;
    if (claim === undefined) return { health: written.health, endpointsVersion: written.endpointsVersion };
    const outcome: ClaimOutcome = { claimed: [], nextDue: new Map(), held: new Map() };
    addClaim(outcome, request.endpointId, claim);
    return { health: written.health, endpointsVersion: written.endpointsVersion, claim: outcome };
  }

  /**
   * Opens an endpoint's claim and takes its advisory lock, in one round trip (a simple query of
   * three statements, so the keys are escaped by the driver, not bound). Read committed whatever the
   * server's default: each statement after the lock must see what the claims that held it before
   * committed. Its commit does not wait for the disk, as `claim_due`'s (turn-functions.ts). Two
   * int4 keys (a space apart from the one-key locks, migrate.ts's included): the schema under a
   * constant of hookline's own, and the endpoint. Claims of other endpoints never wait.
   */
  private begin(client: pg.PoolClient, endpointId: string): string {
    const key = (text: string) => `hashtext(${client.escapeLiteral(text)})`;
    const lock = `SELECT pg_advisory_xact_lock(${key(this.lockKey)}, ${key(endpointId)})`;
    return `BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL synchronous_commit = off; ${lock}`;
  }

  /**
   * One endpoint's claim, in a transaction that holds its advisory lock (`begin`): every
   * sender's leases and its shared bucket, then at most what they leave.
   */
  private async claimEndpoint(
    client: pg.PoolClient,
    request: ClaimRequest,
    asked: number,
    lease: Lease,
  ): Promise<EndpointClaim> {
    const { now } = lease;
    const { endpointId, ratePerSecond } = request;
    const [limits] = await run<{ sending: number; tokens: number | null; at: number | null }>(
      client,
      this.sql.limits,
      [endpointId],
    );
    const sending = limits!.sending;
    const bucket = limits!.at === null ? undefined : { tokens: limits!.tokens!, at: limits!.at };
    const tokens = ratePerSecond === null ? null : bucketTokens(bucket, ratePerSecond, now);
    const allowed = sharedAllowance(request, asked, sending, tokens);
    const { rows, due } = request.fifo
      ? await this.claimFifo(client, endpointId, allowed, lease)
      : await this.claimFair(client, endpointId, allowed, lease);
    if (tokens !== null && rows.length > 0) {
      await run(client, this.sql.putBucket, [
        endpointId,
        tokens - rows.length,
        Math.max(now, bucket?.at ?? now),
      ]);
    }
    const claimed = rows.map(toClaimed);
    if (rows.length >= asked) return { claimed };
    const at = await due();
    // Rows due now that only the shared limits kept back.
    if (rows.length === allowed && at !== null && at <= now) {
      const until = heldUntil(request, sending, tokens, rows.length, now);
      return { claimed, nextDue: until, held: until };
    }
    return { claimed, nextDue: at };
  }

  /**
   * Half the slots go to first attempts, then retries take what they can, then
   * first attempts the rest; an odd slot goes to each in turn (as on SQLite,
   * `ClaimSql.claimFair`).
   */
  private async claimFair(client: pg.PoolClient, endpointId: string, asked: number, lease: Lease) {
    const { now, owner, until: leaseUntil } = lease;
    const due = () => this.nextDueFor(endpointId, client);
    // Nothing to take (the shared limits allow none): only when the next row is due.
    if (asked <= 0) return { rows: [] as ClaimRow[], due };
    const take = (kind: 0 | 1, limit: number) =>
      limit <= 0
        ? Promise.resolve([] as ClaimRow[])
        : run<ClaimRow>(client, this.sql.claim, [leaseUntil, owner, now, endpointId, kind, limit]);
    const { retries, more } = fairOrder(asked, endpointId, this.retryTakesOdd);
    const both = await run<ClaimRow>(client, this.sql.claimFair, [
      leaseUntil,
      owner,
      now,
      endpointId,
      retries,
      asked,
    ]);
    const retried = both.filter((row) => row.attempt_count > 0).length;
    const c = await take(1, more(retried, both.length - retried));
    return { rows: both.concat(c), due };
  }

  /**
   * Claims the due heads of the endpoint's ordering keys (see `fifoHeads`),
   * each by seq and only while still pending, so two senders never both take
   * it. Due heads left untried (`asked` reached) make the endpoint due now.
   */
  private async claimFifo(client: pg.PoolClient, endpointId: string, asked: number, lease: Lease) {
    const { now, owner, until: leaseUntil } = lease;
    const window = await run<FifoWindowRow>(client, this.sql.fifoWindow, [endpointId, FIFO_WINDOW]);
    const { ready, due } = fifoHeads(window, now);
    const rows: ClaimRow[] = [];
    let tried = 0;
    for (const seq of ready) {
      if (rows.length >= asked) break;
      tried++;
      const one = await run<ClaimRow>(client, this.sql.claimOne, [leaseUntil, owner, now, seq]);
      if (one[0] !== undefined) rows.push(one[0]);
    }
    return { rows, due: async () => (tried < ready.length ? now : due) };
  }

  async nextDueFor(endpointId: string, db: Queryable = this.pool): Promise<number | null> {
    return (await this.dueTimes([endpointId], db)).get(endpointId) ?? null;
  }

  /** When each endpoint's earliest pending row is due (`null`: none). */
  async dueTimes(
    endpointIds: readonly string[],
    db: Queryable = this.pool,
  ): Promise<Map<string, number | null>> {
    const rows = await run<{ id: string; t: number | null }>(db, this.sql.dueTimes, [endpointIds]);
    return new Map(rows.map((row) => [row.id, row.t]));
  }
}

/** Adds one endpoint's claim to a batch's outcome, its rows in seq order; returns how many it took. */
function addClaim(outcome: ClaimOutcome, endpointId: string, taken: EndpointClaim): number {
  for (const delivery of taken.claimed.sort((a, b) => a.seq - b.seq)) outcome.claimed.push(delivery);
  if (taken.nextDue !== undefined) outcome.nextDue.set(endpointId, taken.nextDue);
  if (taken.held !== undefined) outcome.held.set(endpointId, taken.held);
  return taken.claimed.length;
}
