import { describe, expect, it } from 'vitest';
import { fairOrder } from '../src/store/fair-claim.js';

/** What a claim takes with `fresh` first attempts and `retries` retries due, asking as fairOrder says. */
function simulate(asked: number, freshDue: number, retriesDue: number, odd: Set<string>) {
  const order = fairOrder(asked, 'ep', odd);
  const a = Math.min(retriesDue, Math.max(0, order.retries));
  const b = Math.min(freshDue, Math.max(0, order.fresh(a)));
  const c = Math.min(retriesDue - a, Math.max(0, order.more(a, b)));
  return { fresh: b, retries: a + c };
}

describe('fairOrder', () => {
  it('gives first attempts and retries half each, and either the slots the other leaves', () => {
    for (let asked = 1; asked <= 9; asked++) {
      for (let freshDue = 0; freshDue <= 10; freshDue++) {
        for (let retriesDue = 0; retriesDue <= 10; retriesDue++) {
          const odd = new Set<string>();
          const { fresh, retries } = simulate(asked, freshDue, retriesDue, odd);
          // The half first attempts are owed: the odd slot went to them on this first call.
          const half = Math.ceil(asked / 2);
          expect(fresh + retries).toBe(Math.min(asked, freshDue + retriesDue));
          expect(fresh).toBe(Math.min(freshDue, Math.max(half, asked - retriesDue)));
        }
      }
    }
  });

  it('hands an odd slot to each in turn', () => {
    const odd = new Set<string>();
    const takes = [1, 2, 3, 4].map(() => simulate(1, 5, 5, odd));
    expect(takes).toEqual([
      { fresh: 1, retries: 0 },
      { fresh: 0, retries: 1 },
      { fresh: 1, retries: 0 },
      { fresh: 0, retries: 1 },
    ]);
  });

  it('asks for nothing more once both kinds ran out', () => {
    const order = fairOrder(8, 'ep', new Set());
    expect(order.retries).toBe(4);
    expect(order.fresh(0)).toBe(8);
    expect(order.more(0, 3)).toBe(0);
    expect(order.more(4, 2)).toBe(2);
  });
});
