import { HEALTHY, type HealthState } from '../shared/circuit.js';
/** An `endpoint_health` row as both stores return it. Times are integer ms since the epoch. */
export interface HealthRow {
  endpoint_id: string;
  consecutive_failures: number;
  failing_since: number | null;
  last_success_at: number | null;
  last_failure_at: number | null;
  circuit_open_until: number | null;
  circuit_opens: number;
}

/** A missing row is a healthy endpoint. */
export const toHealth = (row: HealthRow | undefined): HealthState =>
  row === undefined
    ? HEALTHY
    : {
        consecutiveFailures: row.consecutive_failures,
        failingSince: row.failing_since,
        lastSuccessAt: row.last_success_at,
        lastFailureAt: row.last_failure_at,
        circuitOpenUntil: row.circuit_open_until,
        circuitOpens: row.circuit_opens,
      };

/** Attempt outcomes are counted per whole minute. */
export const MINUTE_MS = 60_000;
