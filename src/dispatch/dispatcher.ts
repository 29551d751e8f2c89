import PQueueImport from 'p-queue';
import { circuitState, HEALTHY, type HealthState } from '../circuit.js';
import { type Clock, iso } from '../clock.js';
import { WebhookError } from '../errors/base.js';
import { holdOpen } from '../hold-open.js';
import type { Transport } from '../http/attempt.js';
import { deliveryId } from '../ids.js';
import { nextRetryDelay, type RetryPolicy } from '../retry.js';
import type { AttemptResult, ClaimedDelivery, ClaimOutcome, ClaimRequest } from './claims.js';
import type { CircuitNotice, DeliveryNotice, Notify, SenderEvents } from './notices.js';
import { ClaimPlanner } from './planner.js';
import { buildBody, buildHeaders } from './request.js';
import type { DispatchStore, RecordOutcome } from './store-port.js';

export interface DispatcherOptions {
  concurrency: number;
  timeout: number;
  pollInterval: number;
  retry: RetryPolicy;
  clock: Clock;
  owner: string;
  endpointConcurrency: number;
  /** Whether anyone listens to a sender event. */
  listening: (name: keyof SenderEvents) => boolean;
}

// Through require(esm), the CommonJS build sees p-queue's module namespace where ESM sees the class.
const PQueue = (PQueueImport as unknown as { default?: typeof PQueueImport }).default ?? PQueueImport;

/** A finished attempt waiting to be written, and what to announce once it is. */
interface Finished {
  result: AttemptResult;
  notice: DeliveryNotice;
}

/** What a turn planned and claimed. */
interface ClaimStep {
  plan: readonly ClaimRequest[];
  claim: ClaimOutcome;
  now: number;
  /** The planner's mark taken before the claim (see `ClaimPlanner.mark`). */
  mark: number;
}

/** Extra time a lease outlives the attempt deadline, in ms, for writing the result. */
const LEASE_MARGIN_MS = 10_000;

/** The longest delay a Node timer holds (about 24.8 days); a longer one fires after 1 ms instead. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The claim loop. It claims only as many due rows as it has free slots, runs
 * each as one attempt, and writes finished attempts in batches: one short
 * transaction per turn records every result that arrived and claims the next
 * rows. HTTP happens outside any transaction.
 */
export class Dispatcher {
  private readonly queue: InstanceType<typeof PQueue>;
  private readonly leaseMs: number;
  private finished: Finished[] = [];
  private inFlight = 0;
  private running = false;
  private closing = false;
  private turnQueued = false;
  private turning = false;
  private again = false;
  /** The last claim found every due row: nothing more is due right now. */
  private caughtUp = false;
  private dueTimer: unknown = null;
  private dueAt = Number.POSITIVE_INFINITY;
  private pollTimer: unknown = null;
  private busyDelay = 1;
  private readonly planner: ClaimPlanner;
  /** Circuit changes seen while recording, announced with the batch's notices. */
  private circuitNotices: CircuitNotice[] = [];
  /** Per endpoint, the cool-off end whose half-open probe was announced (once per cool-off). */
  private readonly probing = new Map<string, number>();
  private idleWaiters: (() => void)[] = [];
  private settledWaiters: (() => void)[] = [];

  constructor(
    private readonly store: DispatchStore,
    private readonly transport: Transport,
    private readonly options: DispatcherOptions,
    private readonly notify: Notify,
  ) {
    this.queue = new PQueue({ concurrency: options.concurrency });
    this.leaseMs = options.timeout + LEASE_MARGIN_MS;
    this.planner = new ClaimPlanner(options.endpointConcurrency);
  }

  get started(): boolean {
    return this.running;
  }

