import type { Database } from 'better-sqlite3';
import type { Clock } from './clock.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { EndpointCache } from './endpoint-cache.js';
import { InvalidArgumentError, NotFoundError } from './errors/input.js';
import { checkFilter, optionalFilterString, type TimeInput, toLimit, toMs } from './list-input.js';
import type { LogSql } from './store/log-sql.js';
import type { OutboxSql } from './store/outbox-sql.js';
import { toEvent } from './store/rows.js';
import type { Page, WebhookEventRecord } from './types.js';
import { describe, isPlainObject, unknownKey } from './validate.js';

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

const LIST_KEYS = new Set(['type', 'tenant', 'since', 'until', 'limit', 'cursor']);
const REPLAY_KEYS = new Set(['endpointIds']);

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
    if (typeof id !== 'string' || id.length === 0)
      throw new InvalidArgumentError('id', `Expected an event id, got ${describe(id)}`);
    const row = this.log.getEvent(id);
    if (row === undefined) throw new NotFoundError('event', id);
    return toEvent(row);
  }

  /** Events, newest first. */
  list(filter?: EventListFilter): Page<WebhookEventRecord> {
    this.guard('events.list');
    const f = checkFilter(filter, LIST_KEYS);
    const limit = toLimit(f.limit);
    const rows = this.log.listEvents({
      type: optionalFilterString(f.type, 'type'),
      tenant: optionalFilterString(f.tenant, 'tenant'),
      since: toMs(f.since, 'since'),
      until: toMs(f.until, 'until'),
      before: f.cursor === undefined ? undefined : decodeCursor('e', f.cursor),
      // One row more than the page: a full last page then says there is no next one.
      limit: limit + 1,
    });
    const more = rows.length > limit;
    if (more) rows.pop();
    const last = rows[rows.length - 1];
    return { items: rows.map(toEvent), nextCursor: more && last ? encodeCursor('e', last.seq) : null };
  }

  /** Makes new deliveries of a stored event (same `webhook-id`); returns how many were scheduled. */
  replay(id: string, options: ReplayOptions = {}): number {
    this.guard('events.replay');
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
    const event = this.get(id);
    // IMMEDIATE for the same reason as emit: it reads before it writes.
    const now = this.clock.now();
    const scheduled = this.db
      .transaction((): string[] => {
        this.cache.refresh();
        const targets =
          ids === undefined
            ? this.cache.matching(event.type, event.tenant)
            : ids.map((endpointId) => {
                const endpoint = this.cache.get(endpointId);
                if (endpoint === undefined || endpoint.tenant !== event.tenant)
                  throw new NotFoundError('endpoint', endpointId);
                return endpoint;
              });
        const seq = this.outbox.eventSeq(id)!;
        const endpointIds = [...new Set(targets.map((t) => t.id))];
        this.outbox.insertDeliveries(seq, endpointIds, event.orderingKey, now);
        return endpointIds;
      })
      .immediate();
    for (const endpointId of scheduled) this.onScheduled(endpointId, now);
    return scheduled.length;
  }
}
