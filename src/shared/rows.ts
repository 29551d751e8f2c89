import { iso } from './clock.js';
import { attemptId, deliveryId } from './ids.js';
import type {
  Attempt,
  AttemptRecord,
  Delivery,
  DeliveryStatus,
  Endpoint,
  WebhookEventRecord,
} from './types.js';
// Rows as SQLite returns them. Times are integer ms since the epoch.

export interface EndpointRow {
  id: string;
  url: string;
  events: string;
  tenant: string | null;
  secret: string;
  previous_secret: string | null;
  previous_secret_until: number | null;
  headers: string;
  description: string | null;
  metadata: string;
  enabled: number;
  disabled_reason: string | null;
  created_at: number;
  updated_at: number;
  concurrency: number | null;
  rate_limit_per_second: number | null;
  ordering: 'none' | 'fifo';
  /** Set by the store on every change (see FanoutSql.settle); absent on a row not yet written. */
  match_from?: number;
}

export interface EventRow {
  seq: number;
  id: string;
  type: string;
  tenant: string | null;
  idempotency_key: string | null;
  ordering_key: string | null;
  payload: string;
  created_at: number;
}

export interface DeliveryRow {
  seq: number;
  event_id: string;
  event_type: string;
  tenant: string | null;
  endpoint_id: string;
  status: DeliveryStatus;
  attempt_count: number;
  next_attempt_at: number | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

export interface AttemptRow {
  seq: number;
  delivery_seq: number;
  number: number;
  started_at: number;
  duration_ms: number;
  status_code: number | null;
  response_headers: string | null;
  response_body: string | null;
  error_code: string | null;
  error_message: string | null;
}

/** An attempt of the feed, with the ids of its delivery. */
export interface AttemptFeedRow extends AttemptRow {
  event_id: string;
  event_type: string;
  tenant: string | null;
  endpoint_id: string;
}

const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

export function toEndpoint(row: EndpointRow): Endpoint {
  const endpoint = {
    id: row.id,
    url: row.url,
    events: JSON.parse(row.events) as string[],
    tenant: row.tenant,
    headers: JSON.parse(row.headers) as Record<string, string>,
    description: row.description,
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    enabled: row.enabled === 1,
    disabledReason: row.disabled_reason,
    concurrency: row.concurrency,
    rateLimit: row.rate_limit_per_second === null ? null : { perSecond: row.rate_limit_per_second },
    ordering: row.ordering,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
  // Not enumerable: logging or serializing an endpoint must not print its secret.
  Object.defineProperty(endpoint, 'secret', { value: row.secret, enumerable: false });
  return endpoint as Endpoint;
}

export function toEvent(row: EventRow): WebhookEventRecord {
  return {
    id: row.id,
    type: row.type,
    tenant: row.tenant,
    idempotencyKey: row.idempotency_key,
    orderingKey: row.ordering_key,
    payload: JSON.parse(row.payload),
    createdAt: iso(row.created_at),
  };
}

export function toDelivery(row: DeliveryRow): Delivery {
  return {
    id: deliveryId(row.seq),
    eventId: row.event_id,
    eventType: row.event_type,
    endpointId: row.endpoint_id,
    tenant: row.tenant,
    status: row.status,
    attemptCount: row.attempt_count,
    nextAttemptAt: isoOrNull(row.next_attempt_at),
    lastStatusCode: row.last_status_code,
    lastError: row.last_error,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

export function toAttempt(row: AttemptRow): Attempt {
  return {
    id: attemptId(row.seq),
    deliveryId: deliveryId(row.delivery_seq),
    number: row.number,
    startedAt: iso(row.started_at),
    durationMs: row.duration_ms,
    statusCode: row.status_code,
    responseHeaders:
      row.response_headers === null ? {} : (JSON.parse(row.response_headers) as Record<string, string>),
    responseBody: row.response_body,
    errorCode: row.error_code,
    errorMessage: row.error_message,
  };
}

export function toAttemptRecord(row: AttemptFeedRow): AttemptRecord {
  return {
    ...toAttempt(row),
    eventId: row.event_id,
    eventType: row.event_type,
    endpointId: row.endpoint_id,
    tenant: row.tenant,
  };
}
