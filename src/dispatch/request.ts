import type { LiveEndpoint } from '../live-endpoints.js';
import { signPayload } from '../signing.js';
import type { ClaimedDelivery } from '../store/claim-sql.js';
import { iso } from '../store/rows.js';
import { VERSION } from '../version.js';

const USER_AGENT = `hookline/${VERSION}`;

/**
 * The body: `{"id","type","timestamp","data"}`, built by concatenation around
 * the payload JSON stored at emit, so it is byte-identical on every attempt.
 */
export function buildBody(delivery: ClaimedDelivery): string {
  return `{"id":${JSON.stringify(delivery.eventId)},"type":${JSON.stringify(delivery.eventType)},"timestamp":"${iso(
    delivery.eventCreatedAt,
  )}","data":${delivery.payload}}`;
}

/**
 * The request headers, signed now: a retry hours later carries a fresh
 * timestamp. While a secret rotates, both signatures go, space-separated.
 */
export function buildHeaders(
  endpoint: LiveEndpoint,
  delivery: ClaimedDelivery,
  body: string,
  nowMs: number,
): Record<string, string> {
  const timestamp = Math.floor(nowMs / 1000);
  let signature = signPayload(endpoint.key, delivery.eventId, timestamp, body);
  if (endpoint.previousKey !== null && nowMs < endpoint.previousKeyUntil) {
    signature += ` ${signPayload(endpoint.previousKey, delivery.eventId, timestamp, body)}`;
  }
  return {
    ...endpoint.headers,
    'content-type': 'application/json',
    'user-agent': USER_AGENT,
    'webhook-id': delivery.eventId,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signature,
  };
}
