import { circuitState, type HealthState } from '../shared/circuit.js';
import { iso } from '../shared/clock.js';
import { InvalidArgumentError } from '../shared/errors/input.js';
import { newEndpointId } from '../shared/ids.js';
import type { EndpointRow } from '../shared/rows.js';
import { generateSecret, parseSecret } from '../shared/secret.js';
import type { EndpointHealth } from '../shared/types.js';
import {
  validateConcurrency,
  validateDescription,
  validateEvents,
  validateHeaders,
  validateMetadata,
  validateOrdering,
  validateRateLimit,
  validateTenant,
  validateUrl,
} from './endpoint-input.js';
// The endpoint rows `endpoints.add`, `update`, `rotateSecret` and `health`
// build from checked input, the same for both stores; each store's API only
// reads and writes them.

/** The `secret` option: a valid `whsec_` string, or a generated one when absent. */
export function secretFrom(value: unknown): string {
  if (value === undefined) return generateSecret();
  if (typeof value !== 'string')
    throw new InvalidArgumentError(
      'secret',
      'Expected `secret` to be a `whsec_` string',
      'ERR_INVALID_SECRET',
    );
  parseSecret(value);
  return value;
}

/** A new, enabled endpoint's row from `add`'s input (already checked for unknown keys). */
export function newEndpointRow(
  o: Record<string, unknown>,
  checkUrl: (url: string) => void,
  now: () => number,
): EndpointRow {
  const url = validateUrl(o.url);
  checkUrl(url);
  const secret = secretFrom(o.secret);
  const at = now();
  return {
    id: newEndpointId(),
    url,
    events: JSON.stringify(o.events === undefined ? ['*'] : validateEvents(o.events)),
    tenant: validateTenant(o.tenant),
    secret,
    previous_secret: null,
    previous_secret_until: null,
    headers: JSON.stringify(validateHeaders(o.headers)),
    description: validateDescription(o.description),
    metadata: JSON.stringify(validateMetadata(o.metadata)),
    concurrency: validateConcurrency(o.concurrency),
    rate_limit_per_second: validateRateLimit(o.rateLimit),
    ordering: validateOrdering(o.ordering),
    enabled: 1,
    disabled_reason: null,
    created_at: at,
    updated_at: at,
  };
}

/**
 * Applies `update`'s patch (already checked for unknown keys) to a copy of
 * `row`, changing the fields `given` says the patch carries.
 */
export function patchedEndpointRow(
  current: EndpointRow,
  o: Record<string, unknown>,
  given: (key: string) => boolean,
  checkUrl: (url: string) => void,
  now: () => number,
): EndpointRow {
  const row = { ...current };
  if (given('url')) {
    row.url = validateUrl(o.url);
    checkUrl(row.url);
  }
  if (given('events')) row.events = JSON.stringify(validateEvents(o.events));
  if (given('tenant')) row.tenant = validateTenant(o.tenant);
  if (given('headers')) row.headers = JSON.stringify(validateHeaders(o.headers));
  if (given('description')) row.description = validateDescription(o.description);
  if (given('metadata')) row.metadata = JSON.stringify(validateMetadata(o.metadata));
  if (given('concurrency')) row.concurrency = validateConcurrency(o.concurrency);
  if (given('rateLimit')) row.rate_limit_per_second = validateRateLimit(o.rateLimit);
  if (given('ordering')) row.ordering = validateOrdering(o.ordering);
  row.updated_at = now();
  return row;
}

/** The row after `rotateSecret`: the old secret keeps signing for `graceMs` (none when 0). */
export function rotatedEndpointRow(
  current: EndpointRow,
  secret: string,
  graceMs: number,
  now: number,
): EndpointRow {
  return {
    ...current,
    secret,
    previous_secret: graceMs > 0 ? current.secret : null,
    previous_secret_until: graceMs > 0 ? now + graceMs : null,
    updated_at: now,
  };
}

/** How far back `health` counts attempts, in ms (an hour). */
export const HEALTH_WINDOW_MS = 60 * 60 * 1000;

/** `endpoints.health` from the stored state and the attempt counts over the last hour. */
export function toEndpointHealth(
  endpointId: string,
  h: HealthState,
  { succeeded, failed }: { succeeded: number; failed: number },
  now: number,
): EndpointHealth {
  const at = (ms: number | null) => (ms === null ? null : iso(ms));
  return {
    endpointId,
    circuit: circuitState(h, now),
    consecutiveFailures: h.consecutiveFailures,
    failingSince: at(h.failingSince),
    lastSuccessAt: at(h.lastSuccessAt),
    lastFailureAt: at(h.lastFailureAt),
    circuitOpenUntil: at(h.circuitOpenUntil),
    attemptsLastHour: succeeded + failed,
    successRateLastHour: succeeded + failed === 0 ? null : succeeded / (succeeded + failed),
  };
}
