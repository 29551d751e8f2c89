import { describe, expect, it, vi } from 'vitest';
import type { Finished } from '../src/engine/announce.js';
import { CircuitWatch } from '../src/engine/circuit-watch.js';
import { asyncStep, fanOut, type StepContext } from '../src/engine/claim-step.js';
import type { AttemptResult, ClaimOutcome } from '../src/engine/claims.js';
import type { LiveEndpoint } from '../src/engine/live-endpoints.js';
import { ClaimPlanner } from '../src/engine/planner.js';
import { Results } from '../src/engine/results.js';
import type { DispatchStore, Expansion } from '../src/engine/store-port.js';

/** A turn's context around a store whose fan-out pass answers later, as PostgreSQL's does. */
function context(expand: (ctx: StepContext) => Promise<Expansion>) {
  const ctx = {
    fanout: { pending: true },
    wake: vi.fn(),
    planner: new ClaimPlanner(8),
    now: () => 1_000,
  } as unknown as StepContext;
  ctx.store = { busy: () => false, expand: () => expand(ctx) } as unknown as DispatchStore;
  return ctx;
}

describe('a fan-out pass on an asynchronous store', () => {
  it('keeps the word of an emit that queued an event while the pass was out', async () => {
    const ctx = context(async (c) => {
      // The emit's `queued()`, after the pass read the queue: the pass did not see its event.
      c.fanout.pending = true;
      return { endpoints: new Set(['ep_a']), more: false };
    });
    await fanOut(ctx);
    expect(ctx.fanout.pending).toBe(true);
    expect(ctx.planner.mark()).toBe(1);
  });

  it('is done when nothing came in while it was out and it left nothing', async () => {
    const ctx = context(async () => ({ endpoints: new Set(), more: false }));
    await fanOut(ctx);
    expect(ctx.fanout.pending).toBe(false);
    expect(ctx.wake).not.toHaveBeenCalled();
  });

  it('asks for another turn when it left events, and is still pending after a pass that failed', async () => {
    const more = context(async () => ({ endpoints: new Set(), more: true }));
    await fanOut(more);
    expect(more.fanout.pending).toBe(true);
    expect(more.wake).toHaveBeenCalledTimes(1);
    const failing = context(async () => {
      throw new Error('connection lost');
    });
    await expect(fanOut(failing)).rejects.toThrow('connection lost');
    expect(failing.fanout.pending).toBe(true);
  });
});

describe('a turn on a store that records and claims in one call', () => {
  const endpoint = {
    id: 'ep_a',
    concurrency: null,
    ratePerSecond: null,
    fifo: false,
  } as unknown as LiveEndpoint;
  const result = {
    seq: 1,
    endpointId: 'ep_a',
    logged: true,
    status: 'succeeded',
    updatedAt: 900,
  } as AttemptResult;
  const claimed = { claimed: [], nextDue: new Map([['ep_a', null]]), held: new Map() } as ClaimOutcome;

  /** A turn's context with one finished attempt to record, around `store`'s `recordThenClaim`. */
  function turn(recordThenClaim: DispatchStore['recordThenClaim']) {
    const planner = new ClaimPlanner(8);
    const notify = vi.fn();
    const results = new Results(planner, new CircuitWatch(() => false, notify), () => false, notify);
    results.add({ result, notice: { endpointId: 'ep_a' } } as Finished);
    const store = {
      busy: () => false,
      endpoints: vi.fn(async () => [endpoint]),
      record: vi.fn(async () => ({ health: new Map(), disabled: [] })),
      claim: vi.fn(async () => claimed),
      recordThenClaim,
    };
    const ctx = {
      store,
      fanout: { pending: false },
      wake: vi.fn(),
      planner,
      results,
      attempts: { free: 4 },
      now: () => 1_000,
      lease: (now: number) => ({ owner: 'me', now, until: now + 10_000 }),
    } as unknown as StepContext;
    const flush = () => results.flush(store as unknown as DispatchStore, 'me', () => 1_000);
    return { ctx, store, results, step: () => asyncStep(ctx, flush, () => true) };
  }
  const recorded = { health: new Map(), disabled: [] };

  it('claims what the store claimed in the same call, planned before the record', async () => {
    const t = turn(async (_results, _lease, plan) => {
      const planned = plan([endpoint]);
      expect(planned.requests.map((r) => [r.endpointId, r.max])).toEqual([['ep_a', 4]]);
      return { recorded, plan: planned, claim: claimed };
    });
    const step = await t.step();
    expect(step).toMatchObject({ claim: claimed, now: 1_000 });
    expect(t.results.pending).toBe(0);
    expect(t.store.record).not.toHaveBeenCalled();
    expect(t.store.claim).not.toHaveBeenCalled();
  });

  it('claims the plan itself when told to, and plans again with the endpoints read when they moved', async () => {
    const apart = turn(async (_r, _l, plan) => ({ recorded, plan: plan([endpoint]), claim: 'separately' }));
    await apart.step();
    expect(apart.store.claim).toHaveBeenCalledWith(
      expect.objectContaining({ budget: 4, lease: expect.anything() }),
    );
    expect(apart.store.endpoints).not.toHaveBeenCalled();
    const moved = turn(async (_r, _l, plan) => ({ recorded, plan: plan([endpoint]), claim: 'moved' }));
    await moved.step();
    expect(moved.store.endpoints).toHaveBeenCalledTimes(1);
    expect(moved.store.claim).toHaveBeenCalledTimes(1);
    expect(moved.store.record).not.toHaveBeenCalled();
  });

  it('records apart when the store cannot, and keeps the results of a call that failed for the next turn', async () => {
    const cannot = turn(async () => undefined);
    await cannot.step();
    expect(cannot.store.record).toHaveBeenCalledTimes(1);
    expect(cannot.store.claim).toHaveBeenCalledTimes(1);
    const failing = turn(async () => {
      throw new Error('connection lost');
    });
    await expect(failing.step()).rejects.toThrow('connection lost');
    expect(failing.results.pending).toBe(1);
    expect(failing.store.record).not.toHaveBeenCalled();
  });

  it('claims nothing more when the dispatcher began to close while the record was out', async () => {
    let open = true;
    const t = turn(async (_r, _l, plan) => {
      open = false;
      return { recorded, plan: plan([endpoint]), claim: 'separately' };
    });
    const flush = () => t.results.flush(t.store as unknown as DispatchStore, 'me', () => 1_000);
    expect(await asyncStep(t.ctx, flush, () => open)).toBeUndefined();
    expect(t.store.claim).not.toHaveBeenCalled();
    expect(t.store.record).not.toHaveBeenCalled();
    expect(t.results.pending).toBe(0);
  });
});
