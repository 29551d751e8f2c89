import { afterAttempt, type CircuitConfig, type HealthState } from '../shared/circuit.js';
import type { AttemptResult } from './claims.js';
// How recorded attempts change an endpoint's health: pure, the same for both
// stores; each store reads and writes the health rows in its own transaction.

/** The attempts that made a request (the others say nothing of the endpoint), by endpoint, in order. */
export function loggedByEndpoint(results: readonly AttemptResult[]): Map<string, AttemptResult[]> {
  const byEndpoint = new Map<string, AttemptResult[]>();
  for (const result of results) {
    if (!result.logged) continue;
    const list = byEndpoint.get(result.endpointId);
    if (list) list.push(result);
    else byEndpoint.set(result.endpointId, [result]);
  }
  return byEndpoint;
}

/**
 * Folds one endpoint's attempts, in order, into its health: the new state, how
 * many succeeded, and why to disable the endpoint (`null`: keep it; a later
 * success clears an earlier reason).
 */
export function foldAttempts(
  health: HealthState,
  attempts: readonly AttemptResult[],
  circuit: CircuitConfig,
): { health: HealthState; succeeded: number; disable: string | null } {
  let state = health;
  let reason: string | null = null;
  let ok = 0;
  for (const result of attempts) {
    const succeeded = result.status === 'succeeded';
    if (succeeded) ok++;
    const next = afterAttempt(
      state,
      { ok: succeeded, statusCode: result.statusCode },
      result.updatedAt,
      circuit,
    );
    state = next.health;
    reason = succeeded ? null : (next.disable ?? reason);
  }
  return { health: state, succeeded: ok, disable: reason };
}

/** An endpoint whose attempts in a batch ended with a success: its health is then known without reading it. */
export interface DeliveredEndpoint {
  endpointId: string;
  lastSuccessAt: number;
  /** The batch's last failure before that success (`null`: none; the stored one stands). */
  lastFailureAt: number | null;
  ok: number;
  failed: number;
}

/**
 * Each endpoint's batch when every one ended with a success, whatever came before: `foldAttempts`
 * then leaves it healthy, with its last success, its last failure (the batch's, else the one it
 * had), and no reason to disable it. `null` when any endpoint's last attempt failed.
 */
export function endedInSuccess(byEndpoint: Map<string, AttemptResult[]>): DeliveredEndpoint[] | null {
  const delivered: DeliveredEndpoint[] = [];
  for (const [endpointId, list] of byEndpoint) {
    const last = list.at(-1)!;
    if (last.status !== 'succeeded') return null;
    let ok = 0;
    let lastFailureAt: number | null = null;
    for (const result of list) {
      if (result.status === 'succeeded') ok++;
      else lastFailureAt = result.updatedAt;
    }
    delivered.push({
      endpointId,
      lastSuccessAt: last.updatedAt,
      lastFailureAt,
      ok,
      failed: list.length - ok,
    });
  }
  return delivered;
}

/** Endpoints with an attempt that came back with a retry scheduled (see `record`). */
export function retriedEndpoints(results: readonly AttemptResult[]): Set<string> {
  return new Set(results.filter((r) => r.status === 'pending').map((r) => r.endpointId));
}

/** Attempt outcomes of a batch, for the per-minute activity: delivered, to be retried, given up. */
export interface OutcomeTally {
  succeeded: number;
  retrying: number;
  failed: number;
}

export function tallyOutcomes(results: readonly AttemptResult[]): OutcomeTally {
  const tally = { succeeded: 0, retrying: 0, failed: 0 };
  for (const r of results) {
    if (!r.logged) continue;
    if (r.status === 'succeeded') tally.succeeded++;
    else if (r.status === 'pending') tally.retrying++;
    else tally.failed++;
  }
  return tally;
}
