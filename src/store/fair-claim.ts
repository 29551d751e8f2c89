import type { ClaimRequest } from '../engine/claims.js';
// The claim rules both stores apply: fair shares of a batch, shared rate and concurrency limits.

/** How soon an endpoint held back by other senders' leases is looked at again, in ms. */
export const HELD_RECHECK_MS = 50;

/** A shared rate-limit bucket as stored: its tokens as of `at` (ms). */
export interface StoredBucket {
  tokens: number;
  at: number;
}

/**
 * The tokens in an endpoint's shared bucket at `now`: it holds one second's
 * worth (at least one token) and refills at `perSecond`; a bucket never used
 * is full. A clock behind the one that last wrote the bucket refills nothing.
 */
export function bucketTokens(bucket: StoredBucket | undefined, perSecond: number, now: number): number {
  const capacity = Math.max(1, perSecond);
  if (bucket === undefined) return capacity;
  return Math.min(capacity, bucket.tokens + (Math.max(0, now - bucket.at) * perSecond) / 1000);
}

/**
 * What the limits shared by every sender let one request take now: no more
 * than its endpoint's concurrency less the rows leased by anyone (`sending`),
 * nor than the whole tokens left in its shared bucket (`tokens`, `null`: no rate limit).
 */
export function sharedAllowance(
  request: ClaimRequest,
  asked: number,
  sending: number,
  tokens: number | null,
): number {
  let allowed = Math.min(asked, request.cap - sending);
  if (tokens !== null) allowed = Math.min(allowed, Math.floor(tokens));
  return Math.max(0, allowed);
}

/**
 * When to look again at an endpoint whose due rows the shared limits kept back
 * after it took `taken`: in HELD_RECHECK_MS when its concurrency is spent
 * (other senders' leases end without telling this one), when its next token
 * comes when its shared bucket is empty, the later of the two when both are.
 */
export function heldUntil(
  request: ClaimRequest,
  sending: number,
  tokens: number | null,
  taken: number,
  now: number,
): number {
  let at = now + 1;
  if (request.cap - sending - taken <= 0) at = now + HELD_RECHECK_MS;
  const left = tokens === null ? Number.POSITIVE_INFINITY : tokens - taken;
  if (left < 1) at = Math.max(at, now + Math.ceil(((1 - left) * 1000) / request.ratePerSecond!));
  return at;
}

/**
 * How many retries and first attempts to ask for, in that order, so that first
 * attempts get \`half\` of \`asked\` slots and retries the rest, and either takes
 * what the other leaves. Retries are asked first: with none due (the usual
 * case) the first attempts fill every slot in one more statement, not two.
 */
export function fairOrder(asked: number, endpointId: string, retryTakesOdd: Set<string>) {
  let half = Math.ceil(asked / 2);
  // An odd slot goes to each in turn, so that one slot at a time (concurrency 1, a rate limit) is shared too.
  if (asked % 2 === 1) {
    if (retryTakesOdd.delete(endpointId)) half--;
    else retryTakesOdd.add(endpointId);
  }
  const share = asked - half;
  return {
    retries: share,
    fresh: (retries: number) => asked - retries,
    // Retries filled their share and first attempts left slots: more retries may be due.
    more: (retries: number, fresh: number) => (retries === share ? asked - retries - fresh : 0),
  };
}
