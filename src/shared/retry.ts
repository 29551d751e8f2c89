import { WebhookError } from './errors/base.js';
import { describe } from './validate.js';
/** What the retry policy is told after a failed attempt. */
export interface RetryContext {
  /** The number of the attempt that just failed, 1 for the first. */
  attempt: number;
  /** The HTTP status, when a response arrived. */
  statusCode: number | null;
  /** The error code (`ETIMEDOUT`, `ECONNREFUSED`, `ERR_SSRF_BLOCKED`, ...), when no response arrived. */
  errorCode: string | null;
  /** The response headers kept in the attempt log (lower-case names). */
  responseHeaders: Readonly<Record<string, string>>;
  event: { readonly id: string; readonly type: string; readonly tenant: string | null };
  endpointId: string;
  deliveryId: string;
}

/** Returns the delay in milliseconds before the next attempt, or `null` to give up. */
export type RetryFunction = (context: RetryContext) => number | null;

/**
 * Either the delays between attempts in milliseconds (each gets ±20% jitter;
 * `[]` means a single attempt), or a function that decides.
 */
export type RetryPolicy = readonly number[] | RetryFunction;

/** Svix's schedule: immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: 8 attempts over about 27 h. */
export const DEFAULT_RETRY_SCHEDULE: readonly number[] = Object.freeze([
  5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
]);

/** Jitter applied to schedule delays, as a fraction either way. */
export const RETRY_JITTER = 0.2;

/** `Retry-After` is honoured up to this many milliseconds (6 h): a receiver cannot park a delivery for ever. */
export const MAX_RETRY_AFTER_MS = 6 * 60 * 60 * 1000;

/**
 * Parses a `Retry-After` value (delta-seconds or an HTTP date) into
 * milliseconds from `now`, or `null` when absent or unreadable.
 */
export function parseRetryAfter(value: string | undefined, now: number): number | null {
  if (value === undefined) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - now);
}

/** A retry function's answer that hookline takes: a delay in ms >= 0, or `null` (give up). */
export function isRetryDelay(value: unknown): value is number | null {
  return value === null || (typeof value === 'number' && Number.isFinite(value) && value >= 0);
}

/** The error for a retry function that answered `described` (a value's description, never the value). */
export function invalidRetryDelay(described: string, context: RetryContext): WebhookError {
  return new WebhookError(
    'ERR_INVALID_RETRY_DELAY',
    `The retry function returned ${described}; expected a delay in ms >= 0 or null. The delivery is given up`,
    { endpointId: context.endpointId, deliveryId: context.deliveryId, eventId: context.event.id },
  );
}

/**
 * Decides when the next attempt happens. Pure: no I/O, no clock but `now`,
 * randomness only through `random`.
 */
export function nextRetryDelay(
  policy: RetryPolicy,
  context: RetryContext,
  now: number,
  random: () => number = Math.random,
): number | null {
  let delay: number | null;
  if (typeof policy === 'function') {
    delay = policy(context);
    if (!isRetryDelay(delay)) throw invalidRetryDelay(describe(delay), context);
  } else {
    const base = policy[context.attempt - 1];
    delay = base === undefined ? null : Math.round(base * (1 + RETRY_JITTER * (2 * random() - 1)));
  }
  if (delay === null) return null;
  if (context.statusCode === 429 || context.statusCode === 503) {
    const retryAfter = parseRetryAfter(context.responseHeaders['retry-after'], now);
    if (retryAfter !== null) delay = Math.max(delay, Math.min(retryAfter, MAX_RETRY_AFTER_MS));
  }
  return delay;
}
