import { parseDuration } from '../shared/duration.js';
import { InvalidArgumentError } from '../shared/errors/input.js';

/** A flag with a bad value: exit code 2, one line naming the flag. */
export class UsageError extends InvalidArgumentError {
  override name = 'UsageError';
  constructor(flag: string, message: string) {
    super(flag, `${flag}: ${message}`);
  }
}

/** `--since 2h` (that long ago), `--since 2026-12-01T10:00Z`, or ms since the epoch, as ms. */
export function parseTime(flag: string, value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const ago = parseDuration(value);
  if (typeof ago === 'number') return now - ago;
  if (/^\d+$/.test(value)) return Number(value);
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) {
    throw new UsageError(
      flag,
      `expected a duration ago (30m, 2h, 7d) or a date (2026-12-01T10:00Z), got '${value}'`,
    );
  }
  return ms;
}

/** A duration flag (`--grace 24h`) as ms. */
export function parseDurationFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDuration(value);
  if (typeof ms === 'string') throw new UsageError(flag, `expected ${ms}`);
  return ms;
}

/** A whole number flag within bounds. */
export function parseInteger(flag: string, value: string | undefined, min: number, max: number) {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) {
    throw new UsageError(flag, `expected a whole number from ${min} to ${max}, got '${value}'`);
  }
  return n;
}

/** `--events a,b --events c` as `['a', 'b', 'c']`. */
export function parseList(values: string[] | undefined): string[] | undefined {
  if (values === undefined) return undefined;
  return values
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
}

/** `--header 'X-Team: blue'` (repeatable) as an object. */
export function parseHeaders(values: string[] | undefined): Record<string, string> | undefined {
  if (values === undefined) return undefined;
  const headers: Record<string, string> = {};
  for (const value of values) {
    const colon = value.indexOf(':');
    if (colon <= 0) throw new UsageError('--header', `expected 'Name: value', got '${value}'`);
    headers[value.slice(0, colon).trim()] = value.slice(colon + 1).trim();
  }
  return headers;
}

/** Collects a repeatable option's values. */
export const collect = (value: string, previous: string[] | undefined): string[] => [
  ...(previous ?? []),
  value,
];
