/** Times in every public record are ISO 8601 strings (UTC). */
export type Timestamp = string;

export type DeliveryStatus = 'pending' | 'sending' | 'succeeded' | 'failed';

/** A receiver of webhooks. `secret` is not enumerable, so logging an endpoint does not print it. */
export interface Endpoint {
  id: string;
  url: string;
  /** Event types or patterns (`order.*`, `*`) this endpoint receives. */
  events: string[];
  /** Only events emitted for this tenant reach it; `null`: only events emitted without a tenant. */
  tenant: string | null;
  /** The signing secret, `whsec_` + base64. Not enumerable. */
  readonly secret: string;
  /** Extra request headers sent with every delivery. */
  headers: Record<string, string>;
  description: string | null;
  metadata: Record<string, unknown>;
  enabled: boolean;
  disabledReason: string | null;
  /** Requests in flight to this endpoint at most; `null`: the sender's `endpointConcurrency`. */
  concurrency: number | null;
  /** Requests per second at most; `null`: no limit. */
  rateLimit: { perSecond: number } | null;
  /** `'fifo'`: one delivery at a time, in emit order (per `orderingKey`). */
  ordering: 'none' | 'fifo';
  createdAt: Timestamp;
  updatedAt: Timestamp;
}

/** What `emit` returns. */
export interface EmittedEvent {
  id: string;
  type: string;
  createdAt: Timestamp;
  /** How many deliveries (one per matching endpoint) were created. */
  deliveries: number;
}

/** A stored event. */
export interface WebhookEventRecord<T = unknown> {
  id: string;
  type: string;
  tenant: string | null;
  idempotencyKey: string | null;
  orderingKey: string | null;
  payload: T;
  createdAt: Timestamp;
}

/** One event sent to one endpoint, with its state. */
export interface Delivery {
  id: string;
  eventId: string;
  eventType: string;
  endpointId: string;
  tenant: string | null;
  status: DeliveryStatus;
  attemptCount: number;
  /** When the next attempt is due; `null` once succeeded or failed. */
  nextAttemptAt: Timestamp | null;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: Timestamp;
  updatedAt: Timestamp;
}

/** One HTTP try of a delivery. */
export interface Attempt {
  id: string;
  deliveryId: string;
  /** 1 for the first attempt of the delivery. */
  number: number;
  startedAt: Timestamp;
  durationMs: number;
  statusCode: number | null;
  responseHeaders: Record<string, string>;
  /** The response body, cut at `responseBodyLimit` bytes. */
  responseBody: string | null;
  errorCode: string | null;
  errorMessage: string | null;
}

/** An attempt of `deliveries.attempts()`, with what it was for. */
export interface AttemptRecord extends Attempt {
  eventId: string;
  eventType: string;
  endpointId: string;
  tenant: string | null;
}

export interface DeliveryWithAttempts extends Delivery {
  /** Oldest first. */
  attempts: Attempt[];
}

/** A page of a list, newest first. Pass `nextCursor` as `cursor` for the next page; `null` at the end. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** How an endpoint has been answering. */
export interface EndpointHealth {
  endpointId: string;
  /** `open`: its deliveries wait out a cool-off; `half-open`: the next attempt is a probe. */
  circuit: 'closed' | 'open' | 'half-open';
  consecutiveFailures: number;
  /** When the current run of failures began; `null` when the last attempt succeeded. */
  failingSince: Timestamp | null;
  lastSuccessAt: Timestamp | null;
  lastFailureAt: Timestamp | null;
  circuitOpenUntil: Timestamp | null;
  /** Attempts in the last hour (by any process sharing the database). */
  attemptsLastHour: number;
  /** Share of those that succeeded, 0 to 1; `null` with no attempt. */
  successRateLastHour: number | null;
}

export interface SenderStats {
  pending: number;
  sending: number;
  succeeded: number;
  failed: number;
  /** Attempts in flight in this process. */
  inFlight: number;
  /** Age in ms of the oldest delivery that is due and waiting; 0 when none. */
  oldestPendingAgeMs: number;
  /**
   * Ids of the enabled endpoints whose circuit is open or half-open, as every
   * process sharing the database sees it: their deliveries wait, `pending`,
   * until a probe succeeds (`drain()` does not wait for them).
   */
  openCircuits: string[];
}
