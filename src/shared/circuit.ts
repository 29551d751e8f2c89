/** What the sender knows of an endpoint's recent answers. Times in ms since the epoch. */
export interface HealthState {
  consecutiveFailures: number;
  /** When the current run of failures began; `null` after a success. */
  failingSince: number | null;
  lastSuccessAt: number | null;
  lastFailureAt: number | null;
  /** Until when the circuit is open; `null`: closed. Past it, the circuit is half-open: one probe decides. */
  circuitOpenUntil: number | null;
  /** How many times in a row the circuit opened: each doubles the cool-off. */
  circuitOpens: number;
}

export interface CircuitConfig {
  /** Consecutive failures that open the circuit; 0 turns circuit breaking off. */
  threshold: number;
  /** First cool-off in ms; doubles each time the circuit opens again. */
  cooloff: number;
  maxCooloff: number;
  /** Failing without a single success for this long (ms) disables the endpoint; 0: never. */
  disableAfter: number;
}

export const HEALTHY: HealthState = Object.freeze({
  consecutiveFailures: 0,
  failingSince: null,
  lastSuccessAt: null,
  lastFailureAt: null,
  circuitOpenUntil: null,
  circuitOpens: 0,
});

export type CircuitState = 'closed' | 'open' | 'half-open';

export function circuitState(health: HealthState, now: number): CircuitState {
  if (health.circuitOpenUntil === null) return 'closed';
  return now < health.circuitOpenUntil ? 'open' : 'half-open';
}

/**
 * The next health after one attempt, and whether the endpoint must now be
 * disabled (and why). Pure: no clock but `now`.
 */
export function afterAttempt(
  health: HealthState,
  outcome: { ok: boolean; statusCode: number | null },
  now: number,
  config: CircuitConfig,
): { health: HealthState; disable: string | null } {
  if (outcome.ok) {
    return {
      health: { ...HEALTHY, lastSuccessAt: now, lastFailureAt: health.lastFailureAt },
      disable: null,
    };
  }
  const next: HealthState = {
    ...health,
    consecutiveFailures: health.consecutiveFailures + 1,
    failingSince: health.failingSince ?? now,
    lastFailureAt: now,
  };
  // Attempts already in flight when the circuit opened do not open it again:
  // only a failure while closed or of the half-open probe doubles the cool-off.
  const open = health.circuitOpenUntil !== null && now < health.circuitOpenUntil;
  if (config.threshold > 0 && next.consecutiveFailures >= config.threshold && !open) {
    next.circuitOpens = health.circuitOpens + 1;
    next.circuitOpenUntil = now + Math.min(config.cooloff * 2 ** (next.circuitOpens - 1), config.maxCooloff);
  }
  let disable: string | null = null;
  if (outcome.statusCode === 410) disable = 'the endpoint answered 410 Gone';
  else if (config.disableAfter > 0 && now - next.failingSince! >= config.disableAfter) {
    disable = `no successful delivery since ${new Date(next.failingSince!).toISOString()}`;
  }
  return { health: next, disable };
}
