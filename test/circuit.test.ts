import { describe, expect, it } from 'vitest';
import type { CircuitNotice, EndpointDisabledNotice } from '../src/index.js';
import {
  afterAttempt,
  type CircuitConfig,
  circuitState,
  HEALTHY,
  type HealthState,
} from '../src/shared/circuit.js';
import { harness, sleep } from './helpers/harness.js';

// The circuit breaker and auto-disable: the pure rules of src/shared/circuit.ts, then
// the same rules seen from outside, with real receivers and a ManualClock.

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const CONFIG: CircuitConfig = { threshold: 5, cooloff: 30 * SEC, maxCooloff: 10 * MIN, disableAfter: 0 };
const fail = { ok: false, statusCode: 500 };
const ok = { ok: true, statusCode: 200 };

/** Folds outcomes in, one per second from `start`, and returns the last result. */
function run(outcomes: { ok: boolean; statusCode: number | null }[], config = CONFIG, start = T0) {
  let health: HealthState = HEALTHY;
  let result = { health, disable: null as string | null };
  outcomes.forEach((outcome, i) => {
    result = afterAttempt(health, outcome, start + i * SEC, config);
    health = result.health;
  });
  return result;
}

describe('circuitState', () => {
  it('is closed without an open-until, open before it, half-open from it on', () => {
    expect(circuitState(HEALTHY, T0)).toBe('closed');
    const h = { ...HEALTHY, circuitOpenUntil: T0 + 30 * SEC };
    expect(circuitState(h, T0)).toBe('open');
    expect(circuitState(h, T0 + 30 * SEC - 1)).toBe('open');
    expect(circuitState(h, T0 + 30 * SEC)).toBe('half-open');
    expect(circuitState(h, T0 + HOUR)).toBe('half-open');
  });
});

