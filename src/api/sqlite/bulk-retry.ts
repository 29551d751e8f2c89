import type { FailedFilter } from '../../store/queries.js';
import type { SqliteStore } from '../../store/sqlite/store.js';

const BATCH = 1_000;

/**
 * Puts failed deliveries matching `filter` back to pending, oldest first, a
 * batch per turn of the event loop, so a million rows never block it.
 * Calls `scheduled` once per endpoint touched. Returns how many went back.
 */
export async function requeueFailed(
  store: SqliteStore,
  filter: FailedFilter,
  now: () => number,
  scheduled: (endpointId: string | undefined, at: number) => void,
  onProgress?: (count: number) => void,
): Promise<number> {
  let after = 0;
  let total = 0;
  for (;;) {
    await store.outsideTransaction();
    if (!store.db.open) return total;
    const at = now();
    const { last, count } = store.bulk.requeueFailed(filter, after, BATCH, at);
    if (last === null) break;
    total += count;
    after = last;
    if (count > 0) scheduled(filter.endpointId, at);
    onProgress?.(total);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return total;
}
