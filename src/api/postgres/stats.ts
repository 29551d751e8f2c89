import { earliest } from '../../shared/clock.js';
import type { SenderStats } from '../../shared/types.js';
import type { PgStore } from '../../store/postgres/store.js';
import type { GaugeValues } from '../../telemetry/telemetry.js';

/**
 * The pending deliveries (`countPending` counts the rows) and how late the most overdue is, with
 * the open circuits; events waiting for fan-out count as the deliveries they will become.
 */
async function backlog(store: PgStore, countPending: () => Promise<number>, now: number) {
  const [pending, pendingDue, queued, openCircuits] = await Promise.all([
    countPending(),
    store.log.earliestPendingDueAt(),
    store.fanout.totals(),
    store.health.openCircuits(),
  ]);
  const due = earliest(pendingDue, queued.oldestAt);
  return {
    pending: pending + queued.deliveries,
    oldestPendingAgeMs: due === null ? 0 : Math.max(0, now - due),
    openCircuits,
  };
}

/** `stats()` on PostgreSQL: every sender's rows, `inFlight` this one's. */
export async function pgStats(store: PgStore, inFlight: number, now: number): Promise<SenderStats> {
  let counts: Awaited<ReturnType<PgStore['log']['counts']>> | undefined;
  const shared = await backlog(
    store,
    async () => {
      counts = await store.log.counts();
      return counts.pending;
    },
    now,
  );
  return { ...counts!, ...shared, inFlight };
}

/** What the OpenTelemetry gauges read: the pending rows through their index, not every status. */
export async function pgGauges(store: PgStore, inFlight: number, now: number): Promise<GaugeValues> {
  const shared = await backlog(store, () => store.log.countPending(), now);
  return { ...shared, openCircuits: shared.openCircuits.length, inFlight };
}
