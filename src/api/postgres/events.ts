import { NotFoundError } from '../../shared/errors/input.js';
import { toEvent } from '../../shared/rows.js';
import type { Page, WebhookEventRecord } from '../../shared/types.js';
import type { EventListFilter, ReplayOptions } from '../list-input.js';
import { checkEventId, eventListQuery, pageOf, replayEndpointIds } from '../list-queries.js';
import type { PgContext } from './context.js';
/** `sender.events` on PostgreSQL. */
export class PgEvents {
  /** @internal */
  constructor(private readonly ctx: PgContext) {}

  get(id: string): Promise<WebhookEventRecord> {
    return this.ctx.call('events.get', () => this.event(id));
  }

  /** Events, newest first. */
  list(filter?: EventListFilter): Promise<Page<WebhookEventRecord>> {
    return this.ctx.call('events.list', async () => {
      const { query, limit } = eventListQuery(filter);
      return pageOf(await this.ctx.store.log.listEvents(query), limit, 'e', toEvent);
    });
  }

  /** Makes new deliveries of a stored event (same `webhook-id`); resolves to how many were scheduled. */
  replay(id: string, options: ReplayOptions = {}): Promise<number> {
    return this.ctx.call('events.replay', async () => {
      const ids = replayEndpointIds(options);
      const event = await this.event(id);
      // The event's own deliveries first: a replay is numbered after them.
      await this.ctx.settle();
      const now = this.ctx.clock.now();
      await this.ctx.cache.refresh();
      const endpointIds = this.ctx.cache.replayTargets(event.type, event.tenant, ids);
      const seq = await this.ctx.store.outbox.eventSeq(id);
      if (seq === undefined) throw new NotFoundError('event', id);
      if (endpointIds.length > 0)
        await this.ctx.store.outbox.insertReplays(seq, endpointIds, event.orderingKey, now);
      for (const endpointId of endpointIds) this.ctx.scheduled(endpointId, now);
      return endpointIds.length;
    });
  }

  private async event(id: unknown): Promise<WebhookEventRecord> {
    const eventId = checkEventId(id);
    const row = await this.ctx.store.log.getEvent(eventId);
    if (row === undefined) throw new NotFoundError('event', eventId);
    return toEvent(row);
  }
}
