import { decodeCursor, encodeCursor } from '../cursor.js';
import { InvalidArgumentError, NotFoundError } from '../errors/input.js';
import type { EventListFilter, ReplayOptions } from '../events-api.js';
import { checkFilter, optionalFilterString, toLimit, toMs } from '../list-input.js';
import { toEvent } from '../store/rows.js';
import type { Page, WebhookEventRecord } from '../types.js';
import { describe, isPlainObject, unknownKey } from '../validate.js';
import type { PgContext } from './context.js';

const EVENT_LIST_KEYS = new Set(['type', 'tenant', 'since', 'until', 'limit', 'cursor']);
const REPLAY_KEYS = new Set(['endpointIds']);

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
      const f = checkFilter(filter, EVENT_LIST_KEYS);
      const limit = toLimit(f.limit);
      const rows = await this.ctx.store.log.listEvents({
        type: optionalFilterString(f.type, 'type'),
        tenant: optionalFilterString(f.tenant, 'tenant'),
        since: toMs(f.since, 'since'),
        until: toMs(f.until, 'until'),
        before: f.cursor === undefined ? undefined : decodeCursor('e', f.cursor),
        limit: limit + 1,
      });
      const more = rows.length > limit;
      if (more) rows.pop();
      const last = rows[rows.length - 1];
      return { items: rows.map(toEvent), nextCursor: more && last ? encodeCursor('e', last.seq) : null };
    });
  }

  /** Makes new deliveries of a stored event (same `webhook-id`); resolves to how many were scheduled. */
  replay(id: string, options: ReplayOptions = {}): Promise<number> {
    return this.ctx.call('events.replay', async () => {
      if (!isPlainObject(options))
        throw new InvalidArgumentError(
          'options',
          `Expected \`options\` to be an object, got ${describe(options)}`,
        );
      const extra = unknownKey(options, REPLAY_KEYS);
      if (extra !== undefined) {
        throw new InvalidArgumentError(
          extra,
          `Unknown replay option \`${extra}\`; the only one is endpointIds`,
          'ERR_UNKNOWN_OPTION',
        );
      }
      const ids = options.endpointIds;
      if (
        ids !== undefined &&
        (!Array.isArray(ids) || !ids.every((e) => typeof e === 'string' && e.length > 0))
      ) {
        throw new InvalidArgumentError(
          'endpointIds',
          `Expected \`endpointIds\` to be an array of endpoint ids, got ${describe(ids)}`,
        );
      }
      const event = await this.event(id);
      const now = this.ctx.clock.now();
      await this.ctx.cache.refresh();
      const targets =
        ids === undefined
          ? this.ctx.cache.matching(event.type, event.tenant)
          : ids.map((endpointId) => {
              const endpoint = this.ctx.cache.get(endpointId);
              if (endpoint === undefined || endpoint.tenant !== event.tenant)
                throw new NotFoundError('endpoint', endpointId);
              return endpoint;
            });
      const seq = await this.ctx.store.outbox.eventSeq(id);
      if (seq === undefined) throw new NotFoundError('event', id);
      const endpointIds = [...new Set(targets.map((t) => t.id))];
      if (endpointIds.length > 0)
        await this.ctx.store.outbox.insertDeliveries(seq, endpointIds, event.orderingKey, now);
      for (const endpointId of endpointIds) this.ctx.scheduled(endpointId, now);
      return endpointIds.length;
    });
  }

  private async event(id: unknown): Promise<WebhookEventRecord> {
    if (typeof id !== 'string' || id.length === 0)
      throw new InvalidArgumentError('id', `Expected an event id, got ${describe(id)}`);
    const row = await this.ctx.store.log.getEvent(id);
    if (row === undefined) throw new NotFoundError('event', id);
    return toEvent(row);
  }
}
