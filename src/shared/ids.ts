import { customAlphabet } from 'nanoid';

const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const random = customAlphabet(alphabet, 22);

/** A globally unique event id, sent as `webhook-id`: receivers dedupe on it, so it must never repeat. */
export const newEventId = (): string => `evt_${random()}`;
export const newEndpointId = (): string => `ep_${random()}`;
export const newOwnerId = (): string => `own_${random()}`;

// Deliveries and attempts are keyed by integer rowids: they are written on the
// hot path, and an integer key is the cheapest index entry SQLite has.
export const deliveryId = (seq: number): string => `dlv_${seq}`;
export const attemptId = (seq: number): string => `att_${seq}`;

export function parseSeqId(prefix: 'dlv_' | 'att_', id: unknown): number | null {
  if (typeof id !== 'string' || !id.startsWith(prefix)) return null;
  const digits = id.slice(prefix.length);
  if (!/^[1-9][0-9]{0,15}$/.test(digits)) return null;
  const seq = Number(digits);
  return Number.isSafeInteger(seq) ? seq : null;
}
