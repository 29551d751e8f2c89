import type pg from 'pg';
import type { OutcomeTally } from '../../engine/fold-outcomes.js';
import type { HealthState } from '../../shared/circuit.js';
import { type HealthRow, MINUTE_MS, toHealth } from '../health-row.js';
import type { ActivityRow } from '../queries.js';
import { columns, type Queryable, run } from './db.js';

/** Rows per minute of activity: senders recording at once pick one at random. */
const ACTIVITY_SHARDS = 8;

export const minuteOf = (at: number): number => Math.floor(at / MINUTE_MS);

/**
 * A batch's activity as the statements bind it: a random shard of its minute, its counts, and
 * whether to write it at all (`tally` given and not empty).
 */
export function activityParams(tally: OutcomeTally | null): [number, number, number, number, boolean] {
  const counted = tally !== null && tally.succeeded + tally.retrying + tally.failed > 0;
  return [
    Math.floor(Math.random() * ACTIVITY_SHARDS),
    tally?.succeeded ?? 0,
    tally?.retrying ?? 0,
    tally?.failed ?? 0,
    counted,
  ];
}

function statements(s: string) {
  return {
    ensure: `INSERT INTO ${s}.endpoint_health (endpoint_id) SELECT unnest($1::text[]) ORDER BY 1
      ON CONFLICT (endpoint_id) DO NOTHING`,
    lock: `SELECT * FROM ${s}.endpoint_health WHERE endpoint_id = ANY($1::text[]) ORDER BY endpoint_id
      FOR UPDATE`,
    // A batch's endpoints, one statement: their new health, their counts for the minute ($8) and,
    // when $15, the batch's activity in shard $11 of that minute. PostgreSQL writes the activity row
    // first, then the CTEs': safe because the health rows are locked already (lockIn) and every
    // writer of an endpoint's minute rows holds its health row first. A row added here must be too.
    record: `WITH put AS (
        INSERT INTO ${s}.endpoint_health (endpoint_id, consecutive_failures, failing_since, last_success_at,
          last_failure_at, circuit_open_until, circuit_opens)
        SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::int[])
        ON CONFLICT (endpoint_id) DO UPDATE SET consecutive_failures = excluded.consecutive_failures,
          failing_since = excluded.failing_since, last_success_at = excluded.last_success_at,
          last_failure_at = excluded.last_failure_at, circuit_open_until = excluded.circuit_open_until,
          circuit_opens = excluded.circuit_opens
      ), minutes AS (
        INSERT INTO ${s}.endpoint_minutes AS m (endpoint_id, minute, succeeded, failed)
        SELECT t.endpoint_id, $8::bigint, t.ok, t.failed FROM unnest($1::text[], $9::int[], $10::int[])
          AS t(endpoint_id, ok, failed)
        ON CONFLICT (endpoint_id, minute) DO UPDATE SET succeeded = m.succeeded + excluded.succeeded,
          failed = m.failed + excluded.failed
      )
      INSERT INTO ${s}.activity AS a (minute, shard, succeeded, retrying, failed)
      SELECT $8::bigint, $11::smallint, $12::int, $13::int, $14::int WHERE $15::boolean
      ON CONFLICT (minute, shard) DO UPDATE SET succeeded = a.succeeded + excluded.succeeded,
        retrying = a.retrying + excluded.retrying, failed = a.failed + excluded.failed`,
    get: `SELECT * FROM ${s}.endpoint_health WHERE endpoint_id = $1`,
    all: `SELECT * FROM ${s}.endpoint_health`,
    delete: `DELETE FROM ${s}.endpoint_health WHERE endpoint_id = $1`,
    outcomes: `SELECT sum(succeeded) AS succeeded, sum(failed) AS failed FROM ${s}.endpoint_minutes
      WHERE endpoint_id = $1 AND minute >= $2`,
    pruneMinutes: `DELETE FROM ${s}.endpoint_minutes WHERE minute < $1`,
    countActivity: `INSERT INTO ${s}.activity AS a (minute, shard, succeeded, retrying, failed)
      VALUES ($1, $2, $3, $4, $5)
      ON CONFLICT (minute, shard) DO UPDATE SET succeeded = a.succeeded + excluded.succeeded,
        retrying = a.retrying + excluded.retrying, failed = a.failed + excluded.failed`,
    activity: `SELECT minute, sum(succeeded) AS succeeded, sum(retrying) AS retrying, sum(failed) AS failed
      FROM ${s}.activity WHERE minute >= $1 AND minute < $2 GROUP BY minute ORDER BY minute`,
    pruneActivity: `DELETE FROM ${s}.activity WHERE minute < $1`,
    openCircuits: `SELECT h.endpoint_id FROM ${s}.endpoint_health h JOIN ${s}.endpoints e ON e.id = h.endpoint_id
      WHERE h.circuit_open_until IS NOT NULL AND e.enabled = 1 ORDER BY h.endpoint_id`,
  };
}

