import type {
  Attributes,
  BatchObservableCallback,
  Counter,
  Histogram,
  Meter,
  ObservableGauge,
} from '@opentelemetry/api';
import type { AttemptNotice } from '../engine/notices.js';
import { errorType } from './attributes.js';

/** What the observable gauges read, when the application's meter collects. */
export interface GaugeValues {
  pending: number;
  oldestPendingAgeMs: number;
  openCircuits: number;
  inFlight: number;
}

/** Attempt durations, in seconds: the HTTP client buckets of the semantic conventions, up to 30 s. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 15, 30];

/**
 * hookline's instruments on one meter. Labels are bounded: the endpoint id, the outcome, the
 * `error.type` (a status code or an error code), the event type; never an event id or a URL.
 */
export class Instruments {
  private readonly attempts: Counter;
  private readonly duration: Histogram;
  private readonly emitted: Counter;
  private readonly gauges: ObservableGauge[];
  private readonly callback: BatchObservableCallback;

  constructor(
    private readonly meter: Meter,
    read: () => GaugeValues | Promise<GaugeValues>,
  ) {
    this.attempts = meter.createCounter('hookline.attempts', {
      description: 'HTTP attempts made to deliver webhooks, by endpoint and outcome',
      unit: '{attempt}',
    });
    this.duration = meter.createHistogram('hookline.attempt.duration', {
      description: 'How long an attempt took, from the request to the last byte of the answer',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    });
    this.emitted = meter.createCounter('hookline.events.emitted', {
      description: 'Events emitted, by type',
      unit: '{event}',
    });
    const pending = meter.createObservableGauge('hookline.deliveries.pending', {
      description: 'Deliveries waiting to be sent, every process sharing the database together',
      unit: '{delivery}',
    });
    const oldest = meter.createObservableGauge('hookline.deliveries.oldest_pending_age', {
      description: 'How far behind schedule the most overdue pending delivery is',
      unit: 's',
    });
    const circuits = meter.createObservableGauge('hookline.endpoints.open_circuits', {
      description: 'Enabled endpoints whose circuit is open or half-open',
      unit: '{endpoint}',
    });
    const inFlight = meter.createObservableGauge('hookline.attempts.in_flight', {
      description: 'Attempts in flight in this process',
      unit: '{attempt}',
    });
    this.gauges = [pending, oldest, circuits, inFlight];
    this.callback = async (result) => {
      let values: GaugeValues;
      try {
        values = await read();
      } catch {
        return; // The database did not answer this time: no value rather than a wrong one.
      }
      result.observe(pending, values.pending);
      result.observe(oldest, values.oldestPendingAgeMs / 1000);
      result.observe(circuits, values.openCircuits);
      result.observe(inFlight, values.inFlight);
    };
    meter.addBatchObservableCallback(this.callback, this.gauges);
  }

  attempt(notice: AttemptNotice): void {
    const ok = notice.statusCode !== null && notice.statusCode >= 200 && notice.statusCode < 300;
    const labels: Attributes = {
      'hookline.endpoint.id': notice.endpointId,
      'hookline.outcome': ok ? 'succeeded' : 'failed',
    };
    if (!ok) labels['error.type'] = errorType(notice)!;
    this.attempts.add(1, labels);
    this.duration.record(notice.durationMs / 1000, labels);
  }

  emittedEvents(type: string, count: number): void {
    this.emitted.add(count, { 'hookline.event.type': type });
  }

  /** The gauges stop reading the sender (it closed). */
  detach(): void {
    this.meter.removeBatchObservableCallback(this.callback, this.gauges);
  }
}
