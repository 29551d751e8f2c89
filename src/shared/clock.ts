/**
 * The source of time for the dispatcher and the retry schedule. Inject one to
 * control time in tests; the default is the system clock.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Calls `fn` after `ms` milliseconds; the returned handle goes to `clearTimeout`. */
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    // A sender's timers must not keep the application's process alive on their own.
    const timer = setTimeout(fn, ms);
    timer.unref();
    return timer;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** A time in ms since the epoch as the ISO string the public API shows. */
export const iso = (ms: number): string => new Date(ms).toISOString();

/** The earlier of two times (ms), either of which may be unknown (`null`). */
export function earliest(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  return b === null ? a : Math.min(a, b);
}
