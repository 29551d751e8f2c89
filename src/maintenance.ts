import type { Clock } from './clock.js';
import type { RetentionCutoffs } from './store/retention-sql.js';
import type { SqliteStore } from './store/sqlite.js';

/** Rows looked at per batch: small enough that one batch takes a few milliseconds. */
const BATCH = 500;
/** How often the background sweep runs, in ms. */
export const SWEEP_INTERVAL_MS = 60_000;

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

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
      const batch = store.retention.sweepDeliveries(cutoffs, after, BATCH);
      total.deliveries += batch.deliveries;
      total.events += batch.events;
      after = batch.last;
      if (batch.deliveries > 0) {
        store.vacuumStep(batch.deliveries);
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
      const batch = store.retention.sweepEmptyEvents(emptyCutoff, eventAfter, BATCH);
      total.events += batch.events;
      eventAfter = batch.last;
      await yieldToEventLoop();
    }
    store.health.pruneMinutes(now - MINUTE_COUNTS_KEPT_MS);
    return total;
  }
}
