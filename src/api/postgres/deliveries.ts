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
import type { PgContext } from './context.js';
/** `sender.deliveries` on PostgreSQL. */
export class PgDeliveries {
  /** @internal */
  constructor(private readonly ctx: PgContext) {}

  /** The delivery with its attempts (oldest first), or rejects with `NotFoundError`. */
  get(id: string): Promise<DeliveryWithAttempts> {
    return this.ctx.call('deliveries.get', async () => {
      const seq = deliverySeq(id);
      const row = await this.ctx.store.log.getDelivery(seq);
      if (row === undefined) throw new NotFoundError('delivery', id);
      return { ...toDelivery(row), attempts: (await this.ctx.store.log.attempts(seq)).map(toAttempt) };
    });
  }

  /** Deliveries, newest first. */
  list(filter?: DeliveryListFilter): Promise<Page<Delivery>> {
    return this.ctx.call('deliveries.list', async () => {
      const { query, limit } = deliveryListQuery(filter);
      await this.ctx.settle();
      return pageOf(await this.ctx.store.log.listDeliveries(query), limit, 'd', toDelivery);
    });
  }

  /** Attempts of every delivery: after the attempt `after`, oldest first, or the latest `limit` without it. */
  attempts(options?: AttemptFeedOptions): Promise<AttemptRecord[]> {
    return this.ctx.call('deliveries.attempts', async () => {
      const query = attemptFeedQuery(options);
      return (await this.ctx.store.log.attemptFeed(query)).map(toAttemptRecord);
    });
  }

  /** Schedules a failed or pending delivery for now; rejects when it is being sent or has succeeded. */
  retry(id: string): Promise<Delivery> {
    return this.ctx.call('deliveries.retry', async () => {
      const seq = deliverySeq(id);
      const now = this.ctx.clock.now();
      const retried = await this.ctx.store.outbox.retry(seq, now);
      if (retried === undefined) {
        const row = await this.ctx.store.log.getDelivery(seq);
        if (row === undefined) throw new NotFoundError('delivery', id);
        throw notRetriableError(id, row.status);
      }
      const delivery = toDelivery(retried);
      this.ctx.scheduled(delivery.endpointId, now);
      return delivery;
    });
  }

  /** Puts every failed delivery matching the filter back to pending, oldest first. Resolves to how many. */
  retryMany(filter: RetryManyFilter, options?: BulkOptions): Promise<number> {
    return this.ctx.call('deliveries.retryMany', async () => {
      return requeueFailed(this.ctx, retryManyFilter(filter), bulkOptions(options));
    });
  }
}
