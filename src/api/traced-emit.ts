import type { EmittedEvent } from '../shared/types.js';
import type { EmitSpan, Telemetry } from '../telemetry/telemetry.js';

/** The producer span of a write of events of `types`: named after their type when they share one. */
function open(telemetry: Telemetry, types: readonly string[]): EmitSpan {
  const single = types.every((type) => type === types[0]) ? types[0]! : null;
  return telemetry.emitSpan(single, types.length);
}

function done(telemetry: Telemetry, span: EmitSpan, types: readonly string[], emitted: EmittedEvent[]) {
  span.end(emitted.map((event) => event.id));
  telemetry.emitted(types);
  return emitted;
}

/**
 * Runs a write of events of `types` inside a producer span (`write` gets the traceparent to store
 * with them), then counts them. A write that throws ends the span as an error.
 */
export function traced(
  telemetry: Telemetry,
  types: readonly string[],
  write: (trace: string | null) => EmittedEvent[],
): EmittedEvent[] {
  const span = open(telemetry, types);
  try {
    return done(telemetry, span, types, write(span.traceContext));
  } catch (error) {
    span.fail(error);
    throw error;
  }
}

/** The same for an asynchronous write (PostgreSQL). */
export async function tracedAsync(
  telemetry: Telemetry,
  types: readonly string[],
  write: (trace: string | null) => Promise<EmittedEvent[]>,
): Promise<EmittedEvent[]> {
  const span = open(telemetry, types);
  let emitted: EmittedEvent[];
  try {
    emitted = await write(span.traceContext);
  } catch (error) {
    span.fail(error);
    throw error;
  }
  return done(telemetry, span, types, emitted);
}
