import type { Attempts } from './attempts.js';
import type { ClaimedDelivery, ClaimOutcome, ClaimRequest, Lease } from './claims.js';
import type { ClaimPlanner } from './planner.js';
import type { Results } from './results.js';
import type { DispatchStore, Expansion } from './store-port.js';

/** What a turn planned and claimed. */
export interface ClaimStep {
  plan: readonly ClaimRequest[];
  claim: ClaimOutcome;
  now: number;
  /** The planner's mark taken before the claim (see `ClaimPlanner.mark`). */
  mark: number;
}

/**
 * Why a turn claimed nothing: `busy`, the application holds a transaction on
 * the store's connection (come back later); `full`, no slot is free.
 */
export type NoClaim = 'busy' | 'full';

/** What one claim step works with. */
export interface StepContext {
  store: DispatchStore;
  /** Events may wait for fan-out (an emit said so, the poll, or the last pass left some). */
  fanout: { pending: boolean };
  /** Asks for another turn soon. */
  wake: () => void;
  planner: ClaimPlanner;
  attempts: Attempts;
  results: Results;
  now: () => number;
  lease: (now: number) => Lease;
}

/**
 * Creates the deliveries of events waiting for fan-out, one short transaction per pass: their
 * endpoints are due now. The dispatcher runs it at the start of each turn, before the claim. A pass that leaves some asks for another turn, so that results and claims
 * go on in between.
 */
export async function fanOut(ctx: StepContext): Promise<void> {
  if (!ctx.fanout.pending || ctx.store.busy()) return;
  const now = ctx.now();
  // Cleared before the pass, not after: an emit that says so while an asynchronous pass is out
  // may have committed too late for it, and its word must stand.
  ctx.fanout.pending = false;
  let expanded: Expansion;
  try {
    expanded = await ctx.store.expand(now);
  } catch (error) {
    ctx.fanout.pending = true;
    throw error;
  }
  expansionDone(ctx, expanded, now);
}

/** The endpoints a pass gave deliveries are due now; a pass that left some asks for another turn. */
function expansionDone(ctx: StepContext, { endpoints, more }: Expansion, now: number): void {
  for (const endpointId of endpoints) ctx.planner.due(endpointId, now);
  if (!more) return;
  ctx.fanout.pending = true;
  ctx.wake();
}

/**
 * Plans and claims as many rows as there are free slots. `mark` is the planner's, taken before the
 * results were written: an attempt that ended after it may still hold its lease in the database
 * when the claim runs, and what the claim then says of its endpoint is stale.
 */
export async function claimStep(ctx: StepContext, mark: number): Promise<ClaimStep | NoClaim> {
  const { store, planner } = ctx;
  const free = ctx.attempts.free;
  if (free <= 0) return 'full';
  const now = ctx.now();
  const plan = planner.plan(await store.endpoints(), now, free);
  // The awaits above let other code run: an application 'delivered'
  // listener, say, may have opened a transaction on a shared connection
  // in a microtask. A claim now would run inside it and send rows that
  // may yet roll back, so the check is repeated right before the claim.
  if (store.busy()) return 'busy';
  const claim = await store.claim({ requests: plan, budget: free, lease: ctx.lease(now) });
  return { plan, claim, now, mark };
}

/**
 * A whole turn's writes in one transaction, for a store that can: the fan-out pass when events
 * wait, the finished attempts, and `claimStep`'s claim, planned with what both changed.
 */
export async function recordThenClaim(
  ctx: StepContext,
  recordAndClaim: NonNullable<DispatchStore['recordAndClaim']>,
): Promise<ClaimStep | NoClaim> {
  const { store, planner, results, fanout } = ctx;
  if (store.busy()) return 'busy';
  if (results.pending === 0 && ctx.attempts.free <= 0) {
    // Nothing to record and no slot to fill: at most a fan-out pass, which looks before it locks.
    await fanOut(ctx);
    return 'full';
  }
  const batch = results.take();
  const now = ctx.now();
  const expand = fanout.pending;
  fanout.pending = false;
  let free = 0;
  let mark = 0;
  let outcome: ReturnType<typeof recordAndClaim>;
  try {
    outcome = recordAndClaim(
      batch.map((f) => f.result),
      ctx.lease(now),
      // The endpoints as of the transaction: those the pass just fanned out to are among them.
      (recorded, expanded, endpoints) => {
        // Before the planner's mark, as in fanOut.
        expansionDone(ctx, expanded, now);
        results.recorded(batch, recorded, now);
        free = ctx.attempts.free;
        mark = planner.mark();
        if (free <= 0) return { requests: [], budget: 0 };
        const gone = new Set(recorded.disabled.map((d) => d.endpointId));
        const live = gone.size === 0 ? endpoints : endpoints.filter((e) => !gone.has(e.id));
        return { requests: planner.plan(live, now, free), budget: free };
      },
      expand,
    );
  } catch (error) {
    results.restore(batch);
    if (expand) fanout.pending = true;
    throw error;
  }
  results.announce(batch, outcome.recorded.disabled);
  if (free <= 0) return 'full';
  return { plan: outcome.plan.requests, claim: outcome.claim, now, mark };
}

