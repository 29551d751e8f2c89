import { decodeCursor, encodeCursor } from '../cursor.js';
import type { DeliveryListFilter, RetryManyFilter } from '../deliveries-api.js';
import { InvalidArgumentError, NotFoundError } from '../errors/input.js';
import { parseSeqId } from '../ids.js';
import { checkFilter, optionalFilterString, toLimit, toMs } from '../list-input.js';
import { toAttempt, toDelivery } from '../store/rows.js';
import type { Delivery, DeliveryStatus, DeliveryWithAttempts, Page } from '../types.js';
import { describe } from '../validate.js';
import { requeueFailed } from './bulk-retry.js';
import type { PgContext } from './context.js';

const DELIVERY_LIST_KEYS = new Set([
  'status',
  'endpointId',
  'eventId',
  'eventType',
  'tenant',
  'since',
  'until',
  'limit',
  'cursor',
]);
const RETRY_MANY_KEYS = new Set(['status', 'endpointId', 'eventType', 'since', 'until']);
const STATUSES = new Set(['pending', 'sending', 'succeeded', 'failed']);

function deliverySeq(id: unknown): number {
  const seq = parseSeqId('dlv_', id);
  if (seq === null)
    throw new InvalidArgumentError('id', `Expected a delivery id (\`dlv_...\`), got ${describe(id)}`);
  return seq;
}

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
      const f = checkFilter(filter, DELIVERY_LIST_KEYS);
      if (f.status !== undefined && !STATUSES.has(f.status as string)) {
        throw new InvalidArgumentError(
          'status',
          `Expected \`status\` to be one of pending, sending, succeeded, failed, got ${describe(f.status)}`,
        );
      }
      const limit = toLimit(f.limit);
      const rows = await this.ctx.store.log.listDeliveries({
        status: f.status as DeliveryStatus | undefined,
        endpointId: optionalFilterString(f.endpointId, 'endpointId'),
        eventId: optionalFilterString(f.eventId, 'eventId'),
        eventType: optionalFilterString(f.eventType, 'eventType'),
        tenant: optionalFilterString(f.tenant, 'tenant'),
        since: toMs(f.since, 'since'),
        until: toMs(f.until, 'until'),
        before: f.cursor === undefined ? undefined : decodeCursor('d', f.cursor),
        limit: limit + 1,
      });
      const more = rows.length > limit;
      if (more) rows.pop();
      const last = rows[rows.length - 1];
      return { items: rows.map(toDelivery), nextCursor: more && last ? encodeCursor('d', last.seq) : null };
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
        throw new InvalidArgumentError(
          'id',
          `Delivery \`${id}\` is ${row.status}; only pending or failed deliveries can be retried`,
          'ERR_INVALID_STATE',
          { deliveryId: id },
        );
      }
      const delivery = toDelivery(retried);
      this.ctx.scheduled(delivery.endpointId, now);
      return delivery;
    });
  }

  /** Puts every failed delivery matching the filter back to pending, oldest first. Resolves to how many. */
  retryMany(filter: RetryManyFilter): Promise<number> {
    return this.ctx.call('deliveries.retryMany', async () => {
      const f = checkFilter(filter, RETRY_MANY_KEYS);
      if (f.status !== 'failed') {
        throw new InvalidArgumentError(
          'status',
          `Expected \`status: 'failed'\` (only failed deliveries can be retried in bulk), got ${describe(f.status)}`,
        );
      }
      return requeueFailed(this.ctx, {
        endpointId: optionalFilterString(f.endpointId, 'endpointId'),
        eventType: optionalFilterString(f.eventType, 'eventType'),
        since: toMs(f.since, 'since'),
        until: toMs(f.until, 'until'),
      });
    });
  }
}
