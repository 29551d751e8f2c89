// The engine's port to the application's tracing (OpenTelemetry, src/telemetry/): one span per
// attempt, started before the request (whose headers carry it on) and ended with its outcome.

/** What an attempt's span is about. */
export interface AttemptSpanStart {
  url: string;
  /** The W3C traceparent stored with the event by its emit's span (`null`: none). */
  traceContext: string | null;
  eventId: string;
  eventType: string;
  deliveryId: string;
  endpointId: string;
  tenant: string | null;
  /** 1 for the delivery's first attempt. */
  attempt: number;
}

export interface AttemptSpanEnd {
  statusCode: number | null;
  errorCode: string | null;
  errorMessage: string | null;
}

/** A started span: the headers that carry it to the receiver, and how to end it. */
export interface AttemptSpan {
  headers: Record<string, string>;
  end(outcome: AttemptSpanEnd): void;
}

export interface AttemptTracer {
  /** `null`: no span for this attempt (nothing records traces now). */
  start(attempt: AttemptSpanStart): AttemptSpan | null | Promise<AttemptSpan | null>;
}
