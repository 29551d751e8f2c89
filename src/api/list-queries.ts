import { InvalidArgumentError } from '../shared/errors/input.js';
import { parseSeqId } from '../shared/ids.js';
import type { DeliveryStatus, Page } from '../shared/types.js';
import { describe, isPlainObject, unknownKey } from '../shared/validate.js';
import type { AttemptFeedFilter, DeliveryFilter, EventFilter, FailedFilter } from '../store/queries.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { checkFilter, optionalFilterString, progressCallback, toLimit, toMs } from './list-input.js';

// The arguments of `events` and `deliveries`, checked and turned into store
// queries the same way for both stores; each store's API only runs them.

const EVENT_LIST_KEYS = new Set(['type', 'tenant', 'since', 'until', 'limit', 'cursor']);
const DELIVERY_LIST_KEYS = new Set([
  'status',
  'endpointId',
  'eventId',
  'eventType',
  'tenant',
  'since',
  'until',
  'limit',
  'cursor',
]);
const RETRY_MANY_KEYS = new Set(['status', 'endpointId', 'eventType', 'since', 'until']);
const REPLAY_KEYS = new Set(['endpointIds']);
const FEED_KEYS = new Set(['after', 'limit']);
const BULK_KEYS = new Set(['onProgress']);
const STATUSES = new Set(['pending', 'sending', 'succeeded', 'failed']);

/** `events.list(filter)` as a store query; `query.limit` is one more than the page (see `pageOf`). */
export function eventListQuery(filter: unknown): { query: EventFilter; limit: number } {
  const f = checkFilter(filter, EVENT_LIST_KEYS);
  const limit = toLimit(f.limit);
  const query = {
    type: optionalFilterString(f.type, 'type'),
    tenant: optionalFilterString(f.tenant, 'tenant'),
    since: toMs(f.since, 'since'),
    until: toMs(f.until, 'until'),
    before: f.cursor === undefined ? undefined : decodeCursor('e', f.cursor),
    limit: limit + 1,
  };
  return { query, limit };
}

/** `deliveries.list(filter)` as a store query; `query.limit` is one more than the page (see `pageOf`). */
export function deliveryListQuery(filter: unknown): { query: DeliveryFilter; limit: number } {
  const f = checkFilter(filter, DELIVERY_LIST_KEYS);
  if (f.status !== undefined && !STATUSES.has(f.status as string)) {
    throw new InvalidArgumentError(
      'status',
      `Expected \`status\` to be one of pending, sending, succeeded, failed, got ${describe(f.status)}`,
    );
  }
  const limit = toLimit(f.limit);
  const query = {
    status: f.status as DeliveryStatus | undefined,
    endpointId: optionalFilterString(f.endpointId, 'endpointId'),
    eventId: optionalFilterString(f.eventId, 'eventId'),
    eventType: optionalFilterString(f.eventType, 'eventType'),
    tenant: optionalFilterString(f.tenant, 'tenant'),
    since: toMs(f.since, 'since'),
    until: toMs(f.until, 'until'),
    before: f.cursor === undefined ? undefined : decodeCursor('d', f.cursor),
    limit: limit + 1,
  };
  return { query, limit };
}

/**
 * A page of at most `limit` items from rows read with `limit + 1`: a full last
 * page then says there is no next one. Mutates `rows`.
 */
export function pageOf<R extends { seq: number }, T>(
  rows: R[],
  limit: number,
  kind: 'e' | 'd',
  toItem: (row: R) => T,
): Page<T> {
  const more = rows.length > limit;
  if (more) rows.pop();
  const last = rows[rows.length - 1];
  return { items: rows.map(toItem), nextCursor: more && last ? encodeCursor(kind, last.seq) : null };
}

/** `deliveries.retryMany(filter)` as a store filter. */
export function retryManyFilter(filter: unknown): FailedFilter {
  const f = checkFilter(filter, RETRY_MANY_KEYS);
  if (f.status !== 'failed') {
    throw new InvalidArgumentError(
      'status',
      `Expected \`status: 'failed'\` (only failed deliveries can be retried in bulk), got ${describe(f.status)}`,
    );
  }
  return {
    endpointId: optionalFilterString(f.endpointId, 'endpointId'),
    eventType: optionalFilterString(f.eventType, 'eventType'),
    since: toMs(f.since, 'since'),
    until: toMs(f.until, 'until'),
  };
}

/** `retryMany`'s second argument, checked. */
export function bulkOptions(options: unknown): ((count: number) => void) | undefined {
  if (options === undefined) return undefined;
  const o = checkFilter(options, BULK_KEYS);
  return progressCallback(o.onProgress);
}

/** The `replay` options' `endpointIds`, checked; `undefined`: every endpoint that matches now. */
export function replayEndpointIds(options: unknown): string[] | undefined {
  if (!isPlainObject(options))
    throw new InvalidArgumentError(
      'options',
      `Expected \`options\` to be an object, got ${describe(options)}`,
    );
  const extra = unknownKey(options, REPLAY_KEYS);
  if (extra !== undefined) {
    throw new InvalidArgumentError(
      extra,
      `Unknown replay option \`${extra}\`; the only one is endpointIds`,
      'ERR_UNKNOWN_OPTION',
    );
  }
  const ids = options.endpointIds;
  if (
    ids !== undefined &&
    (!Array.isArray(ids) || !ids.every((e) => typeof e === 'string' && e.length > 0))
  ) {
    throw new InvalidArgumentError(
      'endpointIds',
      `Expected \`endpointIds\` to be an array of endpoint ids, got ${describe(ids)}`,
    );
  }
  return ids as string[] | undefined;
}

export function checkEventId(id: unknown): string {
  if (typeof id !== 'string' || id.length === 0)
    throw new InvalidArgumentError('id', `Expected an event id, got ${describe(id)}`);
  return id;
}

/** The row seq a `dlv_` id stands for. */
export function deliverySeq(id: unknown): number {
  const seq = parseSeqId('dlv_', id);
  if (seq === null)
    throw new InvalidArgumentError('id', `Expected a delivery id (\`dlv_...\`), got ${describe(id)}`);
  return seq;
}

/** Why `deliveries.retry` refuses a delivery that exists: it is being sent or has succeeded. */
export function notRetriableError(id: string, status: string): InvalidArgumentError {
  return new InvalidArgumentError(
    'id',
    `Delivery \`${id}\` is ${status}; only pending or failed deliveries can be retried`,
    'ERR_INVALID_STATE',
    { deliveryId: id },
  );
}

/** `deliveries.attempts(filter)` as a store query. */
export function attemptFeedQuery(filter: unknown): AttemptFeedFilter {
  const f = checkFilter(filter, FEED_KEYS);
  const limit = toLimit(f.limit);
  if (f.after === undefined) return { limit };
  const after = parseSeqId('att_', f.after);
  if (after === null) {
    throw new InvalidArgumentError(
      'after',
      `Expected \`after\` to be an attempt id (att_…), got ${describe(f.after)}`,
    );
  }
  return { after, limit };
}