  get inFlightCount(): number {
    return this.inFlight;
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

  /** Says an endpoint has a row due at `at` (ms), e.g. just emitted. */
  due(endpointId: string, at: number): void {
    this.planner.due(endpointId, at);
  }

  /**
   * An endpoint was enabled again or given a new URL: its circuit is closed now, not at the
   * next poll, and its rows are looked at now, not when the old cool-off would have ended.
   */
  resetHealth(endpointId: string): void {
    const before = this.planner.healthOf(endpointId);
    this.planner.setHealth(endpointId, HEALTHY);
    this.probing.delete(endpointId);
    if (before !== undefined && before.circuitOpenUntil !== null)
      this.notify('endpoint.circuit', circuitNotice(endpointId, HEALTHY));
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
    if (this.inFlight > 0) {
      const settled = new Promise<void>((resolve) => this.settledWaiters.push(resolve));
      // Wall-clock time, like the attempt deadline it cuts short: an injected
      // clock drives the schedule, and a test clock that never moves must not
      // stretch close() to the full attempt timeout.
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, Math.min(timeout, MAX_TIMER_MS));
      });
      await Promise.race([settled, expired]);
      clearTimeout(timer);
      this.transport.abortAll();
      if (this.inFlight > 0) await new Promise<void>((resolve) => this.settledWaiters.push(resolve));
    }
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
        if (this.store.busy()) {
          this.retryWhenFree();
          return;
        }
        this.busyDelay = 1;
        let step: ClaimStep | null;
        const { recordAndClaim } = this.store;
        if (recordAndClaim !== undefined && this.finished.length > 0 && this.running && !this.closing) {
          step = await this.recordThenClaim(recordAndClaim.bind(this.store));
        } else {
          await this.flush();
          if (!this.running || this.closing) return;
          step = await this.claimStep();
        }
        if (step === null) return;
        const { plan, now, mark } = step;
        const { claimed, nextDue, held } = step.claim;
        for (const [endpointId, at] of nextDue) this.planner.setDue(endpointId, at, mark);
        for (const [endpointId, at] of held) this.planner.hold(endpointId, at, mark);
        for (const delivery of claimed) this.launch(delivery);
        // Rows waiting for a rate-limit token, or held back by a limit shared with other
        // senders, are due too: drain() waits for them, and a timer brings the next look.
        // Endpoints that only looked due do not count.
        let tokenAt = Number.POSITIVE_INFINITY;
        if (this.planner.rateLimited.size > 0) {
          const due = await this.store.dueTimes([...this.planner.rateLimited.keys()]);
          tokenAt = this.planner.settleRateLimited(due, now);
        }
        // Caught up when every endpoint offered a slot had fewer due rows than offered.
        this.caughtUp =
          tokenAt === Number.POSITIVE_INFINITY && plan.every((request) => nextDue.has(request.endpointId));
        if (this.caughtUp) this.armDueTimer();
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

  /** Plans and claims as many rows as there are free slots; `null`: nothing to claim now. */
  private async claimStep(): Promise<ClaimStep | null> {
    const free = this.options.concurrency - this.inFlight;
    if (free <= 0) {
      this.caughtUp = false;
      return null;
    }
    const now = this.options.clock.now();
    const plan = this.planner.plan(await this.store.endpoints(), now, free);
    // The awaits above let other code run: an application 'delivered'
    // listener, say, may have opened a transaction on a shared connection
    // in a microtask. A claim now would run inside it and send rows that
    // may yet roll back, so the check is repeated right before the claim.
    if (this.store.busy()) {
      this.retryWhenFree();
      return null;
    }
    const mark = this.planner.mark();
    const claim = await this.store.claim(plan, free, now, this.options.owner, now + this.leaseMs);
    return { plan, claim, now, mark };
  }

  /**
   * `flush` and `claimStep` in one transaction, for a store that can: the
   * claim is planned with what recording the finished attempts changed.
   */
  private async recordThenClaim(
    recordAndClaim: NonNullable<DispatchStore['recordAndClaim']>,
  ): Promise<ClaimStep | null> {
    const endpoints = await this.store.endpoints();
    // As in claimStep: the await let other code run.
    if (this.store.busy()) {
      this.retryWhenFree();
      return null;
    }
    const batch = this.finished;
    this.finished = [];
    const now = this.options.clock.now();
    let free = 0;
    let mark = 0;
    let outcome: ReturnType<typeof recordAndClaim>;
    try {
      outcome = recordAndClaim(
        batch.map((f) => f.result),
        this.options.owner,
        now,
        (recorded) => {
          this.recorded(batch, recorded, now);
          free = this.options.concurrency - this.inFlight;
          mark = this.planner.mark();
          if (free <= 0) return { requests: [], budget: 0 };
          const gone = new Set(recorded.disabled.map((d) => d.endpointId));
          const live = gone.size === 0 ? endpoints : endpoints.filter((e) => !gone.has(e.id));
          return { requests: this.planner.plan(live, now, free), budget: free };
        },
        now + this.leaseMs,
      );
    } catch (error) {
      this.finished = batch.concat(this.finished);
      throw error;
    }
    this.announceAll(batch, outcome.recorded.disabled);
    if (free <= 0) {
      this.caughtUp = false;
      return null;
    }
    return { plan: outcome.plan.requests, claim: outcome.claim, now, mark };
  }

  private launch(delivery: ClaimedDelivery): void {
    const health = this.planner.healthOf(delivery.endpointId);
    if (
      health !== undefined &&
      this.options.listening('endpoint.circuit') &&
      circuitState(health, this.options.clock.now()) === 'half-open'
    ) {
      // The planner offers a half-open endpoint one slot: this attempt is its probe.
      const until = health.circuitOpenUntil!;
      if (this.probing.get(delivery.endpointId) !== until) {
        this.probing.set(delivery.endpointId, until);
        this.notify('endpoint.circuit', {
          endpointId: delivery.endpointId,
          state: 'half-open',
          consecutiveFailures: health.consecutiveFailures,
          openUntil: iso(until),
        });
      }
    }
    this.inFlight++;
    this.planner.started(delivery.endpointId);
    this.planner.claimed(delivery.endpointId, 1);
    void this.queue.add(async () => {
      try {
        const finished = await this.attempt(delivery);
        if (finished !== null) this.finished.push(finished);
      } catch (error) {
        this.report(error, 'An attempt failed unexpectedly');
      } finally {
        this.inFlight--;
        this.planner.ended(delivery.endpointId, this.options.clock.now());
        if (this.inFlight === 0) for (const resolve of this.settledWaiters.splice(0)) resolve();
        this.wake();
      }
    });
  }

  private async attempt(delivery: ClaimedDelivery): Promise<Finished | null> {
    const { clock, retry } = this.options;
    const notice: DeliveryNotice = {
      deliveryId: deliveryId(delivery.seq),
      eventId: delivery.eventId,
      eventType: delivery.eventType,
      endpointId: delivery.endpointId,
      tenant: delivery.tenant,
    };
    const endpoint = await this.store.endpoint(delivery.endpointId);
    if (endpoint === undefined) {
      // Removed or disabled after this row was claimed.
      const now = clock.now();
      return {
        notice,
        result: {
          seq: delivery.seq,
          endpointId: delivery.endpointId,
          logged: false,
          number: delivery.attemptCount,
          startedAt: now,
          durationMs: 0,
          statusCode: null,
          responseHeaders: null,
          responseBody: null,
          errorCode: null,
          errorMessage: null,
          status: 'failed',
          nextAttemptAt: null,
          lastError: 'endpoint removed or disabled',
          updatedAt: now,
        },
      };
    }
    const body = buildBody(delivery);
    const headers = buildHeaders(endpoint, delivery, body, clock.now());
    const outcome = await this.transport.send({ url: endpoint.url, headers, body });
    // Cut short by close(): no verdict, the row goes back to pending with its lease.
    if (outcome.errorCode === 'ERR_ABORTED' && this.closing) return null;

    const number = delivery.attemptCount + 1;
    const now = clock.now();
    const ok = outcome.statusCode !== null && outcome.statusCode >= 200 && outcome.statusCode < 300;
    let delay: number | null = null;
    if (!ok) {
      try {
        delay = nextRetryDelay(
          retry,
          {
            attempt: number - delivery.seriesStart,
            statusCode: outcome.statusCode,
            errorCode: outcome.errorCode,
            responseHeaders: outcome.responseHeaders,
            event: { id: delivery.eventId, type: delivery.eventType, tenant: delivery.tenant },
            endpointId: delivery.endpointId,
            deliveryId: notice.deliveryId,
          },
          now,
        );
      } catch (error) {
        this.report(error, 'The retry function threw; the delivery is given up');
      }
    }
    const status = ok ? 'succeeded' : delay === null ? 'failed' : 'pending';
    return {
      notice,
      result: {
        seq: delivery.seq,
        endpointId: delivery.endpointId,
        logged: true,
        number,
        startedAt: outcome.startedAt,
        durationMs: outcome.durationMs,
        statusCode: outcome.statusCode,
        responseHeaders: JSON.stringify(outcome.responseHeaders),
        responseBody: outcome.responseBody,
        errorCode: outcome.errorCode,
        errorMessage: outcome.errorMessage,
        status,
        nextAttemptAt: status === 'pending' ? now + (delay as number) : null,
        lastError: ok
          ? null
          : outcome.errorCode !== null
            ? `${outcome.errorCode}: ${outcome.errorMessage}`
            : `HTTP ${outcome.statusCode}`,
        updatedAt: now,
      },
    };
  }

  /** Writes every finished attempt in one transaction, then announces them. */
  private async flush(): Promise<void> {
    if (this.finished.length === 0) return;
    const batch = this.finished;
    this.finished = [];
    let outcome: RecordOutcome;
    try {
      outcome = await this.store.record(
        batch.map((f) => f.result),
        this.options.owner,
        this.options.clock.now(),
      );
    } catch (error) {
      this.finished = batch.concat(this.finished);
      throw error;
    }
    this.recorded(batch, outcome, this.options.clock.now());
    this.announceAll(batch, outcome.disabled);
  }

  /** What the planner learns from a batch just written. */
  private recorded(batch: readonly Finished[], outcome: RecordOutcome, recordedAt: number): void {
    for (const [endpointId, health] of outcome.health) {
      const before = this.planner.healthOf(endpointId);
      this.planner.setHealth(endpointId, health);
      // Opened (again, or for longer after a failed probe) or closed by this batch.
      if (health.circuitOpenUntil !== (before?.circuitOpenUntil ?? null)) {
        if (health.circuitOpenUntil === null) this.probing.delete(endpointId);
        if (this.options.listening('endpoint.circuit'))
          this.circuitNotices.push(circuitNotice(endpointId, health));
      }
    }
    for (const f of batch) {
      // Written now: a retry is due when scheduled; otherwise the next row of a FIFO key may go
      // (a claim that ran while this result was unwritten, on an asynchronous store, saw it blocked).
      this.due(f.notice.endpointId, f.result.status === 'pending' ? f.result.nextAttemptAt! : recordedAt);
    }
  }

  private announceAll(batch: readonly Finished[], disabled: RecordOutcome['disabled']): void {
    for (const f of batch) this.announce(f);
    for (const notice of this.circuitNotices.splice(0)) this.notify('endpoint.circuit', notice);
    for (const notice of disabled) this.notify('endpoint.disabled', notice);
  }

  private announce({ result, notice }: Finished): void {
    // Most applications listen to few of these: build only the notices someone will read.
    const { listening } = this.options;
    if (result.logged && listening('attempt')) {
      this.notify('attempt', {
        ...notice,
        attempt: result.number,
        statusCode: result.statusCode,
        errorCode: result.errorCode,
        errorMessage: result.errorMessage,
        durationMs: result.durationMs,
      });
    }
    if (result.status === 'succeeded') {
      if (listening('delivered'))
        this.notify('delivered', { ...notice, attempts: result.number, statusCode: result.statusCode! });
    } else if (result.status === 'pending') {
      if (listening('retrying'))
        this.notify('retrying', {
          ...notice,
          attempts: result.number,
          statusCode: result.statusCode,
          errorCode: result.errorCode,
          nextAttemptAt: iso(result.nextAttemptAt!),
        });
    } else {
      if (listening('failed'))
        this.notify('failed', {
          ...notice,
          attempts: result.number,
          statusCode: result.statusCode,
          errorCode: result.errorCode,
          errorMessage: result.errorMessage ?? result.lastError,
        });
    }
  }

  private armDueTimer(): void {
    const earliest = this.planner.earliest();
    if (earliest === Number.POSITIVE_INFINITY) return;
    // A row already due that the claim did not take: try again shortly rather than spin.
    this.armTimer(Math.max(earliest, this.options.clock.now() + 1));
  }

  private armTimer(at: number): void {
    if (this.closing || at >= this.dueAt) return;
    const { clock } = this.options;
    if (this.dueTimer !== null) clock.clearTimeout(this.dueTimer);
    this.dueAt = at;
    this.dueTimer = clock.setTimeout(
      () => {
        this.dueTimer = null;
        this.dueAt = Number.POSITIVE_INFINITY;
        this.wake();
      },
      // Capped: when a far-off timer fires early, the turn it wakes arms the next one.
      Math.min(MAX_TIMER_MS, Math.max(0, at - clock.now())),
    );
  }

  /** The slow poll: finds rows written by other processes and leases left by dead ones. */
  private poll(): void {
    if (!this.running || this.closing) return;
    const { clock, pollInterval } = this.options;
    void (async () => {
      try {
        if (!this.store.busy()) {
          await this.store.expireLeases(clock.now());
          const endpoints = await this.store.endpoints();
          const mark = this.planner.mark();
          this.planner.replaceDue(await this.store.dueTimes(endpoints.map((e) => e.id)), mark);
          this.planner.replaceHealth(await this.store.healths());
          this.armDueTimer();
          if (this.inFlight === 0) await this.store.idle();
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
    // A turn already queued by a wake (an emit that came while an asynchronous claim was out) may
    // find more: not idle until it has run.
    const idle =
      !this.running ||
      (this.inFlight === 0 &&
        this.finished.length === 0 &&
        this.caughtUp &&
        !this.turning &&
        !this.turnQueued);
    if (idle) this.resolveIdle();
  }

  private resolveIdle(): void {
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private clearTimers(): void {
    const { clock } = this.options;
    if (this.dueTimer !== null) clock.clearTimeout(this.dueTimer);
    if (this.pollTimer !== null) clock.clearTimeout(this.pollTimer);
    this.dueTimer = null;
    this.pollTimer = null;
    this.dueAt = Number.POSITIVE_INFINITY;
  }

  private report(error: unknown, message: string): void {
    const wrapped =
      error instanceof WebhookError
        ? error
        : new WebhookError('ERR_DISPATCH', `${message}: ${(error as Error)?.message ?? String(error)}`, {
            cause: error,
          });
    this.notify('error', wrapped);
  }
}

function circuitNotice(endpointId: string, health: HealthState): CircuitNotice {
  const until = health.circuitOpenUntil;
  return {
    endpointId,
    state: until === null ? 'closed' : 'open',
    consecutiveFailures: health.consecutiveFailures,
    openUntil: until === null ? null : iso(until),
  };
}
