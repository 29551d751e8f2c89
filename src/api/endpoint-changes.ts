import { InvalidArgumentError } from '../shared/errors/input.js';
import type { EndpointRow } from '../shared/rows.js';
import { describe, isNonNegativeInteger, isPlainObject, unknownKey } from '../shared/validate.js';
import { ADD_KEYS, UPDATE_KEYS } from './endpoint-input.js';
import { newEndpointRow, patchedEndpointRow, secretFrom } from './endpoint-rows.js';
import { type BulkOptions, progressCallback, type TimeInput, toMs } from './list-input.js';
// What `sender.endpoints` does, store-neutral: every check and every new row, for both shells.
// A shell reads the current row, calls one of these, then writes what it returns.

/** How long the old secret keeps signing after `rotateSecret`, in ms (24 h). */
export const DEFAULT_ROTATION_GRACE_MS = 24 * 60 * 60 * 1000;

/** `rotateSecret`'s options, checked: the new secret (generated when absent) and the grace in ms. */
export function parseRotateOptions(options: unknown): { secret: string; graceMs: number } {
  const o = checkObject(options, 'options', new Set(['secret', 'graceMs']));
  const graceMs = o.graceMs === undefined ? DEFAULT_ROTATION_GRACE_MS : o.graceMs;
  if (!isNonNegativeInteger(graceMs)) {
    throw new InvalidArgumentError(
      'graceMs',
      `Expected \`graceMs\` to be an integer >= 0, got ${describe(graceMs)}`,
    );
  }
  return { secret: secretFrom(o.secret), graceMs };
}

export interface RecoverOptions extends BulkOptions {
  /** Deliveries created at or after this moment. */
  since: TimeInput;
  /** Deliveries created before this moment. @default now */
  until?: TimeInput;
}

export interface RotateSecretOptions {
  /** A `whsec_` secret to switch to; generated when absent. */
  secret?: string;
  /** How long requests also carry the old signature, in ms. @default 86400000 (24 h) */
  graceMs?: number;
}

export function checkObject(
  value: unknown,
  name: string,
  known: ReadonlySet<string>,
): Record<string, unknown> {
  if (!isPlainObject(value))
    throw new InvalidArgumentError(name, `Expected \`${name}\` to be an object, got ${describe(value)}`);
  const extra = unknownKey(value, known);
  if (extra !== undefined) {
    throw new InvalidArgumentError(
      extra,
      `Unknown property \`${extra}\`; known ones are ${[...known].join(', ')}`,
      'ERR_UNKNOWN_OPTION',
    );
  }
  return value;
}

export function checkId(id: unknown): string {
  if (typeof id !== 'string' || id.length === 0) {
    throw new InvalidArgumentError('id', `Expected an endpoint id, got ${describe(id)}`);
  }
  return id;
}

/** `add`'s row: checked input, a new id, a generated secret unless one was given. */
export function addedRow(input: unknown, checkUrl: (url: string) => void, now: () => number): EndpointRow {
  return newEndpointRow(checkObject(input, 'endpoint', ADD_KEYS), checkUrl, now);
}

/**
 * `update`'s row, and whether it is a new receiver: a new URL's health starts
 * afresh, since the old receiver's failures and open circuit are not its own.
 */
export function updatedRow(
  current: EndpointRow,
  patch: unknown,
  checkUrl: (url: string) => void,
  now: () => number,
): { row: EndpointRow; newReceiver: boolean } {
  const o = checkObject(patch, 'patch', UPDATE_KEYS);
  // `undefined` means "not given", as everywhere else: it changes nothing (null clears).
  const row = patchedEndpointRow(current, o, (key) => o[key] !== undefined, checkUrl, now);
  return { row, newReceiver: row.url !== current.url };
}

/** `enable`'s row (its health is reset with it). */
export function enabledRow(current: EndpointRow, now: number): EndpointRow {
  return { ...current, enabled: 1, disabled_reason: null, updated_at: now };
}

/** `disable`'s reason, checked: 1 to 1000 characters, `disabled` when absent. */
export function disableReason(reason: unknown): string {
  if (reason !== undefined && (typeof reason !== 'string' || reason.length === 0 || reason.length > 1000)) {
    throw new InvalidArgumentError(
      'reason',
      `Expected \`reason\` to be a string of 1 to 1000 characters, got ${describe(reason)}`,
    );
  }
  return (reason as string | undefined) ?? 'disabled';
}

/** `disable`'s row, and the error its pending deliveries end with. */
export function disabledRow(current: EndpointRow, why: string, now: number) {
  return {
    row: { ...current, enabled: 0, disabled_reason: why, updated_at: now },
    pendingError: `endpoint disabled: ${why}`,
  };
}

/** `recover`'s window, checked: `since` is required. */
export function recoverFilter(endpointId: string, options: unknown) {
  const o = checkObject(options, 'options', new Set(['since', 'until', 'onProgress']));
  if (o.since === undefined)
    throw new InvalidArgumentError('since', 'Expected `since`: recover needs the start of the window');
  const filter = { endpointId, since: toMs(o.since, 'since'), until: toMs(o.until, 'until') };
  return { filter, onProgress: progressCallback(o.onProgress) };
}
