import { iso } from '../shared/clock.js';
import { InvalidArgumentError } from '../shared/errors/input.js';
import type { Timestamp } from '../shared/types.js';
import type { ActivityRow } from '../store/queries.js';
import { checkFilter, type TimeInput, toMs } from './list-input.js';

// `sender.activity()`: attempts per minute by outcome, store-neutral.

const MINUTE_MS = 60_000;
/** Activity is kept this long (the sweep drops older minutes), in ms. */
export const ACTIVITY_KEPT_MS = 2 * 24 * 60 * 60 * 1000;
const KEYS = new Set(['since', 'until']);

export interface ActivityOptions {
  /** From this moment (its minute). @default an hour ago */
  since?: TimeInput;
  /** Up to this moment (its minute included). @default now */
  until?: TimeInput;
}

/** One minute of attempts, every endpoint and every process together. */
export interface ActivityMinute {
  /** The minute's start. */
  minute: Timestamp;
  /** Attempts that delivered. */
  succeeded: number;
  /** Attempts that failed, their delivery to be tried again. */
  retrying: number;
  /** Attempts that failed, their delivery given up. */
  failed: number;
}

/** The minute numbers (ms / 60000) to read: from `since` to `until` included, within what is kept. */
export function activityRange(options: unknown, now: number): { from: number; to: number } {
  const o = checkFilter(options, KEYS);
  const since = toMs(o.since, 'since') ?? now - 60 * MINUTE_MS;
  const until = toMs(o.until, 'until') ?? now;
  if (until < since) {
    throw new InvalidArgumentError('until', 'Expected `until` to be at or after `since`');
  }
  const from = Math.floor(Math.max(since, now - ACTIVITY_KEPT_MS) / MINUTE_MS);
  return { from, to: Math.max(from, Math.floor(until / MINUTE_MS) + 1) };
}

/** Every minute of the range, oldest first, minutes without attempts as zeros. */
export function activityMinutes(rows: readonly ActivityRow[], from: number, to: number): ActivityMinute[] {
  const byMinute = new Map(rows.map((row) => [row.minute, row]));
  const minutes: ActivityMinute[] = [];
  for (let m = from; m < to; m++) {
    const row = byMinute.get(m);
    minutes.push({
      minute: iso(m * MINUTE_MS),
      succeeded: row?.succeeded ?? 0,
      retrying: row?.retrying ?? 0,
      failed: row?.failed ?? 0,
    });
  }
  return minutes;
}
