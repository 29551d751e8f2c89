import { WebhookError } from '../shared/errors/base.js';

/** What every delivery notice says about the delivery. */
export interface DeliveryNotice {
  deliveryId: string;
  eventId: string;
  eventType: string;
  endpointId: string;
  tenant: string | null;
}

/** Emitted after each attempt is recorded. */
export interface AttemptNotice extends DeliveryNotice {
  /** 1 for the first attempt. */
  attempt: number;
  statusCode: number | null;
  errorCode: string | null;
  errorMessage: string | null;
  durationMs: number;
}

/** Emitted when a delivery received a 2xx. */
export interface DeliveredNotice extends DeliveryNotice {
  attempts: number;
  statusCode: number;
}

/** Emitted when an attempt failed and another is scheduled. */
export interface RetryingNotice extends DeliveryNotice {
  attempts: number;
  statusCode: number | null;
  errorCode: string | null;
  /** ISO time of the next attempt. */
  nextAttemptAt: string;
}

/** Emitted when the retry policy gave up: the delivery is `failed`. */
export interface FailedNotice extends DeliveryNotice {
  attempts: number;
  statusCode: number | null;
  errorCode: string | null;
  errorMessage: string | null;
}

/** Emitted when an endpoint is disabled by the sender. */
export interface EndpointDisabledNotice {
  endpointId: string;
  reason: string;
}

/**
 * Emitted when this process sees an endpoint's circuit change: `open` after
 * its failures reached the threshold (its deliveries wait, still `pending`,
 * until `openUntil`), `half-open` when the cool-off is over and a probe
 * attempt is sent, `closed` after the probe (or any attempt) succeeded, or
 * the endpoint was enabled again or given a new URL.
 */
export interface CircuitNotice {
  endpointId: string;
  state: 'open' | 'half-open' | 'closed';
  consecutiveFailures: number;
  /** ISO time the cool-off ends; `null` once closed. */
  openUntil: string | null;
}

/** The sender's events and what their listeners receive. */
export interface SenderEvents {
  attempt: [AttemptNotice];
  delivered: [DeliveredNotice];
  retrying: [RetryingNotice];
  failed: [FailedNotice];
  'endpoint.disabled': [EndpointDisabledNotice];
  'endpoint.circuit': [CircuitNotice];
  /** A background failure (database, a throwing listener, a retry function that threw). */
  error: [WebhookError];
}

export type Notify = <K extends keyof SenderEvents>(name: K, ...args: SenderEvents[K]) => void;

/** A background failure as the `error` event carries it: a `WebhookError`, `ERR_DISPATCH` unless it is one. */
export function dispatchError(error: unknown, message: string): WebhookError {
  if (error instanceof WebhookError) return error;
  return new WebhookError('ERR_DISPATCH', `${message}: ${(error as Error)?.message ?? String(error)}`, {
    cause: error,
  });
}