/**
 * A turn on an asynchronous store: a fan-out pass, then the record and the claim, in one call
 * when the store can (`recordWithClaim`). `claiming` says whether the dispatcher still claims
 * (not closing); `undefined`: it stopped while the record was out.
 */
export async function asyncStep(
  ctx: StepContext,
  flush: () => Promise<void>,
  claiming: () => boolean,
): Promise<ClaimStep | NoClaim | undefined> {
  // Before the planner's mark: the endpoints a pass makes due are not hints that came in while the claim
  // was out (which would make the claim's word on them look stale).
  await fanOut(ctx);
  const mark = ctx.planner.mark();
  const step = claiming() ? await recordWithClaim(ctx, mark, claiming) : undefined;
  if (step !== undefined) return step;
  await flush();
  if (!claiming()) return undefined;
  return claimStep(ctx, mark);
}

/**
 * The finished attempts and the claim in one call of the store's (`recordThenClaim`), planned
 * before the record with the endpoints as the store holds them (it checks that they did not
 * change) and the health as this process knew it (a success that closes a circuit is seen
 * by the next turn's plan). `undefined`: nothing claimed here (the store cannot for this batch,
 * or the dispatcher began to close while the record was out).
 */
async function recordWithClaim(
  ctx: StepContext,
  mark: number,
  claiming: () => boolean,
): Promise<ClaimStep | NoClaim | undefined> {
  const { store, results, planner } = ctx;
  const free = ctx.attempts.free;
  if (store.recordThenClaim === undefined || results.pending === 0 || free <= 0) return undefined;
  const batch = results.take();
  const now = ctx.now();
  const lease = ctx.lease(now);
  let outcome: Awaited<ReturnType<NonNullable<DispatchStore['recordThenClaim']>>>;
  try {
    outcome = await store.recordThenClaim(
      batch.map((f) => f.result),
      lease,
      (endpoints) => ({ requests: planner.plan(endpoints, now, free), budget: free }),
    );
  } catch (error) {
    results.restore(batch);
    throw error;
  }
  if (outcome === undefined) {
    results.restore(batch);
    return undefined;
  }
  results.recorded(batch, outcome.recorded, now);
  results.announce(batch, outcome.recorded.disabled);
  const { plan, claim } = outcome;
  // Not claimed with the record, and the dispatcher began to close while it was out: no new claim.
  if (typeof claim === 'string' && !claiming()) return undefined;
  if (claim === 'moved') return claimStep(ctx, mark);
  if (claim !== 'separately') return { plan: plan.requests, claim, now, mark };
  if (store.busy()) return 'busy';
  return {
    plan: plan.requests,
    claim: await store.claim({ requests: plan.requests, budget: plan.budget, lease }),
    now,
    mark,
  };
}

/**
 * Teaches the planner what a claim found and launches what it took. Rows
 * waiting for a rate-limit token, or held back by a limit shared with other
 * senders, are due too: drain() waits for them, and `tokenAt` brings the next
 * look. Caught up when every endpoint offered a slot had fewer due rows than offered.
 */
export async function settleStep(
  ctx: StepContext,
  { plan, claim, now, mark }: ClaimStep,
  launch: (delivery: ClaimedDelivery) => void,
): Promise<{ caughtUp: boolean; tokenAt: number }> {
  const { planner } = ctx;
  for (const [endpointId, at] of claim.nextDue) planner.setDue(endpointId, at, mark);
  for (const [endpointId, at] of claim.held) planner.hold(endpointId, at, mark);
  for (const delivery of claim.claimed) launch(delivery);
  // Endpoints that only looked due do not count.
  let tokenAt = Number.POSITIVE_INFINITY;
  if (planner.rateLimited.size > 0) {
    const due = await ctx.store.dueTimes([...planner.rateLimited.keys()]);
    tokenAt = planner.settleRateLimited(due, now);
  }
  const caughtUp =
    tokenAt === Number.POSITIVE_INFINITY && plan.every((request) => claim.nextDue.has(request.endpointId));
  return { caughtUp, tokenAt };
}

/** The slow poll's look at the store: leases left by dead senders, rows and health written by others. */
export async function refresh(ctx: StepContext): Promise<void> {
  const { store, planner } = ctx;
  ctx.fanout.pending = true;
  await store.expireLeases(ctx.now());
  const endpoints = await store.endpoints();
  const mark = planner.mark();
  planner.replaceDue(await store.dueTimes(endpoints.map((e) => e.id)), mark);
  planner.replaceHealth(await store.healths());
}
