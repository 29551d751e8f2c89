import type { Database } from 'better-sqlite3';
import type { Clock } from './clock.js';
import type { EndpointCache } from './endpoint-cache.js';
import { NotFoundError } from './errors/input.js';
import type { TimeInput } from './list-input.js';
import { checkEventId, eventListQuery, pageOf, replayEndpointIds } from './list-queries.js';
import type { LogSql } from './store/log-sql.js';
import type { OutboxSql } from './store/outbox-sql.js';
import { toEvent } from './store/rows.js';
import type { Page, WebhookEventRecord } from './types.js';

export interface EventListFilter {
  type?: string;
  tenant?: string;
  /** Created at or after. */
  since?: TimeInput;
  /** Created before. */
  until?: TimeInput;
  /** Page size, 1 to 1000. @default 50 */
  limit?: number;
  cursor?: string;
}

export interface ReplayOptions {
  /** Send to these endpoints (enabled, of the event's tenant); default: every enabled endpoint that matches now. */
  endpointIds?: string[];
}

/** `sender.events`: the stored events. */
export class Events {
  /** @internal */
  constructor(
    private readonly db: Database,
    private readonly log: LogSql,
    private readonly outbox: OutboxSql,
    private readonly cache: EndpointCache,
    private readonly clock: Clock,
    private readonly guard: (method: string) => void,
    private readonly onScheduled: (endpointId: string, at: number) => void,
  ) {}

  /** The event, or throws `NotFoundError`. */
  get(id: string): WebhookEventRecord {
    this.guard('events.get');
    const row = this.log.getEvent(checkEventId(id));
    if (row === undefined) throw new NotFoundError('event', id);
    return toEvent(row);
  }

  /** Events, newest first. */
  list(filter?: EventListFilter): Page<WebhookEventRecord> {
    this.guard('events.list');
    const { query, limit } = eventListQuery(filter);
    return pageOf(this.log.listEvents(query), limit, 'e', toEvent);
  }

  /** Makes new deliveries of a stored event (same `webhook-id`); returns how many were scheduled. */
  replay(id: string, options: ReplayOptions = {}): number {
    this.guard('events.replay');
    const ids = replayEndpointIds(options);
    const event = this.get(id);
    // IMMEDIATE for the same reason as emit: it reads before it writes.
    const now = this.clock.now();
    const scheduled = this.db
      .transaction((): string[] => {
        this.cache.refresh();
        const endpointIds = this.cache.replayTargets(event.type, event.tenant, ids);
        const seq = this.outbox.eventSeq(id)!;
        this.outbox.insertDeliveries(seq, endpointIds, event.orderingKey, now);
        return endpointIds;
      })
      .immediate();
    for (const endpointId of scheduled) this.onScheduled(endpointId, now);
    return scheduled.length;
  }
}
