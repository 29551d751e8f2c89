import { describe, expect, it, vi } from 'vitest';
import { fanOut, type StepContext } from '../src/engine/claim-step.js';
import { ClaimPlanner } from '../src/engine/planner.js';
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