/** Endpoint health: the circuit and failure streak, and outcome counts per minute. */
export class PgHealthSql {
  private readonly sql: ReturnType<typeof statements>;

  constructor(
    private readonly pool: pg.Pool,
    s: string,
  ) {
    this.sql = statements(s);
  }

  /** Locks the endpoints' health rows (creating missing ones) in id order, and reads them. */
  async lockIn(client: Queryable, endpointIds: readonly string[]): Promise<Map<string, HealthState>> {
    const sorted = [...endpointIds].sort();
    await run(client, this.sql.ensure, [sorted]);
    const rows = await run<HealthRow>(client, this.sql.lock, [sorted]);
    return new Map(rows.map((row) => [row.endpoint_id, toHealth(row)]));
  }

  /**
   * Writes the endpoints' new health and adds their outcomes to the minute of `at`, in one
   * statement inside the caller's transaction (their rows locked by `lockIn`). With `tally`, the
   * batch's activity too, as `countActivityIn`: then it must be the transaction's last statement
   * (the activity row is locked after every row but these).
   */
  async recordIn(
    client: Queryable,
    endpoints: readonly { endpointId: string; health: HealthState; ok: number; failed: number }[],
    at: number,
    tally: OutcomeTally | null,
  ): Promise<void> {
    // Object.assign, not a spread followed by more keys (V8's slow path on Node 20, see announce.ts).
    const rows = endpoints.map(({ endpointId, health, ok, failed }) =>
      Object.assign({ endpointId }, health, { ok, failed }),
    );
    await run(client, this.sql.record, [
      ...columns(rows, [
        'endpointId',
        'consecutiveFailures',
        'failingSince',
        'lastSuccessAt',
        'lastFailureAt',
        'circuitOpenUntil',
        'circuitOpens',
      ]),
      minuteOf(at),
      ...columns(rows, ['ok', 'failed']),
      ...activityParams(tally),
    ]);
  }

  /** Forgets the endpoint's health (a closed circuit, no streak) inside the caller's transaction. */
  async deleteIn(client: Queryable, endpointId: string): Promise<void> {
    await run(client, this.sql.delete, [endpointId]);
  }

  async get(endpointId: string): Promise<HealthState> {
    return toHealth((await run<HealthRow>(this.pool, this.sql.get, [endpointId]))[0]);
  }

  async all(): Promise<Map<string, HealthState>> {
    const rows = await run<HealthRow>(this.pool, this.sql.all);
    return new Map(rows.map((row) => [row.endpoint_id, toHealth(row)]));
  }

  /** Succeeded and failed attempts of the endpoint over the last `windowMs`, by whole minutes. */
  async outcomes(endpointId: string, now: number, windowMs: number) {
    const row = (
      await run<{ succeeded: number | null; failed: number | null }>(this.pool, this.sql.outcomes, [
        endpointId,
        Math.floor((now - windowMs) / MINUTE_MS) + 1,
      ])
    )[0];
    return { succeeded: row?.succeeded ?? 0, failed: row?.failed ?? 0 };
  }

  /** The enabled endpoints whose circuit is open or half-open (not yet closed by a probe). */
  async openCircuits(): Promise<string[]> {
    return (await run<{ endpoint_id: string }>(this.pool, this.sql.openCircuits)).map(
      (row) => row.endpoint_id,
    );
  }

  /**
   * Adds a batch's outcomes to the minute of `at`, in one of its shards, inside the caller's
   * transaction. Its last statement: the row it locks is taken after every other, so no deadlock.
   */
  async countActivityIn(client: Queryable, at: number, tally: OutcomeTally): Promise<void> {
    if (tally.succeeded + tally.retrying + tally.failed === 0) return;
    const shard = Math.floor(Math.random() * ACTIVITY_SHARDS);
    await run(client, this.sql.countActivity, [
      Math.floor(at / MINUTE_MS),
      shard,
      tally.succeeded,
      tally.retrying,
      tally.failed,
    ]);
  }

  /** The minutes from `from` to before `to` (minute numbers) that saw attempts, oldest first. */
  activity(from: number, to: number): Promise<ActivityRow[]> {
    return run<ActivityRow>(this.pool, this.sql.activity, [from, to]);
  }

  async pruneActivity(before: number): Promise<void> {
    await run(this.pool, this.sql.pruneActivity, [Math.floor(before / MINUTE_MS)]);
  }

  async pruneMinutes(before: number): Promise<void> {
    await run(this.pool, this.sql.pruneMinutes, [Math.floor(before / MINUTE_MS)]);
  }
}
