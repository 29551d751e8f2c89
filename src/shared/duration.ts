import { describe } from './validate.js';
/** A duration: milliseconds, or a string such as `'500ms'`, `'30s'`, `'5m'`, `'2h'`, `'7d'`. */
export type Duration = number | string;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds of a duration, or a message saying what is wrong with it. */
export function parseDuration(value: unknown): number | string {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && value >= 0
      ? value
      : `a whole number of ms >= 0, got ${describe(value)}`;
  }
  if (typeof value === 'string') {
    const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(value.trim());
    if (match) return Math.round(Number(match[1]) * UNITS[match[2]!]!);
  }
  return `a duration in ms or a string like '30s', '5m', '2h', '7d', got ${describe(value)}`;
}
