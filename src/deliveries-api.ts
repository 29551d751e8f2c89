import { requeueFailed } from './bulk-retry.js';
import type { Clock } from './clock.js';
import { NotFoundError } from './errors/input.js';
import type { TimeInput } from './list-input.js';
import {
  deliveryListQuery,
  deliverySeq,
  notRetriableError,
  pageOf,
  retryManyFilter,
} from './list-queries.js';
import type { LogSql } from './store/log-sql.js';
import type { OutboxSql } from './store/outbox-sql.js';
import { toAttempt, toDelivery } from './store/rows.js';
import type { SqliteStore } from './store/sqlite.js';
import type { Delivery, DeliveryStatus, DeliveryWithAttempts, Page } from './types.js';

export interface DeliveryListFilter {
  status?: DeliveryStatus;
  endpointId?: string;
  eventId?: string;
  eventType?: string;
  tenant?: string;
  /** Created at or after. */
  since?: TimeInput;
  /** Created before. */
  until?: TimeInput;
  /** Page size, 1 to 1000. @default 50 */
  limit?: number;
  cursor?: string;
}

export interface RetryManyFilter {
  /** Only `'failed'`: the deliveries given up on. */
  status: 'failed';
  endpointId?: string;
  eventType?: string;
  /** Created at or after. */
  since?: TimeInput;
  /** Created before. */
  until?: TimeInput;
}

/** `sender.deliveries`: one row per event and endpoint, with its attempts. */
export class Deliveries {
  /** @internal */
  constructor(
    private readonly log: LogSql,
    private readonly outbox: OutboxSql,
    private readonly clock: Clock,
    private readonly guard: (method: string) => void,
    private readonly onScheduled: (endpointId: string, at: number) => void,
    private readonly store: SqliteStore,
    private readonly onScheduledMany: (endpointId: string | undefined, at: number) => void,
  ) {}

  /** The delivery with its attempts (oldest first), or throws `NotFoundError`. */
  get(id: string): DeliveryWithAttempts {
    this.guard('deliveries.get');
    const seq = deliverySeq(id);
    const row = this.log.getDelivery(seq);
    if (row === undefined) throw new NotFoundError('delivery', id);
    return { ...toDelivery(row), attempts: this.log.attempts(seq).map(toAttempt) };
  }

  /** Deliveries, newest first. */
  list(filter?: DeliveryListFilter): Page<Delivery> {
    this.guard('deliveries.list');
    const { query, limit } = deliveryListQuery(filter);
    return pageOf(this.log.listDeliveries(query), limit, 'd', toDelivery);
  }

  /**
   * Schedules a failed or pending delivery for now. Returns the delivery;
   * throws when it is being sent or has already succeeded (replay the event instead).
   */
  retry(id: string): Delivery {
    this.guard('deliveries.retry');
    const seq = deliverySeq(id);
    const now = this.clock.now();
    if (!this.outbox.retry(seq, now)) {
      const row = this.log.getDelivery(seq);
      if (row === undefined) throw new NotFoundError('delivery', id);
      throw notRetriableError(id, row.status);
    }
    const delivery = toDelivery(this.log.getDelivery(seq)!);
    // A FIFO endpoint's claims start past its oldest active row: this one may be older.
    this.store.claims.resetFifo(delivery.endpointId);
    this.onScheduled(delivery.endpointId, now);
    return delivery;
  }

  /**
   * Puts every failed delivery matching the filter back to pending, oldest
   * first, each with a fresh retry schedule. Batched: a million rows do not
   * block the event loop. Resolves to how many.
   */
  async retryMany(filter: RetryManyFilter): Promise<number> {
    this.guard('deliveries.retryMany');
    const query = retryManyFilter(filter);
    const { endpointId } = query;
    if (endpointId === undefined) this.store.claims.resetFifo();
    else this.store.claims.resetFifo(endpointId);
    return requeueFailed(this.store, query, () => this.clock.now(), this.onScheduledMany);
  }
}
