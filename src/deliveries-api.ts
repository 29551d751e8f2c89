import { requeueFailed } from './bulk-retry.js';
import type { Clock } from './clock.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { InvalidArgumentError, NotFoundError } from './errors/input.js';
import { parseSeqId } from './ids.js';
import { checkFilter, optionalFilterString, type TimeInput, toLimit, toMs } from './list-input.js';
import type { LogSql } from './store/log-sql.js';
import type { OutboxSql } from './store/outbox-sql.js';
import { toAttempt, toDelivery } from './store/rows.js';
import type { SqliteStore } from './store/sqlite.js';
import type { Delivery, DeliveryStatus, DeliveryWithAttempts, Page } from './types.js';
import { describe } from './validate.js';

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

const RETRY_MANY_KEYS = new Set(['status', 'endpointId', 'eventType', 'since', 'until']);

const LIST_KEYS = new Set([
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
const STATUSES = new Set(['pending', 'sending', 'succeeded', 'failed']);

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
    const seq = this.seq(id);
    const row = this.log.getDelivery(seq);
    if (row === undefined) throw new NotFoundError('delivery', id);
    return { ...toDelivery(row), attempts: this.log.attempts(seq).map(toAttempt) };
  }

  /** Deliveries, newest first. */
  list(filter?: DeliveryListFilter): Page<Delivery> {
    this.guard('deliveries.list');
    const f = checkFilter(filter, LIST_KEYS);
    if (f.status !== undefined && !STATUSES.has(f.status as string)) {
      throw new InvalidArgumentError(
        'status',
        `Expected \`status\` to be one of pending, sending, succeeded, failed, got ${describe(f.status)}`,
      );
    }
    const limit = toLimit(f.limit);
    const rows = this.log.listDeliveries({
      status: f.status as DeliveryStatus | undefined,
      endpointId: optionalFilterString(f.endpointId, 'endpointId'),
      eventId: optionalFilterString(f.eventId, 'eventId'),
      eventType: optionalFilterString(f.eventType, 'eventType'),
      tenant: optionalFilterString(f.tenant, 'tenant'),
      since: toMs(f.since, 'since'),
      until: toMs(f.until, 'until'),
      before: f.cursor === undefined ? undefined : decodeCursor('d', f.cursor),
      // One row more than the page: a full last page then says there is no next one.
      limit: limit + 1,
    });
    const more = rows.length > limit;
    if (more) rows.pop();
    const last = rows[rows.length - 1];
    return { items: rows.map(toDelivery), nextCursor: more && last ? encodeCursor('d', last.seq) : null };
  }

  /**
   * Schedules a failed or pending delivery for now. Returns the delivery;
   * throws when it is being sent or has already succeeded (replay the event instead).
   */
  retry(id: string): Delivery {
    this.guard('deliveries.retry');
    const seq = this.seq(id);
    const now = this.clock.now();
    if (!this.outbox.retry(seq, now)) {
      const row = this.log.getDelivery(seq);
      if (row === undefined) throw new NotFoundError('delivery', id);
      throw new InvalidArgumentError(
        'id',
        `Delivery \`${id}\` is ${row.status}; only pending or failed deliveries can be retried`,
        'ERR_INVALID_STATE',
        { deliveryId: id },
      );
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
    const f = checkFilter(filter, RETRY_MANY_KEYS);
    if (f.status !== 'failed') {
      throw new InvalidArgumentError(
        'status',
        `Expected \`status: 'failed'\` (only failed deliveries can be retried in bulk), got ${describe(f.status)}`,
      );
    }
    const endpointId = optionalFilterString(f.endpointId, 'endpointId');
    const query = {
      endpointId,
      eventType: optionalFilterString(f.eventType, 'eventType'),
      since: toMs(f.since, 'since'),
      until: toMs(f.until, 'until'),
    };
    if (endpointId === undefined) this.store.claims.resetFifo();
    else this.store.claims.resetFifo(endpointId);
    return requeueFailed(this.store, query, () => this.clock.now(), this.onScheduledMany);
  }

  private seq(id: unknown): number {
    const seq = parseSeqId('dlv_', id);
    if (seq === null)
      throw new InvalidArgumentError('id', `Expected a delivery id (\`dlv_...\`), got ${describe(id)}`);
    return seq;
  }
}
