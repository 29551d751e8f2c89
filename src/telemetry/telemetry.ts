import type { Meter, MeterProvider, Span, Tracer, TracerProvider } from '@opentelemetry/api';
import type { AttemptNotice } from '../engine/notices.js';
import type { AttemptSpan, AttemptSpanStart, AttemptTracer } from '../engine/trace-port.js';
import { InvalidOptionError } from '../shared/errors/input.js';
import type { TelemetryOptions } from '../shared/telemetry-option.js';
import { VERSION } from '../shared/version.js';
import { attemptAttributes, errorType, parseTraceparent, traceparent } from './attributes.js';
import { type GaugeValues, Instruments } from './metrics.js';
import { type OtelApi, otelApi, otelRegistered } from './otel.js';

export type { GaugeValues } from './metrics.js';

/** What an emit records when its span could not be started. */
const NO_EMIT_SPAN: EmitSpan = { traceContext: null, end: () => {}, fail: () => {} };

/** A started emit span: the traceparent to store with the event, and how to end it. */
export interface EmitSpan {
  traceContext: string | null;
  end(eventIds: readonly string[]): void;
  fail(error: unknown): void;
}

/**
 * A sender's OpenTelemetry: a producer span per emit (the caller's context its parent), a client
 * span per attempt (the stored emit context its parent and link), and the metrics. It records into
 * the providers of the `telemetry` option, or the global ones the application registered; with
 * neither, no sender builds one and `@opentelemetry/api` is never loaded.
 */
export class Telemetry implements AttemptTracer {
  private tracerOf: [TracerProvider, Tracer] | null = null;
  private instrumentsOf: [MeterProvider, Instruments] | null = null;

  private constructor(
    private readonly api: OtelApi,
    private readonly options: TelemetryOptions,
    private readonly readGauges: () => GaugeValues | Promise<GaugeValues>,
    private readonly report: (error: unknown) => void,
  ) {}

  /**
   * Runs a piece of recording: a provider or exporter that throws is reported (`ERR_TELEMETRY`) and
   * the emit or attempt goes on without it, never failing because of its telemetry.
   */
  private guard<T>(fallback: T, record: () => T): T {
    try {
      return record();
    } catch (error) {
      this.report(error);
      return fallback;
    }
  }

  /** `null` when nothing records: `telemetry: false`, or no option and nothing registered globally. */
  static create(
    option: TelemetryOptions | false | undefined,
    readGauges: () => GaugeValues | Promise<GaugeValues>,
    report: (error: unknown) => void,
  ) {
    if (option === false || (option === undefined && !otelRegistered())) return null;
    const api = otelApi();
    if (api === null) {
      if (option === undefined) return null;
      throw new InvalidOptionError(
        'telemetry',
        '`telemetry` needs the `@opentelemetry/api` package (1.x) installed',
      );
    }
    return new Telemetry(api, option ?? {}, readGauges, report);
  }

  private tracer(): Tracer {
    const provider =
      (this.options.tracerProvider as TracerProvider | undefined) ?? this.api.trace.getTracerProvider();
    if (this.tracerOf?.[0] !== provider) this.tracerOf = [provider, provider.getTracer('hookline', VERSION)];
    return this.tracerOf[1];
  }

  /** The instruments on the current meter provider (one registered after the sender was made counts too). */
  private instruments(): Instruments {
    const provider =
      (this.options.meterProvider as MeterProvider | undefined) ?? this.api.metrics.getMeterProvider();
    if (this.instrumentsOf?.[0] !== provider) {
      this.instrumentsOf?.[1].detach();
      const meter: Meter = provider.getMeter('hookline', VERSION);
      this.instrumentsOf = [provider, new Instruments(meter, this.readGauges)];
    }
    return this.instrumentsOf[1];
  }

  /** A producer span around an emit of `count` events of `type` (`null`: several types). */
  emitSpan(type: string | null, count: number): EmitSpan {
    return this.guard(NO_EMIT_SPAN, () => this.openEmitSpan(type, count));
  }

  private openEmitSpan(type: string | null, count: number): EmitSpan {
    const { api } = this;
    const destination = type ?? '(batch)';
    const span = this.tracer().startSpan(
      `send ${destination}`,
      {
        kind: api.SpanKind.PRODUCER,
        attributes: {
          'messaging.system': 'hookline',
          'messaging.operation.type': 'send',
          'messaging.operation.name': 'send',
          'messaging.destination.name': destination,
          ...(count > 1 ? { 'messaging.batch.message_count': count } : {}),
        },
      },
      api.context.active(),
    );
    const context = span.spanContext();
    const traceContext = api.trace.isSpanContextValid(context) ? traceparent(context) : null;
    return {
      traceContext,
      end: (eventIds) =>
        this.guard(undefined, () => {
          if (eventIds.length === 1) span.setAttribute('messaging.message.id', eventIds[0]!);
          span.end();
        }),
      fail: (error) =>
        this.guard(undefined, () => {
          span.recordException(error as Error);
          span.setAttribute('error.type', (error as { code?: string })?.code ?? 'Error');
          span.setStatus({ code: api.SpanStatusCode.ERROR, message: (error as Error)?.message });
          span.end();
        }),
    };
  }

  /** Counts events emitted by type. */
  emitted(types: readonly string[]): void {
    this.guard(undefined, () => {
      const counts = new Map<string, number>();
      for (const type of types) counts.set(type, (counts.get(type) ?? 0) + 1);
      const instruments = this.instruments();
      for (const [type, n] of counts) instruments.emittedEvents(type, n);
    });
  }

  /** The attempt's outcome into the counter and the histogram. */
  attempted(notice: AttemptNotice): void {
    this.guard(undefined, () => this.instruments().attempt(notice));
  }

  /** The engine's port: a client span per attempt, the emit's span its parent. */
  start(attempt: AttemptSpanStart): AttemptSpan | null {
    return this.guard(null, () => this.openAttemptSpan(attempt));
  }

  private openAttemptSpan(attempt: AttemptSpanStart): AttemptSpan {
    const { api } = this;
    const parent = parseTraceparent(attempt.traceContext);
    let context = api.ROOT_CONTEXT;
    const links = [];
    if (parent !== null) {
      const spanContext = { ...parent, isRemote: true };
      context = api.trace.setSpanContext(api.ROOT_CONTEXT, spanContext);
      links.push({ context: spanContext });
    }
    const span: Span = this.tracer().startSpan(
      'POST',
      { kind: api.SpanKind.CLIENT, attributes: attemptAttributes(attempt), links },
      context,
    );
    const headers: Record<string, string> = {};
    const own = span.spanContext();
    if (this.options.propagate !== false && api.trace.isSpanContextValid(own)) {
      headers.traceparent = traceparent(own);
      const state = own.traceState?.serialize();
      if (state) headers.tracestate = state;
    }
    return {
      headers,
      end: (outcome) =>
        this.guard(undefined, () => {
          if (outcome.statusCode !== null) span.setAttribute('http.response.status_code', outcome.statusCode);
          const error = errorType(outcome);
          if (error !== undefined) {
            span.setAttribute('error.type', error);
            span.setStatus({
              code: api.SpanStatusCode.ERROR,
              message: outcome.errorMessage ?? `HTTP ${outcome.statusCode}`,
            });
          }
          span.end();
        }),
    };
  }

  close(): void {
    this.instrumentsOf?.[1].detach();
    this.instrumentsOf = null;
  }
}
