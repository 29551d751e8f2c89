import type { Clock } from '../shared/clock.js';

/** The longest delay a Node timer holds (about 24.8 days); a longer one fires after 1 ms instead. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** One timer on the injected clock that wakes the dispatcher at the earliest moment asked for. */
export class DueTimer {
  private timer: unknown = null;
  private at = Number.POSITIVE_INFINITY;

  constructor(
    private readonly clock: Clock,
    private readonly fire: () => void,
  ) {}

  /** Wakes at `at` (ms) unless already set to wake sooner. */
  arm(at: number): void {
    if (at >= this.at) return;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.at = at;
    this.timer = this.clock.setTimeout(
      () => {
        this.timer = null;
        this.at = Number.POSITIVE_INFINITY;
        this.fire();
      },
      // Capped: when a far-off timer fires early, the turn it wakes arms the next one.
      Math.min(MAX_TIMER_MS, Math.max(0, at - this.clock.now())),
    );
  }

  clear(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.at = Number.POSITIVE_INFINITY;
  }
}
