import type { DeliveryStatus } from '../shared/types.js';
// What both stores are asked: the store-neutral shapes of their inserts, filters and cutoffs.

export interface NewEvent {
  id: string;
  type: string;
  tenant: string | null;
  idempotencyKey: string | null;
  orderingKey: string | null;
  payload: string;
  createdAt: number;
  /** How many endpoints it matched at emit: the deliveries its fan-out creates. */
  targets: number;
  /** Emit's `endpointIds`, when it gave some (fan-out keeps to them). */
  endpointIds: readonly string[] | null;
  /** The W3C traceparent of the emit's span, when traces are recorded. */
  traceContext: string | null;
}

export interface EventFilter {
  type?: string;
  tenant?: string;
  since?: number;
  until?: number;
  /** Only rows with a smaller seq (the cursor). */
  before?: number;
  limit: number;
}

export interface DeliveryFilter {
  status?: DeliveryStatus;
  endpointId?: string;
  eventId?: string;
  eventType?: string;
  tenant?: string;
  since?: number;
  until?: number;
  before?: number;
  limit: number;
}

/** The attempt feed: attempts after `after` (a seq) oldest first, or the latest `limit` without it. */
export interface AttemptFeedFilter {
  after?: number;
  limit: number;
}

export interface FailedFilter {
  endpointId?: string;
  eventType?: string;
  since?: number;
  until?: number;
}

export interface RetentionCutoffs {
  /** Delete succeeded deliveries last changed before this time (ms); `null`: keep. */
  succeeded: number | null;
  failed: number | null;
}

/** A minute's attempts by outcome (`minute`: ms / 60000). */
export interface ActivityRow {
  minute: number;
  succeeded: number;
  retrying: number;
  failed: number;
}
