import { NotFoundError } from '../../shared/errors/input.js';
import { toEvent } from '../../shared/rows.js';
import type { Page, WebhookEventRecord } from '../../shared/types.js';
import type { EventListFilter, ReplayOptions } from '../list-input.js';
import { checkEventId, eventListQuery, pageOf, replayEndpointIds } from '../list-queries.js';
import type { SqliteContext } from './context.js';
/** `sender.events`: the stored events. */
export class Events {
  /** @internal */
  constructor(private readonly ctx: SqliteContext) {}

  /** The event, or throws `NotFoundError`. */
  get(id: string): WebhookEventRecord {
    this.ctx.guard('events.get');
    const row = this.ctx.store.log.getEvent(checkEventId(id));
    if (row === undefined) throw new NotFoundError('event', id);
    return toEvent(row);
  }

  /** Events, newest first. */
  list(filter?: EventListFilter): Page<WebhookEventRecord> {
    this.ctx.guard('events.list');
    const { query, limit } = eventListQuery(filter);
    return pageOf(this.ctx.store.log.listEvents(query), limit, 'e', toEvent);
  }

  /** Makes new deliveries of a stored event (same `webhook-id`); returns how many were scheduled. */
  replay(id: string, options: ReplayOptions = {}): number {
    this.ctx.guard('events.replay');
    const ids = replayEndpointIds(options);
    const event = this.get(id);
    // The event's own deliveries first: a replay is numbered after them.
    this.ctx.settle();
    // IMMEDIATE for the same reason as emit: it reads before it writes.
    const now = this.ctx.clock.now();
    const scheduled = this.ctx.store.db
      .transaction((): string[] => {
        this.ctx.cache.refresh();
        const endpointIds = this.ctx.cache.replayTargets(event.type, event.tenant, ids);
        const seq = this.ctx.store.outbox.eventSeq(id)!;
        this.ctx.store.outbox.insertReplays(seq, endpointIds, event.orderingKey, now);
        return endpointIds;
      })
      .immediate();
    for (const endpointId of scheduled) this.ctx.scheduled(endpointId, now);
    return scheduled.length;
  }
}
