import { iso } from '../shared/clock.js';
import { InvalidArgumentError, InvalidPayloadError } from '../shared/errors/input.js';
import type { EmittedEvent } from '../shared/types.js';
import { describe, isPlainObject, unknownKey } from '../shared/validate.js';
import type { NewEvent } from '../store/queries.js';
// What `emit` and `emitMany` accept, checked and serialized the same way for
// both stores; each store's emitter only writes the result.

/** Options of one `emit`. */
export interface EmitOptions {
  /** Only endpoints of this tenant receive the event; without it, only endpoints without a tenant. */
  tenant?: string;
  /** A second emit with the same key (per tenant) returns the first event and stores nothing. */
  idempotencyKey?: string;
  /** Restrict the fan-out to these endpoints (they must still match the type and tenant). */
  endpointIds?: readonly string[];
  /**
   * For endpoints with `ordering: 'fifo'`: only events with the same key are delivered in order; different
   * keys go in parallel. Without a key, all of the endpoint's events form one line.
   */
  orderingKey?: string;
}

/** One item of `emitMany`. */
export interface EmitItem<T = unknown> extends EmitOptions {
  type: string;
  payload: T;
}

const EMIT_OPTIONS = new Set(['tenant', 'idempotencyKey', 'endpointIds', 'orderingKey']);
const ITEM_KEYS = new Set(['type', 'payload', ...EMIT_OPTIONS]);
const TYPE = /^[A-Za-z0-9_:/-]+(\.[A-Za-z0-9_:/-]+)*$/;
export const MAX_TYPE_LENGTH = 255;
const MAX_KEY_LENGTH = 255;

export interface PreparedEvent {
  type: string;
  json: string;
  tenant: string | null;
  idempotencyKey: string | null;
  orderingKey: string | null;
  endpointIds: readonly string[] | null;
}

export function validateEventType(type: unknown, argument = 'type'): string {
  if (typeof type !== 'string' || type.length === 0 || type.length > MAX_TYPE_LENGTH || !TYPE.test(type)) {
    throw new InvalidArgumentError(
      argument,
      `Expected \`${argument}\` to be an event type of 1 to ${MAX_TYPE_LENGTH} letters, digits and \`_:/-\` in dot-separated segments, got ${describe(type)}`,
      'ERR_INVALID_EVENT_TYPE',
    );
  }
  return type;
}

function optionalString(value: unknown, argument: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_KEY_LENGTH) {
    throw new InvalidArgumentError(
      argument,
      `Expected \`${argument}\` to be a string of 1 to ${MAX_KEY_LENGTH} characters, got ${describe(value)}`,
    );
  }
  return value;
}

function serialize(payload: unknown, maxBytes: number): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(payload);
  } catch (error) {
    throw new InvalidPayloadError(
      'ERR_PAYLOAD_NOT_SERIALIZABLE',
      `The payload cannot be serialized to JSON: ${(error as Error).message}`,
      error,
    );
  }
  if (json === undefined) {
    throw new InvalidPayloadError(
      'ERR_PAYLOAD_NOT_SERIALIZABLE',
      `The payload cannot be serialized to JSON: got ${describe(payload)}`,
    );
  }
  // UTF-8 needs at most 3 bytes per UTF-16 unit: skip the byte count when it cannot matter.
  if (json.length * 3 > maxBytes) {
    const bytes = Buffer.byteLength(json);
    if (bytes > maxBytes) {
      throw new InvalidPayloadError(
        'ERR_PAYLOAD_TOO_LARGE',
        `The payload's JSON is ${bytes} bytes, more than \`maxPayloadBytes\` (${maxBytes})`,
      );
    }
  }
  return json;
}

export function prepare(
  type: unknown,
  payload: unknown,
  options: unknown,
  maxBytes: number,
  where: string,
): PreparedEvent {
  validateEventType(type, where === '' ? 'type' : `${where}.type`);
  let tenant: string | null = null;
  let idempotencyKey: string | null = null;
  let orderingKey: string | null = null;
  let endpointIds: readonly string[] | null = null;
  if (options !== undefined) {
    if (!isPlainObject(options))
      throw new InvalidArgumentError(
        'options',
        `Expected \`options\` to be an object, got ${describe(options)}`,
      );
    const extra = unknownKey(options, where === '' ? EMIT_OPTIONS : ITEM_KEYS);
    if (extra !== undefined)
      throw new InvalidArgumentError(extra, `Unknown emit option \`${extra}\``, 'ERR_UNKNOWN_OPTION');
    tenant = optionalString(options.tenant, 'tenant');
    idempotencyKey = optionalString(options.idempotencyKey, 'idempotencyKey');
    orderingKey = optionalString(options.orderingKey, 'orderingKey');
    if (options.endpointIds !== undefined) {
      const ids = options.endpointIds;
      if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string' && id.length > 0)) {
        throw new InvalidArgumentError(
          'endpointIds',
          `Expected \`endpointIds\` to be an array of endpoint ids, got ${describe(ids)}`,
        );
      }
      endpointIds = ids as string[];
    }
  }
  return {
    type: type as string,
    json: serialize(payload, maxBytes),
    tenant,
    idempotencyKey,
    orderingKey,
    endpointIds,
  };
}

/** `emitMany`'s items, each checked and serialized (errors name the item: `events[2].type`). */
export function prepareMany(items: unknown[], maxBytes: number): PreparedEvent[] {
  return items.map((item, i) => {
    if (!isPlainObject(item)) {
      throw new InvalidArgumentError(
        `events[${i}]`,
        `Expected \`events[${i}]\` to be a { type, payload } object, got ${describe(item)}`,
      );
    }
    return prepare(item.type, item.payload, item, maxBytes, `events[${i}]`);
  });
}

/** Refuses an `emitMany` argument that is not an array. */
export function checkEventArray(items: unknown): asserts items is unknown[] {
  if (!Array.isArray(items)) {
    throw new InvalidArgumentError(
      'events',
      `Expected an array of { type, payload } objects, got ${describe(items)}`,
    );
  }
}

/**
 * On PostgreSQL, the most deliveries an emit writes itself (when no older event waits for fan-out):
 * the emit is a round trip either way. An event to more endpoints is queued, and the engine creates
 * its deliveries. On SQLite every emit queues its event.
 */
export const INLINE_FANOUT = 4;

/** The event row to store for `event`. */
export function newEventRow(
  id: string,
  event: PreparedEvent,
  now: number,
  targets: number,
  traceContext: string | null,
): NewEvent {
  return {
    traceContext,
    targets,
    endpointIds: event.endpointIds,
    id,
    type: event.type,
    tenant: event.tenant,
    idempotencyKey: event.idempotencyKey,
    orderingKey: event.orderingKey,
    payload: event.json,
    createdAt: now,
  };
}

/** What a second emit with the same idempotency key returns: the first event, as stored. */
export function emittedAgain(existing: {
  id: string;
  type: string;
  createdAt: number;
  deliveries: number;
}): EmittedEvent {
  return {
    id: existing.id,
    type: existing.type,
    createdAt: iso(existing.createdAt),
    deliveries: existing.deliveries,
  };
}
