import type { LiveEndpoint } from '../engine/live-endpoints.js';
import type { Expansion } from '../engine/store-port.js';

export type { Expansion };

/** A pass that found nothing queued. */
export const NOTHING_QUEUED: Expansion = Object.freeze({
  endpoints: new Set<string>(),
  rows: 0,
  more: false,
});

/** A queued event, as fan-out needs it. */
export interface QueuedEvent {
  /** Its place in the fan-out queue: tickets only grow, and are never handed out twice. */
  ticket: number;
  /** Emit's `endpointIds`, when it gave some. */
  endpointIds: readonly string[] | null;
}

/**
 * Whether the endpoint, as it is now, takes the queued event: it was changed before the event
 * was emitted (earlier events went to it as it was), and the emit did not name other endpoints.
 */
export function wantedBy(endpoint: Pick<LiveEndpoint, 'id' | 'matchFrom'>, event: QueuedEvent): boolean {
  if (event.ticket <= endpoint.matchFrom) return false;
  return event.endpointIds === null || event.endpointIds.includes(endpoint.id);
}

/** The ids, among the enabled endpoints that match the event's type and tenant, it goes to. */
export function fanoutTargets(candidates: readonly LiveEndpoint[], event: QueuedEvent): string[] {
  const ids: string[] = [];
  for (const endpoint of candidates) if (wantedBy(endpoint, event)) ids.push(endpoint.id);
  return ids;
}
