import { InvalidArgumentError } from '../shared/errors/input.js';
import type { DeliveryStatus } from '../shared/types.js';
import { describe, isPlainObject, unknownKey } from '../shared/validate.js';
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;

/** A moment as a `Date`, an ISO string or ms since the epoch. */
export type TimeInput = Date | string | number;

export function checkFilter(value: unknown, known: ReadonlySet<string>): Record<string, unknown> {
  if (value === undefined) return {};
  if (!isPlainObject(value))
    throw new InvalidArgumentError('filter', `Expected \`filter\` to be an object, got ${describe(value)}`);
  const extra = unknownKey(value, known);
  if (extra !== undefined) {
    throw new InvalidArgumentError(
      extra,
      `Unknown filter \`${extra}\`; known ones are ${[...known].join(', ')}`,
      'ERR_UNKNOWN_OPTION',
    );
  }
  return value;
}

export function toMs(value: unknown, argument: string): number | undefined {
  if (value === undefined) return undefined;
  let ms = Number.NaN;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === 'number') ms = value;
  else if (typeof value === 'string' && value.length > 0) ms = Date.parse(value);
  if (!Number.isFinite(ms)) {
    throw new InvalidArgumentError(
      argument,
      `Expected \`${argument}\` to be a Date, an ISO string or ms since the epoch, got ${describe(value)}`,
    );
  }
  return ms;
}

export function toLimit(value: unknown): number {
  if (value === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isSafeInteger(value) || (value as number) < 1 || (value as number) > MAX_PAGE_SIZE) {
    throw new InvalidArgumentError(
      'limit',
      `Expected \`limit\` to be an integer from 1 to ${MAX_PAGE_SIZE}, got ${describe(value)}`,
    );
  }
  return value as number;
}

export function optionalFilterString(value: unknown, argument: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidArgumentError(
      argument,
      `Expected \`${argument}\` to be a non-empty string, got ${describe(value)}`,
    );
  }
  return value;
}

export interface EventListFilter {
  type?: string;
  tenant?: string;
  /** Created at or after. */
  since?: TimeInput;
  /** Created before. */
  until?: TimeInput;
  /** Page size, 1 to 1000. @default 50 */
  limit?: number;
  cursor?: string;
}

export interface ReplayOptions {
  /** Send to these endpoints (enabled, of the event's tenant); default: every enabled endpoint that matches now. */
  endpointIds?: string[];
}

export interface DeliveryListFilter {
  status?: DeliveryStatus;
  endpointId?: string;
  eventId?: string;
  eventType?: string;
  tenant?: string;
  /** Created at or after. */
  since?: TimeInput;
  /** Created before. */
  until?: TimeInput;
  /** Page size, 1 to 1000. @default 50 */
  limit?: number;
  cursor?: string;
}

export interface RetryManyFilter {
  /** Only `'failed'`: the deliveries given up on. */
  status: 'failed';
  endpointId?: string;
  eventType?: string;
  /** Created at or after. */
  since?: TimeInput;
  /** Created before. */
  until?: TimeInput;
}

export interface AttemptFeedOptions {
  /** An attempt id: the attempts made after it, oldest first. Without it: the latest `limit`, oldest first. */
  after?: string;
  /** At most this many (default 50, at most 1000). */
  limit?: number;
}

/** The options of a bulk change (`deliveries.retryMany`, `endpoints.recover`). */
export interface BulkOptions {
  /** Called after each batch with how many deliveries went back so far: a progress bar. */
  onProgress?: (count: number) => void;
}

/** A bulk change's `onProgress`, checked. */
export function progressCallback(value: unknown): ((count: number) => void) | undefined {
  if (value === undefined || typeof value === 'function')
    return value as ((count: number) => void) | undefined;
  throw new InvalidArgumentError(
    'onProgress',
    `Expected \`onProgress\` to be a function, got ${describe(value)}`,
  );
}
