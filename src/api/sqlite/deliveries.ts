import { NotFoundError } from '../../shared/errors/input.js';
import { toAttempt, toAttemptRecord, toDelivery } from '../../shared/rows.js';
import type { AttemptRecord, Delivery, DeliveryWithAttempts, Page } from '../../shared/types.js';
import type { AttemptFeedOptions, BulkOptions, DeliveryListFilter, RetryManyFilter } from '../list-input.js';
import {
  attemptFeedQuery,
  bulkOptions,
  deliveryListQuery,
  deliverySeq,
  notRetriableError,
  pageOf,
  retryManyFilter,
} from '../list-queries.js';
import { requeueFailed } from './bulk-retry.js';
import type { SqliteContext } from './context.js';
/** `sender.deliveries`: one row per event and endpoint, with its attempts. */
export class Deliveries {
  /** @internal */
  constructor(private readonly ctx: SqliteContext) {}

  /** The delivery with its attempts (oldest first), or throws `NotFoundError`. */
  get(id: string): DeliveryWithAttempts {
    this.ctx.guard('deliveries.get');
    const seq = deliverySeq(id);
    const row = this.ctx.store.log.getDelivery(seq);
    if (row === undefined) throw new NotFoundError('delivery', id);
    return { ...toDelivery(row), attempts: this.ctx.store.log.attempts(seq).map(toAttempt) };
  }

  /** Deliveries, newest first. */
  list(filter?: DeliveryListFilter): Page<Delivery> {
    this.ctx.guard('deliveries.list');
    const { query, limit } = deliveryListQuery(filter);
    this.ctx.settle();
    return pageOf(this.ctx.store.log.listDeliveries(query), limit, 'd', toDelivery);
  }

  /**
   * Attempts of every delivery, as any process sharing the database makes them: after the attempt
   * `after`, oldest first, or the latest `limit` without it. What `npx hookline tail` follows.
   */
  attempts(options?: AttemptFeedOptions): AttemptRecord[] {
    this.ctx.guard('deliveries.attempts');
    return this.ctx.store.log.attemptFeed(attemptFeedQuery(options)).map(toAttemptRecord);
  }

  /**
   * Schedules a failed or pending delivery for now. Returns the delivery;
   * throws when it is being sent or has already succeeded (replay the event instead).
   */
  retry(id: string): Delivery {
    this.ctx.guard('deliveries.retry');
    const seq = deliverySeq(id);
    const now = this.ctx.clock.now();
    if (!this.ctx.store.outbox.retry(seq, now)) {
      const row = this.ctx.store.log.getDelivery(seq);
      if (row === undefined) throw new NotFoundError('delivery', id);
      throw notRetriableError(id, row.status);
    }
    const delivery = toDelivery(this.ctx.store.log.getDelivery(seq)!);
    // A FIFO endpoint's claims start past its oldest active row: this one may be older.
    this.ctx.store.claims.resetFifo(delivery.endpointId);
    this.ctx.scheduled(delivery.endpointId, now);
    return delivery;
  }

  /**
   * Puts every failed delivery matching the filter back to pending, oldest
   * first, each with a fresh retry schedule. Batched: a million rows do not
   * block the event loop. Resolves to how many.
   */
  async retryMany(filter: RetryManyFilter, options?: BulkOptions): Promise<number> {
    this.ctx.guard('deliveries.retryMany');
    const query = retryManyFilter(filter);
    const onProgress = bulkOptions(options);
    const { endpointId } = query;
    if (endpointId === undefined) this.ctx.store.claims.resetFifo();
    else this.ctx.store.claims.resetFifo(endpointId);
    return requeueFailed(this.ctx.store, query, () => this.ctx.clock.now(), this.ctx.scheduled, onProgress);
  }
}
