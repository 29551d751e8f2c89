import PQueueImport from 'p-queue';
import type { Clock } from '../shared/clock.js';
import { deliveryId } from '../shared/ids.js';
import type { RetryPolicy } from '../shared/retry.js';
import type { Finished } from './announce.js';
import type { ClaimedDelivery } from './claims.js';
import { MAX_TIMER_MS } from './due-timer.js';
import type { Transport } from './http/attempt.js';
import { buildBody, buildHeaders } from './request.js';
import type { DispatchStore } from './store-port.js';
import type { AttemptSpan, AttemptTracer } from './trace-port.js';
import { endpointGone, noticeOf, verdict } from './verdict.js';

// Through require(esm), the CommonJS build sees p-queue's module namespace where ESM sees the class.
const PQueue = (PQueueImport as unknown as { default?: typeof PQueueImport }).default ?? PQueueImport;

export interface AttemptsOptions {
  concurrency: number;
  retry: RetryPolicy;
  clock: Clock;
  /** Told when the retry function threw (the delivery is given up). */
  report: (error: unknown, message: string) => void;
  /** The application's tracing, when it records traces: a span per attempt. */
  tracer?: AttemptTracer;
}

/**
 * The attempts in flight: each claimed delivery is signed, sent over the
 * transport and judged, at most `concurrency` at once. HTTP happens here,
 * outside any transaction; the results go back to the dispatcher to write.
 */
export class Attempts {
  private readonly queue: InstanceType<typeof PQueue>;
  private count = 0;
  private settledWaiters: (() => void)[] = [];
  /** close() began: an attempt it aborts has no verdict. */
  private closing = false;

  constructor(
    private readonly store: DispatchStore,
    private readonly transport: Transport,
    private readonly options: AttemptsOptions,
  ) {
    this.queue = new PQueue({ concurrency: options.concurrency });
  }

  get inFlight(): number {
    return this.count;
  }

  /** Free slots: how many more rows to claim. */
  get free(): number {
    return this.options.concurrency - this.count;
  }

  /**
   * Runs one attempt. `finished` receives its result (`null`: aborted by
   * close(), the row goes back to pending with its lease); `ended` runs after.
   */
  run(delivery: ClaimedDelivery, finished: (f: Finished | null) => void, ended: () => void): void {
    this.count++;
    void this.queue.add(async () => {
      try {
        finished(await this.attempt(delivery));
      } catch (error) {
        this.options.report(error, 'An attempt failed unexpectedly');
      } finally {
        this.count--;
        if (this.count === 0) for (const resolve of this.settledWaiters.splice(0)) resolve();
        ended();
      }
    });
  }

  /**
   * Waits up to `timeout` ms for the attempts in flight, then aborts the rest
   * and waits for them to end. Wall-clock time, like the attempt deadline it
   * cuts short: a test clock that never moves must not stretch close().
   */
  async settle(timeout: number): Promise<void> {
    this.closing = true;
    if (this.count === 0) return;
    const settled = new Promise<void>((resolve) => this.settledWaiters.push(resolve));
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, Math.min(timeout, MAX_TIMER_MS));
    });
    await Promise.race([settled, expired]);
    clearTimeout(timer);
    this.transport.abortAll();
    if (this.count > 0) await new Promise<void>((resolve) => this.settledWaiters.push(resolve));
  }

  /** The attempt's span; tracing that fails is reported and the attempt goes on without it. */
  private async startSpan(delivery: ClaimedDelivery, url: string): Promise<AttemptSpan | null> {
    try {
      return await this.options.tracer!.start({
        url,
        traceContext: delivery.traceContext,
        eventId: delivery.eventId,
        eventType: delivery.eventType,
        deliveryId: deliveryId(delivery.seq),
        endpointId: delivery.endpointId,
        tenant: delivery.tenant,
        attempt: delivery.attemptCount + 1,
      });
    } catch (error) {
      this.options.report(error, 'Tracing an attempt failed; it is sent without its span');
      return null;
    }
  }

  private async attempt(delivery: ClaimedDelivery): Promise<Finished | null> {
    const { clock } = this.options;
    const notice = noticeOf(delivery);
    const endpoint = await this.store.endpoint(delivery.endpointId);
    // Removed or disabled after this row was claimed.
    if (endpoint === undefined) return { notice, result: endpointGone(delivery, clock.now()) };
    const body = buildBody(delivery);
    const headers = buildHeaders(endpoint, delivery, body, clock.now());
    const span = this.options.tracer === undefined ? null : await this.startSpan(delivery, endpoint.url);
    if (span !== null) Object.assign(headers, span.headers);
    const outcome = await this.transport.send({ url: endpoint.url, headers, body });
    span?.end(outcome);
    if (outcome.errorCode === 'ERR_ABORTED' && this.closing) return null;
    const result = verdict(delivery, outcome, this.options.retry, clock.now(), (error) =>
      this.options.report(error, 'The retry function threw; the delivery is given up'),
    );
    return { notice, result };
  }
}
