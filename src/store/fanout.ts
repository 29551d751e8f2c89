import type { LiveEndpoint } from '../engine/live-endpoints.js';
import type { Expansion } from '../engine/store-port.js';
import { compilePatterns } from '../shared/match.js';
import type { EndpointRow } from '../shared/rows.js';

export type { Expansion };

/** A pass that found nothing queued. */
export const NOTHING_QUEUED: Expansion = Object.freeze({
  endpoints: new Set<string>(),
  more: false,
});

/** A queued event, as fan-out needs it. */
export interface QueuedEvent {
  /** Its place in the fan-out queue: tickets only grow, and are never handed out twice. */
  ticket: number;
  /** Emit's `endpointIds`, when it gave some. */
  endpointIds: readonly string[] | null;
  /** A fan-out cut into passes: the `order` of the last endpoint it reached (the candidates come in that order). */
  after: string | null;
}

/**
 * Whether the endpoint, as it is now, takes the queued event: it was changed before the event
 * was emitted (earlier events went to it as it was), and the emit did not name other endpoints.
 */
export function wantedBy(endpoint: Pick<LiveEndpoint, 'id' | 'matchFrom'>, event: QueuedEvent): boolean {
  if (event.ticket <= endpoint.matchFrom) return false;
  return event.endpointIds === null || event.endpointIds.includes(endpoint.id);
}

/**
 * Whether the endpoint as stored in `old` (before a change) takes a queued event of `type` and
 * `tenant`: what `settle` fans out to it on both stores.
 */
export function takenBy(
  old: EndpointRow,
): (type: string, tenant: string | null, event: QueuedEvent) => boolean {
  if (old.enabled !== 1) return () => false;
  const matches = compilePatterns(JSON.parse(old.events) as string[]);
  const endpoint = { id: old.id, matchFrom: Number(old.match_from ?? 0) };
  return (type, tenant, event) => tenant === old.tenant && matches(type) && wantedBy(endpoint, event);
}

/**
 * The next ids, at most `max`, among the enabled endpoints that match the event's type and tenant
 * (`candidates`, oldest first), that the event goes to, after the last one an earlier pass reached;
 * the `order` of the last one; and whether that finishes the event.
 */
export function fanoutTargets(
  candidates: readonly LiveEndpoint[],
  event: QueuedEvent,
  max: number,
): { ids: string[]; last: string | null; finished: boolean } {
  const ids: string[] = [];
  const { after } = event;
  let last: string | null = null;
  for (const endpoint of candidates) {
    if (after !== null && endpoint.order <= after) continue;
    if (!wantedBy(endpoint, event)) continue;
    if (ids.length === max) return { ids, last, finished: false };
    ids.push(endpoint.id);
    last = endpoint.order;
  }
  return { ids, last, finished: true };
}
