import { deliveryId } from '../shared/ids.js';
import { nextRetryDelay, type RetryPolicy } from '../shared/retry.js';
import type { AttemptResult, ClaimedDelivery } from './claims.js';
import type { AttemptOutcome } from './http/attempt.js';
import type { DeliveryNotice } from './notices.js';

// What an attempt's outcome means for its delivery: succeeded, retried when, or given up.
// Pure, so the same verdict is reached wherever the engine runs.

/** What every notice about this delivery says. */
export function noticeOf(delivery: ClaimedDelivery): DeliveryNotice {
  return {
    deliveryId: deliveryId(delivery.seq),
    eventId: delivery.eventId,
    eventType: delivery.eventType,
    endpointId: delivery.endpointId,
    tenant: delivery.tenant,
  };
}

/** The endpoint was removed or disabled after the row was claimed: no request, the delivery fails. */
export function endpointGone(delivery: ClaimedDelivery, now: number): AttemptResult {
  return {
    seq: delivery.seq,
    endpointId: delivery.endpointId,
    logged: false,
    number: delivery.attemptCount,
    startedAt: now,
    durationMs: 0,
    statusCode: null,
    responseHeaders: null,
    responseBody: null,
    errorCode: null,
    errorMessage: null,
    status: 'failed',
    nextAttemptAt: null,
    lastError: 'endpoint removed or disabled',
    updatedAt: now,
  };
}

/**
 * The result to write for an attempt: a 2xx succeeds; otherwise the retry
 * policy says when to try again, or `null` (given up). A policy that throws
 * gives the delivery up, and `onRetryError` hears why.
 */
export function verdict(
  delivery: ClaimedDelivery,
  outcome: AttemptOutcome,
  retry: RetryPolicy,
  now: number,
  onRetryError: (error: unknown) => void,
): AttemptResult {
  const number = delivery.attemptCount + 1;
  const ok = outcome.statusCode !== null && outcome.statusCode >= 200 && outcome.statusCode < 300;
  let delay: number | null = null;
  if (!ok) {
    try {
      delay = nextRetryDelay(
        retry,
        {
          attempt: number - delivery.seriesStart,
          statusCode: outcome.statusCode,
          errorCode: outcome.errorCode,
          responseHeaders: outcome.responseHeaders,
          event: { id: delivery.eventId, type: delivery.eventType, tenant: delivery.tenant },
          endpointId: delivery.endpointId,
          deliveryId: deliveryId(delivery.seq),
        },
        now,
      );
    } catch (error) {
      onRetryError(error);
    }
  }
  const status = ok ? 'succeeded' : delay === null ? 'failed' : 'pending';
  return {
    seq: delivery.seq,
    endpointId: delivery.endpointId,
    logged: true,
    number,
    startedAt: outcome.startedAt,
    durationMs: outcome.durationMs,
    statusCode: outcome.statusCode,
    responseHeaders: JSON.stringify(outcome.responseHeaders),
    responseBody: outcome.responseBody,
    errorCode: outcome.errorCode,
    errorMessage: outcome.errorMessage,
    status,
    nextAttemptAt: status === 'pending' ? now + (delay as number) : null,
    lastError: ok
      ? null
      : outcome.errorCode !== null
        ? `${outcome.errorCode}: ${outcome.errorMessage}`
        : `HTTP ${outcome.statusCode}`,
    updatedAt: now,
  };
}
