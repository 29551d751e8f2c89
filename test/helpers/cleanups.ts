import { afterEach } from 'vitest';
/** A list of clean-ups, run in reverse order (and awaited) after each test of the calling file. */
export function cleanupAfterEach(): (() => unknown)[] {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn();
  });
  return cleanups;
}