describe('afterAttempt', () => {
  it('counts a failure streak from the first failure', () => {
    const { health, disable } = run([fail, fail]);
    expect(health).toEqual({
      consecutiveFailures: 2,
      failingSince: T0,
      lastSuccessAt: null,
      lastFailureAt: T0 + SEC,
      circuitOpenUntil: null,
      circuitOpens: 0,
    });
    expect(disable).toBeNull();
  });

  it('opens the circuit at the 5th consecutive failure, for the cool-off', () => {
    expect(run([fail, fail, fail, fail]).health.circuitOpenUntil).toBeNull();
    const { health } = run([fail, fail, fail, fail, fail]);
    expect(health).toMatchObject({
      consecutiveFailures: 5,
      circuitOpens: 1,
      circuitOpenUntil: T0 + 4 * SEC + 30 * SEC,
    });
    expect(circuitState(health, T0 + 4 * SEC)).toBe('open');
  });

  it('a success resets everything but keeps when the last failure was', () => {
    const { health } = run([fail, fail, fail, fail, fail, ok]);
    expect(health).toEqual({
      consecutiveFailures: 0,
      failingSince: null,
      lastSuccessAt: T0 + 5 * SEC,
      lastFailureAt: T0 + 4 * SEC,
      circuitOpenUntil: null,
      circuitOpens: 0,
    });
  });

  it('failures of attempts still in flight while open do not reopen it or double the cool-off', () => {
    let { health } = run([fail, fail, fail, fail, fail]);
    const openUntil = health.circuitOpenUntil!;
    ({ health } = afterAttempt(health, fail, T0 + 5 * SEC, CONFIG));
    expect(health).toMatchObject({ consecutiveFailures: 6, circuitOpens: 1, circuitOpenUntil: openUntil });
  });

  it('a failed probe doubles the cool-off, up to maxCooloff', () => {
    let { health } = run([fail, fail, fail, fail, fail]);
    const cooloffs: number[] = [];
    for (let i = 0; i < 7; i++) {
      const probeAt = health.circuitOpenUntil!;
      expect(circuitState(health, probeAt)).toBe('half-open');
      ({ health } = afterAttempt(health, fail, probeAt, CONFIG));
      cooloffs.push(health.circuitOpenUntil! - probeAt);
    }
    expect(cooloffs).toEqual([60, 120, 240, 480, 600, 600, 600].map((s) => s * SEC));
  });

  it('a successful probe closes it and the next opening starts again at the first cool-off', () => {
    let { health } = run([fail, fail, fail, fail, fail]);
    ({ health } = afterAttempt(health, fail, health.circuitOpenUntil!, CONFIG));
    expect(health.circuitOpens).toBe(2);
    ({ health } = afterAttempt(health, ok, health.circuitOpenUntil!, CONFIG));
    expect(circuitState(health, T0 + HOUR)).toBe('closed');
    const start = T0 + HOUR;
    for (let i = 0; i < 5; i++) ({ health } = afterAttempt(health, fail, start + i, CONFIG));
    expect(health).toMatchObject({ circuitOpens: 1, circuitOpenUntil: start + 4 + 30 * SEC });
  });

  it('threshold 0 never opens it', () => {
    const { health } = run(
      Array.from({ length: 50 }, () => fail),
      { ...CONFIG, threshold: 0 },
    );
    expect(health).toMatchObject({ consecutiveFailures: 50, circuitOpenUntil: null, circuitOpens: 0 });
  });

  it('410 Gone disables at once, whatever the streak', () => {
    expect(afterAttempt(HEALTHY, { ok: false, statusCode: 410 }, T0, CONFIG).disable).toBe(
      'the endpoint answered 410 Gone',
    );
    expect(afterAttempt(HEALTHY, { ok: false, statusCode: 404 }, T0, CONFIG).disable).toBeNull();
    expect(afterAttempt(HEALTHY, { ok: false, statusCode: null }, T0, CONFIG).disable).toBeNull();
  });

  it('disableAfter disables once failures alone have lasted that long', () => {
    const config = { ...CONFIG, disableAfter: HOUR };
    let { health, disable } = afterAttempt(HEALTHY, fail, T0, config);
    ({ health, disable } = afterAttempt(health, fail, T0 + HOUR - 1, config));
    expect(disable).toBeNull();
    ({ disable } = afterAttempt(health, fail, T0 + HOUR, config));
    expect(disable).toBe('no successful delivery since 2026-01-01T00:00:00.000Z');
  });

  it('one success in between restarts the disableAfter clock; 0 never disables', () => {
    const config = { ...CONFIG, disableAfter: HOUR };
    let { health } = afterAttempt(HEALTHY, fail, T0, config);
    ({ health } = afterAttempt(health, ok, T0 + 30 * MIN, config));
    ({ health } = afterAttempt(health, fail, T0 + 40 * MIN, config));
    expect(afterAttempt(health, fail, T0 + 90 * MIN, config).disable).toBeNull();
    expect(afterAttempt(health, fail, T0 + 100 * MIN, config).disable).toMatch(
      /since 2026-01-01T00:40:00.000Z/,
    );
    expect(afterAttempt(health, fail, T0 + 1000 * HOUR, CONFIG).disable).toBeNull();
  });
});

const h = harness();

/** A receiver answering `status()` at the time of each request. */
async function answering(status: () => number) {
  return h.receiver((_req, res) => res.writeHead(status()).end());
}

