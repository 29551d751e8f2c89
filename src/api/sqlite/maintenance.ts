import type { Clock } from '../../shared/clock.js';
import type { SqliteStore } from '../../store/sqlite/store.js';
import { ACTIVITY_KEPT_MS } from '../activity.js';
import {
  MINUTE_COUNTS_KEPT_MS,
  type PruneResult,
  retentionCutoffs,
  SWEEP_INTERVAL_MS,
} from '../retention.js';

/** Rows looked at per batch: small enough that one batch takes a few milliseconds. */
const BATCH = 500;
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Retention: deletes finished deliveries (and their attempts and events) past
 * their age, a small batch at a time, yielding to the event loop between
 * batches, and gives the pages back to the file system where it can.
 */
export class Maintenance {
  private running: Promise<PruneResult> | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: SqliteStore,
    private readonly retention: { succeeded: number | null; failed: number | null },
    private readonly clock: Clock,
  ) {}

  get enabled(): boolean {
    return this.retention.succeeded !== null || this.retention.failed !== null;
  }

  /** Runs the sweep every minute in the background (the timer does not keep the process alive). */
  start(): void {
    if (!this.enabled || this.timer !== null) return;
    this.timer = setInterval(() => {
      void this.prune().catch(() => {
        // Busy or closed: the next sweep tries again.
      });
    }, SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  /** Stops the background sweep; resolves once a pass in progress has ended. */
  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }

  /** One full pass; concurrent calls share it. */
  prune(): Promise<PruneResult> {
    this.running ??= this.pass().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async pass(): Promise<PruneResult> {
    const total: PruneResult = { deliveries: 0, events: 0 };
    if (!this.enabled) return total;
    const now = this.clock.now();
    const { cutoffs, emptyCutoff } = retentionCutoffs(this.retention, now);
    const { store } = this;
    let after = 0;
    for (;;) {
      // Never inside the application's open transaction on a shared connection.
      await store.outsideTransaction();
      if (!store.db.open) return total;
      const batch = store.gated(() => store.retention.sweepDeliveries(cutoffs, after, BATCH));
      total.deliveries += batch.deliveries;
      total.events += batch.events;
      after = batch.last;
      if (batch.deliveries > 0) {
        store.gated(() => store.vacuumStep(batch.deliveries));
        // Deleting and moving pages writes to the WAL too: keep it bounded while the dispatcher is idle.
        store.checkpointIfLarge();
      }
      if (batch.done) break;
      await yieldToEventLoop();
    }
    let eventAfter: number | null = 0;
    while (eventAfter !== null && emptyCutoff !== null) {
      await store.outsideTransaction();
      if (!store.db.open) return total;
      const cutoff: number = emptyCutoff;
      const after: number = eventAfter;
      const batch = store.gated(() => store.retention.sweepEmptyEvents(cutoff, after, BATCH));
      total.events += batch.events;
      eventAfter = batch.last;
      await yieldToEventLoop();
    }
    store.gated(() => {
      store.health.pruneMinutes(now - MINUTE_COUNTS_KEPT_MS);
      store.health.pruneActivity(now - ACTIVITY_KEPT_MS);
    });
    return total;
  }
}
