import type { FailedFilter } from '../../store/queries.js';
import type { PgContext } from './context.js';

const BATCH = 1_000;

/**
 * Puts failed deliveries matching `filter` back to pending, oldest first, a
 * batch per statement, then tells every sender sharing the schema. Resolves
 * to how many went back.
 */
export async function requeueFailed(
  ctx: PgContext,
  filter: FailedFilter,
  onProgress?: (count: number) => void,
): Promise<number> {
  let after = 0;
  let total = 0;
  for (;;) {
    const at = ctx.clock.now();
    const { last, count } = await ctx.store.bulk.requeueFailed(filter, after, BATCH, at);
    if (last === null) break;
    total += count;
    after = last;
    if (count > 0) ctx.scheduled(filter.endpointId, at);
    onProgress?.(total);
  }
  // Every sender sharing the schema looks again.
  if (total > 0) await ctx.store.outbox.notify();
  return total;
}
