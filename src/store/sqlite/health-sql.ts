import type { Database, Statement } from 'better-sqlite3';
import type { OutcomeTally } from '../../engine/fold-outcomes.js';
import type { HealthState } from '../../shared/circuit.js';
import { type HealthRow, MINUTE_MS, toHealth } from '../health-row.js';
import type { ActivityRow } from '../queries.js';
/** Endpoint health: the circuit and failure streak, and outcome counts per minute. */
export class HealthSql {
  private readonly getStmt: Statement<[string], HealthRow>;
  private readonly allStmt: Statement<[], HealthRow>;
  private readonly putStmt: Statement;
  private readonly countStmt: Statement;
  private readonly rateStmt: Statement<[string, number], { succeeded: number | null; failed: number | null }>;
  private readonly pruneMinutesStmt: Statement;
  private readonly deleteStmt: Statement;
  private readonly openStmt: Statement<[], { endpoint_id: string }>;
  private readonly activityAddStmt: Statement;
  private readonly activityStmt: Statement<[number, number], ActivityRow>;
  private readonly activityPruneStmt: Statement;

  constructor(db: Database, p: string) {
    this.getStmt = db.prepare(`SELECT * FROM ${p}endpoint_health WHERE endpoint_id = ?`);
    this.allStmt = db.prepare(`SELECT * FROM ${p}endpoint_health`);
    this.putStmt = db.prepare(
      `INSERT OR REPLACE INTO ${p}endpoint_health (endpoint_id, consecutive_failures, failing_since, last_success_at,
         last_failure_at, circuit_open_until, circuit_opens)
       VALUES (@endpointId, @consecutiveFailures, @failingSince, @lastSuccessAt, @lastFailureAt, @circuitOpenUntil,
         @circuitOpens)`,
    );
    this.countStmt = db.prepare(
      `INSERT INTO ${p}endpoint_minutes (endpoint_id, minute, succeeded, failed) VALUES (?, ?, ?, ?)
       ON CONFLICT (endpoint_id, minute) DO UPDATE SET succeeded = succeeded + excluded.succeeded,
         failed = failed + excluded.failed`,
    );
    this.rateStmt = db.prepare(
      `SELECT sum(succeeded) AS succeeded, sum(failed) AS failed FROM ${p}endpoint_minutes
       WHERE endpoint_id = ? AND minute >= ?`,
    );
    this.pruneMinutesStmt = db.prepare(`DELETE FROM ${p}endpoint_minutes WHERE minute < ?`);
    this.deleteStmt = db.prepare(`DELETE FROM ${p}endpoint_health WHERE endpoint_id = ?`);
    this.activityAddStmt = db.prepare(
      `INSERT INTO ${p}activity (minute, succeeded, retrying, failed) VALUES (?, ?, ?, ?)
       ON CONFLICT (minute) DO UPDATE SET succeeded = succeeded + excluded.succeeded,
         retrying = retrying + excluded.retrying, failed = failed + excluded.failed`,
    );
    this.activityStmt = db.prepare(
      `SELECT minute, succeeded, retrying, failed FROM ${p}activity WHERE minute >= ? AND minute < ? ORDER BY minute`,
    );
    this.activityPruneStmt = db.prepare(`DELETE FROM ${p}activity WHERE minute < ?`);
    this.openStmt = db.prepare(
      `SELECT h.endpoint_id FROM ${p}endpoint_health h JOIN ${p}endpoints e ON e.id = h.endpoint_id
       WHERE h.circuit_open_until IS NOT NULL AND e.enabled = 1 ORDER BY h.endpoint_id`,
    );
  }

  /** Adds a batch's outcomes to the minute of `at`. */
  countActivity(at: number, tally: OutcomeTally): void {
    if (tally.succeeded + tally.retrying + tally.failed === 0) return;
    this.activityAddStmt.run(Math.floor(at / MINUTE_MS), tally.succeeded, tally.retrying, tally.failed);
  }

  /** The minutes from `from` to before `to` (minute numbers) that saw attempts, oldest first. */
  activity(from: number, to: number): ActivityRow[] {
    return this.activityStmt.all(from, to);
  }

  /** Drops the activity of minutes before `before` (ms). */
  pruneActivity(before: number): void {
    this.activityPruneStmt.run(Math.floor(before / MINUTE_MS));
  }

  /** The enabled endpoints whose circuit is open or half-open (not yet closed by a probe). */
  openCircuits(): string[] {
    return this.openStmt.all().map((row) => row.endpoint_id);
  }

  get(endpointId: string): HealthState {
    return toHealth(this.getStmt.get(endpointId));
  }

  all(): Map<string, HealthState> {
    return new Map(this.allStmt.all().map((row) => [row.endpoint_id, toHealth(row)]));
  }

  put(endpointId: string, health: HealthState): void {
    this.putStmt.run({ endpointId, ...health });
  }

  /** Clears the streak and closes the circuit (an endpoint enabled again starts afresh). */
  reset(endpointId: string): void {
    this.deleteStmt.run(endpointId);
  }

  count(endpointId: string, at: number, succeeded: number, failed: number): void {
    this.countStmt.run(endpointId, Math.floor(at / MINUTE_MS), succeeded, failed);
  }

  /** Attempts that succeeded and failed in the last `windowMs`, at minute granularity. */
  outcomes(endpointId: string, now: number, windowMs: number): { succeeded: number; failed: number } {
    const row = this.rateStmt.get(endpointId, Math.floor((now - windowMs) / MINUTE_MS) + 1)!;
    return { succeeded: row.succeeded ?? 0, failed: row.failed ?? 0 };
  }

  /** Drops minute counts older than `before` (ms). */
  pruneMinutes(before: number): void {
    this.pruneMinutesStmt.run(Math.floor(before / MINUTE_MS));
  }
}
