import type { Clock } from '../../shared/clock.js';
import type { PgStore } from '../../store/postgres/store.js';
import { ACTIVITY_KEPT_MS } from '../activity.js';
import {
  MINUTE_COUNTS_KEPT_MS,
  type PruneResult,
  retentionCutoffs,
  SWEEP_INTERVAL_MS,
} from '../retention.js';

/** Rows per retention batch. */
const PRUNE_BATCH = 500;

export interface PgMaintenanceContext {
  store: PgStore;
  retention: { succeeded: number | null; failed: number | null };
  clock: Clock;
  isClosed(): boolean;
  /** Refuses after close, waits for the migrations, and turns driver errors into `StoreError`. */
  call<T>(method: string, fn: () => Promise<T>): Promise<T>;
}

/**
 * Retention on PostgreSQL: deletes finished deliveries (with their attempts,
 * and events left without deliveries) past their age, a batch per statement.
 * Batches lock with `SKIP LOCKED`, so senders sweeping at once never collide.
 */
export class PgMaintenance {
  private running: Promise<PruneResult> | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly ctx: PgMaintenanceContext) {}

  /** Runs the sweep every minute in the background (the timer does not keep the process alive). */
  start(): void {
    const { retention } = this.ctx;
    if ((retention.succeeded !== null || retention.failed !== null) && this.timer === null) {
      this.timer = setInterval(() => {
        void this.prune().catch(() => undefined);
      }, SWEEP_INTERVAL_MS);
      this.timer.unref();
    }
  }

  /** Stops the background sweep; resolves once a pass in progress has ended. */
  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** One full pass; concurrent calls share it. */
  prune(): Promise<PruneResult> {
    this.running ??= this.ctx
      .call('prune', () => this.pass())
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  private async pass(): Promise<PruneResult> {
    const { store, retention, clock } = this.ctx;
    const total: PruneResult = { deliveries: 0, events: 0 };
    if (retention.succeeded === null && retention.failed === null) return total;
    const now = clock.now();
    const { cutoffs, emptyCutoff } = retentionCutoffs(retention, now);
    for (;;) {
      if (this.ctx.isClosed()) return total;
      const batch = await store.retention.sweep(cutoffs, PRUNE_BATCH);
      total.deliveries += batch.deliveries;
      total.events += batch.events;
      if (batch.deliveries < PRUNE_BATCH) break;
    }
    while (emptyCutoff !== null && !this.ctx.isClosed()) {
      const events = await store.retention.sweepEmptyEvents(emptyCutoff, PRUNE_BATCH);
      total.events += events;
      if (events < PRUNE_BATCH) break;
    }
    await store.health.pruneMinutes(now - MINUTE_COUNTS_KEPT_MS);
    await store.health.pruneActivity(now - ACTIVITY_KEPT_MS);
    return total;
  }
}
