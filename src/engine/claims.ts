import type { DeliveryStatus } from '../shared/types.js';
// What the dispatcher and a store exchange: the store port's data. The engine
// defines them; each store (SQLite, PostgreSQL) implements the port with them.

/** A delivery claimed for an attempt, with what the attempt needs of its event. */
export interface ClaimedDelivery {
  seq: number;
  endpointId: string;
  /** Attempts made before this one. */
  attemptCount: number;
  /** `attemptCount` when the current series of attempts began (a manual retry starts a new one). */
  seriesStart: number;
  eventId: string;
  eventType: string;
  tenant: string | null;
  /** The payload JSON as stored: text, or its UTF-8 bytes. */
  payload: string | Buffer;
  eventCreatedAt: number;
  /** The W3C traceparent of the emit's span (`null`: none was recorded). */
  traceContext: string | null;
}

/** What the planner asks of one endpoint in a claim. */
export interface ClaimRequest {
  endpointId: string;
  /** At most this many of the endpoint's due rows. */
  max: number;
  /** One delivery at a time per ordering key, in emit order. */
  fifo: boolean;
  /**
   * The endpoint's concurrency: how many of its rows may be leased at once by
   * every sender sharing the database together, this one included.
   */
  cap: number;
  /** The endpoint's rate limit, shared by every sender (`null`: none). */
  ratePerSecond: number | null;
}

/** Who leases the rows of one claim, when, and until when (ms). */
export interface Lease {
  owner: string;
  now: number;
  until: number;
}

/** One claim: the planner's requests in order, at most `budget` rows in all, under one lease. */
export interface ClaimBatch {
  requests: readonly ClaimRequest[];
  budget: number;
  lease: Lease;
}

export interface ClaimOutcome {
  claimed: ClaimedDelivery[];
  /**
   * For every endpoint that had fewer due rows than it was offered: when its
   * next row is due (`null`: none it could take now or later without news).
   */
  nextDue: Map<string, number | null>;
  /**
   * Endpoints with rows due now that a limit shared across senders kept back
   * (their concurrency is taken by other senders' leases, or their shared rate
   * limit has no token): when to look again. Each is in `nextDue` too.
   */
  held: Map<string, number>;
}

/** The outcome of one attempt and the delivery's next state, written together. */
export interface AttemptResult {
  seq: number;
  endpointId: string;
  /** False when no request was made (the endpoint was gone): no attempt row is written. */
  logged: boolean;
  number: number;
  startedAt: number;
  durationMs: number;
  statusCode: number | null;
  responseHeaders: string | null;
  responseBody: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  status: Exclude<DeliveryStatus, 'sending'>;
  nextAttemptAt: number | null;
  lastError: string | null;
  updatedAt: number;
}
