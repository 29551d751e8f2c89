import type { RetentionCutoffs } from '../store/queries.js';
// Retention, store-neutral: how often it runs and what is old enough to go.

/** How often the background sweep runs, in ms. */
export const SWEEP_INTERVAL_MS = 60_000;

export interface PruneResult {
  deliveries: number;
  events: number;
}

/** Per-minute outcome counts are kept this long, in ms: `health` reads the last hour. */
export const MINUTE_COUNTS_KEPT_MS = 2 * 60 * 60 * 1000;

/**
 * The creation times before which finished deliveries go, by status (`null`:
 * kept for ever), and before which events nobody received go: after the
 * longest retention, never when a status is kept for ever.
 */
export function retentionCutoffs(
  retention: { succeeded: number | null; failed: number | null },
  now: number,
): { cutoffs: RetentionCutoffs; emptyCutoff: number | null } {
  const cutoffs = {
    succeeded: retention.succeeded === null ? null : now - retention.succeeded,
    failed: retention.failed === null ? null : now - retention.failed,
  };
  const emptyCutoff =
    cutoffs.succeeded === null || cutoffs.failed === null
      ? null
      : Math.min(cutoffs.succeeded, cutoffs.failed);
  return { cutoffs, emptyCutoff };
}