describe('the circuit breaker in a sender', () => {
  it('opens after 5 failures: no attempt for 30 s, then one probe; a failed probe doubles the cool-off; a good one closes it', async () => {
    let status = 500;
    const r = await answering(() => status);
    const { sender: s, clock } = h.clocked({ retry: () => 1000 });
    const circuit: CircuitNotice[] = [];
    s.on('endpoint.circuit', (n) => circuit.push(n));
    const ep = s.endpoints.add({ url: r.url });
    const t0 = clock.now();
    for (let i = 0; i < 5; i++) s.emit('order.created', { i });
    await s.drain();
    expect(r.requests).toHaveLength(5);
    expect(s.endpoints.health(ep.id)).toEqual({
      endpointId: ep.id,
      circuit: 'open',
      consecutiveFailures: 5,
      failingSince: new Date(t0).toISOString(),
      lastSuccessAt: null,
      lastFailureAt: new Date(t0).toISOString(),
      circuitOpenUntil: new Date(t0 + 30 * SEC).toISOString(),
      attemptsLastHour: 5,
      successRateLastHour: 0,
    });

    // Their retries came due after 1 s, and new events arrive: nothing goes out while open.
    for (let i = 5; i < 8; i++) s.emit('order.created', { i });
    clock.advance(29 * SEC);
    await s.drain();
    await sleep(50);
    expect(r.requests).toHaveLength(5);
    const waiting = s.deliveries.list({ limit: 100 }).items;
    expect(waiting.every((d) => d.status === 'pending')).toBe(true);
    expect(waiting.map((d) => d.attemptCount).sort()).toEqual([0, 0, 0, 1, 1, 1, 1, 1]);

    // At 30 s: half-open, exactly one probe. It fails: open again for 60 s.
    clock.advance(1 * SEC);
    await s.drain();
    expect(r.requests).toHaveLength(6);
    expect(s.endpoints.health(ep.id)).toMatchObject({
      circuit: 'open',
      consecutiveFailures: 6,
      circuitOpenUntil: new Date(t0 + 90 * SEC).toISOString(),
      attemptsLastHour: 6,
    });
    clock.advance(59 * SEC);
    await s.drain();
    await sleep(50);
    expect(r.requests).toHaveLength(6);

    // At 90 s: the probe succeeds, the circuit closes and everything waiting goes.
    status = 200;
    clock.advance(1 * SEC);
    await s.drain();
    expect(r.requests).toHaveLength(6 + 8);
    expect(s.stats()).toMatchObject({ succeeded: 8, pending: 0, failed: 0 });
    const at90 = new Date(t0 + 90 * SEC).toISOString();
    expect(s.endpoints.health(ep.id)).toEqual({
      endpointId: ep.id,
      circuit: 'closed',
      consecutiveFailures: 0,
      failingSince: null,
      lastSuccessAt: at90,
      lastFailureAt: new Date(t0 + 30 * SEC).toISOString(),
      circuitOpenUntil: null,
      attemptsLastHour: 14,
      successRateLastHour: 8 / 14,
    });
    // Every change was announced once, the failed probe's longer cool-off included.
    const at = (ms: number) => new Date(t0 + ms).toISOString();
    expect(circuit).toEqual([
      { endpointId: ep.id, state: 'open', consecutiveFailures: 5, openUntil: at(30 * SEC) },
      { endpointId: ep.id, state: 'half-open', consecutiveFailures: 5, openUntil: at(30 * SEC) },
      { endpointId: ep.id, state: 'open', consecutiveFailures: 6, openUntil: at(90 * SEC) },
      { endpointId: ep.id, state: 'half-open', consecutiveFailures: 6, openUntil: at(90 * SEC) },
      { endpointId: ep.id, state: 'closed', consecutiveFailures: 0, openUntil: null },
    ]);
  });

  it('while open, deliveries wait pending: a long outage spends no attempts', async () => {
    const r = await answering(() => 503);
    const { sender: s, clock } = h.clocked({ retry: () => 0 });
    const ep = s.endpoints.add({ url: r.url });
    s.emit('order.created', {});
    await s.drain();
    // Retried at once, 5 times, then the circuit stops it.
    expect(r.requests).toHaveLength(5);
    expect(s.deliveries.list().items[0]).toMatchObject({ status: 'pending', attemptCount: 5 });
    // Cool-offs 30 s, 60 s, 120 s, 240 s, 480 s, 600 s...: 10 minutes hold 4 probes.
    for (let i = 0; i < 60; i++) {
      clock.advance(10 * SEC);
      await s.drain();
    }
    expect(r.requests).toHaveLength(5 + 4);
    expect(s.endpoints.health(ep.id)).toMatchObject({ circuit: 'open', consecutiveFailures: 9 });
  });

  it('circuitBreaker: false keeps trying', async () => {
    const r = await answering(() => 500);
    const { sender: s, clock } = h.clocked({ retry: () => 1000, circuitBreaker: false });
    const ep = s.endpoints.add({ url: r.url });
    for (let i = 0; i < 5; i++) s.emit('order.created', { i });
    await s.drain();
    clock.advance(1000);
    await s.drain();
    expect(r.requests).toHaveLength(10);
    expect(s.endpoints.health(ep.id)).toMatchObject({ circuit: 'closed', consecutiveFailures: 10 });
  });

  it('a custom threshold and cool-off', async () => {
    const r = await answering(() => 500);
    const { sender: s, clock } = h.clocked({
      retry: () => 0,
      circuitBreaker: { threshold: 2, cooloff: 5000 },
    });
    const ep = s.endpoints.add({ url: r.url });
    s.emit('order.created', {});
    await s.drain();
    expect(r.requests).toHaveLength(2);
    clock.advance(4999);
    await s.drain();
    expect(r.requests).toHaveLength(2);
    clock.advance(1);
    await s.drain();
    expect(r.requests).toHaveLength(3);
    expect(s.endpoints.health(ep.id).circuitOpenUntil).toBe(new Date(clock.now() + 10_000).toISOString());
  });

  it('one endpoint`s open circuit does not hold another', async () => {
    const bad = await answering(() => 500);
    const good = await answering(() => 200);
    const { sender: s } = h.clocked({ retry: () => 1000 });
    s.endpoints.add({ url: bad.url });
    s.endpoints.add({ url: good.url });
    for (let i = 0; i < 20; i++) s.emit('order.created', { i });
    await s.drain();
    expect(good.requests).toHaveLength(20);
    // The bad one had its 8 slots, refilled as failures came back until the 5th was recorded.
    expect(bad.requests.length).toBeGreaterThanOrEqual(5);
    expect(bad.requests.length).toBeLessThanOrEqual(12);
    expect(s.stats()).toMatchObject({ succeeded: 20, pending: 20, sending: 0 });
  });

  it('health of an endpoint never tried, and of an unknown id', async () => {
    const s = h.sender({ autoStart: false });
    const ep = s.endpoints.add({ url: 'http://127.0.0.1:9/h' });
    expect(s.endpoints.health(ep.id)).toEqual({
      endpointId: ep.id,
      circuit: 'closed',
      consecutiveFailures: 0,
      failingSince: null,
      lastSuccessAt: null,
      lastFailureAt: null,
      circuitOpenUntil: null,
      attemptsLastHour: 0,
      successRateLastHour: null,
    });
    expect(() => s.endpoints.health('ep_nope')).toThrow(expect.objectContaining({ code: 'ERR_NOT_FOUND' }));
  });

  it('attemptsLastHour counts the last hour only', async () => {
    const r = await answering(() => 200);
    const { sender: s, clock } = h.clocked();
    const ep = s.endpoints.add({ url: r.url });
    s.emit('order.created', {});
    await s.drain();
    clock.advance(30 * MIN);
    s.emit('order.created', {});
    await s.drain();
    expect(s.endpoints.health(ep.id)).toMatchObject({ attemptsLastHour: 2, successRateLastHour: 1 });
    clock.advance(31 * MIN);
    expect(s.endpoints.health(ep.id)).toMatchObject({ attemptsLastHour: 1, successRateLastHour: 1 });
    clock.advance(HOUR);
    expect(s.endpoints.health(ep.id)).toMatchObject({ attemptsLastHour: 0, successRateLastHour: null });
  });
});

