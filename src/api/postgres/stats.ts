import { earliest } from '../../shared/clock.js';
import type { SenderStats } from '../../shared/types.js';
import type { PgStore } from '../../store/postgres/store.js';
import type { GaugeValues } from '../../telemetry/telemetry.js';

/** `stats()` on PostgreSQL: every sender's rows, `inFlight` this one's. */
export async function pgStats(store: PgStore, inFlight: number, now: number): Promise<SenderStats> {
  const [counts, pendingDue, queued, openCircuits] = await Promise.all([
    store.log.counts(),
    store.log.earliestPendingDueAt(),
    store.fanout.totals(),
    store.health.openCircuits(),
  ]);
  // Events waiting for fan-out count as the pending deliveries they will become.
  const due = earliest(pendingDue, queued.oldestAt);
  return {
    ...counts,
    pending: counts.pending + queued.deliveries,
    inFlight,
    oldestPendingAgeMs: due === null ? 0 : Math.max(0, now - due),
    openCircuits,
  };
}

/** What the OpenTelemetry gauges read: the pending rows through their index, not every status. */
export async function pgGauges(store: PgStore, inFlight: number, now: number): Promise<GaugeValues> {
  const [pending, pendingDue, queued, openCircuits] = await Promise.all([
    store.log.countPending(),
    store.log.earliestPendingDueAt(),
    store.fanout.totals(),
    store.health.openCircuits(),
  ]);
  const due = earliest(pendingDue, queued.oldestAt);
  return {
    pending: pending + queued.deliveries,
    oldestPendingAgeMs: due === null ? 0 : Math.max(0, now - due),
    openCircuits: openCircuits.length,
    inFlight,
  };
}
