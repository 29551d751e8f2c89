import { HEALTHY } from '../shared/circuit.js';
import { holdOpen } from '../shared/hold-open.js';
import { Attempts } from './attempts.js';
import { CircuitWatch } from './circuit-watch.js';
import {
  asyncStep,
  type ClaimStep,
  type NoClaim,
  recordThenClaim,
  refresh,
  type StepContext,
  settleStep,
} from './claim-step.js';
import type { ClaimedDelivery } from './claims.js';
import type { DispatcherOptions } from './dispatcher-options.js';
import { DueTimer } from './due-timer.js';
import type { Transport } from './http/attempt.js';
import { dispatchError, type Notify } from './notices.js';
import { ClaimPlanner } from './planner.js';
import { Results } from './results.js';
import type { DispatchStore } from './store-port.js';

export type { DispatcherOptions } from './dispatcher-options.js';

/** Extra time a lease outlives the attempt deadline, in ms, for writing the result. */
const LEASE_MARGIN_MS = 10_000;

/**
 * The claim loop. It claims only as many due rows as it has free slots, runs
 * each as one attempt, and writes finished attempts in batches: one short
 * transaction per turn records every result that arrived and claims the next
 * rows. HTTP happens outside any transaction.
 */
export class Dispatcher {
  private readonly attempts: Attempts;
  private readonly results: Results;
  private readonly step: StepContext;
  private running = false;
  private closing = false;
  private turnQueued = false;
  private turning = false;
  private again = false;
  /** The last claim found every due row: nothing more is due right now. */
  private caughtUp = false;
  private readonly dueTimer: DueTimer;
  private pollTimer: unknown = null;
  private busyDelay = 1;
  private readonly planner: ClaimPlanner;
  private readonly circuits: CircuitWatch;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly store: DispatchStore,
    transport: Transport,
    private readonly options: DispatcherOptions,
    private readonly notify: Notify,
  ) {
    // concurrency, retry, clock and tracer, as given.
    this.attempts = new Attempts(store, transport, { ...options, report: (e, m) => this.report(e, m) });
    const leaseMs = options.timeout + LEASE_MARGIN_MS;
    this.planner = new ClaimPlanner(options.endpointConcurrency);
    this.circuits = new CircuitWatch(options.listening, notify);
    this.results = new Results(this.planner, this.circuits, options.listening, notify);
    this.dueTimer = new DueTimer(options.clock, () => this.wake());
    this.step = {
      store,
      // A sender that starts fans out what an earlier one (killed, say) left.
      fanout: { pending: true },
      wake: () => this.wake(),
      planner: this.planner,
      attempts: this.attempts,
      results: this.results,
      now: () => options.clock.now(),
      lease: (now) => ({ owner: options.owner, now, until: now + leaseMs }),
    };
  }

  get started(): boolean {
    return this.running;
  }

  get inFlightCount(): number {
    return this.attempts.inFlight;
  }

  start(): void {
    if (this.running || this.closing) return;
    this.running = true;
    this.poll();
  }

  /** Asks for a turn soon; many calls in one tick make one turn. */
  wake(): void {
    if (!this.running || this.turnQueued) return;
    this.turnQueued = true;
    setImmediate(() => {
      this.turnQueued = false;
      void this.turn();
    });
  }

  /** Events wait for fan-out (just emitted). */
  queued(): void {
    this.step.fanout.pending = true;
    this.wake();
  }

  /** Says an endpoint has a row due at `at` (ms), e.g. just retried. */
  due(endpointId: string, at: number): void {
    this.planner.due(endpointId, at);
  }

  /**
   * An endpoint was enabled again or given a new URL: its circuit is closed now, not at the
   * next poll, and its rows are looked at now, not when the old cool-off would have ended.
   */
  resetHealth(endpointId: string): void {
    this.circuits.reset(endpointId, this.planner.healthOf(endpointId));
    this.planner.setHealth(endpointId, HEALTHY);
    this.planner.due(endpointId, this.options.clock.now());
    this.wake();
  }

  /** Every endpoint may have rows due at `at` (a bulk retry). */
  dueEverywhere(at: number): void {
    this.planner.dueEverywhere(at);
  }

  /** Resolves when nothing is due now and nothing is in flight. */
  drain(): Promise<void> {
    // Awaited work: the process stays up for it, though the dispatcher's timers do not hold it.
    return holdOpen(
      new Promise((resolve) => {
        this.idleWaiters.push(resolve);
        this.wake();
      }),
    );
  }

  /**
   * Stops claiming, waits up to `timeout` ms for attempts in flight, aborts the
   * rest, writes what finished and hands back every row still leased.
   */
  async close(timeout: number): Promise<void> {
    if (!this.running) return;
    this.closing = true;
    this.clearTimers();
    // A claim under way (an asynchronous store answers later) launches what it took: wait for
    // it, so that those attempts are waited for too, not recorded after close() has resolved.
    while (this.turning) await new Promise((resolve) => setImmediate(resolve));
    await this.attempts.settle(timeout);
    while (this.turning) await new Promise((resolve) => setImmediate(resolve));
    try {
      if (!this.store.busy()) {
        await this.flush();
        // Checked again after the await: see turn().
        if (!this.store.busy()) await this.store.release(this.options.owner, this.options.clock.now());
      }
    } catch (error) {
      this.report(error, 'Could not write the last results while closing');
    }
    this.running = false;
    this.resolveIdle();
  }

  private async turn(): Promise<void> {
    if (this.turning) {
      this.again = true;
      return;
    }
    this.turning = true;
    try {
      do {
        this.again = false;
        this.store.turnStarted?.();
        if (this.store.busy()) {
          this.retryWhenFree();
          return;
        }
        this.busyDelay = 1;
        let step: ClaimStep | NoClaim;
        const { recordAndClaim } = this.store;
        if (recordAndClaim !== undefined && this.running && !this.closing) {
          step = await recordThenClaim(this.step, recordAndClaim.bind(this.store));
        } else {
          const next = await asyncStep(
            this.step,
            () => this.flush(),
            () => this.running && !this.closing,
          );
          if (next === undefined) return;
          step = next;
        }
        if (step === 'busy') return this.retryWhenFree();
        if (step === 'full') {
          this.caughtUp = false;
          return;
        }
        const { caughtUp, tokenAt } = await settleStep(this.step, step, (d) => this.launch(d));
        this.caughtUp = caughtUp;
        if (caughtUp) this.armDueTimer();
        else if (tokenAt !== Number.POSITIVE_INFINITY) this.armTimer(tokenAt);
      } while (this.again);
    } catch (error) {
      this.report(error, 'The dispatcher could not reach the database');
      this.caughtUp = false;
      this.armTimer(this.options.clock.now() + this.options.pollInterval);
    } finally {
      this.turning = false;
      this.checkIdle();
    }
  }

  private launch(delivery: ClaimedDelivery): void {
    const { endpointId } = delivery;
    this.circuits.launching(endpointId, this.planner.healthOf(endpointId), this.options.clock.now());
    this.planner.started(endpointId);
    this.planner.claimed(endpointId, 1);
    this.attempts.run(
      delivery,
      (finished) => {
        if (finished !== null) this.results.add(finished);
      },
      () => {
        this.planner.ended(endpointId, this.options.clock.now());
        this.wake();
      },
    );
  }

  private flush(): Promise<void> {
    return this.results.flush(this.store, this.options.owner, () => this.options.clock.now());
  }

  private armDueTimer(): void {
    const earliest = this.planner.earliest();
    if (earliest === Number.POSITIVE_INFINITY) return;
    // A row already due that the claim did not take: try again shortly rather than spin.
    this.armTimer(Math.max(earliest, this.options.clock.now() + 1));
  }

  private armTimer(at: number): void {
    if (!this.closing) this.dueTimer.arm(at);
  }

  /** The slow poll: finds rows written by other processes and leases left by dead ones. */
  private poll(): void {
    if (!this.running || this.closing) return;
    const { clock, pollInterval } = this.options;
    void (async () => {
      try {
        if (!this.store.busy()) {
          await refresh(this.step);
          this.armDueTimer();
          if (this.attempts.inFlight === 0) await this.store.idle();
        }
      } catch (error) {
        this.report(error, 'The dispatcher could not reach the database');
      }
      this.wake();
    })();
    this.pollTimer = clock.setTimeout(() => this.poll(), pollInterval);
  }

  /** The application holds a transaction open on our connection: come back later, backing off. */
  private retryWhenFree(): void {
    const delay = this.busyDelay;
    this.busyDelay = Math.min(this.busyDelay * 2, this.options.pollInterval);
    setTimeout(() => this.wake(), delay).unref();
  }

  private checkIdle(): void {
    if (this.idleWaiters.length === 0) return;
    // A turn queued by a wake (an emit while an asynchronous claim was out) may find more: not idle yet.
    const idle =
      !this.running ||
      (this.attempts.inFlight === 0 &&
        this.results.pending === 0 &&
        this.caughtUp &&
        !this.step.fanout.pending &&
        !this.turning &&
        !this.turnQueued);
    if (idle) this.resolveIdle();
  }

  private resolveIdle(): void {
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private clearTimers(): void {
    this.dueTimer.clear();
    if (this.pollTimer !== null) this.options.clock.clearTimeout(this.pollTimer);
    this.pollTimer = null;
  }

  private report(error: unknown, message: string): void {
    this.notify('error', dispatchError(error, message));
  }
}