describe('disabling', () => {
  it('410 Gone disables the endpoint with a reason and emits endpoint.disabled once', async () => {
    let status = 410;
    const r = await answering(() => status);
    const { sender: s, clock } = h.clocked({ retry: () => 10 * MIN });
    const disabled: EndpointDisabledNotice[] = [];
    s.on('endpoint.disabled', (n) => disabled.push(n));
    const ep = s.endpoints.add({ url: r.url });
    for (let i = 0; i < 4; i++) s.emit('order.created', { i });
    await s.drain();
    expect(r.requests).toHaveLength(4);
    expect(disabled).toEqual([{ endpointId: ep.id, reason: 'the endpoint answered 410 Gone' }]);
    expect(s.endpoints.get(ep.id)).toMatchObject({
      enabled: false,
      disabledReason: 'the endpoint answered 410 Gone',
    });
    // Its deliveries end as failed: none is left pending for ever.
    expect(s.stats()).toMatchObject({ pending: 0, sending: 0, failed: 4 });

    // Emit skips it, and nothing more is sent, ever.
    expect(s.emit('order.created', {}).deliveries).toBe(0);
    status = 200;
    clock.advance(HOUR);
    await s.drain();
    await sleep(50);
    expect(r.requests).toHaveLength(4);
    expect(disabled).toHaveLength(1);
  });

  it('failing only for disableAfter disables it', async () => {
    const r = await answering(() => 500);
    const { sender: s, clock } = h.clocked({ retry: () => 10 * MIN, disableAfter: '1h' });
    const disabled: EndpointDisabledNotice[] = [];
    s.on('endpoint.disabled', (n) => disabled.push(n));
    const ep = s.endpoints.add({ url: r.url });
    const t0 = clock.now();
    s.emit('order.created', {});
    await s.drain();
    for (let i = 1; i <= 5; i++) {
      clock.advance(10 * MIN);
      await s.drain();
    }
    // 50 minutes of failures: still on (the circuit opened after the 5th failure and let the probes through).
    expect(r.requests).toHaveLength(6);
    expect(s.endpoints.get(ep.id).enabled).toBe(true);
    expect(disabled).toEqual([]);
    clock.advance(10 * MIN);
    await s.drain();
    expect(r.requests).toHaveLength(7);
    const reason = `no successful delivery since ${new Date(t0).toISOString()}`;
    expect(disabled).toEqual([{ endpointId: ep.id, reason }]);
    expect(s.endpoints.get(ep.id)).toMatchObject({ enabled: false, disabledReason: reason });
    expect(s.deliveries.list().items[0]).toMatchObject({ status: 'failed', attemptCount: 7 });
    expect(s.emit('order.created', {}).deliveries).toBe(0);
  });

  it('disableAfter: 0 never disables', async () => {
    const r = await answering(() => 500);
    const { sender: s, clock } = h.clocked({ retry: () => HOUR, disableAfter: 0, circuitBreaker: false });
    const ep = s.endpoints.add({ url: r.url });
    s.emit('order.created', {});
    await s.drain();
    for (let i = 0; i < 24 * 10; i++) {
      clock.advance(HOUR);
      await s.drain();
    }
    expect(r.requests).toHaveLength(241);
    expect(s.endpoints.get(ep.id).enabled).toBe(true);
  });

  it('enable() turns it back on with a clean health: circuit closed', async () => {
    let status = 410;
    const r = await answering(() => status);
    const { sender: s } = h.clocked({ retry: () => 10 * MIN });
    const ep = s.endpoints.add({ url: r.url });
    for (let i = 0; i < 5; i++) s.emit('order.created', { i });
    await s.drain();
    expect(s.endpoints.health(ep.id)).toMatchObject({ circuit: 'open', consecutiveFailures: 5 });
    expect(s.endpoints.get(ep.id).enabled).toBe(false);

    const enabled = s.endpoints.enable(ep.id);
    expect(enabled).toMatchObject({ enabled: true, disabledReason: null });
    expect(s.endpoints.health(ep.id)).toMatchObject({
      circuit: 'closed',
      consecutiveFailures: 0,
      failingSince: null,
      circuitOpenUntil: null,
    });
    // New events reach it at once, with no cool-off left over.
    status = 200;
    expect(s.emit('order.created', { i: 5 }).deliveries).toBe(1);
    await s.drain();
    expect(r.requests).toHaveLength(6);
    expect(s.endpoints.health(ep.id)).toMatchObject({ circuit: 'closed', consecutiveFailures: 0 });
  });
});
