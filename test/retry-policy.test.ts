import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_SCHEDULE, WebhookError } from '../src/index.js';
import {
  MAX_RETRY_AFTER_MS,
  nextRetryDelay,
  parseRetryAfter,
  RETRY_JITTER,
  type RetryContext,
  type RetryFunction,
} from '../src/shared/retry.js';

// A whole second, so HTTP dates (second precision) land exactly.
const NOW = Date.parse('2026-03-01T12:00:00.000Z');
const LOW = () => 0;
const MID = () => 0.5;
const HIGH = () => 1;

function ctx(overrides: Partial<RetryContext> = {}): RetryContext {
  return {
    attempt: 1,
    statusCode: 500,
    errorCode: null,
    responseHeaders: {},
    event: { id: 'evt_1', type: 'order.created', tenant: null },
    endpointId: 'ep_1',
    deliveryId: 'dlv_1',
    ...overrides,
  };
}

const httpDate = (ms: number) => new Date(ms).toUTCString();

describe('the default schedule', () => {
  it('is Svix-like: 7 delays (8 attempts), frozen', () => {
    expect(DEFAULT_RETRY_SCHEDULE).toEqual([
      5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
    ]);
    expect(Object.isFrozen(DEFAULT_RETRY_SCHEDULE)).toBe(true);
    expect(RETRY_JITTER).toBe(0.2);
  });

  it('gives up after the 8th attempt', () => {
    expect(nextRetryDelay(DEFAULT_RETRY_SCHEDULE, ctx({ attempt: 7 }), NOW, MID)).toBe(36_000_000);
    expect(nextRetryDelay(DEFAULT_RETRY_SCHEDULE, ctx({ attempt: 8 }), NOW, MID)).toBeNull();
  });
});

describe('array schedules', () => {
  const schedule = [1_000, 10_000, 60_000];

  it('uses the delay for the attempt that just failed, then gives up', () => {
    expect(nextRetryDelay(schedule, ctx({ attempt: 1 }), NOW, MID)).toBe(1_000);
    expect(nextRetryDelay(schedule, ctx({ attempt: 2 }), NOW, MID)).toBe(10_000);
    expect(nextRetryDelay(schedule, ctx({ attempt: 3 }), NOW, MID)).toBe(60_000);
    expect(nextRetryDelay(schedule, ctx({ attempt: 4 }), NOW, MID)).toBeNull();
  });

  it.each([
    ['0 (lowest)', LOW, 0.8],
    ['0.5 (middle)', MID, 1],
    ['1 (highest)', HIGH, 1.2],
  ])('jitter with random() = %s scales the delay by %s', (_label, random, factor) => {
    for (const [i, base] of schedule.entries()) {
      expect(nextRetryDelay(schedule, ctx({ attempt: i + 1 }), NOW, random)).toBe(Math.round(base * factor));
    }
  });

  it('rounds jittered delays to whole milliseconds', () => {
    const delay = nextRetryDelay([1_001], ctx(), NOW, () => 0.3);
    expect(Number.isInteger(delay)).toBe(true);
    expect(delay).toBe(Math.round(1_001 * (1 + 0.2 * (2 * 0.3 - 1))));
  });

  it('keeps every delay of Math.random within ±20%', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 2_000; i++) {
      const delay = nextRetryDelay([10_000], ctx(), NOW)!;
      expect(delay).toBeGreaterThanOrEqual(8_000);
      expect(delay).toBeLessThanOrEqual(12_000);
      seen.add(delay);
    }
    // Jitter actually spreads the retries.
    expect(seen.size).toBeGreaterThan(100);
  });

  it('`[]` means a single attempt: the first failure gives up', () => {
    expect(nextRetryDelay([], ctx({ attempt: 1 }), NOW, MID)).toBeNull();
    expect(nextRetryDelay([], ctx({ attempt: 1, statusCode: 503 }), NOW, MID)).toBeNull();
  });

  it('a 0 delay stays 0 whatever the jitter', () => {
    expect(nextRetryDelay([0], ctx(), NOW, LOW)).toBe(0);
    expect(nextRetryDelay([0], ctx(), NOW, HIGH)).toBe(0);
  });

  it('does not call random() when giving up', () => {
    let calls = 0;
    expect(nextRetryDelay([5], ctx({ attempt: 2 }), NOW, () => ++calls)).toBeNull();
    expect(calls).toBe(0);
  });
});

