import type { Database } from 'better-sqlite3';
import { parseDuration } from './duration.js';
import { InvalidOptionError } from './errors/input.js';
import { describe } from './validate.js';

// The small checks `resolveOptions` is made of.

export function fail(option: string, expected: string, value: unknown): never {
  throw new InvalidOptionError(option, `Expected \`${option}\` to be ${expected}, got ${describe(value)}`);
}

export function integerIn(option: string, value: unknown, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
    fail(option, `an integer from ${min} to ${max}`, value);
  }
}

export function isDatabaseHandle(value: unknown): value is Database {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as Database).prepare === 'function' &&
    typeof (value as Database).transaction === 'function' &&
    typeof (value as Database).inTransaction === 'boolean'
  );
}

export function definedOnly(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}

export function duration(option: string, value: unknown): number {
  const ms = parseDuration(value);
  if (typeof ms === 'string') throw new InvalidOptionError(option, `Expected \`${option}\` to be ${ms}`);
  return ms;
}