describe('retry functions', () => {
  it('get the context and their answer is used as is (no jitter)', () => {
    const seen: RetryContext[] = [];
    const policy: RetryFunction = (c) => {
      seen.push(c);
      return 1_234;
    };
    const context = ctx({ attempt: 3, statusCode: null, errorCode: 'ECONNREFUSED' });
    expect(nextRetryDelay(policy, context, NOW, LOW)).toBe(1_234);
    expect(nextRetryDelay(policy, context, NOW, HIGH)).toBe(1_234);
    expect(seen[0]).toBe(context);
    expect(seen[0]?.errorCode).toBe('ECONNREFUSED');
  });

  it('null gives up, 0 retries at once', () => {
    expect(nextRetryDelay(() => null, ctx(), NOW, MID)).toBeNull();
    expect(nextRetryDelay(() => 0, ctx(), NOW, MID)).toBe(0);
  });

  it('can decide by status code', () => {
    const policy: RetryFunction = (c) => (c.statusCode !== null && c.statusCode < 500 ? null : 2_000);
    expect(nextRetryDelay(policy, ctx({ statusCode: 400 }), NOW)).toBeNull();
    expect(nextRetryDelay(policy, ctx({ statusCode: 502 }), NOW)).toBe(2_000);
  });

  it.each([
    ['undefined', undefined],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a negative number', -1],
    ['a numeric string', '5000'],
    ['an object', { delay: 5 }],
    ['a boolean', true],
  ])('returning %s throws ERR_INVALID_RETRY_DELAY naming the value', (_label, bad) => {
    const policy = (() => bad) as unknown as RetryFunction;
    expect(() => nextRetryDelay(policy, ctx(), NOW, MID)).toThrow(WebhookError);
    expect(() => nextRetryDelay(policy, ctx(), NOW, MID)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_RETRY_DELAY', endpointId: ctx().endpointId }),
    );
    expect(() => nextRetryDelay(policy, ctx(), NOW, MID)).toThrow(
      new RegExp(`^The retry function returned \`${bad === undefined ? 'undefined' : ''}`),
    );
  });

  it('a function that throws lets its error through', () => {
    const policy: RetryFunction = () => {
      throw new Error('policy broke');
    };
    expect(() => nextRetryDelay(policy, ctx(), NOW)).toThrow('policy broke');
  });
});

describe('Retry-After', () => {
  const at = (statusCode: number, retryAfter: string, policy: readonly number[] | RetryFunction = [1_000]) =>
    nextRetryDelay(policy, ctx({ statusCode, responseHeaders: { 'retry-after': retryAfter } }), NOW, MID);

  it.each([429, 503])('in seconds on %i: waits at least that long', (status) => {
    expect(at(status, '120')).toBe(120_000);
    expect(at(status, ' 30 ')).toBe(30_000);
  });

  it.each([429, 503])('as an HTTP date on %i: waits until then', (status) => {
    expect(at(status, httpDate(NOW + 90_000))).toBe(90_000);
  });

  it('never retries earlier than the schedule says', () => {
    expect(at(429, '0')).toBe(1_000);
    expect(at(429, '1')).toBe(1_000);
    expect(at(503, httpDate(NOW - 60_000))).toBe(1_000);
  });

  it('never retries earlier than Retry-After says, even with the lowest jitter', () => {
    const delay = nextRetryDelay(
      [10_000],
      ctx({ statusCode: 429, responseHeaders: { 'retry-after': '10' } }),
      NOW,
      LOW,
    );
    expect(delay).toBe(10_000);
  });

  it('is capped at MAX_RETRY_AFTER_MS (6 h)', () => {
    expect(MAX_RETRY_AFTER_MS).toBe(6 * 60 * 60 * 1000);
    expect(at(429, '86400')).toBe(MAX_RETRY_AFTER_MS);
    expect(at(503, httpDate(NOW + 2 * 24 * 60 * 60 * 1000))).toBe(MAX_RETRY_AFTER_MS);
    expect(at(429, '99999999999999999999')).toBe(MAX_RETRY_AFTER_MS);
  });

  it('the cap does not shorten a longer scheduled delay', () => {
    expect(at(429, '86400', [36_000_000])).toBe(36_000_000);
  });

  it.each([500, 502, 504, 408, 400, 301])('is ignored on %i', (status) => {
    expect(at(status, '120')).toBe(1_000);
    expect(at(status, httpDate(NOW + 90_000))).toBe(1_000);
  });

  it('is ignored when no response arrived', () => {
    const delay = nextRetryDelay(
      [1_000],
      ctx({ statusCode: null, errorCode: 'ETIMEDOUT', responseHeaders: { 'retry-after': '120' } }),
      NOW,
      MID,
    );
    expect(delay).toBe(1_000);
  });

  it('an unreadable value falls back to the schedule', () => {
    expect(at(429, 'soon')).toBe(1_000);
    expect(at(429, '')).toBe(1_000);
  });

  it('does not revive a delivery the policy gave up on', () => {
    expect(at(429, '10', [])).toBeNull();
    expect(at(503, '10', () => null)).toBeNull();
  });

  it('applies to retry functions too', () => {
    expect(at(429, '30', () => 1_000)).toBe(30_000);
    expect(at(503, '1', () => 5_000)).toBe(5_000);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates, relative to now', () => {
    expect(parseRetryAfter(undefined, NOW)).toBeNull();
    expect(parseRetryAfter('0', NOW)).toBe(0);
    expect(parseRetryAfter('15', NOW)).toBe(15_000);
    expect(parseRetryAfter(httpDate(NOW + 5_000), NOW)).toBe(5_000);
    expect(parseRetryAfter(httpDate(NOW - 5_000), NOW)).toBe(0);
    expect(parseRetryAfter('not a date', NOW)).toBeNull();
  });
});
